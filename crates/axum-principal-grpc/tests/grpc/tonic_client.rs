//! Each refusal of CONTRACT.md's gRPC table as tonic's own client sees it: the status code,
//! the reason code as the message, the challenge as metadata, and no token anywhere.

use axum_principal_grpc::proto::{Empty, Me};
use axum_principal_testkit::{DpopKey, Fault, KeyAlg};
use serde_json::Value;
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::support::{bearer, request, Server};

/// Which method to call.
#[derive(Clone, Copy, Debug)]
enum Method {
    WhoAmI,
    Admin,
    MachineOnly,
}

async fn call(server: &Server, method: Method, authorization: Option<&str>) -> Result<Me, Status> {
    let mut client = server.client().await;
    let request = request(Empty {}, authorization);
    let response = match method {
        Method::WhoAmI => client.who_am_i(request).await,
        Method::Admin => client.admin(request).await,
        Method::MachineOnly => client.machine_only(request).await,
    };
    response.map(tonic::Response::into_inner)
}

/// The refusal of a call, which must not carry `token` in its message or metadata.
async fn refused(
    server: &Server,
    method: Method,
    authorization: Option<&str>,
    token: &str,
) -> Status {
    let status = call(server, method, authorization)
        .await
        .expect_err("the call is refused");
    if !token.is_empty() {
        assert!(
            !status.message().contains(token),
            "the message carries the token"
        );
        for entry in status.metadata().iter() {
            if let tonic::metadata::KeyAndValueRef::Ascii(name, value) = entry {
                let value = value.to_str().unwrap_or_default();
                assert!(!value.contains(token), "{name} carries the token");
            }
        }
    }
    status
}

/// Every `www-authenticate` value of the refusal.
fn challenges(status: &Status) -> Vec<String> {
    status
        .metadata()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .collect()
}

fn subject(me: &Me) -> String {
    let json: Value = serde_json::from_str(&me.json).expect("Me.json is JSON");
    json["subject"].as_str().expect("a subject").to_owned()
}

#[tokio::test]
async fn no_token_a_malformed_header_and_a_bad_token_are_unauthenticated_with_the_challenge() {
    let server = Server::start(&[]).await;
    let none = refused(&server, Method::WhoAmI, None, "").await;
    assert_eq!(none.code(), Code::Unauthenticated);
    assert_eq!(none.message(), "missing_token");
    // DPoP is accepted by default: both challenges, as over HTTP.
    let all = challenges(&none);
    assert_eq!(all[0], "Bearer realm=\"api\"");
    assert!(all[1].starts_with("DPoP algs=\""), "{all:?}");

    let user = server.user();
    let malformed = format!("Bearer {user} {user}");
    let status = refused(&server, Method::WhoAmI, Some(&malformed), &user).await;
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "invalid_request");
    assert!(challenges(&status)[0].contains("error=\"invalid_request\""));

    let expired = server.issuer.token().expires_in(-600).sign();
    let status = refused(&server, Method::WhoAmI, Some(&bearer(&expired)), &expired).await;
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "invalid_token");
    assert!(challenges(&status)[0].starts_with("Bearer realm=\"api\", error=\"invalid_token\""));
}

#[tokio::test]
async fn guards_refuse_with_permission_denied_and_admit_the_others() {
    let server = Server::start(&[]).await;
    let (user, admin, machine) = (server.user(), server.admin(), server.machine());
    for method in [Method::Admin, Method::MachineOnly] {
        let status = refused(&server, method, Some(&bearer(&user)), &user).await;
        assert_eq!(status.code(), Code::PermissionDenied, "{method:?}");
        assert_eq!(status.message(), "insufficient_scope");
        let all = challenges(&status);
        assert!(all[0].contains("error=\"insufficient_scope\""), "{all:?}");
    }
    let me = call(&server, Method::WhoAmI, Some(&bearer(&user)))
        .await
        .expect("any principal");
    assert_eq!(subject(&me), "alice");
    let me = call(&server, Method::Admin, Some(&bearer(&admin)))
        .await
        .expect("role admin");
    assert_eq!(subject(&me), "admin-alice");
    for method in [Method::Admin, Method::MachineOnly] {
        let me = call(&server, method, Some(&bearer(&machine)))
            .await
            .expect("a machine");
        assert_eq!(subject(&me), "reporting-service");
    }
}

