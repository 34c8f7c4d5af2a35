//! The HTTP surface: discovery, JWKS, faults, counters, lifetime.

mod common;

use std::time::Duration;

use axum_principal_testkit::{Discovery, Fault, KeyAlg, MockIssuer};
use common::{client, get_json};
use serde_json::json;

#[tokio::test]
async fn oidc_discovery_document_has_expected_shape() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    assert!(issuer.issuer().starts_with("http://127.0.0.1:"));
    assert!(!issuer.issuer().ends_with('/'));

    let response = client()
        .get(issuer.discovery_url())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(doc["issuer"], issuer.issuer());
    assert_eq!(doc["jwks_uri"], issuer.jwks_uri());
    assert_eq!(doc["jwks_uri"], format!("{}/jwks", issuer.issuer()));
    assert_eq!(doc["token_endpoint"], format!("{}/token", issuer.issuer()));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    assert_eq!(
        issuer.discovery_url(),
        format!("{}/.well-known/openid-configuration", issuer.issuer())
    );
}

#[tokio::test]
async fn jwks_has_one_key_per_default_alg_with_cache_control() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let response = client()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "max-age=300");
    let jwks: serde_json::Value = response.json().await.expect("a JSON body");
    let keys = jwks["keys"].as_array().expect("an array");
    assert_eq!(keys.len(), 3);

    let rsa = &keys[0];
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["use"], "sig");
    assert_eq!(rsa["alg"], "RS256");
    assert_eq!(rsa["e"], "AQAB");
    assert_eq!(
        common::b64d(rsa["n"].as_str().expect("a string")).len(),
        256
    );
    assert_eq!(
        rsa["kid"],
        issuer
            .signing_kid(KeyAlg::Rs256)
            .expect("a signing key of that algorithm")
    );

    let ec = &keys[1];
    assert_eq!(ec["kty"], "EC");
    assert_eq!(ec["use"], "sig");
    assert_eq!(ec["alg"], "ES256");
    assert_eq!(ec["crv"], "P-256");
    assert_eq!(common::b64d(ec["x"].as_str().expect("a string")).len(), 32);
    assert_eq!(common::b64d(ec["y"].as_str().expect("a string")).len(), 32);
    assert_eq!(
        ec["kid"],
        issuer
            .signing_kid(KeyAlg::Es256)
            .expect("a signing key of that algorithm")
    );

    let okp = &keys[2];
    assert_eq!(okp["kty"], "OKP");
    assert_eq!(okp["use"], "sig");
    assert_eq!(okp["alg"], "EdDSA");
    assert_eq!(okp["crv"], "Ed25519");
    assert_eq!(common::b64d(okp["x"].as_str().expect("a string")).len(), 32);
    assert_eq!(
        okp["kid"],
        issuer
            .signing_kid(KeyAlg::EdDsa)
            .expect("a signing key of that algorithm")
    );

    // No private material is ever published.
    for key in keys {
        assert!(key.get("d").is_none());
    }
    assert_eq!(jwks, issuer.jwks());
}

