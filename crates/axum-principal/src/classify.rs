//! User or machine: verified claims → [`Kind`] and the rule that decided
//! ([`ClassifiedBy`]). Pure and table-driven.
//!
//! Order of evidence:
//! 1. the configured boolean claim ([`Classifier::machine_claim`]), when the token carries it:
//!    `true` → machine, `false` → user, any other JSON type → the token is invalid, since a
//!    misread marker could open machine-only routes;
//! 2. custom [`Rule`]s, in the order added;
//! 3. the provider rules of the **issuer's own** [`Preset`] (set per issuer with
//!    [`Issuer::provider`](crate::Issuer::provider); by default [`Preset::Auto`], chosen
//!    from the issuer URL), in the order listed there;
//! 4. otherwise a user.
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
    /// A custom rule, by its name.
    Custom(Arc<str>),
    /// No rule matched: a user.
    Default,
}

impl ClassifiedBy {
    /// Whether this rule supplies the subject from `client_id` (the token has no `sub`).
    pub(crate) fn subject_from_client_id(&self) -> bool {
        matches!(
            self,
            Self::ClientIdWithoutSubject | Self::Rfc9068ClientIdWithoutSubject
        )
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
    /// Ory Hydra: `sub` equals `client_id`. Rests on Hydra's habit: a login app that lets
    /// users pick a subject equal to a client id defeats it (prefer a custom claim there).
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
    /// RFC 9068 §2.2: `sub` equals `client_id`, or there is no `sub` but a `client_id`.
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
    fn apply(&self, claims: &Map<String, Value>) -> Option<(Kind, ClassifiedBy)> {
        let s = |name| claims.get(name).and_then(Value::as_str);
        let machine_by = match &self.0 {
            RuleImpl::Auth0 => {
                // The client id is `azp`, else `client_id`; an `azp` of another type is no
                // client id at all (the rule does not fire on its `@clients` branch).
                let client = match claims.get("azp") {
                    Some(azp) => azp.as_str(),
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
                } else if s("gty") == Some("client-credentials") {
                    Some(ClassifiedBy::Auth0GrantType)
                } else {
                    None
                }
            }
            RuleImpl::Hydra => {
                client_subject(claims, s("client_id")).then_some(ClassifiedBy::SubjectIsClientId)
            }
            RuleImpl::Cognito => (client_subject(claims, s("client_id"))
                && !claims.contains_key("username"))
            .then_some(ClassifiedBy::CognitoClientCredentials),
            RuleImpl::Okta => (same_string(s("sub"), s("cid")) && !claims.contains_key("uid"))
                .then_some(ClassifiedBy::OktaClientCredentials),
            // Keycloak names the service account `service-account-` + the client id in lower
            // case (usernames are lower-cased), so a client `Reporting-Svc` has the username
            // `service-account-reporting-svc`. The `client_id` claim is what a user's token
            // lacks, whatever username the user picked.
            RuleImpl::Keycloak => match (s("client_id"), s("preferred_username")) {
                (Some(client), Some(username)) if !client.is_empty() => username
                    .strip_prefix("service-account-")
                    .is_some_and(|rest| rest == client || rest == client.to_lowercase())
                    .then_some(ClassifiedBy::KeycloakServiceAccount),
                _ => None,
            },
            RuleImpl::Entra => {
                if s("idtyp") == Some("app") {
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
                return f(claims).map(|kind| (kind, ClassifiedBy::Custom(Arc::clone(name))));
            }
        };
        machine_by.map(|by| (Kind::Machine, by))
    }
}

/// Both present, non-empty and equal.
fn same_string(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if !a.is_empty() && a == b)
}

/// `sub` equals the client id, and the token records no user authentication (`auth_time`,
/// `amr` or `sid`, which a client-credentials grant never has): where a login app lets a
/// user pick a subject equal to a client id, that user's tokens still carry the login.
fn client_subject(claims: &Map<String, Value>, client: Option<&str>) -> bool {
    let sub = claims.get("sub").and_then(Value::as_str);
    same_string(sub, client)
        && !["auth_time", "amr", "sid"]
            .iter()
            .any(|c| claims.contains_key(*c))
}

/// No `sub` member at all, and a non-empty string `client_id`.
fn client_id_without_subject(claims: &Map<String, Value>) -> bool {
    !claims.contains_key("sub")
        && claims
            .get("client_id")
            .and_then(Value::as_str)
            .is_some_and(|c| !c.is_empty())
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

/// A provider's set of rules. A preset belongs to an issuer
/// ([`Issuer::provider`](crate::Issuer::provider)): a service that trusts several issuers
/// runs each issuer's own rules only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Preset {
    /// Chosen per issuer from its URL (the default): host `*.auth0.com` → [`Auth0`](Self::Auth0);
    /// `login.microsoftonline.com` or `sts.windows.net` → [`Entra`](Self::Entra);
    /// `cognito-idp.*.amazonaws.com` → [`Cognito`](Self::Cognito); `*.okta.com`,
    /// `*.oktapreview.com`, `*.okta-emea.com` → [`Okta`](Self::Okta); `*.oryapis.com` →
    /// [`Hydra`](Self::Hydra); a path containing `/realms/` → [`Keycloak`](Self::Keycloak);
    /// anything else → [`Rfc9068`](Self::Rfc9068). An issuer behind a custom domain gets
    /// `Rfc9068`: name its preset explicitly.
    #[default]
    Auto,
    /// Auth0: `sub` equals the client id + `@clients`, or `gty: client-credentials`.
    Auth0,
    /// Ory Hydra: `sub` equals `client_id`.
    Hydra,
    /// Keycloak: `preferred_username` is `service-account-` + the `client_id` claim.
    Keycloak,
    /// Okta: `sub` equals `cid` without `uid`.
    Okta,
    /// Microsoft Entra ID: `idtyp: app`, or `oid` equals `sub`.
    Entra,
    /// Amazon Cognito: `sub` equals `client_id` without `username`.
    Cognito,
    /// Duende IdentityServer: `client_id` without `sub`.
    Duende,
    /// RFC 9068 access tokens: `sub` equals `client_id`, or `client_id` without `sub`.
    Rfc9068,
    /// Every provider's rules on every token of the issuer. An explicit choice, never the
    /// default: it widens what counts as a machine to the union of all providers' habits
    /// (Hydra's `sub == client_id` on an issuer whose users may pick a subject equal to a
    /// client id, Entra's `oid == sub` on an issuer that sets both for users), so a token
    /// shape that is a user at its own issuer may be a machine under another's rule.
    Generic,
}

static AUTH0_RULES: [Rule; 1] = [Rule(RuleImpl::Auth0)];
static HYDRA_RULES: [Rule; 1] = [Rule(RuleImpl::Hydra)];
static KEYCLOAK_RULES: [Rule; 1] = [Rule(RuleImpl::Keycloak)];
static OKTA_RULES: [Rule; 1] = [Rule(RuleImpl::Okta)];
static ENTRA_RULES: [Rule; 1] = [Rule(RuleImpl::Entra)];
static COGNITO_RULES: [Rule; 1] = [Rule(RuleImpl::Cognito)];
static DUENDE_RULES: [Rule; 1] = [Rule(RuleImpl::Duende)];
static RFC9068_RULES: [Rule; 1] = [Rule(RuleImpl::Rfc9068)];
// Hydra's rule covers Cognito's and RFC 9068's `sub == client_id` tokens too (it is the
// weaker test), so in the generic preset they are recorded as `hydra:sub-equals-client_id`.
static GENERIC_RULES: [Rule; 8] = [
    Rule(RuleImpl::Auth0),
    Rule(RuleImpl::Keycloak),
    Rule(RuleImpl::Okta),
    Rule(RuleImpl::Entra),
    Rule(RuleImpl::Hydra),
    Rule(RuleImpl::Cognito),
    Rule(RuleImpl::Duende),
    Rule(RuleImpl::Rfc9068),
];

impl Preset {
    /// Every preset, for help texts.
    pub const ALL: [Preset; 10] = [
        Preset::Auto,
        Preset::Auth0,
        Preset::Hydra,
        Preset::Keycloak,
        Preset::Okta,
        Preset::Entra,
        Preset::Cognito,
        Preset::Duende,
        Preset::Rfc9068,
        Preset::Generic,
    ];

