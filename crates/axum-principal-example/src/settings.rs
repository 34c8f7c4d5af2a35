//! The environment, read and checked: [`settings_from`] gives [`Settings`] or the first
//! [`ConfigProblem`], which names the variable.
//!
//! A variable set to an empty string counts as unset. URLs are checked here as well as by
//! the library, so that the message names the variable. No message and no `Debug` shows a
//! URL's credentials (`AUTHZ_REDIS_URL`'s password above all): URLs appear with their user
//! information replaced by `***`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum_principal::dpop::DpopPolicy;
use axum_principal::{redact_credentials, redact_url, Preset};

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
    /// Trusted issuers (`AUTHZ_ISSUER`); empty means the embedded development issuer.
    pub issuers: Vec<String>,
    /// A JWKS URL that skips discovery (`AUTHZ_JWKS_URI`); only with a single issuer.
    pub jwks_uri: Option<String>,
    /// Accepted audiences (`AUTHZ_AUDIENCE`); in development mode empty means the dev
    /// issuer's audience.
    pub audiences: Vec<String>,
    /// The boolean claim that marks machine tokens (`AUTHZ_M2M_CLAIM`).
    pub m2m_claim: Option<String>,
    /// Where roles are read (`AUTHZ_ROLES_CLAIM`).
    pub roles_claim: String,
    /// The classification presets (`AUTHZ_PROVIDER`): one per entry of `issuers`, in the
    /// same order (one for the development issuer in development mode).
    pub providers: Vec<Preset>,
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
    /// Per-issuer machine claims, when `AUTHZ_M2M_CLAIM` is a comma-separated list with one
    /// entry per `AUTHZ_ISSUER` entry (an empty entry: none for that issuer). `None`: the
    /// single [`m2m_claim`](Self::m2m_claim) applies to every issuer.
    pub m2m_claims: Option<Vec<Option<String>>>,
    /// Per-issuer roles claims, when `AUTHZ_ROLES_CLAIM` is a comma-separated list with one
    /// entry per `AUTHZ_ISSUER` entry (an empty entry: `roles`). `None`: the single
    /// [`roles_claim`](Self::roles_claim) applies to every issuer.
    pub roles_claims: Option<Vec<String>>,
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
            .field("issuers", &self.issuers.iter().map(url).collect::<Vec<_>>())
            .field("jwks_uri", &self.jwks_uri.as_ref().map(url))
            .field("audiences", &self.audiences)
            .field("m2m_claim", &self.m2m_claim)
            .field("roles_claim", &self.roles_claim)
            .field("providers", &self.providers)
            .field("leeway", &self.leeway)
            .field("token_cache", &self.token_cache)
            .field("rate_limit", &self.rate_limit)
            .field("redis_url", &self.redis_url.as_ref().map(url))
            .field("m2m_claims", &self.m2m_claims)
            .field("roles_claims", &self.roles_claims)
            .field("tenants", &self.tenants)
            .field("dpop", &self.dpop)
            .field("resource", &self.resource.as_ref().map(url))
            .finish()
    }
}

/// `url` as a message may show it: credentials redacted, then quoted.
fn shown(url: &str) -> String {
    format!("{:?}", redact_url(url))
}

impl Settings {
    /// Whether the embedded development issuer is needed (no `AUTHZ_ISSUER`).
    pub fn dev_mode(&self) -> bool {
        self.issuers.is_empty()
    }
}

