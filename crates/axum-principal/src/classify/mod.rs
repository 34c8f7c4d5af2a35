//! User or machine: verified claims → [`Kind`] and the rule that decided
//! ([`ClassifiedBy`]). Pure and table-driven.
//!
//! Order of evidence (the first that decides wins):
//! 1. the configured boolean claim ([`Classifier::machine_claim`], or the issuer's own
//!    [`Issuer::machine_claim`](crate::Issuer::machine_claim)), when the token carries it:
//!    `true` → machine, `false` → user, any other JSON type → the token is invalid, since a
//!    misread marker could open machine-only routes;
//! 2. the issuer-set entity profile, the `sub_profile` claim
//!    (draft-mora-oauth-entity-profiles, [`EntityProfile`]): `user` → user; `service`,
//!    `device` or `ai_agent` → machine (recorded as `profile:<value>`); any other value or
//!    JSON type → no decision. It applies with every preset, and with
//!    [`Classifier::without_rules`];
//! 3. custom [`Rule`]s, in the order added;
//! 4. the provider rules of the **issuer's own** [`Preset`] (set per issuer with
//!    [`Issuer::provider`](crate::Issuer::provider); by default [`Preset::Auto`], chosen
//!    from the issuer URL), in the order listed there;
//! 5. otherwise a user.
//!
//! A delegated token (an `act` claim, RFC 8693) is classified like any other: the kind is
//! the **subject's**; the actor is reported by [`Principal::actor`](crate::Principal::actor)
//! and has no kind of its own.
//!
//! Being classified a machine is a grant, so no provider rule reads a claim a user can
//! choose on its own: every subject pattern is tied to the token's own client identity
//! (Auth0 `sub == azp + "@clients"`, Keycloak `preferred_username == "service-account-" +
//! client_id`). A claim a rule reads that has an unexpected JSON type makes the rule not
//! fire; only the configured machine claim must be a boolean.
//!
//! The subject pattern is still an issuer's habit, not a promise: prefer a claim the issuer
//! adds (`https://example.com/is_m2m: true`) where you control the issuer.
//!
//! ```
//! use axum_principal::{Classifier, Kind, Preset};
//! use serde_json::json;
//!
//! let classifier = Classifier::new(Preset::Auth0);
//! let claims = json!({"sub": "Gdy3xyz@clients", "azp": "Gdy3xyz", "gty": "client-credentials"});
//! let c = classifier.classify(claims.as_object().unwrap()).unwrap();
//! assert_eq!(c.kind, Kind::Machine);
//! assert_eq!(c.classified_by.to_string(), "auth0:sub-is-client-id@clients");
//! ```

mod preset;
mod profile;
#[cfg(test)]
mod published_shapes;
mod rule;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::rejection::InvalidToken;
use crate::verify::{Claim, ClaimRead};

pub use preset::{Preset, UnknownPreset};
pub use profile::{EntityProfile, SUB_PROFILE_CLAIM};
pub use rule::{Rule, RuleFn};

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A person: authorization code or device flow.
    User,
    /// A program: client credentials.
    Machine,
}

impl Kind {
    /// `"user"` or `"machine"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Machine => "machine",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule that decided a principal's [`Kind`]. Its `Display` form (also its JSON form) is
/// stable and fit for logs and the `/me` body, e.g. `keycloak:service-account-of-client_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClassifiedBy {
    /// The configured boolean claim, and its value.
    Claim {
        /// The claim's name.
        name: Arc<str>,
        /// Its value: `true` means machine.
        value: bool,
    },
    /// Auth0: `sub` equals the token's client id (`azp`, else `client_id`) + `@clients`.
    Auth0ClientSubject,
    /// Auth0: `gty` is `client-credentials`.
    Auth0GrantType,
    /// Ory Hydra: `sub` equals `client_id`.
    SubjectIsClientId,
    /// Amazon Cognito: `sub` equals `client_id` and there is no `username`.
    CognitoClientCredentials,
    /// Okta: no `uid`, and `sub` equals `cid`.
    OktaClientCredentials,
    /// Keycloak: a `client_id` claim, and `preferred_username` is `service-account-` + it.
    KeycloakServiceAccount,
    /// Entra ID: `idtyp` is `app`.
    EntraAppIdType,
    /// Entra ID: `oid` and `sub` are both present and equal (app-only tokens).
    EntraObjectIsSubject,
    /// Duende IdentityServer style: no `sub`, but a `client_id` (which becomes the subject).
    ClientIdWithoutSubject,
    /// RFC 9068 §2.2: `sub` equals `client_id`.
    Rfc9068SubjectIsClientId,
    /// RFC 9068: no `sub`, but a `client_id` (which becomes the subject).
    Rfc9068ClientIdWithoutSubject,
    /// The issuer-set entity profile (`sub_profile`), and its value.
    Profile(EntityProfile),
    /// A custom rule, by its name.
    Custom(Arc<str>),
    /// No rule matched: a user.
    Default,
}

impl ClassifiedBy {
    /// Whether this rule supplies the subject from `client_id` (the token has no `sub`).
    /// A machine entity profile does too: a client acting for itself without a `sub`.
    pub(crate) fn subject_from_client_id(&self) -> bool {
        match self {
            Self::ClientIdWithoutSubject | Self::Rfc9068ClientIdWithoutSubject => true,
            Self::Profile(profile) => profile.kind() == Kind::Machine,
            _ => false,
        }
    }
}

