//! `AUTHZ_ISSUER` and what belongs to each issuer: its preset, machine claim and roles claim
//! (one value for all, or one per issuer in `AUTHZ_ISSUER` order), the key set, audiences and
//! tenants.

use std::fmt;

use axum_principal::{redact_url, Preset};

use super::env::list;
use super::{check_url, shown, ConfigProblem, TEMPLATE};

/// One trusted issuer, and how its tokens are read. The per-issuer variables
/// (`AUTHZ_PROVIDER`, `AUTHZ_M2M_CLAIM`, `AUTHZ_ROLES_CLAIM`) give one value for every
/// issuer or a comma-separated list with one entry per `AUTHZ_ISSUER` entry; either way each
/// issuer's own value is kept here, beside its URL. `Debug` redacts the URL's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerSettings {
    /// The `AUTHZ_ISSUER` entry: the exact `iss`, or a template containing `{tenantid}`.
    /// `None`: the embedded development issuer (development mode), whose URL is known once
    /// it has started.
    pub url: Option<String>,
    /// Its classification preset (`AUTHZ_PROVIDER`; default `auto`).
    pub provider: Preset,
    /// The boolean claim that marks its machine tokens (`AUTHZ_M2M_CLAIM`; an empty list
    /// entry: none).
    pub m2m_claim: Option<String>,
    /// Where its roles are read (`AUTHZ_ROLES_CLAIM`; default, and an empty list entry:
    /// `roles`).
    pub roles_claim: String,
}

/// The development issuer with every default.
impl Default for IssuerSettings {
    fn default() -> Self {
        Self::new(None)
    }
}

impl IssuerSettings {
    /// An issuer at `url` (`None`: the development issuer) with the defaults.
    fn new(url: Option<String>) -> Self {
        Self {
            url,
            provider: Preset::Auto,
            m2m_claim: None,
            roles_claim: DEFAULT_ROLES_CLAIM.to_owned(),
        }
    }

    /// Whether its URL is a template (`{tenantid}`).
    pub(crate) fn is_template(&self) -> bool {
        self.url.as_deref().is_some_and(|u| u.contains(TEMPLATE))
    }
}

impl fmt::Debug for IssuerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerSettings")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("provider", &self.provider)
            .field("m2m_claim", &self.m2m_claim)
            .field("roles_claim", &self.roles_claim)
            .finish()
    }
}

const DEFAULT_ROLES_CLAIM: &str = "roles";

/// `AUTHZ_ISSUER`: each URL checked and listed once. Unset: the development issuer alone.
pub(super) fn issuers(value: Option<String>) -> Result<Vec<IssuerSettings>, ConfigProblem> {
    let Some(value) = value else {
        return Ok(vec![IssuerSettings::new(None)]);
    };
    let urls = list(&value);
    // Set but naming no URL (`,`, ` , `): a template whose parts were empty must not fall
    // into development mode, which prints working admin and machine tokens.
    if urls.is_empty() {
        return Err(ConfigProblem::new(
            "AUTHZ_ISSUER",
            format!("{} names no issuer URL", shown(&value)),
        ));
    }
    for (i, url) in urls.iter().enumerate() {
        check_url("AUTHZ_ISSUER", url)?;
        if urls[..i].contains(url) {
            return Err(ConfigProblem::new(
                "AUTHZ_ISSUER",
                format!("{} is listed twice", shown(url)),
            ));
        }
    }
    Ok(urls
        .into_iter()
        .map(|url| IssuerSettings::new(Some(url)))
        .collect())
}

/// `AUTHZ_JWKS_URI`: only with a single configured issuer (`configured` counts them).
pub(super) fn jwks_uri(
    value: Option<String>,
    configured: usize,
) -> Result<Option<String>, ConfigProblem> {
    let Some(uri) = value else {
        return Ok(None);
    };
    match configured {
        0 => Err(ConfigProblem::new(
            "AUTHZ_JWKS_URI",
            "only allowed together with AUTHZ_ISSUER",
        )),
        1 => check_url("AUTHZ_JWKS_URI", &uri).map(|()| Some(uri)),
        n => Err(ConfigProblem::new(
            "AUTHZ_JWKS_URI",
            format!("only allowed with a single issuer, but AUTHZ_ISSUER lists {n}"),
        )),
    }
}

/// `AUTHZ_AUDIENCE`: required with a configured issuer; in development mode empty means
/// the development issuer's audience.
pub(super) fn audiences(
    value: Option<String>,
    dev_mode: bool,
) -> Result<Vec<String>, ConfigProblem> {
    let audiences = value.map(|v| list(&v)).unwrap_or_default();
    if !dev_mode && audiences.is_empty() {
        return Err(ConfigProblem::new(
            "AUTHZ_AUDIENCE",
            "required when AUTHZ_ISSUER is set",
        ));
    }
    Ok(audiences)
}

