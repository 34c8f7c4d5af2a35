//! User or machine: verified claims → [`Kind`] and the rule that decided
//! ([`ClassifiedBy`]). Pure and table-driven (DESIGN.md decision 6).
//!
//! Order of evidence:
//! 1. the configured boolean claim ([`Classifier::machine_claim`]), when the token carries it:
//!    `true` → machine, `false` → user, any other JSON type → the token is invalid, since a
//!    misread marker could open machine-only routes;
//! 2. custom [`Rule`]s, in the order added;
//! 3. the provider rules of the [`Preset`], in the order listed there;
//! 4. otherwise a user.
//!
//! The subject pattern is an issuer's habit, not a promise: prefer a claim the issuer adds.
//!
//! ```
//! use axum_principal::{Classifier, Kind, Preset};
//! use serde_json::json;
//!
//! let classifier = Classifier::new(Preset::Auth0);
//! let claims = json!({"sub": "Gdy3xyz@clients", "gty": "client-credentials"});
//! let c = classifier.classify(claims.as_object().unwrap()).unwrap();
//! assert_eq!(c.kind, Kind::Machine);
//! assert_eq!(c.classified_by.to_string(), "auth0:sub-ends-with-@clients");
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::rejection::InvalidToken;

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
/// stable and fit for logs and the `/me` body, e.g. `keycloak:service-account-username`.
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
    /// Auth0: `sub` ends in `@clients`.
    Auth0ClientsSuffix,
    /// Auth0: `gty` is `client-credentials`.
    Auth0GrantType,
    /// Hydra and RFC 9068 issuers: `sub` equals `client_id`.
    SubjectIsClientId,
    /// Cognito: `sub` equals `client_id` and there is no `username`.
    CognitoClientCredentials,
    /// Okta: no `uid`, and `sub` equals `cid`.
    OktaClientCredentials,
    /// Keycloak: `preferred_username` starts with `service-account-`.
    KeycloakServiceAccount,
    /// Entra ID: `idtyp` is `app`.
    EntraAppIdType,
    /// Entra ID: `oid` and `sub` are both present and equal (app-only tokens).
    EntraObjectIsSubject,
    /// Duende IdentityServer style: no `sub`, but a `client_id` (which becomes the subject).
    ClientIdWithoutSubject,
    /// A custom rule, by its name.
    Custom(Arc<str>),
    /// No rule matched: a user.
    Default,
}

impl fmt::Display for ClassifiedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Claim { name, value } => write!(f, "claim:{name}={value}"),
            Self::Auth0ClientsSuffix => f.write_str("auth0:sub-ends-with-@clients"),
            Self::Auth0GrantType => f.write_str("auth0:gty-client-credentials"),
            Self::SubjectIsClientId => f.write_str("hydra:sub-equals-client_id"),
            Self::CognitoClientCredentials => {
                f.write_str("cognito:sub-equals-client_id-without-username")
            }
            Self::OktaClientCredentials => f.write_str("okta:sub-equals-cid-without-uid"),
            Self::KeycloakServiceAccount => f.write_str("keycloak:service-account-username"),
            Self::EntraAppIdType => f.write_str("entra:idtyp-app"),
            Self::EntraObjectIsSubject => f.write_str("entra:oid-equals-sub"),
            Self::ClientIdWithoutSubject => f.write_str("duende:client_id-without-sub"),
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

/// The signature of a custom rule: `Some(kind)` decides, `None` passes to the next rule.
pub type RuleFn = dyn Fn(&Map<String, Value>) -> Option<Kind> + Send + Sync;

/// One classification rule: a provider rule, or a custom one.
#[derive(Clone)]
pub struct Rule(RuleImpl);

#[derive(Clone)]
enum RuleImpl {
    Auth0,
    Hydra,
    Cognito,
    Okta,
    Keycloak,
    Entra,
    Duende,
    Custom { name: Arc<str>, f: Arc<RuleFn> },
}