#[tokio::test]
async fn cache_control_is_settable_and_removable() {
    let issuer = MockIssuer::builder()
        .cache_control(Some("max-age=7".into()))
        .keys([KeyAlg::EdDsa])
        .start()
        .await
        .expect("the mock issuer starts");
    let response = client()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.headers()["cache-control"], "max-age=7");

    issuer.set_cache_control(None);
    let response = client()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("cache-control").is_none());

    issuer.set_cache_control(Some("no-store".into()));
    let response = client()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_404() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    for path in [
        "/",
        "/token",
        "/jwks/",
        "/.well-known/openid-configuration/x",
    ] {
        let response = client()
            .get(format!("{}{path}", issuer.base_url()))
            .send()
            .await
            .expect("the mock issuer answers");
        assert_eq!(response.status(), 404, "{path}");
    }
    let response = client()
        .post(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn rfc8414_metadata_inserts_well_known_before_path_prefix() {
    let issuer = MockIssuer::builder()
        .path_prefix("/realms/test/")
        .keys([KeyAlg::Es256])
        .default_alg(KeyAlg::Es256)
        .start()
        .await
        .expect("the mock issuer starts");
    assert_eq!(
        issuer.issuer(),
        format!("{}/realms/test", issuer.base_url())
    );
    let rfc8414 = format!(
        "{}/.well-known/oauth-authorization-server/realms/test",
        issuer.base_url()
    );
    assert_eq!(issuer.rfc8414_url(), rfc8414);

    let doc = get_json(&rfc8414).await;
    assert_eq!(doc["issuer"], issuer.issuer());
    assert_eq!(
        doc["jwks_uri"],
        format!("{}/realms/test/jwks", issuer.base_url())
    );

    // OIDC discovery lives under the issuer path…
    let oidc = get_json(&issuer.discovery_url()).await;
    assert_eq!(oidc, doc);
    // …and the JWKS too.
    let jwks = get_json(&issuer.jwks_uri()).await;
    assert_eq!(jwks["keys"].as_array().expect("an array").len(), 1);

    // The RFC 8414 document is not served at the "appended" location, nor
    // without the prefix.
    for wrong in [
        format!("{}/.well-known/oauth-authorization-server", issuer.issuer()),
        format!(
            "{}/.well-known/oauth-authorization-server",
            issuer.base_url()
        ),
        format!("{}/jwks", issuer.base_url()),
    ] {
        let response = client()
            .get(&wrong)
            .send()
            .await
            .expect("the mock issuer answers");
        assert_eq!(response.status(), 404, "{wrong}");
    }
    assert_eq!(issuer.discovery_requests(), 2);
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn discovery_modes_control_which_documents_are_served() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let status = |url: String| async move {
        client()
            .get(url)
            .send()
            .await
            .expect("the mock issuer answers")
            .status()
    };

    assert_eq!(status(issuer.discovery_url()).await, 200);
    assert_eq!(status(issuer.rfc8414_url()).await, 200);

    issuer.set_discovery(Discovery::Rfc8414Only);
    assert_eq!(status(issuer.discovery_url()).await, 404);
    assert_eq!(status(issuer.rfc8414_url()).await, 200);
    assert_eq!(status(issuer.jwks_uri()).await, 200);

    issuer.set_discovery(Discovery::None);
    assert_eq!(status(issuer.discovery_url()).await, 404);
    assert_eq!(status(issuer.rfc8414_url()).await, 404);
    assert_eq!(status(issuer.jwks_uri()).await, 200);

    issuer.set_discovery(Discovery::Oidc);
    assert_eq!(status(issuer.discovery_url()).await, 200);

    let none_from_start = MockIssuer::builder()
        .discovery(Discovery::None)
        .keys([KeyAlg::EdDsa])
        .start()
        .await
        .expect("the mock issuer starts");
    assert_eq!(status(none_from_start.discovery_url()).await, 404);
}

#[tokio::test]
async fn discovery_issuer_can_be_overridden() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    issuer.set_discovery_issuer(Some("https://evil.example".into()));
    let oidc = get_json(&issuer.discovery_url()).await;
    let rfc = get_json(&issuer.rfc8414_url()).await;
    assert_eq!(oidc["issuer"], "https://evil.example");
    assert_eq!(rfc["issuer"], "https://evil.example");
    // Only the issuer member changes; tokens keep the real issuer.
    assert_eq!(oidc["jwks_uri"], issuer.jwks_uri());
    assert_eq!(
        common::claims(&issuer.token().sign())["iss"],
        issuer.issuer()
    );

    issuer.set_discovery_issuer(None);
    let oidc = get_json(&issuer.discovery_url()).await;
    assert_eq!(oidc["issuer"], issuer.issuer());

    let from_builder = MockIssuer::builder()
        .discovery_issuer("https://other.example")
        .keys([KeyAlg::EdDsa])
        .start()
        .await
        .expect("the mock issuer starts");
    let doc = get_json(&from_builder.discovery_url()).await;
    assert_eq!(doc["issuer"], "https://other.example");
}

