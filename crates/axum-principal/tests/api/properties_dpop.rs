//! Property: a DPoP proof changed anywhere (one character of its header, payload or
//! signature, or a cut) is refused, never admitted. The unchanged proof is admitted, so each
//! refusal is the mutation's doing.

use crate::common;

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal::dpop::DpopConfig;
use axum_principal_testkit::{DpopKey, KeyAlg};
use proptest::prelude::*;

use common::dpop::{app, url, Call, ORIGIN};

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";

#[test]
fn a_proof_mutated_anywhere_is_refused() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (app, token, proof) = runtime.block_on(async {
        let issuer = common::issuer().await;
        let app = app(
            common::config(&issuer, &ManualClock::new()),
            DpopConfig::new(ORIGIN),
        );
        let key = DpopKey::generate(KeyAlg::Es256).expect("a key");
        let token = issuer.token().dpop_bound(&key).sign();
        let proof = key.proof("GET", &url("/me")).access_token(&token).sign();
        // A twin proof (its own jti) shows the set-up admits a good one.
        let twin = key.proof("GET", &url("/me")).access_token(&token).sign();
        let ok = Call::dpop("/me", &token, twin).send(&app).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        (app, token, proof)
    });
    let len = proof.len();
    let config = ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(at in 0..len, pick in 0..ALPHABET.len(), cut in any::<bool>())| {
        let mut bytes = proof.clone().into_bytes();
        if cut {
            bytes.truncate(at);
        } else {
            let replacement = ALPHABET[pick];
            prop_assume!(bytes[at] != replacement);
            bytes[at] = replacement;
        }
        let mutated = String::from_utf8(bytes).expect("ASCII");
        let out = runtime.block_on(Call::dpop("/me", &token, mutated.clone()).send(&app));
        prop_assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{} admitted: {}", mutated, out.body);
        let reason = out.reason.unwrap_or_default();
        prop_assert!(reason.starts_with("dpop_"), "{}", reason);
    });
}
