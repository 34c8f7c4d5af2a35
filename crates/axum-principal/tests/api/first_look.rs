//! The layer's first look (a new `Bearer` token decided in its `call` when the keys are at
//! hand) answers every request exactly as the full pipeline does: the same status,
//! challenge, reason and body, with the token cache on or off, for good, forged, oversized,
//! malformed and certificate-bound tokens and an unknown `kid`.

use crate::common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode, Uri};
use axum::response::IntoResponse;
use axum_principal::binding::ClientCertificate;
use axum_principal::clock::ManualClock;
use axum_principal::{AuthLayer, AuthRequest, Authenticator};
use common::{build, config, issuer, reply, router, send_request, with_reason_header, Reply};
use serde_json::json;

const CERT: &[u8] = b"0\x82\x01\x0a first look client certificate";

/// What the full pipeline answers (`Authenticator::authenticate_request`), as the layer
/// would render it.
async fn pipeline(auth: &Authenticator, authorization: &str, cert: Option<&[u8]>) -> Reply {
    let method = Method::GET;
    let uri = Uri::from_static("/me");
    let mut headers = http::HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        authorization.parse().expect("a header value"),
    );
    let certificate = cert.map(|der| ClientCertificate::new(der.to_vec()));
    let request =
        AuthRequest::new(&method, &uri, &headers).client_certificate(certificate.as_ref());
    let response = match auth.authenticate_request(request).await {
        Ok(Some(principal)) => (StatusCode::OK, axum::Json(principal)).into_response(),
        Ok(None) => (StatusCode::OK, "anonymous").into_response(),
        Err(rejection) => rejection.in_reply_to(&headers).into_response(),
    };
    reply(response).await
}

async fn layer(app: &axum::Router, authorization: &str, cert: Option<&[u8]>) -> Reply {
    let mut request = Request::get("/me")
        .header(header::AUTHORIZATION, authorization)
        .body(Body::empty())
        .expect("a request");
    if let Some(der) = cert {
        request
            .extensions_mut()
            .insert(ClientCertificate::new(der.to_vec()));
    }
    send_request(app, request).await
}

#[tokio::test]
async fn the_first_look_answers_as_the_full_pipeline() {
    let issuer = issuer().await;
    for cache in [true, false] {
        let clock = ManualClock::new();
        let make = || {
            let builder = with_reason_header(config(&issuer, &clock)).max_token_bytes(4096);
            let builder = if cache {
                builder
            } else {
                builder.without_token_cache()
            };
            Authenticator::new(build(builder))
        };
        let (fast, full) = (make(), make());
        fast.key_store().warm().await.expect("the keys are fetched");
        full.key_store().warm().await.expect("the keys are fetched");
        let app = router(AuthLayer::from_authenticator(fast));
        let good = issuer.token().sign();
        let mut tampered = good.clone();
        tampered.insert_str(good.rfind('.').expect("three segments") + 1, "AAAA");
        let bound = issuer.token().mtls_bound(CERT).sign();
        let cases: Vec<(String, Option<&[u8]>)> = vec![
            (good.clone(), None),
            (good.clone(), None),
            (issuer.token().expires_in(-3600).sign(), None),
            (
                issuer.token().claim("aud", json!("another-api")).sign(),
                None,
            ),
            (issuer.token().claim("aud", json!(["x", 1])).sign(), None),
            (issuer.token().claim("exp", json!(-0)).sign(), None),
            (issuer.token().claim("exp", json!(1e300)).sign(), None),
            (issuer.token().kid("not-published").sign(), None),
            (tampered, None),
            (format!("{good}.{good}"), None),
            (format!(".{good}"), None),
            ("ä.b.c".to_owned(), None),
            ("a~b".to_owned(), None),
            (format!("{good}{}", "A".repeat(4096)), None),
            (format!("{good}{}ä", "A".repeat(4096)), None),
            (bound.clone(), None),
            (bound.clone(), Some(CERT)),
            (bound.clone(), Some(CERT)),
            (bound, Some(b"another certificate")),
        ];
        for (token, cert) in cases {
            let authorization = format!("Bearer {token}");
            let fast = layer(&app, &authorization, cert).await;
            let full = pipeline(&full, &authorization, cert).await;
            let case = format!("cache {cache}, {:.60}…, cert {}", token, cert.is_some());
            assert_eq!(fast.status, full.status, "{case}");
            assert_eq!(fast.challenge, full.challenge, "{case}");
            assert_eq!(fast.reason, full.reason, "{case}");
            // A principal's JSON (`/me`) or the refusal's body.
            assert_eq!(fast.body, full.body, "{case}");
        }
    }
}
