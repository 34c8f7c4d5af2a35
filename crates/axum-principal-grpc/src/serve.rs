//! The table of guards per method, the router and the start-up of the gRPC example.
//!
//! The variables are the example service's (`BIND`, `AUTHZ_ISSUER`, `AUTHZ_AUDIENCE`, …,
//! read by [`settings_from`]) and so is the start-up ([`run_with`]): the development issuer
//! when `AUTHZ_ISSUER` is unset, listening before the issuer answers, a graceful stop.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum_principal::rate_limit::RateLimitLayer;
use axum_principal::{
    AuthLayer, GrpcMethodGuards, RequireMachine, RequirePrincipal, RequireRoleOrMachine,
};
use axum_principal_example::dev::client_addr;
use axum_principal_example::routes::with_public_routes;
use axum_principal_example::{config_error, resource_metadata, run_with, settings_from, DevTokens};
use axum_principal_testkit::MockIssuer;
use http::{HeaderName, Method};
use tonic::server::NamedService;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};
use tonic_web::GrpcWebLayer;
use tower::{Service, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::proto::principal_server::PrincipalServer;
use crate::service::PrincipalService;

/// The service's name, `principal.v1.Principal`.
pub const SERVICE: &str = <PrincipalServer<PrincipalService> as NamedService>::NAME;

/// Who may call which method (CONTRACT.md, "The gRPC example"): `WhoAmI` any principal,
/// `Admin` machines and users with role `admin`, `MachineOnly` machines. Health is open
/// (the table's default); any other method is refused.
pub fn method_guards() -> GrpcMethodGuards {
    GrpcMethodGuards::new()
        .method("/principal.v1.Principal/WhoAmI", RequirePrincipal)
        .method(
            "/principal.v1.Principal/Admin",
            RequireRoleOrMachine::new("admin"),
        )
        .method("/principal.v1.Principal/MachineOnly", RequireMachine)
}

/// `grpc.health.v1.Health`, answering `SERVING` for the server (`""`) and for
/// [`SERVICE`].
pub async fn health_service() -> HealthServer<HealthService> {
    let reporter = HealthReporter::new();
    reporter
        .set_serving::<PrincipalServer<PrincipalService>>()
        .await;
    HealthServer::new(HealthService::from_health_reporter(reporter))
}

/// The server without quotas: [`app_with_rate_limit`] with none.
pub fn app(layer: AuthLayer, health: HealthServer<HealthService>) -> Router {
    app_with_rate_limit(layer, None, health)
}

/// The whole server (see the [crate docs](crate) for the order of the layers):
/// `principal.v1.Principal` behind its quota (`AUTHZ_RATE_LIMIT`) and the table of
/// [`method_guards`], health behind the table only, both behind `layer` (which lets calls
/// without a token through, for health); `/healthz`, the RFC 9728 document with
/// `AUTHZ_RESOURCE`, tracing and a sensitive `Authorization` as in the example service. In
/// front of the gRPC routes, grpc-web and its CORS ([`grpc_web_cors`]).
pub fn app_with_rate_limit(
    layer: AuthLayer,
    limits: Option<RateLimitLayer>,
    health: HealthServer<HealthService>,
) -> Router {
    let guards = method_guards();
    let mut principal = grpc_route(PrincipalServer::new(PrincipalService)).layer(guards.clone());
    if let Some(limits) = limits {
        // Outside the guards: every call of the service counts, as on the HTTP example.
        principal = principal.layer(limits);
    }
    let health = grpc_route(health).layer(guards);
    let metadata = resource_metadata(layer.authenticator().config(), [])
        .map(|m| m.resource_name("axum-principal gRPC example"));
    let grpc = principal
        .merge(health)
        .layer(layer.allow_anonymous())
        // grpc-web calls (browsers, HTTP/1.1) become gRPC calls before the auth layer sees
        // them, and its refusals go back as grpc-web.
        .layer(GrpcWebLayer::new())
        // Outermost: preflights are answered without a token, and refusals carry the
        // headers a browser needs to read them.
        .layer(grpc_web_cors());
    with_public_routes(grpc, metadata)
}

/// CORS for grpc-web clients: the headers they send, and the ones a refusal is read from
/// (`grpc-status`, `grpc-message`, `www-authenticate`, `retry-after`, `dpop-nonce`), which
/// a browser hides from the page unless they are exposed. Any origin, because the example
/// has no cookies and every call carries its token; a real service lists its origins.
pub fn grpc_web_cors() -> CorsLayer {
    let names = |names: &[&'static str]| -> Vec<HeaderName> {
        names.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::POST])
        .allow_headers(names(&[
            "authorization",
            "content-type",
            "dpop",
            "grpc-timeout",
            "x-grpc-web",
            "x-user-agent",
        ]))
        .expose_headers(names(&[
            "grpc-status",
            "grpc-message",
            "www-authenticate",
            "retry-after",
            "dpop-nonce",
        ]))
        .max_age(Duration::from_secs(600))
}

/// One tonic service as axum routes (`/{name}/*`), as tonic's `Routes::add_service` makes
/// them, but without its fallback: two such routers merge, and each keeps its own layers.
fn grpc_route<S>(service: S) -> Router
where
    S: Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    Router::new().route_service(
        &format!("/{}/{{*method}}", S::NAME),
        service.map_request(|request: http::Request<axum::body::Body>| {
            request.map(tonic::body::Body::new)
        }),
    )
}

/// Runs the server with the variables `vars` looks up until Ctrl-C or SIGTERM, through
/// the example service's start-up ([`run_with`]), with its exit statuses.
pub async fn run(vars: impl Fn(&str) -> Option<String>) -> ExitCode {
    match settings_from(vars) {
        Ok(settings) => {
            let health = health_service().await;
            run_with(
                settings,
                move |layer, limits| app_with_rate_limit(layer, limits, health),
                print_dev_banner,
            )
            .await
        }
        Err(problem) => config_error(&problem),
    }
}

/// The development tokens and `grpcurl` lines to paste.
fn print_dev_banner(_issuer: &MockIssuer, tokens: &DevTokens, addr: SocketAddr) {
    let addr = client_addr(addr);
    let grpcurl = |token: &str, method: &str| {
        format!(
            "grpcurl -plaintext -import-path crates/axum-principal-grpc/proto \
             -proto principal/v1/principal.proto -H \"authorization: Bearer {token}\" \
             {addr} {SERVICE}/{method}"
        )
    };
    let lines = [
        "Development mode: AUTHZ_ISSUER is not set, so an embedded mock issuer is running."
            .to_owned(),
        format!("gRPC (HTTP/2 without TLS) and GET /healthz on {addr}"),
        String::new(),
        format!("USER_TOKEN={}", tokens.user),
        format!("ADMIN_TOKEN={}", tokens.admin),
        format!("MACHINE_TOKEN={}", tokens.machine),
        String::new(),
        "# health, without a token: SERVING".to_owned(),
        format!("grpcurl -plaintext -d '{{\"service\":\"{SERVICE}\"}}' {addr} grpc.health.v1.Health/Check"),
        "# who am I: the principal as JSON".to_owned(),
        grpcurl(&tokens.user, "WhoAmI"),
        "# Admin refuses a user without role admin: PermissionDenied".to_owned(),
        grpcurl(&tokens.user, "Admin"),
        "# MachineOnly admits machines only".to_owned(),
        grpcurl(&tokens.machine, "MachineOnly"),
    ];
    println!("{}", lines.join("\n"));
}
