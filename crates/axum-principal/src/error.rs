//! [`ConfigError`]: what [`AuthConfigBuilder::build`](crate::AuthConfigBuilder::build)
//! refuses.

use std::fmt;
use std::str::FromStr;

use crate::alg::Algorithm;

/// A configuration mistake, found by [`AuthConfigBuilder::build`](crate::AuthConfigBuilder::build).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No issuer was configured.
    NoIssuer,
    /// The same issuer was configured twice.
    DuplicateIssuer(String),
    /// An issuer or JWKS URL does not parse.
    InvalidUrl {
        /// The URL as given, its user information (credentials) redacted
        /// ([`redact_url`](crate::redact_url)).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `http://` URL that is not on loopback; only `https://` is accepted elsewhere.
    /// The URL is redacted as in [`InvalidUrl`](Self::InvalidUrl).
    InsecureUrl(String),
    /// No audience was configured; every token must be checked against one.
    NoAudience,
    /// An empty audience string.
    EmptyAudience,
    /// The algorithm allow-list is empty.
    NoAlgorithms,
    /// An unknown algorithm name.
    UnknownAlgorithm(String),
    /// HS* in the allow-list: HMAC is enabled per issuer with [`Issuer::hmac_secret`](crate::Issuer::hmac_secret).
    HmacInAllowList,
    /// An HMAC secret shorter than 32 bytes.
    HmacSecretTooShort,
    /// An issuer with neither a JWKS nor an HMAC secret has no way to verify anything.
    NoKeySource(String),
    /// A static JWKS with no usable signing key.
    UnusableStaticJwks(String),
    /// A duration or size setting out of its range (min > max, zero, or too long to add to
    /// a point in time).
    InvalidDuration(&'static str),
    /// A `realm` that cannot be written into a `WWW-Authenticate` challenge (it must be
    /// printable ASCII without `"` or `\\`).
    InvalidRealm,
    /// An empty roles claim path.
    InvalidRolesClaim,
    /// A scope a guard requires that cannot be named in a `WWW-Authenticate` challenge (not
    /// an RFC 6749 scope token).
    InvalidScope(String),
    /// A gRPC method pattern of [`GrpcMethodGuards`](crate::GrpcMethodGuards) that is not
    /// `/package.Service/Method` or `/package.Service/*`.
    InvalidGrpcMethod(String),
    /// An `acr` value a step-up guard accepts that cannot be named in a challenge (not
    /// printable ASCII without space, `"` or `\`), or a ladder's minimum that is not on the
    /// ladder ([`RequireAuthContext`](crate::guard::RequireAuthContext)).
    InvalidAcrValue(String),
    /// The HTTP client could not be built.
    HttpClient(String),
    /// A resource identifier ([`AuthConfigBuilder::resource`](crate::AuthConfigBuilder::resource))
    /// that is not an absolute `https://` URL (`http://` on loopback) without query or
    /// fragment.
    InvalidResource {
        /// The identifier as given, its user information redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// [`require_resource_audience`](crate::AuthConfigBuilder::require_resource_audience)
    /// without a [`resource`](crate::AuthConfigBuilder::resource).
    ResourceAudienceWithoutResource,
    /// An audience other than the resource identifier, with
    /// [`require_resource_audience`](crate::AuthConfigBuilder::require_resource_audience).
    AudienceOtherThanResource(String),
    /// [`Issuer::client_id_as_audience`](crate::Issuer::client_id_as_audience) on this issuer,
    /// with [`require_resource_audience`](crate::AuthConfigBuilder::require_resource_audience):
    /// a token without `aud` is not one issued for the resource.
    ClientIdAudienceWithResourceAudience(String),
    /// An issuer template ([`Issuer::template`](crate::Issuer::template)) without exactly one
    /// `{tenantid}`, or a `{tenantid}` in an issuer made with `Issuer::new`.
    InvalidTemplate(String),
    /// An issuer template with neither [`tenants`](crate::Issuer::tenants) nor
    /// [`any_tenant`](crate::Issuer::any_tenant).
    NoTenants(String),
    /// Tenants given for an issuer that is not a template.
    TenantsWithoutTemplate(String),
    /// A listed tenant id that no token's `tid` may be (1 to 64 ASCII letters, digits,
    /// `-`, `_` or `.`).
    InvalidTenant(String),
    /// An issuer template without a [`jwks_uri`](crate::Issuer::jwks_uri) or
    /// [`static_jwks`](crate::Issuer::static_jwks): a template has no discovery document.
    TemplateWithoutJwks(String),
    /// A DPoP setting ([`DpopConfig`](crate::dpop::DpopConfig)) that cannot work: a bad
    /// origin, window, algorithm list or nonce secret.
    InvalidDpop(&'static str),
    /// An [`Introspection`](crate::Introspection) setting of this issuer that cannot work:
    /// an empty client id or secret, a zero or too long timeout or cache lifetime, zero
    /// limits, or an issuer template.
    InvalidIntrospection {
        /// The issuer's URL.
        issuer: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Several issuers introspect opaque tokens and a token could go to more than one:
    /// more than one has no [`token_prefix`](crate::Introspection::token_prefix), or one's
    /// prefix starts another's. A token names no issuer; it is never sent to several.
    AmbiguousIntrospection,
    /// A [`ClientKey`](crate::ClientKey) that cannot sign: not an unencrypted PKCS#8 (or,
    /// for RSA, PKCS#1) PEM private key, or not a key for its algorithm. The reason names
    /// no key material.
    InvalidClientKey(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoIssuer => f.write_str("no issuer configured"),
            Self::DuplicateIssuer(i) => write!(f, "issuer configured twice: {i}"),
            Self::InvalidUrl { url, reason } => write!(f, "invalid URL {url:?}: {reason}"),
            Self::InsecureUrl(u) => write!(
                f,
                "{u:?} must use https (plain http is accepted only on loopback)"
            ),
            Self::NoAudience => f.write_str("no audience configured"),
            Self::EmptyAudience => f.write_str("an audience is empty"),
            Self::NoAlgorithms => f.write_str("the algorithm allow-list is empty"),
            Self::UnknownAlgorithm(a) => write!(f, "unknown algorithm {a:?}"),
            Self::HmacInAllowList => f.write_str(
                "HS256/HS384/HS512 cannot be allow-listed; configure Issuer::hmac_secret",
            ),
            Self::HmacSecretTooShort => f.write_str("an HMAC secret must be at least 32 bytes"),
            Self::NoKeySource(i) => {
                write!(f, "issuer {i} has neither a JWKS nor an HMAC secret")
            }
            Self::UnusableStaticJwks(i) => {
                write!(f, "the static JWKS of issuer {i} has no usable signing key")
            }
            Self::InvalidDuration(what) => write!(f, "invalid duration setting: {what}"),
            Self::InvalidRealm => f.write_str(
                "the realm must be printable ASCII without '\"' or '\\' (it goes into WWW-Authenticate)",
            ),
            Self::InvalidRolesClaim => f.write_str("the roles claim path is empty"),
            Self::InvalidScope(s) => write!(
                f,
                "{s:?} is not a scope (RFC 6749 §3.3: printable ASCII without space, '\"' or '\\')"
            ),
            Self::InvalidGrpcMethod(m) => write!(
                f,
                "{m:?} is not a gRPC method pattern (/package.Service/Method or /package.Service/*)"
            ),
            Self::InvalidAcrValue(v) => write!(
                f,
                "{v:?} is not an acr value a step-up challenge can name (printable ASCII \
                 without space, '\"' or '\\', and on the ladder when it is its minimum)"
            ),
            Self::HttpClient(e) => write!(f, "cannot build the HTTP client: {e}"),
            Self::InvalidResource { url, reason } => {
                write!(f, "invalid resource identifier {url:?}: {reason}")
            }
            Self::ResourceAudienceWithoutResource => {
                f.write_str("require_resource_audience needs a resource identifier")
            }
            Self::AudienceOtherThanResource(a) => write!(
                f,
                "audience {a:?} is not the resource identifier, the only audience accepted \
                 with require_resource_audience"
            ),
            Self::ClientIdAudienceWithResourceAudience(i) => write!(
                f,
                "issuer {i:?}: client_id_as_audience admits tokens without `aud`, which \
                 require_resource_audience refuses"
            ),
            Self::InvalidTemplate(i) => write!(
                f,
                "issuer {i:?}: a template (Issuer::template) carries {{tenantid}} exactly once, \
                 and only a template carries it"
            ),
            Self::NoTenants(i) => write!(
                f,
                "issuer template {i:?} needs its allowed tenants (Issuer::tenants) or Issuer::any_tenant"
            ),
            Self::TenantsWithoutTemplate(i) => write!(
                f,
                "issuer {i:?} lists tenants but is not a template (Issuer::template with {{tenantid}})"
            ),
            Self::InvalidTenant(t) => write!(
                f,
                "{t:?} is not a tenant id (1 to 64 ASCII letters, digits, '-', '_' or '.')"
            ),
            Self::TemplateWithoutJwks(i) => write!(
                f,
                "issuer template {i:?} needs a jwks_uri or a static JWKS (it has no discovery document)"
            ),
            Self::InvalidDpop(what) => write!(f, "invalid DPoP setting: {what}"),
            Self::InvalidIntrospection { issuer, reason } => {
                write!(f, "issuer {issuer:?}: invalid introspection setting: {reason}")
            }
            Self::InvalidClientKey(reason) => write!(f, "invalid client key: {reason}"),
            Self::AmbiguousIntrospection => f.write_str(
                "several issuers introspect opaque tokens, and some token could go to more than \
                 one: give each a distinct token_prefix (no prefix may start another)",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl FromStr for Algorithm {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| ConfigError::UnknownAlgorithm(s.to_owned()))
    }
}