    /// The preset's name, as accepted by `FromStr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Auth0 => "auth0",
            Self::Hydra => "hydra",
            Self::Keycloak => "keycloak",
            Self::Okta => "okta",
            Self::Entra => "entra",
            Self::Cognito => "cognito",
            Self::Duende => "duende",
            Self::Rfc9068 => "rfc9068",
            Self::Generic => "generic",
        }
    }

    /// The concrete preset for an issuer: [`Auto`](Self::Auto) is resolved from the issuer
    /// URL (see its docs); every other preset is itself.
    pub fn for_issuer(self, issuer_url: &str) -> Preset {
        if self != Self::Auto {
            return self;
        }
        let Ok(url) = url::Url::parse(issuer_url) else {
            return Self::Rfc9068;
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            _ => String::new(),
        };
        let host = host.trim_end_matches('.');
        let under = |suffix: &str| {
            host.strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
        };
        if under("auth0.com") {
            Self::Auth0
        } else if host == "login.microsoftonline.com" || host == "sts.windows.net" {
            Self::Entra
        } else if host.starts_with("cognito-idp.") && under("amazonaws.com") {
            Self::Cognito
        } else if under("okta.com") || under("oktapreview.com") || under("okta-emea.com") {
            Self::Okta
        } else if under("oryapis.com") {
            Self::Hydra
        } else if url.path().contains("/realms/") {
            Self::Keycloak
        } else {
            Self::Rfc9068
        }
    }

    /// The preset's rules, in the order they are tried ([`Auto`](Self::Auto) not yet
    /// resolved to an issuer has the [`Rfc9068`](Self::Rfc9068) rules).
    pub fn rules(self) -> &'static [Rule] {
        match self {
            Self::Auth0 => &AUTH0_RULES,
            Self::Hydra => &HYDRA_RULES,
            Self::Keycloak => &KEYCLOAK_RULES,
            Self::Okta => &OKTA_RULES,
            Self::Entra => &ENTRA_RULES,
            Self::Cognito => &COGNITO_RULES,
            Self::Duende => &DUENDE_RULES,
            Self::Auto | Self::Rfc9068 => &RFC9068_RULES,
            Self::Generic => &GENERIC_RULES,
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

/// Decides user or machine for verified claims: the configured machine claim, custom
/// rules, then the preset's rules. The preset given here is the default for issuers that
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

    /// Adds a rule, tried after the claim and earlier custom rules, before the preset's.
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
    /// no provider rules).
    pub(crate) fn classify_for(
        &self,
        preset: Option<Preset>,
        claims: &Map<String, Value>,
    ) -> Result<Classification, InvalidToken> {
        self.classify_with(preset.map_or(&[][..], Preset::rules), claims)
    }

    fn classify_with(
        &self,
        rules: &[Rule],
        claims: &Map<String, Value>,
    ) -> Result<Classification, InvalidToken> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ClassifiedBy as By;

    fn classify(c: &Classifier, claims: &Value) -> Result<(Kind, String), InvalidToken> {
        let claims = claims
            .as_object()
            .cloned()
            .expect("test claims are a JSON object");
        c.classify(&claims)
            .map(|c| (c.kind, c.classified_by.to_string()))
    }

    /// Token shapes as the providers issue them (trimmed to the claims that matter), and the
    /// spoofing shapes a user can bring about at each provider: every spoof stays a user.
    #[test]
    fn provider_token_shapes_and_spoofs() {
        let m = Kind::Machine;
        let u = Kind::User;
        let cases: Vec<(&str, Preset, Value, Kind, By)> = vec![
            // Auth0
            ("auth0 user", Preset::Auth0,
             json!({"sub":"auth0|5f7c8ec7c33c6c004bbafe82","azp":"AbC123","scope":"openid profile"}), u, By::Default),
            ("auth0 m2m", Preset::Auth0,
             json!({"sub":"Gdy3x5H1YpNhSqs7@clients","azp":"Gdy3x5H1YpNhSqs7","gty":"client-credentials"}), m, By::Auth0ClientSubject),
            ("auth0 m2m, RFC 9068 profile (client_id, no gty)", Preset::Auth0,
             json!({"sub":"Gdy3x5H1YpNhSqs7@clients","client_id":"Gdy3x5H1YpNhSqs7"}), m, By::Auth0ClientSubject),
            ("auth0 gty without the suffix", Preset::Auth0,
             json!({"sub":"Gdy3x5H1YpNhSqs7","gty":"client-credentials"}), m, By::Auth0GrantType),
            ("spoof: auth0 enterprise connection shapes sub as x@clients", Preset::Auth0,
             json!({"sub":"samlp|evilcorp|x@clients","azp":"AbC123"}), u, By::Default),
            ("spoof: auth0 sub <other client>@clients", Preset::Auth0,
             json!({"sub":"Gdy3x5H1YpNhSqs7@clients","azp":"AbC123"}), u, By::Default),
            ("spoof: auth0 @clients suffix without any client id", Preset::Auth0,
             json!({"sub":"x@clients"}), u, By::Default),
            ("spoof: auth0 connection sub equal to azp@clients but azp not a string", Preset::Auth0,
             json!({"sub":"AbC123@clients","azp":["AbC123"],"client_id":"AbC123"}), u, By::Default),
            ("auth0 passwordless user with @ in sub", Preset::Auth0,
             json!({"sub":"email|anon@clients.example.org","azp":"AbC123"}), u, By::Default),
            ("auth0 password grant user", Preset::Auth0,
             json!({"sub":"auth0|abc","gty":"password"}), u, By::Default),
            ("auth0 gty array is no grant type (a user, not a 401)", Preset::Auth0,
             json!({"sub":"auth0|abc","gty":["client-credentials"]}), u, By::Default),
            ("auth0 RFC 9068 user", Preset::Auth0,
             json!({"sub":"auth0|abc","client_id":"AbC123"}), u, By::Default),
            // Ory Hydra
            ("hydra m2m", Preset::Hydra,
             json!({"sub":"my-service","client_id":"my-service","scope":"read:reports"}), m, By::SubjectIsClientId),
            ("hydra user", Preset::Hydra,
             json!({"sub":"0b8a2f9e-6f7e-4c1e-9a53-2f1c3c6c9a11","client_id":"my-web-app"}), u, By::Default),
            ("hydra: azp equal to sub is not client_id", Preset::Hydra,
             json!({"sub":"alice","azp":"alice"}), u, By::Default),
            ("spoof: hydra user whose chosen subject equals a client id (the login is recorded)", Preset::Hydra,
             json!({"sub":"my-service","client_id":"my-service","auth_time":1_700_000_000,"amr":["pwd"]}), u, By::Default),
            ("spoof: rfc9068 user whose username equals the SPA's client id (sid)", Preset::Rfc9068,
             json!({"sub":"spa","client_id":"spa","sid":"s1"}), u, By::Default),
            ("hydra: numeric client_id does not fire", Preset::Hydra,
             json!({"sub":"7","client_id":7}), u, By::Default),
            // Cognito
            ("cognito m2m", Preset::Cognito,
             json!({"sub":"5r8k2b1m9qv0","client_id":"5r8k2b1m9qv0","token_use":"access","scope":"api/read"}), m, By::CognitoClientCredentials),
            ("cognito user", Preset::Cognito,
             json!({"sub":"a1b2c3d4-0000-1111-2222-333344445555","client_id":"5r8k2b1m9qv0","username":"alice","token_use":"access"}), u, By::Default),
            ("cognito: sub == client_id but a username", Preset::Cognito,
             json!({"sub":"5r8k2b1m9qv0","client_id":"5r8k2b1m9qv0","username":"5r8k2b1m9qv0"}), u, By::Default),
            // Okta
            ("okta m2m", Preset::Okta,
             json!({"sub":"0oa1b2c3d4e5f6","cid":"0oa1b2c3d4e5f6","scp":["read:reports"]}), m, By::OktaClientCredentials),
            ("okta user", Preset::Okta,
             json!({"sub":"alice@example.com","cid":"0oa1b2c3d4e5f6","uid":"00u1abcd","scp":["openid"]}), u, By::Default),
            ("okta: sub == cid with uid", Preset::Okta,
             json!({"sub":"0oa1","cid":"0oa1","uid":"00u1"}), u, By::Default),
            // Keycloak
            ("keycloak service account (UUID sub, client_id claim)", Preset::Keycloak,
             json!({"sub":"3f1e7c5a-9d2b-4a8e-b6c1-0e9f8d7c6b5a","azp":"reporting-svc","client_id":"reporting-svc","preferred_username":"service-account-reporting-svc","realm_access":{"roles":["offline_access"]}}), m, By::KeycloakServiceAccount),
            ("keycloak user (UUID sub, azp)", Preset::Keycloak,
             json!({"sub":"7a6b5c4d-3e2f-1a0b-9c8d-7e6f5a4b3c2d","azp":"web","preferred_username":"alice"}), u, By::Default),
            ("spoof: keycloak user registers service-account-x, logs in through the web client", Preset::Keycloak,
             json!({"sub":"7a6b5c4d-3e2f-1a0b-9c8d-7e6f5a4b3c2d","azp":"web","preferred_username":"service-account-x"}), u, By::Default),
            ("spoof: keycloak brokered login named service-account-web for client web (no client_id)", Preset::Keycloak,
             json!({"sub":"7a6b5c4d","azp":"web","preferred_username":"service-account-web"}), u, By::Default),
            ("spoof: keycloak service-account- username of another client", Preset::Keycloak,
             json!({"sub":"7a6b5c4d","azp":"web","client_id":"web","preferred_username":"service-account-reporting-svc"}), u, By::Default),
            ("keycloak service account of a mixed-case client (usernames are lower case)", Preset::Keycloak,
             json!({"sub":"3f1e","azp":"Reporting-Svc","client_id":"Reporting-Svc","preferred_username":"service-account-reporting-svc"}), m, By::KeycloakServiceAccount),
            ("keycloak: numeric client_id does not fire", Preset::Keycloak,
             json!({"sub":"7a6b5c4d","client_id":5,"preferred_username":"service-account-5"}), u, By::Default),
            // Entra ID
            ("entra app token with idtyp", Preset::Entra,
             json!({"sub":"9f8e7d6c","oid":"9f8e7d6c","idtyp":"app","azp":"11112222","roles":["Reports.Read.All"]}), m, By::EntraAppIdType),
            ("entra app token without idtyp", Preset::Entra,
             json!({"sub":"9f8e7d6c","oid":"9f8e7d6c","azp":"11112222"}), m, By::EntraObjectIsSubject),
            ("entra user token", Preset::Entra,
             json!({"sub":"AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ","oid":"00000000-0000-0000-66f3-3332eca7ea81","azp":"11112222","scp":"User.Read","preferred_username":"service-account-11112222"}), u, By::Default),
            // Duende
            ("duende m2m (no sub)", Preset::Duende,
             json!({"client_id":"reporting","scope":["api1"]}), m, By::ClientIdWithoutSubject),
            ("duende user", Preset::Duende,
             json!({"sub":"818727","client_id":"web","scope":["openid","api1"]}), u, By::Default),
            // RFC 9068
            ("rfc9068 client credentials (sub == client_id)", Preset::Rfc9068,
             json!({"sub":"svc","client_id":"svc"}), m, By::Rfc9068SubjectIsClientId),
            ("rfc9068 client_id without sub", Preset::Rfc9068,
             json!({"client_id":"svc"}), m, By::Rfc9068ClientIdWithoutSubject),
            ("rfc9068 user", Preset::Rfc9068,
             json!({"sub":"alice","client_id":"web"}), u, By::Default),
            ("spoof: rfc9068 ignores other providers' shapes", Preset::Rfc9068,
             json!({"sub":"x@clients","azp":"x","gty":"client-credentials","preferred_username":"service-account-x","idtyp":"app"}), u, By::Default),
        ];
        for (name, preset, claims, kind, by) in cases {
            let got = classify(&Classifier::new(preset), &claims);
            assert_eq!(got, Ok((kind, by.to_string())), "{name}");
        }
    }

    /// Under `generic` the spoofs still stay users: every rule is tied to the client
    /// identity, whichever issuer the token comes from.
    #[test]
    fn generic_runs_every_rule_and_no_spoof_passes() {
        let c = Classifier::new(Preset::Generic);
        for spoof in [
            json!({"sub":"samlp|evilcorp|x@clients","azp":"AbC123"}),
            json!({"sub":"uuid","azp":"web","preferred_username":"service-account-x"}),
            json!({"sub":"uuid","azp":"web","preferred_username":"service-account-web"}),
            json!({"sub":"u","gty":5,"client_id":["svc"],"preferred_username":{"a":1}}),
        ] {
            assert_eq!(
                classify(&c, &spoof),
                Ok((Kind::User, "default:user".to_owned())),
                "{spoof}"
            );
        }
        let cases = [
            (
                json!({"sub":"a@clients","azp":"a"}),
                "auth0:sub-is-client-id@clients",
            ),
            (
                json!({"sub":"u1","client_id":"kc","preferred_username":"service-account-kc"}),
                "keycloak:service-account-of-client_id",
            ),
            (
                json!({"sub":"c","cid":"c"}),
                "okta:sub-equals-cid-without-uid",
            ),
            (json!({"sub":"o","oid":"o"}), "entra:oid-equals-sub"),
            (
                json!({"sub":"c","client_id":"c","username":"x"}),
                "hydra:sub-equals-client_id",
            ),
            (json!({"client_id":"c"}), "duende:client_id-without-sub"),
        ];
        for (claims, by) in cases {
            assert_eq!(
                classify(&c, &claims),
                Ok((Kind::Machine, by.to_owned())),
                "{claims}"
            );
        }
    }

    #[test]
    fn each_preset_has_only_its_own_rules() {
        let keycloak_sa =
            json!({"sub":"uuid","client_id":"x","preferred_username":"service-account-x"});
        assert_eq!(
            classify(&Classifier::new(Preset::Auth0), &keycloak_sa).map(|r| r.0),
            Ok(Kind::User)
        );
        let auth0_m2m = json!({"sub":"x@clients","azp":"x"});
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
    fn auto_follows_the_issuer_url() {
        let cases = [
            ("https://tenant.auth0.com/", Preset::Auth0),
            ("https://tenant.eu.auth0.com/", Preset::Auth0),
            ("https://TENANT.Auth0.com/", Preset::Auth0),
            ("https://evilauth0.com/", Preset::Rfc9068),
            ("https://auth0.com.evil.example/", Preset::Rfc9068),
            ("https://login.microsoftonline.com/tid/v2.0", Preset::Entra),
            ("https://sts.windows.net/tid/", Preset::Entra),
            (
                "https://login.microsoftonline.com.evil.example/tid/v2.0",
                Preset::Rfc9068,
            ),
            (
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
                Preset::Cognito,
            ),
            (
                "https://s3.eu-west-1.amazonaws.com/cognito-idp",
                Preset::Rfc9068,
            ),
            ("https://dev-1.okta.com/oauth2/default", Preset::Okta),
            ("https://dev-1.oktapreview.com/oauth2/default", Preset::Okta),
            ("https://dev-1.okta-emea.com", Preset::Okta),
            ("https://project.projects.oryapis.com/", Preset::Hydra),
            ("https://sso.example.com/realms/staff", Preset::Keycloak),
            ("http://127.0.0.1:8080/realms/test", Preset::Keycloak),
            ("https://sso.example.com/realmsx", Preset::Rfc9068),
            ("https://issuer.example.com/", Preset::Rfc9068),
            ("http://127.0.0.1:4000", Preset::Rfc9068),
            ("not a url", Preset::Rfc9068),
        ];
        for (url, expected) in cases {
            assert_eq!(Preset::Auto.for_issuer(url), expected, "{url}");
        }
        assert_eq!(
            Preset::Generic.for_issuer("https://t.auth0.com/"),
            Preset::Generic
        );
        // Classifier::classify resolves `auto` from the verified `iss`.
        let c = Classifier::default();
        assert_eq!(
            classify(
                &c,
                &json!({"iss":"https://t.auth0.com/","sub":"a@clients","azp":"a"})
            ),
            Ok((Kind::Machine, "auth0:sub-is-client-id@clients".to_owned()))
        );
        assert_eq!(
            classify(
                &c,
                &json!({"iss":"https://other.example/","sub":"a@clients","azp":"a"})
            ),
            Ok((Kind::User, "default:user".to_owned()))
        );
    }

    #[test]
    fn the_configured_claim_decides_and_must_be_boolean() {
        let c = Classifier::new(Preset::Auth0).machine_claim("https://example.com/is_m2m");
        let cases = [
            (
                json!({"sub":"svc@clients","azp":"svc","https://example.com/is_m2m":false}),
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
                json!({"sub":"svc@clients","azp":"svc"}),
                Ok((Kind::Machine, "auth0:sub-is-client-id@clients".to_owned())),
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

    /// Only the configured claim must be a boolean: a claim a provider rule reads that has
    /// another type makes the rule not fire (a user), never an error.
    #[test]
    fn claims_of_unexpected_types_make_rules_not_fire() {
        let c = Classifier::new(Preset::Generic);
        for claims in [
            json!({"sub":"u","gty":5}),
            json!({"sub":"svc","client_id":["svc"]}),
            json!({"sub":"u","client_id":"x","preferred_username":{"a":1}}),
            json!({"sub":"o","oid":7,"idtyp":["app"]}),
            json!({"sub":"c","cid":null}),
            json!({"client_id":{"id":"c"}}),
        ] {
            assert_eq!(
                classify(&c, &claims),
                Ok((Kind::User, "default:user".to_owned())),
                "{claims}"
            );
        }
    }

    #[test]
    fn custom_rules_come_before_provider_rules() {
        let c = Classifier::new(Preset::Auth0)
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
            classify(&c, &json!({"sub":"x@clients","azp":"x","human":true})),
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
        assert_eq!(" AUTO ".parse::<Preset>(), Ok(Preset::Auto));
        assert!("auth1".parse::<Preset>().is_err());
    }
}
