//! Arbitrary bytes as the value of the `Authorization` header, through
//! `Authenticator::authenticate`: no panic, and no principal unless the input carries one of
//! the known valid seed tokens.
#![no_main]

#[path = "common.rs"]
mod common;

use http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let h = common::harness();
    // Several header lines: split on '\n' so the fuzzer can also send repeated headers.
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        let Ok(value) = HeaderValue::from_bytes(line) else {
            return;
        };
        headers.append(header::AUTHORIZATION, value);
    }
    let result = h.rt.block_on(h.auth.authenticate(&headers));
    match result {
        Ok(Some(principal)) => {
            assert!(
                h.holds_valid_token(data),
                "authenticated a request without a known valid token: {:?}",
                principal.subject()
            );
            assert_eq!(principal.issuer(), common::ISSUER);
        }
        Ok(None) => {}
        Err(rejection) => {
            let status = rejection.status().as_u16();
            assert!(matches!(status, 400 | 401), "unexpected status {status}");
        }
    }
});
