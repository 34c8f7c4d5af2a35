//! `protected_api`: the project's runnable showcase, a small API behind `axum-principal`.
//!
//! Its interface (variables, routes, bodies, exit statuses) is kept stable: end-to-end checks
//! drive it. The service itself lives in `crates/axum-principal-example` (settings, routes,
//! development mode, start-up), where its tests are; this file is only its `main`. For the
//! few lines your own service needs, see `examples/minimal.rs`. Start it with
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

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    axum_principal_example::run(|name| std::env::var(name).ok()).await
}