#[tokio::test]
async fn keys_that_cannot_be_had_are_unavailable() {
    let server = Server::start(&[]).await;
    server.issuer.set_fault(Fault::Down);
    let token = server.issuer.token().alg(KeyAlg::Es256).sign();
    let status = refused(&server, Method::WhoAmI, Some(&bearer(&token)), &token).await;
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "temporarily_unavailable");
    assert!(challenges(&status).is_empty());
}

#[tokio::test]
async fn over_quota_is_resource_exhausted_and_health_checks_do_not_count() {
    let server = Server::start(&[("AUTHZ_RATE_LIMIT", "2,2")]).await;
    let user = server.user();
    let mut health = HealthClient::new(server.channel().await);
    // Health checks with the same token: none of them counts.
    for _ in 0..5 {
        let check = request(
            HealthCheckRequest {
                service: String::new(),
            },
            Some(&bearer(&user)),
        );
        let answer = health.check(check).await.expect("health answers");
        assert_eq!(answer.into_inner().status(), ServingStatus::Serving);
    }
    for _ in 0..2 {
        call(&server, Method::WhoAmI, Some(&bearer(&user)))
            .await
            .expect("within the quota");
    }
    let status = refused(&server, Method::WhoAmI, Some(&bearer(&user)), &user).await;
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(status.message(), "rate_limited");
    let retry_after: u64 = status
        .metadata()
        .get("retry-after")
        .expect("retry-after metadata")
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("whole seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn health_answers_serving_without_a_token() {
    let server = Server::start(&[]).await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "principal.v1.Principal"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("health needs no token");
        assert_eq!(
            answer.into_inner().status(),
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "other.v1.Other".to_owned(),
        })
        .await
        .expect_err("an unknown service");
    assert_eq!(unknown.code(), Code::NotFound);
}

/// DPoP over gRPC: `htm` is POST (every gRPC call is) and `htu` the origin plus the method's
/// path, `/package.Service/Method`.
#[tokio::test]
async fn a_dpop_bound_token_with_its_proof_over_grpc() {
    let server = Server::start(&[]).await;
    let key = DpopKey::generate(KeyAlg::Es256).expect("a DPoP key");
    let token = server
        .issuer
        .token()
        .claim("sub", "alice")
        .dpop_bound(&key)
        .sign();
    let htu = format!("{}/principal.v1.Principal/WhoAmI", server.origin());
    let with_proof = |proof: String| {
        let mut request = request(Empty {}, Some(&format!("DPoP {token}")));
        request
            .metadata_mut()
            .insert("dpop", proof.parse().expect("a proof is ASCII"));
        request
    };
    let mut client = server.client().await;
    let proof = key.proof("POST", &htu).access_token(&token).sign();
    let me = client
        .who_am_i(with_proof(proof))
        .await
        .expect("a bound token with its proof")
        .into_inner();
    assert_eq!(subject(&me), "alice");

    // A proof for GET, or for another method's path, is refused with the DPoP challenge.
    let other = format!("{}/principal.v1.Principal/Admin", server.origin());
    for proof in [
        key.proof("GET", &htu).access_token(&token).sign(),
        key.proof("POST", &other).access_token(&token).sign(),
    ] {
        let status = client
            .who_am_i(with_proof(proof))
            .await
            .expect_err("a proof for another request");
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "invalid_dpop_proof");
        let all = challenges(&status);
        assert!(
            all[0].starts_with("DPoP error=\"invalid_dpop_proof\""),
            "{all:?}"
        );
    }
}
