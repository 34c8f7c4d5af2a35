//! Classification rules: each provider's machine rule, and custom rules.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ClassifiedBy, Kind};
use crate::verify::{Claim, ClaimRead};

/// The signature of a custom rule: `Some(kind)` decides, `None` passes to the next rule.
pub type RuleFn = dyn Fn(&Map<String, Value>) -> Option<Kind> + Send + Sync;

/// One classification rule: a provider rule, or a custom one.
#[derive(Clone)]
pub struct Rule(pub(super) RuleImpl);

#[derive(Clone)]
pub(super) enum RuleImpl {
    Auth0,
    Hydra,
    Cognito,
    Okta,
    Keycloak,
    Entra,
    Duende,
    Rfc9068,
    Custom { name: Arc<str>, f: Arc<RuleFn> },
}

impl Rule {
    /// Auth0: `sub` equals the token's client id (`azp`, else `client_id`) followed by
    /// `@clients`, or `gty` is `client-credentials`. A mere `@clients` suffix is not enough:
    /// enterprise connections take the part of `sub` after the `|` from the upstream IdP.
    pub fn auth0() -> Self {
        Self(RuleImpl::Auth0)
    }
    /// Ory Hydra: `sub` equals `client_id`, and the token records no login (`auth_time`,
    /// `amr` or `sid`). Rests on Hydra's habit: a login app that lets users pick a subject
    /// equal to a client id defeats it (prefer a custom claim there).
    pub fn hydra() -> Self {
        Self(RuleImpl::Hydra)
    }
    /// Amazon Cognito: `sub` equals `client_id`, and there is no `username`. Unlike Hydra's
    /// and RFC 9068's rules it ignores `auth_time`: Cognito sets it on client-credentials
    /// tokens as well, and assigns user subjects itself (UUIDs, never a client id).
    pub fn cognito() -> Self {
        Self(RuleImpl::Cognito)
    }
    /// Okta: no `uid`, and `sub` equals `cid`.
    pub fn okta() -> Self {
        Self(RuleImpl::Okta)
    }
    /// Keycloak: the token carries a `client_id` claim and `preferred_username` is exactly
    /// `service-account-` followed by it (the service account Keycloak made for that client;
    /// a person who registers a `service-account-…` username has no such `client_id`).
    pub fn keycloak() -> Self {
        Self(RuleImpl::Keycloak)
    }
    /// Microsoft Entra ID: `idtyp` is `app`, or `oid` and `sub` are present and equal.
    pub fn entra() -> Self {
        Self(RuleImpl::Entra)
    }
    /// Duende IdentityServer style: no `sub`, but a `client_id`.
    pub fn duende() -> Self {
        Self(RuleImpl::Duende)
    }
    /// RFC 9068 §2.2: `sub` equals `client_id` (and the token records no login, as for
    /// [`hydra`](Self::hydra)), or there is no `sub` but a `client_id`.
    pub fn rfc9068() -> Self {
        Self(RuleImpl::Rfc9068)
    }

