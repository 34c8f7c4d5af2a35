//! The introspection endpoint (RFC 7662): advertised, authenticated, answering for the
//! opaque tokens the issuer issued, revocation and its own faults.

mod common;

use std::time::Duration;

use axum_principal_testkit::{IntrospectionFault, MockIssuer, OTHER_AUDIENCE};
use common::{client, get_json};
use serde_json::{json, Value};

/// `POST {issuer}/introspect` with `token`, as `(id, secret)` over HTTP Basic.
async fn introspect(issuer: &MockIssuer, token: &str, basic: (&str, &str)) -> (u16, String) {
    let response = client()
        .post(format!("{}/introspect", issuer.issuer()))
        .basic_auth(basic.0, Some(basic.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .expect("the issuer answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("a JSON answer")
}

#[tokio::test]
async fn the_endpoint_is_advertised_and_answers_for_issued_tokens() {
    let issuer = MockIssuer::start().await.expect("starts");
    let doc = get_json(&issuer.discovery_url()).await;
    assert_eq!(
        doc["introspection_endpoint"],
        format!("{}/introspect", issuer.issuer())
    );
    issuer.add_introspection_client("api", "secret");
    let token = issuer
        .token()
        .claim("sub", "alice")
        .claim("roles", ["x"])
        .opaque();
    assert!(token.starts_with("mock_at_") && !token.contains('.'));
    let (status, body) = introspect(&issuer, &token, ("api", "secret")).await;
    assert_eq!(status, 200);
    let answer = json(&body);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["sub"], "alice");
    assert_eq!(answer["iss"], issuer.issuer());
    assert_eq!(answer["aud"], issuer.audience());
    assert_eq!(answer["roles"], json!(["x"]));
    let (_, body) = introspect(&issuer, "mock_at_unknown", ("api", "secret")).await;
    assert_eq!(json(&body), json!({"active": false}));
    assert!(issuer.revoke(&token));
    let (_, body) = introspect(&issuer, &token, ("api", "secret")).await;
    assert_eq!(json(&body), json!({"active": false}));
    let expired = issuer.token().expires_in(-1).opaque();
    let (_, body) = introspect(&issuer, &expired, ("api", "secret")).await;
    assert_eq!(json(&body), json!({"active": false}));
    assert_eq!(issuer.introspection_requests(), 4);
}

#[tokio::test]
async fn only_registered_clients_may_ask_by_basic_or_form() {
    let issuer = MockIssuer::start().await.expect("starts");
    let token = issuer.opaque_machine_token("svc");
    let (status, _) = introspect(&issuer, &token, ("api", "secret")).await;
    assert_eq!(status, 401, "no client registered yet");
    issuer.add_introspection_client("api", "secret");
    assert_eq!(introspect(&issuer, &token, ("api", "wrong")).await.0, 401);
    let response = client()
        .post(format!("{}/introspect", issuer.issuer()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&client_id=api&client_secret=secret"))
        .send()
        .await
        .expect("answers");
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], "svc");
    assert!(
        answer.get("sub").is_none(),
        "a client-credentials answer has no sub"
    );
}

#[tokio::test]
async fn faults_of_the_endpoint_alone() {
    let issuer = MockIssuer::start().await.expect("starts");
    issuer.add_introspection_client("api", "secret");
    let token = issuer.opaque_user_token("alice");
    let creds = ("api", "secret");
    issuer.set_introspection_fault(IntrospectionFault::Status(503));
    assert_eq!(introspect(&issuer, &token, creds).await.0, 503);
    issuer.set_introspection_fault(IntrospectionFault::Inactive);
    assert_eq!(
        json(&introspect(&issuer, &token, creds).await.1),
        json!({"active": false})
    );
    issuer.set_introspection_fault(IntrospectionFault::WrongAudience);
    assert_eq!(
        json(&introspect(&issuer, &token, creds).await.1)["aud"],
        OTHER_AUDIENCE
    );
    issuer.set_introspection_fault(IntrospectionFault::RefuseCredentials);
    assert_eq!(introspect(&issuer, &token, creds).await.0, 401);
    issuer.set_introspection_fault(IntrospectionFault::Garbage);
    let (status, body) = introspect(&issuer, &token, creds).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err());
    issuer.set_introspection_fault(IntrospectionFault::Slow(Duration::from_millis(50)));
    assert_eq!(
        json(&introspect(&issuer, &token, creds).await.1)["active"],
        true
    );
    // Discovery keeps answering whatever the endpoint's fault.
    assert_eq!(
        get_json(&issuer.discovery_url()).await["issuer"],
        issuer.issuer()
    );
}
