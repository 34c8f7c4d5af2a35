//! Arbitrary bytes as a token, through `Authenticator::verify` (past the header grammar, so
//! the fuzzer reaches the JWS parser directly): no panic, no principal unless the input is
//! one of the known valid seed tokens.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let h = common::harness();
    let token = String::from_utf8_lossy(data);
    match h.rt.block_on(h.auth.verify(&token)) {
        Ok(principal) => {
            assert!(
                h.valid.iter().any(|t| *t == token),
                "verified a token that is not a known valid one: {:?}",
                principal.subject()
            );
        }
        Err(rejection) => {
            let status = rejection.status().as_u16();
            assert_eq!(status, 401, "unexpected status {status}");
        }
    }
});
