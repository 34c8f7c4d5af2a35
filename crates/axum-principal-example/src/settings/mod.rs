//! The environment, read and checked: [`settings_from`] gives [`Settings`] or the first
//! [`ConfigProblem`], which names the variable.
//!
//! A variable set to an empty string counts as unset. URLs are checked here by the
//! library's rule ([`validate_url`]) as well as when the library builds its configuration,
//! so that the message names the variable. No message and no `Debug` shows a URL's
//! credentials (`AUTHZ_REDIS_URL`'s password above all): URLs appear with their user
//! information replaced by `***`.
//!
//! One file per concern: `env` (how a variable is read), `listen` (`BIND`,
//! `AUTHZ_DEV`), `issuers` (each issuer with its own preset and claims), `options`
//! (leeway, token cache, DPoP, quotas, Redis); introspection is read by
//! [`crate::opaque`].

mod env;
mod issuers;
mod listen;
mod options;

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum_principal::config::validate_url;
use axum_principal::dpop::DpopPolicy;
use axum_principal::{redact_credentials, redact_url};

use self::env::Env;
pub use self::issuers::IssuerSettings;
pub(crate) use self::listen::is_loopback_bind;

/// A configuration mistake: the variable it concerns and what is wrong with it (any URL in
/// it redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The environment variable, e.g. `AUTHZ_AUDIENCE`.
    pub variable: &'static str,
    /// What is wrong, in one line.
    pub message: String,
}

impl ConfigProblem {
    /// `message` is redacted here too, so that no problem can carry a credential, however
    /// it was worded.
    pub(crate) fn new(variable: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            variable,
            message: redact_credentials(&message).into_owned(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigProblem {}

/// The service's settings, read from the environment by [`settings_from`]. Its `Debug`
/// redacts the credentials of every URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where to listen (`BIND`).
    pub bind: SocketAddr,
    /// The trusted issuers, each with its own settings: the `AUTHZ_ISSUER` entries in order,
    /// or, when it is unset (development mode), the embedded development issuer alone.
    pub issuers: Vec<IssuerSettings>,
    /// A JWKS URL that skips discovery (`AUTHZ_JWKS_URI`); only with a single issuer.
    pub jwks_uri: Option<String>,
    /// Accepted audiences (`AUTHZ_AUDIENCE`); in development mode empty means the dev
    /// issuer's audience.
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp`/`nbf`/`iat` (`AUTHZ_LEEWAY_SECS`).
    pub leeway: Duration,
    /// Whether repeated tokens are answered from the verified-token cache
    /// (`AUTHZ_TOKEN_CACHE`).
    pub token_cache: bool,
    /// Per-principal quotas (`AUTHZ_RATE_LIMIT`); none when unset.
    pub rate_limit: Option<RateLimitSetting>,
    /// The Redis shared by every instance (`AUTHZ_REDIS_URL`): quotas and the DPoP replay
    /// store live there; unset: in process. It may hold a password, which `Debug` and
    /// every message redact.
    pub redis_url: Option<String>,
    /// The tenants an issuer template (an `AUTHZ_ISSUER` entry with `{tenantid}`) admits
    /// (`AUTHZ_TENANTS`): `Some(empty)` means `*`, any tenant.
    pub tenants: Option<Vec<String>>,
    /// Which schemes are accepted (`AUTHZ_DPOP`: `allowed`, `required` or `off`).
    pub dpop: DpopPolicy,
    /// This API's resource identifier (`AUTHZ_RESOURCE`, an absolute URL): when set, the
    /// RFC 9728 document is served, every 401 and 403 challenge names it, and DPoP proofs'
    /// `htu` is checked against its origin (unset: `http://{BIND}`).
    pub resource: Option<String>,
    /// A scope every 401 challenge names (RFC 6750 `scope`): the MCP example's
    /// `AUTHZ_MCP_SCOPE`, which its own settings read. The example service names none, so
    /// [`settings_from`] leaves it unset.
    pub challenge_scope: Option<String>,
    /// Opaque tokens of the first issuer, introspected (`AUTHZ_INTROSPECTION_CLIENT`,
    /// `AUTHZ_INTROSPECTION_CACHE_SECS`); none when unset.
    pub introspection: Option<crate::opaque::IntrospectionSetting>,
}

/// `AUTHZ_RATE_LIMIT`: requests per minute for each user and for each machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSetting {
    /// Requests per minute for each user.
    pub users_per_minute: NonZeroU32,
    /// Requests per minute for each machine.
    pub machines_per_minute: NonZeroU32,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |u: &String| redact_url(u).into_owned();
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("issuers", &self.issuers)
            .field("jwks_uri", &self.jwks_uri.as_ref().map(url))
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("token_cache", &self.token_cache)
            .field("rate_limit", &self.rate_limit)
            .field("redis_url", &self.redis_url.as_ref().map(url))
            .field("tenants", &self.tenants)
            .field("dpop", &self.dpop)
            .field("resource", &self.resource.as_ref().map(url))
            .finish()
    }
}