    /// A rule of your own, recorded as `custom:<name>` when it decides.
    ///
    /// ```
    /// use axum_principal::{Classifier, Kind, Preset, Rule};
    /// let classifier = Classifier::new(Preset::Rfc9068).rule(Rule::custom("svc-prefix", |c| {
    ///     c.get("sub")?.as_str()?.starts_with("svc:").then_some(Kind::Machine)
    /// }));
    /// # let _ = classifier;
    /// ```
    pub fn custom<F>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&Map<String, Value>) -> Option<Kind> + Send + Sync + 'static,
    {
        Self(RuleImpl::Custom {
            name: Arc::from(name.into()),
            f: Arc::new(f),
        })
    }

    /// `Some((kind, why))` when this rule decides. Provider rules only ever recognise
    /// machines; everything they do not recognise passes on. A claim of an unexpected
    /// JSON type reads as absent, so the rule does not fire.
    pub(super) fn apply<C: ClaimRead + ?Sized>(&self, claims: &C) -> Option<(Kind, ClassifiedBy)> {
        let s = |name| claims.str(name);
        let machine_by = match &self.0 {
            RuleImpl::Auth0 => {
                // The client id is `azp`, else `client_id`; an `azp` of another type is no
                // client id at all (the rule does not fire on its `@clients` branch).
                let client = match claims.claim("azp") {
                    Some(Claim::Str(azp)) => Some(azp),
                    Some(_) => None,
                    None => s("client_id"),
                };
                let client_subject = match (s("sub"), client) {
                    (Some(sub), Some(client)) if !client.is_empty() => sub
                        .strip_suffix("@clients")
                        .is_some_and(|prefix| prefix == client),
                    _ => false,
                };
                if client_subject {
                    Some(ClassifiedBy::Auth0ClientSubject)
                } else if s("gty").as_deref() == Some("client-credentials") {
                    Some(ClassifiedBy::Auth0GrantType)
                } else {
                    None
                }
            }
            RuleImpl::Hydra => {
                client_subject(claims, s("client_id")).then_some(ClassifiedBy::SubjectIsClientId)
            }
            // Cognito records `auth_time` (equal to `iat`) on its client-credentials tokens
            // too, so the login markers say nothing here; what tells a user apart is the
            // `username` every user token carries, and the UUID subject Cognito assigns.
            RuleImpl::Cognito => (same_string(s("sub"), s("client_id")) && !claims.has("username"))
                .then_some(ClassifiedBy::CognitoClientCredentials),
            RuleImpl::Okta => (same_string(s("sub"), s("cid")) && !claims.has("uid"))
                .then_some(ClassifiedBy::OktaClientCredentials),
            // Keycloak names the service account `service-account-` + the client id in lower
            // case (usernames are lower-cased), so a client `Reporting-Svc` has the username
            // `service-account-reporting-svc`. The `client_id` claim is what a user's token
            // lacks, whatever username the user picked.
            RuleImpl::Keycloak => match (s("client_id"), s("preferred_username")) {
                (Some(client), Some(username)) if !client.is_empty() => username
                    .strip_prefix("service-account-")
                    .is_some_and(|rest| rest == client || *rest == client.to_lowercase())
                    .then_some(ClassifiedBy::KeycloakServiceAccount),
                _ => None,
            },
            RuleImpl::Entra => {
                if s("idtyp").as_deref() == Some("app") {
                    Some(ClassifiedBy::EntraAppIdType)
                } else {
                    same_string(s("oid"), s("sub")).then_some(ClassifiedBy::EntraObjectIsSubject)
                }
            }
            RuleImpl::Duende => {
                client_id_without_subject(claims).then_some(ClassifiedBy::ClientIdWithoutSubject)
            }
            RuleImpl::Rfc9068 => {
                if client_subject(claims, s("client_id")) {
                    Some(ClassifiedBy::Rfc9068SubjectIsClientId)
                } else {
                    client_id_without_subject(claims)
                        .then_some(ClassifiedBy::Rfc9068ClientIdWithoutSubject)
                }
            }
            RuleImpl::Custom { name, f } => {
                return f(claims.map()).map(|kind| (kind, ClassifiedBy::Custom(Arc::clone(name))));
            }
        };
        machine_by.map(|by| (Kind::Machine, by))
    }
}

/// Both present, non-empty and equal.
fn same_string(a: Option<Cow<'_, str>>, b: Option<Cow<'_, str>>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if !a.is_empty() && a == b)
}

/// `sub` equals the client id, and the token records no user authentication (`auth_time`,
/// `amr` or `sid`): where a login app lets a user pick a subject equal to a client id (Hydra,
/// RFC 9068 issuers), that user's tokens still carry the login. Not for Cognito, whose
/// client-credentials tokens carry `auth_time` too.
fn client_subject<C: ClaimRead + ?Sized>(claims: &C, client: Option<Cow<'_, str>>) -> bool {
    same_string(claims.str("sub"), client)
        && !["auth_time", "amr", "sid"].iter().any(|c| claims.has(c))
}

/// No `sub` member at all, and a non-empty string `client_id`.
fn client_id_without_subject<C: ClaimRead + ?Sized>(claims: &C) -> bool {
    !claims.has("sub") && claims.str("client_id").is_some_and(|c| !c.is_empty())
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            RuleImpl::Auth0 => f.write_str("Rule::auth0"),
            RuleImpl::Hydra => f.write_str("Rule::hydra"),
            RuleImpl::Cognito => f.write_str("Rule::cognito"),
            RuleImpl::Okta => f.write_str("Rule::okta"),
            RuleImpl::Keycloak => f.write_str("Rule::keycloak"),
            RuleImpl::Entra => f.write_str("Rule::entra"),
            RuleImpl::Duende => f.write_str("Rule::duende"),
            RuleImpl::Rfc9068 => f.write_str("Rule::rfc9068"),
            RuleImpl::Custom { name, .. } => write!(f, "Rule::custom({name:?})"),
        }
    }
}
