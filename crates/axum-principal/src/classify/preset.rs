//! Presets: each provider's set of rules, and `auto`, which picks one from the issuer URL.

use std::fmt;
use std::str::FromStr;

use super::rule::{Rule, RuleImpl};

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
    /// client id, and Cognito's, which fires even on a token that records a login; Entra's
    /// `oid == sub` on an issuer that sets both for users), so a token shape that is a user
    /// at its own issuer may be a machine under another's rule.
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
// Hydra's rule comes before Cognito's and RFC 9068's: a `sub == client_id` token that records
// no login (`auth_time`, `amr`, `sid`) is recorded as `hydra:sub-equals-client_id`. A Cognito
// client-credentials token carries `auth_time`, so Hydra's rule passes it on and Cognito's
// records it (`cognito:sub-equals-client_id-without-username`); a token with a `username` is
// left to the later rules.
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
