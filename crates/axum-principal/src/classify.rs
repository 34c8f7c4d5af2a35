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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ClassifiedBy as By;

    fn classify(c: &Classifier, claims: &Value) -> Result<(Kind, String), InvalidToken> {
        let claims = claims.as_object().cloned().unwrap_or_default();
        c.classify(&claims)
            .map(|c| (c.kind, c.classified_by.to_string()))
    }

    /// Token shapes as the providers issue them (trimmed to the claims that matter).
    #[test]
    fn provider_token_shapes() {
        let m = Kind::Machine;
        let u = Kind::User;
        let cases: Vec<(&str, Preset, Value, Kind, By)> = vec![
            // Auth0
            (
                "auth0 user",
                Preset::Auth0,
                json!({"sub":"auth0|5f7c8ec7c33c6c004bbafe82","azp":"AbC123","scope":"openid profile"}),
                u,
                By::Default,
            ),
            (
                "auth0 m2m",
                Preset::Auth0,
                json!({"sub":"Gdy3x5H1YpNhSqs7@clients","azp":"Gdy3x5H1YpNhSqs7","gty":"client-credentials"}),
                m,
                By::Auth0ClientsSuffix,
            ),
            (
                "auth0 m2m, RFC 9068 profile (no gty)",
                Preset::Auth0,
                json!({"sub":"Gdy3x5H1YpNhSqs7@clients","client_id":"Gdy3x5H1YpNhSqs7"}),
                m,
                By::Auth0ClientsSuffix,
            ),
            (
                "auth0 gty without the suffix",
                Preset::Auth0,
                json!({"sub":"Gdy3x5H1YpNhSqs7","gty":"client-credentials"}),
                m,
                By::Auth0GrantType,
            ),
            (
                "auth0 passwordless user with @ in sub",
                Preset::Auth0,
                json!({"sub":"email|anon@clients.example.org","azp":"AbC123"}),
                u,
                By::Default,
            ),
            (
                "auth0 password grant user",
                Preset::Auth0,
                json!({"sub":"auth0|abc","gty":"password"}),
                u,
                By::Default,
            ),
            (
                "auth0 RFC 9068 user",
                Preset::Auth0,
                json!({"sub":"auth0|abc","client_id":"AbC123"}),
                u,
                By::Default,
            ),
            // Ory Hydra
            (
                "hydra m2m",
                Preset::Hydra,
                json!({"sub":"my-service","client_id":"my-service","scope":"read:reports"}),
                m,
                By::SubjectIsClientId,
            ),
            (
                "hydra user",
                Preset::Hydra,
                json!({"sub":"0b8a2f9e-6f7e-4c1e-9a53-2f1c3c6c9a11","client_id":"my-web-app"}),
                u,
                By::Default,
            ),
            (
                "hydra: azp equal to sub is not client_id",
                Preset::Hydra,
                json!({"sub":"alice","azp":"alice"}),
                u,
                By::Default,
            ),
            // Cognito
            (
                "cognito m2m",
                Preset::Cognito,
                json!({"sub":"5r8k2b1m9qv0","client_id":"5r8k2b1m9qv0","token_use":"access","scope":"api/read"}),
                m,
                By::CognitoClientCredentials,
            ),
            (
                "cognito user",
                Preset::Cognito,
                json!({"sub":"a1b2c3d4-0000-1111-2222-333344445555","client_id":"5r8k2b1m9qv0","username":"alice","token_use":"access"}),
                u,
                By::Default,
            ),
            (
                "cognito: sub == client_id but a username",
                Preset::Cognito,
                json!({"sub":"5r8k2b1m9qv0","client_id":"5r8k2b1m9qv0","username":"5r8k2b1m9qv0"}),
                u,
                By::Default,
            ),
            // Okta
            (
                "okta m2m",
                Preset::Okta,
                json!({"sub":"0oa1b2c3d4e5f6","cid":"0oa1b2c3d4e5f6","scp":["read:reports"]}),
                m,
                By::OktaClientCredentials,
            ),
            (
                "okta user",
                Preset::Okta,
                json!({"sub":"alice@example.com","cid":"0oa1b2c3d4e5f6","uid":"00u1abcd","scp":["openid"]}),
                u,
                By::Default,
            ),
            (
                "okta: sub == cid with uid",
                Preset::Okta,
                json!({"sub":"0oa1","cid":"0oa1","uid":"00u1"}),
                u,
                By::Default,
            ),
            // Keycloak
            (
                "keycloak service account (UUID sub)",
                Preset::Keycloak,
                json!({"sub":"3f1e7c5a-9d2b-4a8e-b6c1-0e9f8d7c6b5a","azp":"reporting-svc","preferred_username":"service-account-reporting-svc","realm_access":{"roles":["offline_access"]}}),
                m,
                By::KeycloakServiceAccount,
            ),
            (
                "keycloak user (UUID sub, azp)",
                Preset::Keycloak,
                json!({"sub":"7a6b5c4d-3e2f-1a0b-9c8d-7e6f5a4b3c2d","azp":"web","preferred_username":"alice"}),
                u,
                By::Default,
            ),
            // Entra ID
            (
                "entra app token with idtyp",
                Preset::Entra,
                json!({"sub":"9f8e7d6c","oid":"9f8e7d6c","idtyp":"app","azp":"11112222","roles":["Reports.Read.All"]}),
                m,
                By::EntraAppIdType,
            ),
            (
                "entra app token without idtyp",
                Preset::Entra,
                json!({"sub":"9f8e7d6c","oid":"9f8e7d6c","azp":"11112222"}),
                m,
                By::EntraObjectIsSubject,
            ),
            (
                "entra user token",
                Preset::Entra,
                json!({"sub":"AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ","oid":"00000000-0000-0000-66f3-3332eca7ea81","azp":"11112222","scp":"User.Read"}),
                u,
                By::Default,
            ),
            // Duende
            (
                "duende m2m (no sub)",
                Preset::Duende,
                json!({"client_id":"reporting","scope":["api1"]}),
                m,
                By::ClientIdWithoutSubject,
            ),
            (
                "duende user",
                Preset::Duende,
                json!({"sub":"818727","client_id":"web","scope":["openid","api1"]}),
                u,
                By::Default,
            ),
        ];
        for (name, preset, claims, kind, by) in cases {
            for classifier in [Classifier::new(preset), Classifier::new(Preset::Generic)] {
                let got = classify(&classifier, &claims);
                let generic = classifier.rules.len() > 1;
                // In the generic preset Hydra's weaker `sub == client_id` rule is tried
                // before Cognito's, so it decides every token Cognito's rule would, and the
                // token with a username too.
                let expected = match (&by, generic) {
                    (By::CognitoClientCredentials, true) => (kind, By::SubjectIsClientId),
                    (_, true) if name.starts_with("cognito: sub == client_id") => {
                        (Kind::Machine, By::SubjectIsClientId)
                    }
                    _ => (kind, by.clone()),
                };
                assert_eq!(
                    got,
                    Ok((expected.0, expected.1.to_string())),
                    "{name} ({classifier:?})"
                );
            }
        }
    }

    #[test]
    fn each_preset_has_only_its_own_rules() {
        let keycloak_sa = json!({"sub":"uuid","preferred_username":"service-account-x"});
        assert_eq!(
            classify(&Classifier::new(Preset::Auth0), &keycloak_sa).map(|r| r.0),
            Ok(Kind::User)
        );
        let auth0_m2m = json!({"sub":"x@clients"});
        assert_eq!(
            classify(&Classifier::new(Preset::Keycloak), &auth0_m2m).map(|r| r.0),
            Ok(Kind::User)
        );
        let hydra_m2m = json!({"sub":"svc","client_id":"svc"});
        assert_eq!(
            classify(&Classifier::new(Preset::Okta), &hydra_m2m).map(|r| r.0),
            Ok(Kind::User)
        );
        assert_eq!(
            classify(&Classifier::without_rules(), &hydra_m2m).map(|r| r.0),
            Ok(Kind::User)
        );
    }

    #[test]
    fn the_configured_claim_decides_and_must_be_boolean() {
        let c = Classifier::new(Preset::Generic).machine_claim("https://example.com/is_m2m");
        let cases = [
            (
                json!({"sub":"svc@clients","https://example.com/is_m2m":false}),
                Ok((
                    Kind::User,
                    "claim:https://example.com/is_m2m=false".to_owned(),
                )),
            ),
            (
                json!({"sub":"auth0|u","https://example.com/is_m2m":true}),
                Ok((
                    Kind::Machine,
                    "claim:https://example.com/is_m2m=true".to_owned(),
                )),
            ),
            (
                json!({"sub":"svc@clients"}),
                Ok((Kind::Machine, "auth0:sub-ends-with-@clients".to_owned())),
            ),
            (
                json!({"sub":"u","https://example.com/is_m2m":"true"}),
                Err(InvalidToken::InvalidClaim),
            ),
            (
                json!({"sub":"u","https://example.com/is_m2m":1}),
                Err(InvalidToken::InvalidClaim),
            ),
            (
                json!({"sub":"u","https://example.com/is_m2m":null}),
                Err(InvalidToken::InvalidClaim),
            ),
        ];
        for (claims, expected) in cases {
            assert_eq!(classify(&c, &claims), expected, "{claims}");
        }
    }

    #[test]
    fn claims_rules_read_must_be_strings() {
        let c = Classifier::new(Preset::Generic);
        for claims in [
            json!({"sub":"u","gty":5}),
            json!({"sub":"u","client_id":["svc"]}),
            json!({"sub":"u","preferred_username":{"a":1}}),
            json!({"sub":42}),
        ] {
            assert_eq!(
                classify(&c, &claims),
                Err(InvalidToken::InvalidClaim),
                "{claims}"
            );
        }
    }

    #[test]
    fn custom_rules_come_before_provider_rules() {
        let c = Classifier::new(Preset::Generic)
            .rule(Rule::custom("robots", |c| {
                c.get("sub")?
                    .as_str()?
                    .starts_with("robot:")
                    .then_some(Kind::Machine)
            }))
            .rule(Rule::custom("humans", |c| {
                (c.get("human")? == true).then_some(Kind::User)
            }));
        assert_eq!(
            classify(&c, &json!({"sub":"robot:7"})),
            Ok((Kind::Machine, "custom:robots".into()))
        );
        assert_eq!(
            classify(&c, &json!({"sub":"x@clients","human":true})),
            Ok((Kind::User, "custom:humans".into()))
        );
        assert_eq!(
            classify(&c, &json!({"sub":"alice"})),
            Ok((Kind::User, "default:user".into()))
        );
    }

    #[test]
    fn preset_names_parse() {
        for p in Preset::ALL {
            assert_eq!(p.as_str().parse::<Preset>(), Ok(p));
        }
        assert!("auth1".parse::<Preset>().is_err());
    }
}
