//! `protected_api`: the project's runnable showcase, a small API behind `axum-principal`.
//!
//! Its interface is fixed by `CONTRACT.md`. Start it with
//!
//! ```text
//! cargo run --release --example protected_api
//! ```
//!
//! With no `AUTHZ_ISSUER` set it starts an embedded development issuer (the testkit's
//! `MockIssuer`) on a free loopback port, points itself at it, and prints that issuer's URL,
//! a user token, an admin user token, a machine token and ready-to-paste `curl` lines.
//!
//! Against a real issuer:
//!
//! ```text
//! AUTHZ_ISSUER=https://issuer.example.com/ AUTHZ_AUDIENCE=https://api.example.com \
//!     cargo run --release --example protected_api
//! ```
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `BIND` | address to listen on | `127.0.0.1:3000` |
//! | `AUTHZ_ISSUER` | issuer URL(s), comma-separated; each must equal the tokens' `iss` | embedded dev issuer |
//! | `AUTHZ_JWKS_URI` | JWKS URL, skips discovery (single issuer only) | from discovery |
//! | `AUTHZ_AUDIENCE` | accepted audience(s), comma-separated | required with `AUTHZ_ISSUER` |
//! | `AUTHZ_M2M_CLAIM` | boolean claim that marks a machine token | unset |
//! | `AUTHZ_ROLES_CLAIM` | claim name or dotted path holding roles | `roles` |
//! | `AUTHZ_PROVIDER` | classification preset (`auto`, `auth0`, `hydra`, `keycloak`, `okta`, `entra`, `cognito`, `duende`, `rfc9068`, `generic`): one for every issuer, or a comma-separated list with one per `AUTHZ_ISSUER` entry | `auto` |
//! | `AUTHZ_LEEWAY_SECS` | clock skew allowed on `exp`/`nbf`/`iat` | `60` |
//! | `AUTHZ_TOKEN_CACHE` | the verified-token cache: `on` or `off` | `on` |
//! | `AUTHZ_DEV` | `1`: run the development issuer even when `BIND` is not loopback | unset |
//!
//! Development mode is for a developer's machine: with no `AUTHZ_ISSUER` and a `BIND` that is
//! not a loopback address (`0.0.0.0:3000`, say) the service refuses to start (status 2, a line
//! naming `AUTHZ_ISSUER`) unless `AUTHZ_DEV=1` is set. The tokens and `curl` lines are printed
//! in development mode only, never with `AUTHZ_ISSUER` set.
//!
//! A variable set to an empty string counts as unset. A configuration mistake prints one
//! line (`configuration error: VARIABLE: what is wrong`) to stderr and exits with status 2.
//! Logs go to stderr; set `RUST_LOG` to change the filter (default `info`).
//!
//! Routes: `GET /healthz` (no token read), `GET /me` (any valid token; the principal as
//! JSON), `GET /admin` (machines and users with role `admin`), `GET /machine` (machines),
//! `GET /user` (users), `GET /reports` (scope `read:reports`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::{
    AuthConfig, AuthLayer, Classifier, ConfigError, Issuer, Machine, Preset, Principal,
    RequireMachine, RequireRoleOrMachine, RequireScope, RequireUser, User,
};
use axum_principal_testkit::{MockIssuer, TokenBuilder, DEFAULT_AUDIENCE};
use serde_json::{json, Value};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

/// Exit status for a configuration mistake.
const EXIT_CONFIG: u8 = 2;
/// Exit status for a failure at run time (cannot listen, dev issuer would not start, …).
const EXIT_RUNTIME: u8 = 1;

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

/// The whole service: `/healthz` outside the auth layer, every other route behind `layer`,
/// each guard applied to its own route only.
pub fn app(layer: AuthLayer) -> Router {
    let protected = Router::new()
        .route("/me", get(me))
        .merge(
            Router::new()
                .route("/admin", get(admin))
                .route_layer(RequireRoleOrMachine::new("admin")),
        )
        .merge(
            Router::new()
                .route("/machine", get(machine))
                .route_layer(RequireMachine),
        )
        .merge(
            Router::new()
                .route("/user", get(user))
                .route_layer(RequireUser),
        )
        .merge(
            Router::new()
                .route("/reports", get(reports))
                .route_layer(RequireScope::new("read:reports")),
        )
        .layer(layer);

    Router::new()
        .route("/healthz", get(healthz))
        .merge(protected)
        // Set after the merge so that unknown paths answer 404 without reading a token.
        .fallback(not_found)
        .layer(TraceLayer::new_for_http())
        // Outermost, so the trace layer (and anything else) sees the header as sensitive.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
        ]))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "not_found", "error_description": "no such route" })),
    )
}