impl Rule {
    /// Auth0: `sub` ends in `@clients`, or `gty` is `client-credentials`.
    pub fn auth0() -> Self {
        Self(RuleImpl::Auth0)
    }
    /// Ory Hydra (and RFC 9068 issuers): `sub` equals `client_id`.
    pub fn hydra() -> Self {
        Self(RuleImpl::Hydra)
    }
    /// Amazon Cognito: `sub` equals `client_id`, and there is no `username`.
    pub fn cognito() -> Self {
        Self(RuleImpl::Cognito)
    }
    /// Okta: no `uid`, and `sub` equals `cid`.
    pub fn okta() -> Self {
        Self(RuleImpl::Okta)
    }
    /// Keycloak: `preferred_username` starts with `service-account-` (its `sub` is a UUID).
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

    /// A rule of your own, recorded as `custom:<name>` when it decides.
    ///
    /// ```
    /// use axum_principal::{Classifier, Kind, Preset, Rule};
    /// let classifier = Classifier::new(Preset::Generic).rule(Rule::custom("svc-prefix", |c| {
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
    /// machines; everything they do not recognise passes on.
    fn apply(
        &self,
        claims: &Map<String, Value>,
    ) -> Result<Option<(Kind, ClassifiedBy)>, InvalidToken> {
        let s = |name| str_claim(claims, name);
        let machine_by = match &self.0 {
            RuleImpl::Auth0 => {
                if s("sub")?.is_some_and(|sub| sub.ends_with("@clients")) {
                    Some(ClassifiedBy::Auth0ClientsSuffix)
                } else if s("gty")? == Some("client-credentials") {
                    Some(ClassifiedBy::Auth0GrantType)
                } else {
                    None
                }
            }
            RuleImpl::Hydra => {
                let (sub, client) = (s("sub")?, s("client_id")?);
                (sub.is_some() && sub == client).then_some(ClassifiedBy::SubjectIsClientId)
            }
            RuleImpl::Cognito => {
                let (sub, client) = (s("sub")?, s("client_id")?);
                let no_username = !claims.contains_key("username");
                (sub.is_some() && sub == client && no_username)
                    .then_some(ClassifiedBy::CognitoClientCredentials)
            }
            RuleImpl::Okta => {
                let (sub, cid) = (s("sub")?, s("cid")?);
                let no_uid = !claims.contains_key("uid");
                (sub.is_some() && sub == cid && no_uid)
                    .then_some(ClassifiedBy::OktaClientCredentials)
            }
            RuleImpl::Keycloak => s("preferred_username")?
                .is_some_and(|u| u.starts_with("service-account-"))
                .then_some(ClassifiedBy::KeycloakServiceAccount),
            RuleImpl::Entra => {
                if s("idtyp")? == Some("app") {
                    Some(ClassifiedBy::EntraAppIdType)
                } else {
                    let (oid, sub) = (s("oid")?, s("sub")?);
                    (oid.is_some() && oid == sub).then_some(ClassifiedBy::EntraObjectIsSubject)
                }
            }
            RuleImpl::Duende => (!claims.contains_key("sub") && s("client_id")?.is_some())
                .then_some(ClassifiedBy::ClientIdWithoutSubject),
            RuleImpl::Custom { name, f } => {
                return Ok(f(claims).map(|kind| (kind, ClassifiedBy::Custom(Arc::clone(name)))));
            }
        };
        Ok(machine_by.map(|by| (Kind::Machine, by)))
    }
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
            RuleImpl::Custom { name, .. } => write!(f, "Rule::custom({name:?})"),
        }
    }
}

/// A claim as a string: absent → `None`, a string → `Some`, another JSON type → invalid.
fn str_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, InvalidToken> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(InvalidToken::InvalidClaim),
    }
}

/// A provider's set of rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Preset {
    /// Auth0: `@clients` suffix or `gty: client-credentials`.
    Auth0,
    /// Ory Hydra: `sub` equals `client_id`.
    Hydra,
    /// Keycloak: `service-account-` username.
    Keycloak,
    /// Okta: `sub` equals `cid` without `uid`.
    Okta,
    /// Microsoft Entra ID: `idtyp: app`, or `oid` equals `sub`.
    Entra,
    /// Amazon Cognito: `sub` equals `client_id` without `username`.
    Cognito,
    /// Duende IdentityServer: `client_id` without `sub`.
    Duende,
    /// All of the above.
    #[default]
    Generic,
}

