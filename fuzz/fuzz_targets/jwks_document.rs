//! A JWKS document as an issuer might send it: parsing never panics, and never yields more
//! keys than the document has entries.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(n) = axum_principal::internals::parse_jwks(data) {
        // The parser keeps at most 100 keys, each from one entry of the document.
        assert!(n <= 100, "more keys than the cap: {n}");
    }
});