#[tokio::test]
async fn fault_down_fails_new_and_keep_alive_connections() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let keep_alive = client();
    // Open a pooled keep-alive connection first.
    let ok = keep_alive
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(ok.status(), 200);
    ok.bytes().await.expect("a whole body");

    issuer.set_fault(Fault::Down);
    issuer.reset_counters();
    // The pooled connection: the request reaches the service, which refuses
    // to answer, so hyper closes the connection.
    let err = keep_alive.get(issuer.jwks_uri()).send().await;
    assert!(err.is_err(), "keep-alive request must fail: {err:?}");
    assert!(
        issuer.jwks_requests() >= 1,
        "the request reached the service"
    );

    // Fresh connections are dropped at accept time, before any request is
    // read, so the counters do not move.
    let (jwks_before, discovery_before) = (issuer.jwks_requests(), issuer.discovery_requests());
    for url in [issuer.jwks_uri(), issuer.discovery_url()] {
        let err = client().get(&url).send().await;
        assert!(err.is_err(), "new connection must fail: {err:?}");
    }
    assert_eq!(issuer.jwks_requests(), jwks_before);
    assert_eq!(issuer.discovery_requests(), discovery_before);

    issuer.set_fault(Fault::None);
    let response = client()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn fault_status_answers_with_that_status() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    issuer.set_fault(Fault::Status(503));
    for url in [
        issuer.jwks_uri(),
        issuer.discovery_url(),
        issuer.rfc8414_url(),
    ] {
        let response = client()
            .get(&url)
            .send()
            .await
            .expect("the mock issuer answers");
        assert_eq!(response.status(), 503, "{url}");
        assert!(!response.text().await.expect("a whole body").is_empty());
    }
    issuer.set_fault(Fault::Status(500));
    let response = client()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.status(), 500);
    assert_eq!(issuer.jwks_requests(), 2);
    assert_eq!(issuer.discovery_requests(), 2);
}

#[tokio::test]
async fn fault_garbage_serves_invalid_json() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    issuer.set_fault(Fault::Garbage);
    for url in [issuer.jwks_uri(), issuer.discovery_url()] {
        let response = client()
            .get(&url)
            .send()
            .await
            .expect("the mock issuer answers");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = response.text().await.expect("a whole body");
        assert_eq!(body, "not json {{{");
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    }
}

#[tokio::test]
async fn fault_oversized_serves_valid_json_of_requested_length() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let len = 2 * 1024 * 1024 + 3;
    issuer.set_fault(Fault::Oversized(len));
    let response = client()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), Some(len as u64));
    let body = response.bytes().await.expect("a whole body");
    assert_eq!(body.len(), len);
    let parsed: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(parsed["keys"], json!([]));

    issuer.set_fault(Fault::Oversized(100));
    let body = client()
        .get(issuer.discovery_url())
        .send()
        .await
        .expect("the mock issuer answers")
        .bytes()
        .await
        .expect("a whole body");
    assert_eq!(body.len(), 100);
}

#[tokio::test]
async fn fault_slow_delays_the_answer_past_a_client_timeout() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    issuer.set_fault(Fault::Slow(Duration::from_secs(30)));
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("a client");
    let err = impatient.get(issuer.jwks_uri()).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let err = impatient
        .get(issuer.discovery_url())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // The requests did arrive.
    assert_eq!(issuer.jwks_requests(), 1);
    assert_eq!(issuer.discovery_requests(), 1);

    // A short delay still answers.
    issuer.set_fault(Fault::Slow(Duration::from_millis(10)));
    let response = impatient
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn counters_and_request_log_record_every_request() {
    let issuer = MockIssuer::builder()
        .path_prefix("/tenant")
        .start()
        .await
        .expect("the mock issuer starts");
    assert_eq!(issuer.discovery_requests(), 0);
    assert_eq!(issuer.jwks_requests(), 0);
    assert!(issuer.request_log().is_empty());

    get_json(&issuer.discovery_url()).await;
    get_json(&issuer.rfc8414_url()).await;
    get_json(&format!("{}?v=2", issuer.jwks_uri())).await;
    get_json(&issuer.jwks_uri()).await;
    let missing = client()
        .get(format!("{}/nope?a=b", issuer.issuer()))
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(missing.status(), 404);

    assert_eq!(issuer.discovery_requests(), 2);
    assert_eq!(issuer.jwks_requests(), 2);
    assert_eq!(
        issuer.request_log(),
        vec![
            "GET /tenant/.well-known/openid-configuration".to_owned(),
            "GET /.well-known/oauth-authorization-server/tenant".to_owned(),
            "GET /tenant/jwks?v=2".to_owned(),
            "GET /tenant/jwks".to_owned(),
            "GET /tenant/nope?a=b".to_owned(),
        ]
    );

    // Faulty answers are counted too.
    issuer.set_fault(Fault::Status(500));
    let _ = client()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("the mock issuer answers");
    assert_eq!(issuer.jwks_requests(), 3);

    issuer.reset_counters();
    assert_eq!(issuer.discovery_requests(), 0);
    assert_eq!(issuer.jwks_requests(), 0);
    assert!(issuer.request_log().is_empty());
}

