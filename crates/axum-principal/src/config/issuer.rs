//! [`Issuer`]: one trusted issuer and where its keys come from.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use super::introspection::Introspection;
use crate::classify::Preset;
use crate::tenant;

/// One trusted issuer: its exact `iss` value and where its keys come from.
#[derive(Clone)]
pub struct Issuer {
    pub(crate) url: String,
    pub(crate) jwks_uri: Option<String>,
    pub(crate) hmac_secret: Option<Arc<[u8]>>,
    pub(crate) use_jwks: bool,
    pub(crate) static_jwks: Option<Arc<str>>,
    pub(crate) client_id_as_audience: bool,
    pub(crate) provider: Option<Preset>,
    pub(crate) accept_id_tokens: bool,
    /// The concrete preset whose rules classify this issuer's tokens, resolved by `build()`
    /// from [`Issuer::provider`] or the classifier's default (`None`: no provider rules).
    pub(crate) rules: Option<Preset>,
    /// This issuer's own audiences ([`Issuer::audience`]); empty: the global ones.
    pub(crate) audiences: Vec<String>,
    /// This issuer's own roles claim ([`Issuer::roles_claim`]).
    pub(crate) roles_claim: Option<String>,
    /// This issuer's own machine claim ([`Issuer::machine_claim`]).
    pub(crate) machine_claim: Option<Arc<str>>,
    /// Whether the URL is a tenant template ([`Issuer::template`]).
    pub(crate) is_template: bool,
    /// The tenants a template admits ([`Issuer::tenants`], [`Issuer::any_tenant`]).
    pub(crate) tenants: Option<Tenants>,
    /// The template split at its placeholder, by `build()`.
    pub(crate) template: Option<Template>,
    /// How this issuer's opaque tokens are introspected ([`Issuer::introspection`]).
    pub(crate) introspection: Option<Introspection>,
    /// The configured introspection endpoint, parsed by `build()`.
    pub(crate) introspection_endpoint: Option<reqwest::Url>,
}

/// The tenants an issuer template admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tenants {
    /// Any tenant id ([`Issuer::any_tenant`]).
    Any,
    /// Only these ([`Issuer::tenants`]).
    Only(HashSet<Box<str>>),
}

/// An issuer template as `build()` checked it: the parts around `{tenantid}`.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    pub(crate) prefix: Box<str>,
    pub(crate) suffix: Box<str>,
    pub(crate) tenants: Tenants,
}

/// How a token's `iss` and `tid` meet a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TemplateMatch {
    /// The template's fixed parts are not around `iss`: another issuer, perhaps.
    NotThisIssuer,
    /// `iss` has the template's shape, but the `tid` is missing, malformed, not allowed, or
    /// does not fill the template to `iss`.
    TenantRefused,
    /// `iss` is the template filled with an allowed `tid`.
    Matches,
}

impl Template {
    /// Checks `iss` against this template and the token's `tid` claim (`None` when absent or
    /// not a string), without allocating.
    pub(crate) fn check(&self, iss: &str, tid: Option<&str>) -> TemplateMatch {
        if !tenant::fits(&self.prefix, &self.suffix, iss) {
            return TemplateMatch::NotThisIssuer;
        }
        let Some(tid) = tid else {
            return TemplateMatch::TenantRefused;
        };
        let allowed = match &self.tenants {
            Tenants::Any => true,
            Tenants::Only(set) => set.contains(tid),
        };
        if allowed
            && tenant::is_tenant_id(tid)
            && tenant::fills(&self.prefix, &self.suffix, tid, iss)
        {
            TemplateMatch::Matches
        } else {
            TemplateMatch::TenantRefused
        }
    }
}

