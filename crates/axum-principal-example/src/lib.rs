//! The example service behind `cargo run --release --example protected_api`, as a library:
//! `examples/protected_api.rs` is a thin `main` over [`run`], and the tests in this crate's
//! `tests/` drive the same [`app`] and [`settings_from`] that the binary runs.
//!
//! The parts, in the order a start-up goes through them:
//!
//! * [`settings`]: the environment read into [`Settings`], or a [`ConfigProblem`] naming the
//!   variable that is wrong;
//! * [`dev`]: with no `AUTHZ_ISSUER`, the embedded development issuer and the tokens and
//!   `curl` lines printed for it;
//! * [`config`]: [`Settings`] → the library's `AuthConfig`;
//! * [`opaque`]: `AUTHZ_INTROSPECTION_CLIENT`: the first issuer's opaque tokens, introspected;
//! * [`shared`]: `AUTHZ_RATE_LIMIT` and `AUTHZ_REDIS_URL`: the quotas, and the Redis that
//!   every instance shares them (and the DPoP replay store) through;
//! * [`routes`]: the router, with guards as `route_layer` and as handler arguments;
//! * [`metadata`]: with `AUTHZ_RESOURCE`, the RFC 9728 document the router serves;
//! * [`openapi`]: `GET /openapi.json`, the OpenAPI document generated from the routes;
//! * [`serve`]: the whole start-up, listening, and a graceful stop.
//!
//! For the few lines a service of your own needs, read `examples/minimal.rs` first.

#![forbid(unsafe_code)]

pub mod config;
pub mod dev;
pub mod metadata;
pub mod opaque;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod settings;
pub mod shared;

pub use config::{auth_config, auth_config_at, dpop_origin};
pub use dev::{dev_tokens, start_dev_issuer, DevTokens};
pub use metadata::resource_metadata;
pub use routes::{app, app_with_rate_limit};
pub use serve::{config_error, config_error_line, run, run_with, EXIT_CONFIG, EXIT_RUNTIME};
pub use settings::{settings_from, ConfigProblem, IssuerSettings, RateLimitSetting, Settings};
pub use shared::{rate_limit_layer, redis_connection, replay_store};
