//! The development-mode tokens the example prints.

use axum::http::StatusCode;
use axum::Router;
use serde_json::json;

use axum_principal::AuthLayer;
use axum_principal_example::{app, auth_config, dev_tokens, start_dev_issuer, DevTokens, Settings};
use axum_principal_testkit::MockIssuer;

use crate::support::*;

/// The development issuer, the example's router trusting it, and the tokens it prints, as
/// `main` sets them up in development mode.
async fn dev_service(settings: &Settings) -> (MockIssuer, Router, DevTokens) {
    let issuer = start_dev_issuer(settings)
        .await
        .expect("the development issuer starts on loopback");
    let config = auth_config(settings, Some(&issuer)).expect("dev-mode settings give a config");
    let tokens = dev_tokens(&issuer, settings).expect("the dev issuer signs its tokens");
    (issuer, app(AuthLayer::new(config)), tokens)
}

#[tokio::test]
async fn printed_dev_tokens_behave_as_the_banner_says() {
    let settings = settings(&[]).expect("the empty environment is valid");
    assert!(settings.dev_mode());
    let issuer = start_dev_issuer(&settings)
        .await
        .expect("the development issuer starts");
    let config = auth_config(&settings, Some(&issuer)).expect("a valid configuration");
    assert_eq!(config.audiences(), [issuer.audience().to_owned()]);
    let router = app(AuthLayer::new(config));
    let tokens = dev_tokens(&issuer, &settings).expect("the development tokens are signed");
    let me = get_with(&router, "/me", &tokens.machine).await.json();
    assert_eq!(me["kind"], "machine");
    assert_eq!(me["classified_by"], "rfc9068:sub-equals-client_id");
    assert_eq!(me["subject"], "reporting-service");
    let me = get_with(&router, "/me", &tokens.user).await.json();
    assert_eq!(
        (me["kind"].clone(), me["subject"].clone()),
        (json!("user"), json!("alice"))
    );
    for (token, path, status) in [
        (&tokens.user, "/admin", StatusCode::FORBIDDEN),
        (&tokens.admin, "/admin", StatusCode::OK),
        (&tokens.machine, "/admin", StatusCode::OK),
        (&tokens.machine, "/reports", StatusCode::OK),
        (&tokens.user, "/user", StatusCode::OK),
        (&tokens.mfa, "/mfa", StatusCode::OK),
        (&tokens.user, "/mfa", StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(
            get_with(&router, path, token).await.status,
            status,
            "{path}"
        );
    }
}

#[tokio::test]
async fn dev_machine_token_follows_the_configured_provider_and_claim() {
    for provider in [
        "auth0", "hydra", "keycloak", "okta", "entra", "cognito", "duende",
    ] {
        let settings =
            settings(&[("AUTHZ_PROVIDER", provider)]).expect("every preset name is accepted");
        let (_issuer, router, tokens) = dev_service(&settings).await;
        let me = get_with(&router, "/me", &tokens.machine).await.json();
        assert_eq!(me["kind"], "machine", "{provider}: {me}");
        assert!(
            me["classified_by"]
                .as_str()
                .is_some_and(|c| c.starts_with(&format!("{provider}:"))),
            "{provider}: {me}"
        );
        let me = get_with(&router, "/me", &tokens.user).await.json();
        assert_eq!(me["kind"], "user", "{provider}: {me}");
    }

    let settings = settings(&[("AUTHZ_M2M_CLAIM", M2M_CLAIM)]).expect("a claim name is accepted");
    let (_issuer, router, tokens) = dev_service(&settings).await;
    let me = get_with(&router, "/me", &tokens.machine).await.json();
    assert_eq!(me["classified_by"], format!("claim:{M2M_CLAIM}=true"));
    let me = get_with(&router, "/me", &tokens.admin).await.json();
    assert_eq!(me["classified_by"], format!("claim:{M2M_CLAIM}=false"));
}

/// With `AUTHZ_INTROSPECTION_CLIENT` in development mode, the development issuer knows the
/// client and the banner's opaque token is introspected there.
#[tokio::test]
async fn dev_mode_prints_an_opaque_token_with_an_introspection_client() {
    let settings =
        settings(&[("AUTHZ_INTROSPECTION_CLIENT", "dev-api:dev-secret")]).expect("valid settings");
    let (issuer, router, tokens) = dev_service(&settings).await;
    let opaque = tokens.opaque.expect("an opaque token is printed");
    let reply = get_with(&router, "/me", &opaque).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["subject"], "alice");
    assert_eq!(issuer.introspection_requests(), 1);
    let (_, _, without) = dev_service(&settings_or_panic()).await;
    assert!(without.opaque.is_none());
}

fn settings_or_panic() -> Settings {
    settings(&[]).expect("the empty environment is valid")
}