/// `AUTHZ_M2M_CLAIM` into each issuer (an empty list entry: none for that issuer).
pub(super) fn set_m2m_claims(
    issuers: &mut [IssuerSettings],
    value: Option<String>,
) -> Result<(), ConfigProblem> {
    let Some(claims) = claim_entries("AUTHZ_M2M_CLAIM", value, issuers.len())? else {
        return Ok(());
    };
    for (issuer, claim) in issuers.iter_mut().zip(claims) {
        issuer.m2m_claim = Some(claim).filter(|c| !c.is_empty());
    }
    Ok(())
}

/// `AUTHZ_ROLES_CLAIM` into each issuer (an empty list entry: `roles`), each a claim name or
/// a dotted path without empty segments.
pub(super) fn set_roles_claims(
    issuers: &mut [IssuerSettings],
    value: Option<String>,
) -> Result<(), ConfigProblem> {
    if let Some(claims) = claim_entries("AUTHZ_ROLES_CLAIM", value, issuers.len())? {
        for (issuer, claim) in issuers.iter_mut().zip(claims) {
            if !claim.is_empty() {
                issuer.roles_claim = claim;
            }
        }
    }
    match issuers
        .iter()
        .find(|i| i.roles_claim.split('.').any(str::is_empty))
    {
        Some(bad) => Err(ConfigProblem::new(
            "AUTHZ_ROLES_CLAIM",
            format!(
                "{:?} is not a claim name or dotted path (empty segment)",
                bad.roles_claim
            ),
        )),
        None => Ok(()),
    }
}

/// `AUTHZ_PROVIDER` into each issuer: each entry must name a preset.
pub(super) fn set_providers(
    issuers: &mut [IssuerSettings],
    value: Option<&str>,
) -> Result<(), ConfigProblem> {
    let Some(value) = value else {
        return Ok(());
    };
    let presets = value
        .split(',')
        .map(|name| {
            name.parse::<Preset>()
                .map_err(|e| ConfigProblem::new("AUTHZ_PROVIDER", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let presets = one_per_issuer(
        "AUTHZ_PROVIDER",
        presets,
        issuers.len(),
        "presets",
        "preset",
    )?;
    for (issuer, preset) in issuers.iter_mut().zip(presets) {
        issuer.provider = preset;
    }
    Ok(())
}

/// `AUTHZ_TENANTS`: required with an issuer template, refused without one; `*` (any
/// tenant) becomes `Some(empty)`. A template also needs `AUTHZ_JWKS_URI`.
pub(super) fn tenants(
    value: Option<String>,
    issuers: &[IssuerSettings],
    has_jwks_uri: bool,
) -> Result<Option<Vec<String>>, ConfigProblem> {
    let templates = issuers.iter().any(IssuerSettings::is_template);
    let tenants = match value {
        None if templates => {
            return Err(ConfigProblem::new(
                "AUTHZ_TENANTS",
                "required with an AUTHZ_ISSUER template ({tenantid}): the allowed tenant ids, \
                 comma-separated, or * for any",
            ))
        }
        None => None,
        Some(_) if !templates => {
            return Err(ConfigProblem::new(
                "AUTHZ_TENANTS",
                "only allowed with an AUTHZ_ISSUER entry containing {tenantid}",
            ))
        }
        Some(v) if v == "*" => Some(Vec::new()),
        Some(v) => {
            let tenants = list(&v);
            if tenants.is_empty() || tenants.iter().any(|t| t == "*") {
                return Err(ConfigProblem::new(
                    "AUTHZ_TENANTS",
                    format!("{v:?}: list tenant ids, or give * alone"),
                ));
            }
            Some(tenants)
        }
    };
    if templates && !has_jwks_uri {
        return Err(ConfigProblem::new(
            "AUTHZ_JWKS_URI",
            "required with an AUTHZ_ISSUER template ({tenantid}): one key set for every tenant",
        ));
    }
    Ok(tenants)
}

/// A claim variable's entries, one per issuer: a value without a comma applies to every
/// issuer; a comma-separated list (entries trimmed, possibly empty) must have one entry per
/// issuer (claim names with a comma are not supported). `None` when unset.
fn claim_entries(
    variable: &'static str,
    value: Option<String>,
    issuers: usize,
) -> Result<Option<Vec<String>>, ConfigProblem> {
    let Some(value) = value else {
        return Ok(None);
    };
    let entries = value.split(',').map(|v| v.trim().to_owned()).collect();
    one_per_issuer(variable, entries, issuers, "entries", "value").map(Some)
}

/// `entries` as one per issuer: a single entry is repeated for every issuer; otherwise
/// there must be exactly one per issuer, in `AUTHZ_ISSUER` order.
fn one_per_issuer<T: Clone>(
    variable: &'static str,
    entries: Vec<T>,
    issuers: usize,
    plural: &str,
    singular: &str,
) -> Result<Vec<T>, ConfigProblem> {
    match entries.as_slice() {
        [one] => Ok(vec![one.clone(); issuers]),
        _ if entries.len() == issuers => Ok(entries),
        _ => Err(ConfigProblem::new(
            variable,
            format!(
                "lists {} {plural} but AUTHZ_ISSUER lists {issuers} issuers; give one \
                 {singular}, or one per issuer in the same order",
                entries.len()
            ),
        )),
    }
}