async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}

fn allowed(route: &str, principal: &Principal) -> Json<Value> {
    Json(json!({
        "ok": true,
        "route": route,
        "subject": principal.subject(),
        "kind": principal.kind(),
    }))
}

async fn admin(principal: Principal) -> Json<Value> {
    allowed("admin", &principal)
}

async fn machine(Machine(principal): Machine) -> Json<Value> {
    allowed("machine", &principal)
}

async fn user(User(principal): User) -> Json<Value> {
    allowed("user", &principal)
}

async fn reports(principal: Principal) -> Json<Value> {
    allowed("reports", &principal)
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// A configuration mistake: the variable it concerns and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The environment variable, e.g. `AUTHZ_AUDIENCE`.
    pub variable: &'static str,
    /// What is wrong, in one line.
    pub message: String,
}

impl ConfigProblem {
    fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            variable,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigProblem {}

/// The service's settings, read from the environment by [`settings_from`].
#[derive(Debug, Clone, PartialEq, Eq)]
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

    let issuers = get("AUTHZ_ISSUER").map(|v| list(&v)).unwrap_or_default();
    for (i, issuer) in issuers.iter().enumerate() {
        check_url(issuer).map_err(|m| ConfigProblem::new("AUTHZ_ISSUER", m))?;
        if issuers[..i].contains(issuer) {
            return Err(ConfigProblem::new(
                "AUTHZ_ISSUER",
                format!("{issuer:?} is listed twice"),
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

    let m2m_claim = get("AUTHZ_M2M_CLAIM");

    let roles_claim = get("AUTHZ_ROLES_CLAIM").unwrap_or_else(|| "roles".to_owned());
    if roles_claim.split('.').any(str::is_empty) {
        return Err(ConfigProblem::new(
            "AUTHZ_ROLES_CLAIM",
            format!("{roles_claim:?} is not a claim name or dotted path (empty segment)"),
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

    check_dev_mode_bind(bind, &issuers, get("AUTHZ_DEV").as_deref())?;

    Ok(Settings {
        bind,
        issuers,
        jwks_uri,
        audiences,
        m2m_claim,
        roles_claim,
        providers,
        leeway,
        token_cache,
    })
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
fn is_loopback_bind(bind: SocketAddr) -> bool {
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
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(parsed.host_str().unwrap_or_default()) => Ok(()),
        "http" => Err(format!(
            "{url:?} must use https (plain http is accepted only on loopback)"
        )),
        other => Err(format!("{url:?} has unsupported scheme {other:?}")),
    }
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Builds the [`AuthConfig`] for `settings`. In development mode (no issuers configured) it
/// trusts `dev`, which must then be given.
pub fn auth_config(
    settings: &Settings,
    dev: Option<&MockIssuer>,
) -> Result<AuthConfig, ConfigProblem> {
    // Each issuer's preset is set on the issuer; the classifier holds only the custom claim.
    let mut classifier = Classifier::without_rules();
    if let Some(claim) = &settings.m2m_claim {
        classifier = classifier.machine_claim(claim.clone());
    }
    let mut builder = AuthConfig::builder()
        .leeway(settings.leeway)
        .roles_claim(settings.roles_claim.clone())
        .classifier(classifier);
    if !settings.token_cache {
        builder = builder.without_token_cache();
    }

    let audiences: Vec<String> = if settings.dev_mode() {
        let dev = dev.ok_or_else(|| {
            ConfigProblem::new(
                "AUTHZ_ISSUER",
                "not set, and no development issuer was started",
            )
        })?;
        let preset = settings.providers.first().copied().unwrap_or_default();
        builder = builder.issuer(Issuer::new(dev.issuer()).provider(preset));
        if settings.audiences.is_empty() {
            vec![dev.audience().to_owned()]
        } else {
            settings.audiences.clone()
        }
    } else {
        for (i, url) in settings.issuers.iter().enumerate() {
            let preset = settings.providers.get(i).copied().unwrap_or_default();
            let mut issuer = Issuer::new(url.clone()).provider(preset);
            if let Some(uri) = &settings.jwks_uri {
                issuer = issuer.jwks_uri(uri.clone());
            }
            builder = builder.issuer(issuer);
        }
        settings.audiences.clone()
    };
    for audience in audiences {
        builder = builder.audience(audience);
    }

    builder
        .build()
        .map_err(|e| config_problem(&e, settings.jwks_uri.as_deref()))
}

/// The variable a library [`ConfigError`] concerns.
fn config_problem(error: &ConfigError, jwks_uri: Option<&str>) -> ConfigProblem {
    let url_variable = |url: &str| {
        if jwks_uri == Some(url) {
            "AUTHZ_JWKS_URI"
        } else {
            "AUTHZ_ISSUER"
        }
    };
    let variable = match error {
        ConfigError::InvalidUrl { url, .. } | ConfigError::InsecureUrl(url) => url_variable(url),
        ConfigError::NoAudience | ConfigError::EmptyAudience => "AUTHZ_AUDIENCE",
        ConfigError::InvalidRolesClaim => "AUTHZ_ROLES_CLAIM",
        // NoIssuer, DuplicateIssuer, NoKeySource, HttpClient and anything added later: the
        // issuer settings are the closest match.
        _ => "AUTHZ_ISSUER",
    };
    ConfigProblem::new(variable, error.to_string())
}

// ---------------------------------------------------------------------------------------
// Development mode
// ---------------------------------------------------------------------------------------

/// Tokens minted by the embedded development issuer.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct DevTokens {
    /// `alice`, a user without roles.
    pub user: String,
    /// `admin-alice`, a user with role `admin`.
    pub admin: String,
    /// `reporting-service`, a machine with scope `read:reports`.
    pub machine: String,
}

/// How long the printed tokens are valid.
const DEV_TOKEN_LIFETIME_SECS: i64 = 3600;

/// Starts the development issuer, minting tokens for the first of `settings.audiences` if
/// any is configured (its default audience otherwise).
#[allow(dead_code)]
pub async fn start_dev_issuer(settings: &Settings) -> std::io::Result<MockIssuer> {
    let audience = settings
        .audiences
        .first()
        .map_or(DEFAULT_AUDIENCE, String::as_str);
    MockIssuer::builder().audience(audience).start().await
}

/// Mints the printed tokens so that the configured classification recognises them: the
/// machine token follows the habits of the development issuer's preset, and carries
/// `AUTHZ_M2M_CLAIM: true` when that is set (users carry `false`); roles go in
/// `AUTHZ_ROLES_CLAIM`.
#[allow(dead_code)]
pub fn dev_tokens(
    issuer: &MockIssuer,
    settings: &Settings,
) -> Result<DevTokens, axum_principal_testkit::Error> {
    const CLIENT: &str = "reporting-service";
    let marked = |token: TokenBuilder, is_machine: bool| match &settings.m2m_claim {
        Some(claim) => token.claim(claim, is_machine),
        None => token,
    };
    let user_token = |sub: &str| {
        issuer
            .token()
            .claim("sub", sub)
            .claim("scope", "openid profile")
            .expires_in(DEV_TOKEN_LIFETIME_SECS)
    };

    let user = marked(user_token("alice"), false).try_sign()?;
    let admin = marked(
        // The full claim name is found first, so a dotted path works as a plain key too.
        user_token("admin-alice").claim(&settings.roles_claim, ["admin"]),
        false,
    )
    .try_sign()?;

    let machine = issuer
        .token()
        .claim("scope", "read:reports")
        .expires_in(DEV_TOKEN_LIFETIME_SECS);
    let preset = settings
        .providers
        .first()
        .copied()
        .unwrap_or_default()
        .for_issuer(issuer.issuer());
    let machine = match preset {
        Preset::Auto | Preset::Rfc9068 | Preset::Generic | Preset::Hydra | Preset::Cognito => {
            machine.claim("sub", CLIENT).claim("client_id", CLIENT)
        }
        Preset::Auth0 => machine
            .claim("sub", format!("{CLIENT}@clients"))
            .claim("azp", CLIENT)
            .claim("gty", "client-credentials"),
        Preset::Keycloak => machine
            .claim("sub", "5f0c7a1e-2b8d-4c3e-9a6f-0d1e2f3a4b5c")
            .claim("azp", CLIENT)
            .claim("client_id", CLIENT)
            .claim("preferred_username", format!("service-account-{CLIENT}")),
        Preset::Okta => machine.claim("sub", CLIENT).claim("cid", CLIENT),
        Preset::Entra => machine
            .claim("sub", "7d3f9b2a-1c4e-4f6a-8b0d-2e5c7a9f1b3d")
            .claim("oid", "7d3f9b2a-1c4e-4f6a-8b0d-2e5c7a9f1b3d")
            .claim("idtyp", "app")
            .claim("azp", CLIENT),
        Preset::Duende => machine.without_claim("sub").claim("client_id", CLIENT),
    };
    let machine = marked(machine, true).try_sign()?;

    Ok(DevTokens {
        user,
        admin,
        machine,
    })
}

/// Where a client on this machine reaches an address we listen on.
#[allow(dead_code)]
fn client_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

#[allow(dead_code)]
fn print_dev_banner(issuer: &MockIssuer, tokens: &DevTokens, addr: SocketAddr) {
    let base = format!("http://{}", client_addr(addr));
    let curl = |token: &str, path: &str| {
        format!("curl -s -H \"Authorization: Bearer {token}\" {base}{path}")
    };
    let lines = [
        "Development mode: AUTHZ_ISSUER is not set, so an embedded mock issuer is running."
            .to_owned(),
        format!("issuer:   {}", issuer.issuer()),
        format!("audience: {}", issuer.audience()),
        format!("tokens are valid for {DEV_TOKEN_LIFETIME_SECS} seconds"),
        String::new(),
        format!("USER_TOKEN={}", tokens.user),
        format!("ADMIN_TOKEN={}", tokens.admin),
        format!("MACHINE_TOKEN={}", tokens.machine),
        String::new(),
        "# health (no token needed): 200".to_owned(),
        format!("curl -s {base}/healthz"),
        "# who am I: 200, the principal as JSON".to_owned(),
        curl(&tokens.user, "/me"),
        curl(&tokens.machine, "/me"),
        "# /admin refuses a user without role admin: 403".to_owned(),
        format!(
            "curl -s -o /dev/null -w '%{{http_code}}\\n' -H \"Authorization: Bearer {}\" {base}/admin",
            tokens.user
        ),
        "# /admin admits a user with role admin, and any machine: 200".to_owned(),
        curl(&tokens.admin, "/admin"),
        curl(&tokens.machine, "/admin"),
        "# /machine admits machines, /user admits users, /reports needs read:reports".to_owned(),
        curl(&tokens.machine, "/machine"),
        curl(&tokens.user, "/user"),
        curl(&tokens.machine, "/reports"),
        "# no token: 401".to_owned(),
        format!("curl -s -i {base}/me"),
    ];
    println!("{}", lines.join("\n"));
}

// ---------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------

#[allow(dead_code)]
#[tokio::main]
async fn main() -> ExitCode {
    let settings = match settings_from(|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(problem) => return config_error(&problem),
    };

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    if settings.dev_mode() && !is_loopback_bind(settings.bind) {
        tracing::warn!(
            bind = %settings.bind,
            "AUTHZ_DEV=1: the development issuer's tokens admit anyone who can reach this \
             address; set AUTHZ_ISSUER for anything but a local test"
        );
    }

    // Kept alive until the server has stopped.
    let dev_issuer = if settings.dev_mode() {
        match start_dev_issuer(&settings).await {
            Ok(issuer) => Some(issuer),
            Err(e) => {
                eprintln!("error: cannot start the development issuer: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        }
    } else {
        None
    };

    let config = match auth_config(&settings, dev_issuer.as_ref()) {
        Ok(config) => config,
        Err(problem) => return config_error(&problem),
    };

    let dev_tokens = match &dev_issuer {
        Some(issuer) => match dev_tokens(issuer, &settings) {
            Ok(tokens) => Some(tokens),
            Err(e) => {
                eprintln!("error: cannot mint development tokens: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        },
        None => None,
    };

    let layer = AuthLayer::new(config);

    // Fetch the keys now so the first requests need not wait; if the issuer is down the
    // service still starts and answers 503 until keys can be had.
    let authenticator = layer.authenticator().clone();
    tokio::spawn(async move {
        match authenticator.key_store().warm().await {
            Ok(()) => tracing::info!("issuer keys fetched"),
            Err(e) => {
                tracing::warn!(error = %e, "issuer keys not available yet; will retry on demand")
            }
        }
    });

    let listener = match tokio::net::TcpListener::bind(settings.bind).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: BIND: cannot listen on {}: {e}", settings.bind);
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let addr = listener.local_addr().unwrap_or(settings.bind);

    if let (Some(issuer), Some(tokens)) = (&dev_issuer, &dev_tokens) {
        print_dev_banner(issuer, tokens, addr);
    }
    tracing::info!(
        %addr,
        issuers = ?layer.authenticator().config().issuers().collect::<Vec<_>>(),
        audiences = ?layer.authenticator().config().audiences(),
        providers = ?settings.providers,
        "listening"
    );

    let served = axum::serve(listener, app(layer))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    drop(dev_issuer);
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: server failed: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

#[allow(dead_code)]
fn config_error(problem: &ConfigProblem) -> ExitCode {
    eprintln!("configuration error: {problem}");
    ExitCode::from(EXIT_CONFIG)
}

/// Ctrl-C, or SIGTERM on Unix.
#[allow(dead_code)]
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
