//! RFC 9728 protected resource metadata: the document, its path (§3.1 path insertion), the
//! `resource_metadata` parameter on every 401 and 403 challenge, and RFC 8707's
//! audience = resource.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum_principal::clock::ManualClock;
use axum_principal::{
    Algorithm, AuthConfig, AuthLayer, ConfigError, Issuer, ProtectedResourceMetadata,
};
use axum_principal_testkit::MockIssuer;
use common::{build, config, get_with, issuer, router, send, send_request, with_reason_header};
use serde_json::json;

const RESOURCE: &str = "https://api.example.test/mcp";
const METADATA_URL: &str = "https://api.example.test/.well-known/oauth-protected-resource/mcp";

fn metadata_param() -> String {
    format!("resource_metadata=\"{METADATA_URL}\"")
}

async fn get(app: &axum::Router, path: &str) -> common::Reply {
    let request = Request::get(path)
        .body(Body::empty())
        .expect("a valid request");
    send_request(app, request).await
}

#[tokio::test]
async fn the_document_lists_the_resource_its_issuers_and_what_it_accepts() {
    let issuer = issuer().await;
    let config = build(
        config(&issuer, &ManualClock::new())
            .issuer("https://second.example.test/")
            .resource(RESOURCE),
    );
    assert_eq!(config.resource(), Some(RESOURCE));
    assert_eq!(config.resource_metadata_url(), Some(METADATA_URL));
    let metadata = ProtectedResourceMetadata::from_config(&config)
        .expect("a resource is configured")
        .scopes_supported(["read:reports", "write:reports"])
        .dpop_signing_alg_values_supported([Algorithm::ES256, Algorithm::EdDSA])
        .dpop_bound_access_tokens_required(false)
        .resource_name("Reports")
        .resource_documentation("https://docs.example.test/api");
    assert_eq!(metadata.resource(), RESOURCE);
    assert_eq!(
        metadata.well_known_path(),
        "/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(metadata.metadata_url(), METADATA_URL);

    let app = router(AuthLayer::new(config)).merge(metadata.router());
    let reply = get(&app, "/.well-known/oauth-protected-resource/mcp").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert_eq!(
        reply.json(),
        json!({
            "resource": RESOURCE,
            "authorization_servers": [issuer.issuer(), "https://second.example.test/"],
            "scopes_supported": ["read:reports", "write:reports"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Reports",
            "resource_documentation": "https://docs.example.test/api",
            "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
            "dpop_bound_access_tokens_required": false,
        })
    );
    // Served without a token, and only at the inserted path.
    assert_eq!(
        get(&app, "/.well-known/oauth-protected-resource")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_resource_at_the_origin_is_served_at_the_bare_well_known_path() {
    for resource in ["https://api.example.test", "https://api.example.test/"] {
        let metadata = ProtectedResourceMetadata::new(resource).expect("a valid resource");
        let app: axum::Router = metadata.router();
        let reply = get(&app, "/.well-known/oauth-protected-resource").await;
        assert_eq!(reply.status, StatusCode::OK, "{resource}");
        // `resource` is the identifier exactly as configured (RFC 9728 §3.3).
        assert_eq!(reply.json()["resource"], resource);
        assert_eq!(reply.json()["bearer_methods_supported"], json!(["header"]));
    }
}

/// A router behind a layer whose configuration names [`RESOURCE`].
fn app_with_resource(issuer: &MockIssuer) -> axum::Router {
    let config = build(with_reason_header(
        config(issuer, &ManualClock::new()).resource(RESOURCE),
    ));
    router(AuthLayer::new(config))
}

#[tokio::test]
async fn every_401_and_403_challenge_names_the_metadata() {
    let issuer = issuer().await;
    let app = app_with_resource(&issuer);
    let user = issuer.user_token("alice");
    let foreign = MockIssuer::start()
        .await
        .expect("a second issuer")
        .user_token("mallory");
    let cases = [
        (
            "missing token",
            send(&app, "/me", &[]).await,
            401,
            "missing_token",
        ),
        (
            "another scheme",
            send(&app, "/me", &["Basic YWxhZGRpbjpvcGVuc2VzYW1l"]).await,
            401,
            "missing_token",
        ),
        (
            "malformed token",
            get_with(&app, "/me", "not.a.jwt").await,
            401,
            "malformed",
        ),
        (
            "unknown issuer",
            get_with(&app, "/me", &foreign).await,
            401,
            "unknown_issuer",
        ),
        (
            "guard refusal",
            get_with(&app, "/admin", &user).await,
            403,
            "guard_refused",
        ),
        (
            "malformed header",
            send(&app, "/me", &["Bearer a\"b"]).await,
            400,
            "bad_characters",
        ),
    ];
    for (what, reply, status, reason) in cases {
        assert_eq!(reply.status.as_u16(), status, "{what}");
        assert_eq!(reply.reason.as_deref(), Some(reason), "{what}");
        let challenge = reply.challenge.expect("a refusal carries a challenge");
        assert!(
            challenge.starts_with("Bearer realm=\"api\""),
            "{what}: {challenge}"
        );
        assert!(
            challenge.ends_with(&metadata_param()),
            "{what}: {challenge}"
        );
    }
    assert_eq!(
        get_with(&app, "/admin", &issuer.machine_token("svc"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_bare_challenge_is_exactly_realm_and_metadata() {
    let issuer = issuer().await;
    let app = app_with_resource(&issuer);
    let reply = send(&app, "/me", &[]).await;
    assert_eq!(
        reply.challenge.as_deref(),
        Some(format!("Bearer realm=\"api\", {}", metadata_param()).as_str())
    );
}

#[tokio::test]
async fn without_a_resource_no_challenge_names_metadata() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    for reply in [
        send(&app, "/me", &[]).await,
        get_with(&app, "/me", "not.a.jwt").await,
        get_with(&app, "/admin", &issuer.user_token("alice")).await,
    ] {
        let challenge = reply.challenge.expect("a refusal carries a challenge");
        assert!(!challenge.contains("resource_metadata"), "{challenge}");
    }
}

#[tokio::test]
async fn a_guard_in_a_handler_argument_names_the_metadata_too() {
    use axum::routing::get as route_get;
    use axum_principal::{Guarded, RequireMachine};
    let issuer = issuer().await;
    let config = build(config(&issuer, &ManualClock::new()).resource(RESOURCE));
    let app = axum::Router::new()
        .route(
            "/machine",
            route_get(|_: Guarded<RequireMachine>| async { "ok" }),
        )
        .layer(AuthLayer::new(config));
    let reply = get_with(&app, "/machine", &issuer.user_token("alice")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let challenge = reply.challenge.expect("a 403 carries a challenge");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.ends_with(&metadata_param()), "{challenge}");
}

#[tokio::test]
async fn require_resource_audience_accepts_only_tokens_for_the_resource() {
    let issuer = issuer().await;
    let config = build(with_reason_header(
        AuthConfig::builder()
            .issuer(issuer.issuer())
            .resource(RESOURCE)
            .require_resource_audience()
            .clock(ManualClock::new()),
    ));
    assert_eq!(config.audiences(), [RESOURCE]);
    let app = router(AuthLayer::new(config));
    let for_resource = issuer
        .token()
        .claim("sub", "alice")
        .claim("aud", RESOURCE)
        .sign();
    let among_others = issuer
        .token()
        .claim("sub", "alice")
        .claim("aud", json!(["https://other.example.test", RESOURCE]))
        .sign();
    assert_eq!(
        get_with(&app, "/me", &for_resource).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with(&app, "/me", &among_others).await.status,
        StatusCode::OK
    );
    for aud in [
        // The issuer's default audience, another API.
        json!(issuer.audience()),
        // The origin alone, or the identifier with a trailing slash, is another resource.
        json!("https://api.example.test"),
        json!("https://api.example.test/mcp/"),
        json!([]),
    ] {
        let token = issuer
            .token()
            .claim("sub", "alice")
            .claim("aud", aud.clone())
            .sign();
        let reply = get_with(&app, "/me", &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{aud}");
        assert_eq!(reply.reason.as_deref(), Some("wrong_audience"), "{aud}");
        let challenge = reply.challenge.expect("a 401 carries a challenge");
        assert!(challenge.ends_with(&metadata_param()), "{challenge}");
    }
}

#[tokio::test]
async fn resource_mistakes_are_configuration_errors() {
    let base = || AuthConfig::builder().issuer("https://issuer.example.test/");
    for bad in [
        "api.example.test/mcp",
        "http://api.example.test/mcp",
        "https://api.example.test/mcp?tenant=1",
        "https://api.example.test/mcp#x",
    ] {
        let result = base().audience("api").resource(bad).build();
        assert!(
            matches!(result, Err(ConfigError::InvalidResource { ref url, .. }) if url == bad),
            "{bad}: {result:?}"
        );
    }
    assert_eq!(
        base().require_resource_audience().build().map(|_| ()),
        Err(ConfigError::ResourceAudienceWithoutResource)
    );
    assert_eq!(
        base()
            .audience("api")
            .resource(RESOURCE)
            .require_resource_audience()
            .build()
            .map(|_| ()),
        Err(ConfigError::AudienceOtherThanResource("api".into()))
    );
    // An issuer's own audience replaces the global ones for its tokens: it cannot open a
    // second audience either.
    assert_eq!(
        AuthConfig::builder()
            .issuer(Issuer::new("https://issuer.example.test/").audience("https://other"))
            .resource(RESOURCE)
            .require_resource_audience()
            .build()
            .map(|_| ()),
        Err(ConfigError::AudienceOtherThanResource(
            "https://other".into()
        ))
    );
    // Nor can a token without `aud` pass on its `client_id`.
    assert_eq!(
        AuthConfig::builder()
            .issuer(Issuer::new("https://issuer.example.test/").client_id_as_audience())
            .resource(RESOURCE)
            .require_resource_audience()
            .build()
            .map(|_| ()),
        Err(ConfigError::ClientIdAudienceWithResourceAudience(
            "https://issuer.example.test/".into()
        ))
    );
    // An issuer that names the resource itself is the same configuration.
    AuthConfig::builder()
        .issuer(Issuer::new("https://issuer.example.test/").audience(RESOURCE))
        .resource(RESOURCE)
        .require_resource_audience()
        .build()
        .expect("an issuer's own audience equal to the resource");
    // Naming the resource as the audience as well is the same configuration.
    let same = base()
        .audience(RESOURCE)
        .resource(RESOURCE)
        .require_resource_audience()
        .build()
        .expect("the resource as its own audience");
    assert_eq!(same.audiences(), [RESOURCE]);
    // Without require_resource_audience an audience is still required.
    assert_eq!(
        base().resource(RESOURCE).build().map(|_| ()),
        Err(ConfigError::NoAudience)
    );
    assert!(ProtectedResourceMetadata::new("not a url").is_err());
}
