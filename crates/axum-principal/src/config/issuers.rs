//! The issuer registry: the configured issuers, each named by an [`IssuerId`], and the one
//! place a token's unverified `iss` (and `tid`, for templates) picks one of them.

use std::fmt;

use super::issuer::{Issuer, TemplateMatch};
use crate::rejection::InvalidToken;

/// One configured issuer, by its place in the registry. Only the registry makes them, so an
/// id always names an issuer of the configuration it came from; the key store and the
/// verified-token cache keep issuers by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct IssuerId(usize);

impl IssuerId {
    /// The first issuer configured, for unit tests that need an id.
    #[cfg(test)]
    pub(crate) const FIRST: IssuerId = IssuerId(0);

    /// The position in the configuration (and in the key store, built in the same order).
    pub(crate) fn index(self) -> usize {
        self.0
    }
}

/// The configured issuers, in the order configured.
#[derive(Clone)]
pub(crate) struct Issuers {
    list: Vec<Issuer>,
}

impl Issuers {
    pub(super) fn new(list: Vec<Issuer>) -> Self {
        Self { list }
    }

    /// The issuer `id` names (`None` only for an id from another configuration).
    pub(crate) fn get(&self, id: IssuerId) -> Option<&Issuer> {
        self.list.get(id.0)
    }

    /// Every issuer with its id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (IssuerId, &Issuer)> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, issuer)| (IssuerId(i), issuer))
    }

    /// The issuer a token's unverified `iss` selects: an exact issuer, else a tenant template
    /// filled with an allowed `tid`. It only decides whose keys and rules to use; the
    /// signature and `iss` are checked afterwards. No match causes no network I/O.
    pub(crate) fn select(&self, iss: &str, tid: Option<&str>) -> Result<IssuerId, InvalidToken> {
        let exact = self
            .list
            .iter()
            .position(|i| i.template.is_none() && i.url == iss);
        if let Some(i) = exact {
            return Ok(IssuerId(i));
        }
        // A scan of the templates only (usually one or two), comparing slices in place.
        let mut refused = false;
        for (i, issuer) in self.list.iter().enumerate() {
            let Some(template) = &issuer.template else {
                continue;
            };
            match template.check(iss, tid) {
                TemplateMatch::Matches => return Ok(IssuerId(i)),
                TemplateMatch::TenantRefused => refused = true,
                TemplateMatch::NotThisIssuer => {}
            }
        }
        Err(if refused {
            InvalidToken::TenantNotAllowed
        } else {
            InvalidToken::UnknownIssuer
        })
    }
}

impl fmt::Debug for Issuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.list).finish()
    }
}