impl Settings {
    /// Whether the embedded development issuer is needed (no `AUTHZ_ISSUER`).
    pub fn dev_mode(&self) -> bool {
        self.issuers.iter().all(|i| i.url.is_none())
    }
}

/// Reads and checks the settings. `vars` looks a variable up (`std::env::var(..).ok()` in
/// `main`, a map in tests); a variable set to an empty string counts as unset. The
/// variables are checked in the order below, and the first mistake is returned.
pub fn settings_from(vars: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigProblem> {
    let env = Env(vars);
    let bind = listen::bind(env.get("BIND"))?;

    let mut issuers = issuers::issuers(env.get("AUTHZ_ISSUER"))?;
    let configured = issuers.iter().filter(|i| i.url.is_some()).count();
    let jwks_uri = issuers::jwks_uri(env.get("AUTHZ_JWKS_URI"), configured)?;
    let audiences = issuers::audiences(env.get("AUTHZ_AUDIENCE"), configured == 0)?;
    issuers::set_m2m_claims(&mut issuers, env.get("AUTHZ_M2M_CLAIM"))?;
    issuers::set_roles_claims(&mut issuers, env.get("AUTHZ_ROLES_CLAIM"))?;
    let tenants = issuers::tenants(env.get("AUTHZ_TENANTS"), &issuers, jwks_uri.is_some())?;
    issuers::set_providers(&mut issuers, env.get("AUTHZ_PROVIDER").as_deref())?;

    let leeway = options::leeway(env.get("AUTHZ_LEEWAY_SECS"))?;
    let token_cache = options::token_cache(env.get("AUTHZ_TOKEN_CACHE").as_deref())?;
    let dpop = options::dpop(env.get("AUTHZ_DPOP"))?;
    listen::check_dev_mode_bind(bind, configured == 0, env.get("AUTHZ_DEV").as_deref())?;
    let rate_limit = env
        .get("AUTHZ_RATE_LIMIT")
        .map(|v| options::rate_limit(&v))
        .transpose()?;
    let redis_url = env.get("AUTHZ_REDIS_URL");
    redis_url
        .as_deref()
        .map(options::check_redis_url)
        .transpose()?;
    let resource = env.get("AUTHZ_RESOURCE");
    resource
        .as_deref()
        .map(|r| check_url("AUTHZ_RESOURCE", r))
        .transpose()?;
    let introspection = crate::opaque::introspection_from(|name| env.get(name))?;

    Ok(Settings {
        bind,
        issuers,
        jwks_uri,
        audiences,
        leeway,
        token_cache,
        rate_limit,
        redis_url,
        tenants,
        dpop,
        resource,
        challenge_scope: None,
        introspection,
    })
}

/// The placeholder of an issuer template in `AUTHZ_ISSUER`.
pub(crate) const TEMPLATE: &str = "{tenantid}";

/// `url` as a message may show it: credentials redacted, then quoted.
fn shown(url: &str) -> String {
    format!("{:?}", redact_url(url))
}

/// `url` by the library's rule (https, or http on loopback), a mistake naming `variable`.
fn check_url(variable: &'static str, url: &str) -> Result<(), ConfigProblem> {
    validate_url(url).map_err(|e| ConfigProblem::new(variable, e.to_string()))
}