impl fmt::Display for ClassifiedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Claim { name, value } => write!(f, "claim:{name}={value}"),
            Self::Auth0ClientSubject => f.write_str("auth0:sub-is-client-id@clients"),
            Self::Auth0GrantType => f.write_str("auth0:gty-client-credentials"),
            Self::SubjectIsClientId => f.write_str("hydra:sub-equals-client_id"),
            Self::CognitoClientCredentials => {
                f.write_str("cognito:sub-equals-client_id-without-username")
            }
            Self::OktaClientCredentials => f.write_str("okta:sub-equals-cid-without-uid"),
            Self::KeycloakServiceAccount => f.write_str("keycloak:service-account-of-client_id"),
            Self::EntraAppIdType => f.write_str("entra:idtyp-app"),
            Self::EntraObjectIsSubject => f.write_str("entra:oid-equals-sub"),
            Self::ClientIdWithoutSubject => f.write_str("duende:client_id-without-sub"),
            Self::Rfc9068SubjectIsClientId => f.write_str("rfc9068:sub-equals-client_id"),
            Self::Rfc9068ClientIdWithoutSubject => f.write_str("rfc9068:client_id-without-sub"),
            Self::Profile(profile) => write!(f, "profile:{profile}"),
            Self::Custom(name) => write!(f, "custom:{name}"),
            Self::Default => f.write_str("default:user"),
        }
    }
}

impl Serialize for ClassifiedBy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The outcome of classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// User or machine.
    pub kind: Kind,
    /// Why.
    pub classified_by: ClassifiedBy,
}

/// Decides user or machine for verified claims: the configured machine claim, the
/// `sub_profile` entity profile, custom rules, then the preset's rules. The preset given here is the default for issuers that
/// have none of their own ([`Issuer::provider`](crate::Issuer::provider)).
#[derive(Clone, Debug)]
pub struct Classifier {
    claim: Option<Arc<str>>,
    custom: Vec<Rule>,
    preset: Option<Preset>,
}

impl Default for Classifier {
    /// The [`Preset::Auto`] preset and no custom claim.
    fn default() -> Self {
        Self::new(Preset::Auto)
    }
}

impl Classifier {
    /// A classifier with a preset's rules.
    pub fn new(preset: Preset) -> Self {
        Self {
            claim: None,
            custom: Vec::new(),
            preset: Some(preset),
        }
    }

    /// A classifier with no provider rules: only the claim and custom rules decide, and
    /// everything else is a user (an issuer's own [`provider`](crate::Issuer::provider)
    /// still applies to that issuer).
    pub fn without_rules() -> Self {
        Self {
            claim: None,
            custom: Vec::new(),
            preset: None,
        }
    }

    /// A boolean claim the issuer adds (e.g. `https://example.com/is_m2m`) that decides
    /// whenever a token carries it.
    pub fn machine_claim(mut self, name: impl Into<String>) -> Self {
        self.claim = Some(Arc::from(name.into()));
        self
    }

    /// Adds a rule, tried after the claim, the entity profile and earlier custom rules,
    /// before the preset's.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.custom.push(rule);
        self
    }

    /// The default preset (`None` for [`without_rules`](Self::without_rules)).
    pub fn preset(&self) -> Option<Preset> {
        self.preset
    }

    /// Classifies verified claims with this classifier's preset ([`Preset::Auto`] resolved
    /// from the `iss` claim). Fails only for a configured machine claim that is not a
    /// boolean.
    ///
    /// Only for claims whose `iss` has been checked against a trusted issuer: `auto` takes
    /// the preset from it. [`Authenticator`](crate::Authenticator) instead uses the preset
    /// resolved for the configured issuer when the configuration was built.
    pub fn classify(&self, claims: &Map<String, Value>) -> Result<Classification, InvalidToken> {
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let rules = self.preset.map_or(&[][..], |p| p.for_issuer(iss).rules());
        self.classify_with(rules, claims)
    }

    /// Classifies verified claims of an issuer whose resolved preset is `preset` (`None`:
    /// no provider rules), with the issuer's own machine claim in place of the classifier's
    /// when it has one.
    pub(crate) fn classify_for_issuer<C: ClaimRead + ?Sized>(
        &self,
        preset: Option<Preset>,
        machine_claim: Option<&Arc<str>>,
        claims: &C,
    ) -> Result<Classification, InvalidToken> {
        let rules = preset.map_or(&[][..], Preset::rules);
        self.classify_claim(machine_claim.or(self.claim.as_ref()), rules, claims)
    }

    fn classify_with<C: ClaimRead + ?Sized>(
        &self,
        rules: &[Rule],
        claims: &C,
    ) -> Result<Classification, InvalidToken> {
        self.classify_claim(self.claim.as_ref(), rules, claims)
    }

    fn classify_claim<C: ClaimRead + ?Sized>(
        &self,
        machine_claim: Option<&Arc<str>>,
        rules: &[Rule],
        claims: &C,
    ) -> Result<Classification, InvalidToken> {
        if let Some(name) = machine_claim {
            match claims.claim(name) {
                None => {}
                Some(Claim::Bool(value)) => {
                    return Ok(Classification {
                        kind: if value { Kind::Machine } else { Kind::User },
                        classified_by: ClassifiedBy::Claim {
                            name: Arc::clone(name),
                            value,
                        },
                    })
                }
                Some(_) => return Err(InvalidToken::InvalidClaim),
            }
        }
        if let Some(profile) = EntityProfile::of(claims) {
            return Ok(Classification {
                kind: profile.kind(),
                classified_by: ClassifiedBy::Profile(profile),
            });
        }
        for rule in self.custom.iter().chain(rules) {
            if let Some((kind, classified_by)) = rule.apply(claims) {
                return Ok(Classification {
                    kind,
                    classified_by,
                });
            }
        }
        Ok(Classification {
            kind: Kind::User,
            classified_by: ClassifiedBy::Default,
        })
    }
}