impl Issuer {
    /// An issuer identified by `url`, which must equal the tokens' `iss` exactly. Keys are
    /// found through OIDC discovery, falling back to RFC 8414 metadata.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            jwks_uri: None,
            hmac_secret: None,
            use_jwks: true,
            static_jwks: None,
            client_id_as_audience: false,
            provider: None,
            accept_id_tokens: false,
            rules: None,
            audiences: Vec::new(),
            roles_claim: None,
            machine_claim: None,
            is_template: false,
            tenants: None,
            template: None,
            introspection: None,
            introspection_endpoint: None,
        }
    }

    /// A multi-tenant issuer: `template` carries `{tenantid}` once (Microsoft Entra ID:
    /// `https://login.microsoftonline.com/{tenantid}/v2.0`, or v1
    /// `https://sts.windows.net/{tenantid}/`). A token matches when its `iss` equals the
    /// template with the token's own `tid` claim in place of `{tenantid}`, and that `tid` is
    /// allowed: list the tenants with [`tenants`](Self::tenants) or opt in to every tenant
    /// with [`any_tenant`](Self::any_tenant) (one of them is required). A `tid` must be 1 to
    /// 64 ASCII letters, digits, `-`, `_` or `.`.
    ///
    /// A token whose tenant is not allowed, that has no `tid`, or whose `iss` does not fit
    /// is refused (`tenant_not_allowed`) before any key is looked up, so it causes no
    /// network I/O. Keys come from [`jwks_uri`](Self::jwks_uri) (Entra's common
    /// `https://login.microsoftonline.com/common/discovery/v2.0/keys`) or
    /// [`static_jwks`](Self::static_jwks), one of which is required (a template has no
    /// discovery document of its own); a key whose JWK `issuer` member names another issuer
    /// (after its own `{tenantid}` is filled with the token's `tid`) is not used.
    /// [`Principal::issuer`](crate::Principal::issuer) is the token's own, tenant-specific
    /// `iss`.
    pub fn template(template: impl Into<String>) -> Self {
        let mut issuer = Self::new(template);
        issuer.is_template = true;
        issuer
    }

    /// The tenants an [issuer template](Self::template) admits (exact, case-sensitive
    /// `tid` values). Adds to earlier calls.
    pub fn tenants<I, T>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let mut set = match self.tenants.take() {
            Some(Tenants::Only(set)) => set,
            _ => HashSet::new(),
        };
        set.extend(tenants.into_iter().map(|t| Box::from(t.into())));
        self.tenants = Some(Tenants::Only(set));
        self
    }

    /// An [issuer template](Self::template) admits every tenant: any organisation's tokens
    /// from that issuer verify, so authorize on more than the issuer (roles, scopes, or the
    /// `tid` itself).
    pub fn any_tenant(mut self) -> Self {
        self.tenants = Some(Tenants::Any);
        self
    }

    /// This issuer's tokens must name this audience (call once per audience), in place of
    /// the configuration's [`audience`](crate::AuthConfigBuilder::audience)s, which remain
    /// the default for issuers without their own.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Where this issuer's roles are read (a claim name or dotted path), in place of the
    /// configuration's [`roles_claim`](crate::AuthConfigBuilder::roles_claim).
    pub fn roles_claim(mut self, path: impl Into<String>) -> Self {
        self.roles_claim = Some(path.into());
        self
    }

    /// The boolean claim that marks this issuer's machine tokens, in place of the
    /// classifier's [`machine_claim`](crate::Classifier::machine_claim) (same rules: it
    /// decides first, and a non-boolean value makes the token invalid).
    pub fn machine_claim(mut self, name: impl Into<String>) -> Self {
        self.machine_claim = Some(Arc::from(name.into()));
        self
    }

    /// The audiences for this issuer's tokens: its own, else `default`.
    pub(crate) fn audiences_or<'a>(&'a self, default: &'a [String]) -> &'a [String] {
        if self.audiences.is_empty() {
            default
        } else {
            &self.audiences
        }
    }

    /// Classify this issuer's tokens with `preset`'s rules, and only this issuer's tokens
    /// (default: the classifier's preset, [`Preset::Auto`] unless set, which picks the
    /// preset from this issuer's URL). In a service that trusts several issuers each runs
    /// its own rules only.
    pub fn provider(mut self, preset: Preset) -> Self {
        self.provider = Some(preset);
        self
    }

    /// Accept OpenID Connect ID tokens from this issuer as if they were access tokens. By
    /// default a token with `token_use: id`, a `typ` claim of `ID`, or an `at_hash` or
    /// `c_hash` claim is refused (`id_token`): an ID token tells a client who logged in, it
    /// does not authorize calls to an API, and its audience is a client id. Only for the
    /// rare issuer that issues nothing else.
    pub fn accept_id_tokens(mut self) -> Self {
        self.accept_id_tokens = true;
        self
    }

    /// Verify this issuer's opaque tokens (anything that is not a JWS) by asking its token
    /// introspection endpoint (RFC 7662), as [`Introspection`] says. Its JWTs are still
    /// verified locally with its keys. Not for an [issuer template](Self::template).
    pub fn introspection(mut self, introspection: Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }

    /// Fetch keys from this JWKS URL and skip discovery.
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Accept HS256/HS384/HS512 tokens from this issuer, verified with this secret (at least
    /// 32 bytes). HMAC is never accepted with keys from a JWKS.
    pub fn hmac_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.hmac_secret = Some(Arc::from(secret.into()));
        self
    }

    /// Use this JWKS document (`{"keys":[…]}`) and never fetch keys: for services with
    /// pinned keys, offline tests and fuzzing. Keys cannot rotate without a restart.
    pub fn static_jwks(mut self, jwks_json: impl Into<String>) -> Self {
        self.static_jwks = Some(Arc::from(jwks_json.into()));
        self
    }

    /// For issuers whose access tokens carry no `aud` but a `client_id` (Amazon Cognito):
    /// a token without `aud` passes the audience check when its `client_id` is one of the
    /// configured audiences. Tokens that do carry `aud` are checked as usual.
    pub fn client_id_as_audience(mut self) -> Self {
        self.client_id_as_audience = true;
        self
    }

    /// Never fetch a JWKS for this issuer (for issuers that only use an HMAC secret).
    pub fn without_jwks(mut self) -> Self {
        self.use_jwks = false;
        self
    }

    /// The issuer's `iss` value.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("url", &crate::redact::redact_url(&self.url))
            .field(
                "jwks_uri",
                &self.jwks_uri.as_deref().map(crate::redact::redact_url),
            )
            .field(
                "hmac_secret",
                &self.hmac_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("use_jwks", &self.use_jwks)
            .field("static_jwks", &self.static_jwks.is_some())
            .field("provider", &self.provider)
            .field("accept_id_tokens", &self.accept_id_tokens)
            .field("audiences", &self.audiences)
            .field("roles_claim", &self.roles_claim)
            .field("machine_claim", &self.machine_claim)
            .field("tenants", &self.tenants)
            .field("introspection", &self.introspection)
            .finish()
    }
}

impl From<&str> for Issuer {
    fn from(url: &str) -> Self {
        Self::new(url)
    }
}

impl From<String> for Issuer {
    fn from(url: String) -> Self {
        Self::new(url)
    }
}