impl Preset {
    /// Every preset, for help texts.
    pub const ALL: [Preset; 8] = [
        Preset::Auth0,
        Preset::Hydra,
        Preset::Keycloak,
        Preset::Okta,
        Preset::Entra,
        Preset::Cognito,
        Preset::Duende,
        Preset::Generic,
    ];

    /// The preset's name, as accepted by `FromStr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth0 => "auth0",
            Self::Hydra => "hydra",
            Self::Keycloak => "keycloak",
            Self::Okta => "okta",
            Self::Entra => "entra",
            Self::Cognito => "cognito",
            Self::Duende => "duende",
            Self::Generic => "generic",
        }
    }

    /// The preset's rules, in the order they are tried.
    pub fn rules(self) -> Vec<Rule> {
        match self {
            Self::Auth0 => vec![Rule::auth0()],
            Self::Hydra => vec![Rule::hydra()],
            Self::Keycloak => vec![Rule::keycloak()],
            Self::Okta => vec![Rule::okta()],
            Self::Entra => vec![Rule::entra()],
            Self::Cognito => vec![Rule::cognito()],
            Self::Duende => vec![Rule::duende()],
            // Hydra's rule covers Cognito's machine tokens too (it is the weaker test), so in
            // the generic preset they are recorded as `hydra:sub-equals-client_id`.
            Self::Generic => vec![
                Rule::auth0(),
                Rule::keycloak(),
                Rule::okta(),
                Rule::entra(),
                Rule::hydra(),
                Rule::cognito(),
                Rule::duende(),
            ],
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown preset name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPreset(pub String);

impl fmt::Display for UnknownPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = Preset::ALL.iter().map(|p| p.as_str()).collect();
        write!(
            f,
            "unknown provider {:?}; expected one of {}",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownPreset {}

impl FromStr for Preset {
    type Err = UnknownPreset;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownPreset(s.to_owned()))
    }
}

/// Decides user or machine for verified claims.
#[derive(Clone, Debug)]
pub struct Classifier {
    claim: Option<Arc<str>>,
    custom: Vec<Rule>,
    rules: Vec<Rule>,
}

impl Default for Classifier {
    /// The `generic` preset and no custom claim.
    fn default() -> Self {
        Self::new(Preset::Generic)
    }
}

impl Classifier {
    /// A classifier with a preset's rules.
    pub fn new(preset: Preset) -> Self {
        Self {
            claim: None,
            custom: Vec::new(),
            rules: preset.rules(),
        }
    }

    /// A classifier with no provider rules: only the claim and custom rules decide, and
    /// everything else is a user.
    pub fn without_rules() -> Self {
        Self {
            claim: None,
            custom: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// A boolean claim the issuer adds (e.g. `https://example.com/is_m2m`) that decides
    /// whenever a token carries it.
    pub fn machine_claim(mut self, name: impl Into<String>) -> Self {
        self.claim = Some(Arc::from(name.into()));
        self
    }

    /// Adds a rule, tried after the claim and earlier custom rules, before the preset's.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.custom.push(rule);
        self
    }

    /// Classifies verified claims. Fails only for a malformed marker: a configured claim
    /// that is not a boolean, or a claim a rule reads that is not a string.
    pub fn classify(&self, claims: &Map<String, Value>) -> Result<Classification, InvalidToken> {
        if let Some(name) = &self.claim {
            match claims.get(&**name) {
                None => {}
                Some(Value::Bool(value)) => {
                    return Ok(Classification {
                        kind: if *value { Kind::Machine } else { Kind::User },
                        classified_by: ClassifiedBy::Claim {
                            name: Arc::clone(name),
                            value: *value,
                        },
                    })
                }
                Some(_) => return Err(InvalidToken::InvalidClaim),
            }
        }
        for rule in self.custom.iter().chain(&self.rules) {
            if let Some((kind, classified_by)) = rule.apply(claims)? {
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