/// Reads and checks the settings. `vars` looks a variable up (`std::env::var(..).ok()` in
/// `main`, a map in tests); a variable set to an empty string counts as unset.
pub fn settings_from(vars: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigProblem> {
    let get = |name: &str| {
        vars(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };

    let bind = match get("BIND") {
        None => SocketAddr::from((Ipv4Addr::LOCALHOST, 3000)),
        Some(value) => parse_bind(&value).ok_or_else(|| {
            ConfigProblem::new(
                "BIND",
                format!("{value:?} is not an address such as 127.0.0.1:3000"),
            )
        })?,
    };

    let issuers = match get("AUTHZ_ISSUER") {
        // Set but naming no URL (`,`, ` , `): a template whose parts were empty must not fall
        // into development mode, which prints working admin and machine tokens.
        Some(v) if list(&v).is_empty() => {
            return Err(ConfigProblem::new(
                "AUTHZ_ISSUER",
                format!("{} names no issuer URL", shown(&v)),
            ))
        }
        Some(v) => list(&v),
        None => Vec::new(),
    };
    for (i, issuer) in issuers.iter().enumerate() {
        check_url(issuer).map_err(|m| ConfigProblem::new("AUTHZ_ISSUER", m))?;
        if issuers[..i].contains(issuer) {
            return Err(ConfigProblem::new(
                "AUTHZ_ISSUER",
                format!("{} is listed twice", shown(issuer)),
            ));
        }
    }

    let jwks_uri = get("AUTHZ_JWKS_URI");
    if let Some(uri) = &jwks_uri {
        match issuers.len() {
            0 => {
                return Err(ConfigProblem::new(
                    "AUTHZ_JWKS_URI",
                    "only allowed together with AUTHZ_ISSUER",
                ))
            }
            1 => check_url(uri).map_err(|m| ConfigProblem::new("AUTHZ_JWKS_URI", m))?,
            n => {
                return Err(ConfigProblem::new(
                    "AUTHZ_JWKS_URI",
                    format!("only allowed with a single issuer, but AUTHZ_ISSUER lists {n}"),
                ))
            }
        }
    }

    let audiences = get("AUTHZ_AUDIENCE").map(|v| list(&v)).unwrap_or_default();
    if !issuers.is_empty() && audiences.is_empty() {
        return Err(ConfigProblem::new(
            "AUTHZ_AUDIENCE",
            "required when AUTHZ_ISSUER is set",
        ));
    }

    let issuer_count = issuers.len().max(1);
    let (m2m_claim, m2m_claims) =
        match per_issuer("AUTHZ_M2M_CLAIM", get("AUTHZ_M2M_CLAIM"), issuer_count)? {
            PerIssuer::Unset => (None, None),
            PerIssuer::One(claim) => (Some(claim), None),
            PerIssuer::Each(claims) => {
                let claims: Vec<Option<String>> = claims
                    .into_iter()
                    .map(|c| Some(c).filter(|c| !c.is_empty()))
                    .collect();
                (claims.first().cloned().flatten(), Some(claims))
            }
        };

    let (roles_claim, roles_claims) =
        match per_issuer("AUTHZ_ROLES_CLAIM", get("AUTHZ_ROLES_CLAIM"), issuer_count)? {
            PerIssuer::Unset => ("roles".to_owned(), None),
            PerIssuer::One(claim) => (claim, None),
            PerIssuer::Each(claims) => {
                let claims: Vec<String> = claims
                    .into_iter()
                    .map(|c| if c.is_empty() { "roles".to_owned() } else { c })
                    .collect();
                (claims.first().cloned().unwrap_or_default(), Some(claims))
            }
        };
    for roles_claim in roles_claims.iter().flatten().chain([&roles_claim]) {
        if roles_claim.split('.').any(str::is_empty) {
            return Err(ConfigProblem::new(
                "AUTHZ_ROLES_CLAIM",
                format!("{roles_claim:?} is not a claim name or dotted path (empty segment)"),
            ));
        }
    }

    let templates = issuers.iter().filter(|i| i.contains(TEMPLATE)).count();
    let tenants = match get("AUTHZ_TENANTS") {
        None if templates > 0 => {
            return Err(ConfigProblem::new(
                "AUTHZ_TENANTS",
                "required with an AUTHZ_ISSUER template ({tenantid}): the allowed tenant ids, \
                 comma-separated, or * for any",
            ))
        }
        None => None,
        Some(_) if templates == 0 => {
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
    if templates > 0 && jwks_uri.is_none() {
        return Err(ConfigProblem::new(
            "AUTHZ_JWKS_URI",
            "required with an AUTHZ_ISSUER template ({tenantid}): one key set for every tenant",
        ));
    }

    let providers = providers_for(get("AUTHZ_PROVIDER").as_deref(), issuers.len().max(1))?;

    let leeway = match get("AUTHZ_LEEWAY_SECS") {
        None => Duration::from_secs(60),
        Some(value) => value.parse::<u64>().map(Duration::from_secs).map_err(|_| {
            ConfigProblem::new(
                "AUTHZ_LEEWAY_SECS",
                format!("{value:?} is not a whole number of seconds"),
            )
        })?,
    };

    let token_cache = match get("AUTHZ_TOKEN_CACHE").as_deref() {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(ConfigProblem::new(
                "AUTHZ_TOKEN_CACHE",
                format!("{other:?} is neither \"on\" nor \"off\""),
            ))
        }
    };

    let dpop = match get("AUTHZ_DPOP").map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("allowed") => DpopPolicy::Allowed,
        Some("required") => DpopPolicy::Required,
        Some("off") => DpopPolicy::Off,
        Some(other) => {
            return Err(ConfigProblem::new(
                "AUTHZ_DPOP",
                format!("{other:?} is not one of \"allowed\", \"required\", \"off\""),
            ))
        }
    };

    check_dev_mode_bind(bind, &issuers, get("AUTHZ_DEV").as_deref())?;

    let rate_limit = get("AUTHZ_RATE_LIMIT")
        .map(|v| parse_rate_limit(&v))
        .transpose()?;

    let redis_url = get("AUTHZ_REDIS_URL");
    if let Some(url) = &redis_url {
        check_redis_url(url)?;
    }

    let resource = get("AUTHZ_RESOURCE");
    if let Some(resource) = &resource {
        check_url(resource).map_err(|m| ConfigProblem::new("AUTHZ_RESOURCE", m))?;
    }

    let introspection = crate::opaque::introspection_from(get)?;

    Ok(Settings {
        introspection,
        bind,
        issuers,
        jwks_uri,
        audiences,
        m2m_claim,
        roles_claim,
        providers,
        leeway,
        token_cache,
        rate_limit,
        redis_url,
        resource,
        m2m_claims,
        roles_claims,
        tenants,
        dpop,
        challenge_scope: None,
    })
}

/// `USER,MACHINE`: two whole numbers of requests per minute, each at least 1.
fn parse_rate_limit(value: &str) -> Result<RateLimitSetting, ConfigProblem> {
    let problem = || {
        ConfigProblem::new(
            "AUTHZ_RATE_LIMIT",
            format!(
                "{value:?} is not USER,MACHINE requests per minute (two whole numbers of at \
                 least 1, e.g. 60,600)"
            ),
        )
    };
    let (users, machines) = value.split_once(',').ok_or_else(problem)?;
    let per_minute = |n: &str| n.trim().parse::<NonZeroU32>().map_err(|_| problem());
    Ok(RateLimitSetting {
        users_per_minute: per_minute(users)?,
        machines_per_minute: per_minute(machines)?,
    })
}

/// `redis://[user:password@]host:port[/db]`, as the library's client accepts it. The
/// message never shows the password: the library's error redacts the URL, and the scheme
/// check quotes nothing of it.
fn check_redis_url(url: &str) -> Result<(), ConfigProblem> {
    if !url.starts_with("redis://") {
        return Err(ConfigProblem::new(
            "AUTHZ_REDIS_URL",
            "not a redis://host:port URL",
        ));
    }
    axum_principal::redis::RedisConnection::open(url)
        .map(drop)
        .map_err(|e| ConfigProblem::new("AUTHZ_REDIS_URL", e.to_string()))
}

/// The placeholder of an issuer template in `AUTHZ_ISSUER`.
pub(crate) const TEMPLATE: &str = "{tenantid}";

/// A variable that gives one value for every issuer, or one per issuer.
enum PerIssuer {
    Unset,
    One(String),
    /// One per issuer, in `AUTHZ_ISSUER` order (entries trimmed, possibly empty).
    Each(Vec<String>),
}

/// `AUTHZ_M2M_CLAIM` / `AUTHZ_ROLES_CLAIM`: a value without a comma applies to every issuer;
/// a comma-separated list must have one entry per issuer (claim names with a comma are not
/// supported).
fn per_issuer(
    variable: &'static str,
    value: Option<String>,
    issuers: usize,
) -> Result<PerIssuer, ConfigProblem> {
    let Some(value) = value else {
        return Ok(PerIssuer::Unset);
    };
    if !value.contains(',') {
        return Ok(PerIssuer::One(value));
    }
    let entries: Vec<String> = value.split(',').map(|v| v.trim().to_owned()).collect();
    if entries.len() != issuers {
        return Err(ConfigProblem::new(
            variable,
            format!(
                "lists {} entries but AUTHZ_ISSUER lists {issuers} issuers; give one value, or \
                 one per issuer in the same order",
                entries.len()
            ),
        ));
    }
    Ok(PerIssuer::Each(entries))
}

/// `AUTHZ_PROVIDER`: unset → `auto` for every issuer; one value → that preset for every
/// issuer; a list → one preset per issuer, in order (a count mismatch is an error).
fn providers_for(value: Option<&str>, issuers: usize) -> Result<Vec<Preset>, ConfigProblem> {
    let Some(value) = value else {
        return Ok(vec![Preset::Auto; issuers]);
    };
    let presets = value
        .split(',')
        .map(|name| {
            name.parse::<Preset>()
                .map_err(|e| ConfigProblem::new("AUTHZ_PROVIDER", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    match presets.len() {
        1 => Ok(vec![presets[0]; issuers]),
        n if n == issuers => Ok(presets),
        n => Err(ConfigProblem::new(
            "AUTHZ_PROVIDER",
            format!(
                "lists {n} presets but AUTHZ_ISSUER lists {issuers} issuers; give one preset, \
                 or one per issuer in the same order"
            ),
        )),
    }
}

/// Development mode (no `AUTHZ_ISSUER`) trusts an issuer whose tokens are printed to the
/// console: it may listen only on a loopback address, unless `AUTHZ_DEV=1` says that the
/// development issuer is wanted anyway (`AUTHZ_DEV=0` or unset: not).
fn check_dev_mode_bind(
    bind: SocketAddr,
    issuers: &[String],
    authz_dev: Option<&str>,
) -> Result<(), ConfigProblem> {
    let dev_anyway = match authz_dev {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            return Err(ConfigProblem::new(
                "AUTHZ_DEV",
                format!("{other:?} is neither \"1\" nor \"0\""),
            ))
        }
    };
    if issuers.is_empty() && !dev_anyway && !is_loopback_bind(bind) {
        return Err(ConfigProblem::new(
            "AUTHZ_ISSUER",
            format!(
                "not set, and BIND={bind} is not loopback: set AUTHZ_ISSUER (and \
                 AUTHZ_AUDIENCE) for a real issuer, or AUTHZ_DEV=1 to run the development \
                 issuer anyway"
            ),
        ));
    }
    Ok(())
}

/// Whether only this machine can reach `bind` (127.0.0.0/8, `::1`, or `::ffff:127.x.y.z`).
pub(crate) fn is_loopback_bind(bind: SocketAddr) -> bool {
    bind.ip().to_canonical().is_loopback()
}

/// Comma-separated values, trimmed, empty items dropped.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `host:port` with an IP address, or `localhost:port`.
fn parse_bind(value: &str) -> Option<SocketAddr> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Some(addr);
    }
    let port = value.strip_prefix("localhost:")?.parse::<u16>().ok()?;
    Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// `https://…`, or `http://` on loopback only (the same rule the library enforces; checked
/// here too so that the message names the variable).
fn check_url(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("{} is not a URL: {e}", shown(url)))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(parsed.host_str().unwrap_or_default()) => Ok(()),
        "http" => Err(format!(
            "{} must use https (plain http is accepted only on loopback)",
            shown(url)
        )),
        other => Err(format!("{} has unsupported scheme {other:?}", shown(url))),
    }
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