#[tokio::test]
async fn rotation_is_visible_in_the_served_jwks() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let first = issuer
        .signing_kid(KeyAlg::Es256)
        .expect("a signing key of that algorithm");

    let second = issuer.add_key(KeyAlg::Es256);
    assert_ne!(first, second);
    assert!(second.starts_with("es256-"));
    let jwks = get_json(&issuer.jwks_uri()).await;
    assert!(common::find_jwk(&jwks, &first).is_some());
    assert!(common::find_jwk(&jwks, &second).is_some());
    assert_eq!(
        issuer.signing_kid(KeyAlg::Es256).as_deref(),
        Some(second.as_str())
    );
    let token = issuer.token().alg(KeyAlg::Es256).sign();
    assert_eq!(common::header(&token)["kid"], second);

    // Retire: still published, no longer signing; falls back to the older key.
    assert!(issuer.retire_key(&second));
    let jwks = get_json(&issuer.jwks_uri()).await;
    assert!(common::find_jwk(&jwks, &second).is_some());
    assert_eq!(
        issuer.signing_kid(KeyAlg::Es256).as_deref(),
        Some(first.as_str())
    );

    // Remove: unpublished, and not a signer any more.
    assert!(issuer.remove_key(&first));
    assert!(!issuer.remove_key(&first), "already removed");
    let jwks = get_json(&issuer.jwks_uri()).await;
    assert!(common::find_jwk(&jwks, &first).is_none());
    assert!(!issuer.published_kids().contains(&first));
    assert!(issuer.published_kids().contains(&second));
    assert_eq!(issuer.signing_kid(KeyAlg::Es256), None);

    assert!(!issuer.retire_key("no-such-kid"));
    assert!(!issuer.remove_key("no-such-kid"));
}

#[tokio::test]
async fn raw_jwks_are_published_verbatim_after_generated_keys() {
    let issuer = MockIssuer::builder()
        .keys([KeyAlg::EdDsa])
        .start()
        .await
        .expect("the mock issuer starts");
    let enc = json!({"kty": "RSA", "use": "enc", "kid": "enc-1", "n": "AQAB", "e": "AQAB"});
    let odd = json!({"kty": "weird", "kid": "odd-1"});
    issuer.add_raw_jwk(enc.clone());
    issuer.add_raw_jwk(odd.clone());

    let jwks = get_json(&issuer.jwks_uri()).await;
    let keys = jwks["keys"].as_array().expect("an array");
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[1], enc);
    assert_eq!(keys[2], odd);
    assert_eq!(issuer.public_jwk("odd-1"), Some(odd));
    assert_eq!(issuer.published_kids().len(), 1);

    issuer.clear_raw_jwks();
    let jwks = get_json(&issuer.jwks_uri()).await;
    assert_eq!(jwks["keys"].as_array().expect("an array").len(), 1);
}

async fn wait_until_refused(addr: &str) -> bool {
    for _ in 0..1000 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::task::yield_now().await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_stops_the_server() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let addr = issuer.base_url().trim_start_matches("http://").to_owned();
    let clone = issuer.clone();
    let token = issuer.token();
    drop(issuer);
    // A clone keeps it running.
    get_json(&clone.jwks_uri()).await;
    drop(clone);
    assert!(wait_until_refused(&addr).await, "server still accepting");
    // Outstanding token builders keep working without the server.
    assert_eq!(token.sign().split('.').count(), 3);
}

#[tokio::test]
async fn shutdown_stops_the_server_for_all_handles() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let other = issuer.clone();
    get_json(&issuer.jwks_uri()).await;
    issuer.shutdown().await;
    let err = client().get(other.jwks_uri()).send().await;
    assert!(err.is_err(), "{err:?}");
    // Tokens can still be minted.
    assert_eq!(other.user_token("u").split('.').count(), 3);
}
