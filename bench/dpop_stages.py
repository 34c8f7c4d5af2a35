#!/usr/bin/env python3
"""bench/dpop_stages.py: per-stage instructions per DPoP request from two callgrind runs.

    dpop_stages.py SERVER BASE.out FULL.out N [TOP]

For SERVER ("lean_dpop" or "dpop_floor"; bench/dpop_callgrind.sh) it prints the inclusive
instruction count per request of each stage, (full - base) / N, then the TOP (default 25)
functions of the library or the bench binary with the largest inclusive cost per request.

bench/callgrind_stages.py's two measures (`fn` and `src`, described there, and its code)
with the stages of a DPoP request: the access token's verification and the proof's
checks, each part of RFC 9449 section 4.3 on its own row.
"""
from callgrind_stages import ALLOC, calls, fn, main, src

LIB = "crates/axum-principal/src/"
DPOP = LIB + "dpop/mod.rs"
PROOF = LIB + "dpop/proof.rs"
FLOOR = "bench/src/bin/dpop_floor.rs"


# Indented rows are part of the row above them; rows marked · are parts of several rows.
STAGES = {
    "lean_dpop": [
        fn("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        fn("AuthService future (everything the layer adds + the handler)", r"axum_principal::layer::AuthService<.*>::call::\{\{closure\}\}"),
        fn("  credentials: Authorization (DPoP scheme) -> token", r"axum_principal::authenticator::credentials::read$"),
        fn("  RFC 6750 b64token check", r"axum_principal::authenticator::credentials::check_b64token$"),
        fn("  access token: verify_token (decode, signature, claims, principal)", r"axum_principal::authenticator::Authenticator::verify_token::\{\{closure\}\}$"),
        fn("    signature (check_signature)", r"axum_principal::verify::check_signature$"),
        fn("    claims: registered, access-token, binding (check_jwt_claims)", r"Authenticator>::check_jwt_claims$"),
        fn("    classification + principal", r"axum_principal::authenticator::claims::<impl axum_principal::authenticator::Authenticator>::principal$"),
        src("  DPoP check (Dpop::check: the proof, replay, budget; inlined into the layer)",
            (DPOP, r"pub\(crate\) async fn check\(", r"^/// How long, from `now`")),
        fn("    proof::check (RFC 9449 4.3 checks 1-11, 12)", r"axum_principal::dpop::proof::check$"),
        src("      decode the proof (verify::parse: header, claims, signature bytes)",
            (PROOF, r"let jws = verify::parse\(proof", r"\}\)\?;")),
        src("      the proof's key by its header bytes (ProofKeys: a hit, or the checks below)",
            (PROOF, r"let segment = proof\.split_once", r"verify::check_signature\(&jws, &key\.material")),
        fn("      · header checks, key parse, thumbprint (header_key; only on a miss)", r"axum_principal::dpop::proof::header_key$"),
        fn("      · parse_jwk", r"axum_principal::jwk::parse_jwk$"),
        src("      proof signature",
            (PROOF, r"verify::check_signature\(&jws, &key\.material", r"map_err\(\|_\| InvalidDpopProof::BadSignature\)\?;")),
        src("      jti, htm, htu, ath, iat, nonce read by name from the index (no Map)",
            (PROOF, r"let claims = &jws\.claims;", r"// 8, 9: method and URL")),
        src("      htm and htu (htu: URL parse and normalise, Origin::matches)",
            (PROOF, r"// 8, 9: method and URL", r"// 11: iat within the window")),
        src("      iat window",
            (PROOF, r"// 11: iat within the window", r"// 12: ath")),
        src("      ath: SHA-256 of the access token, base64url, compare",
            (PROOF, r"// 12: ath", r"^    Ok\(Checked \{")),
        src("      Checked (jkt, jti copied)",
            (PROOF, r"^    Ok\(Checked \{", r"^/// Check 4 of RFC 9449")),
        src("    replay key: SHA-256 of jkt + jti, hex-formatted",
            (DPOP, r"let digest = sha256\(&\[", r"self\.budget")),
        src("      of which the hex string",
            (DPOP, r"let key = hex\(&digest\);", None)),
        fn("    proofs-per-principal budget (ProofBudget::take)", r"axum_principal::dpop::budget::ProofBudget::take$"),
        fn("    replay store (InMemoryReplayStore::first_use)", r"InMemoryReplayStore as axum_principal::replay::ReplayStore>::first_use$"),
        fn("  · SHA-256 (ath, thumbprint, replay key, budget key; callgrind hides SHA-NI)", r"axum_principal::crypto::aws_lc_backend::sha256$"),
        fn("  · both signatures (aws-lc EVP_DigestVerify: hash + verify)", r"_EVP_DigestVerify$"),
        fn("  · verify::parse, both JWS (token and proof)", r"axum_principal::verify::parse$"),
        fn("  drop of the principal", r"core::ptr::drop_in_place<axum_principal::principal::Principal>$"),
        fn("  handler + response", r"axum::routing::Router<.*>::call_with_state$"),
        fn("malloc + free (whole process)", ALLOC),
        calls("allocations per request (malloc, realloc, calloc calls; whole process)", r"^(malloc|realloc|calloc)$"),
    ],
    "dpop_floor": [
        fn("whole request (hyper task: read, route, respond)", r"hyper::proto::h1::dispatch::Dispatcher<.*>::poll_catch"),
        fn("  handler future (`me`: both checks, inlined into it)", r"<F as axum::handler::Handler<\(M,T1,T2\),S>>::call::\{\{closure\}\}$"),
        src("    token and proof from the headers",
            (FLOOR, r"^fn both_valid", r"signature_valid\(token")),
        src("    each JWS: split, signature base64 into the stack buffer (both)",
            (FLOOR, r"^fn signature_valid", r"key\(header\)\.is_some_and")),
        src("    key by raw header segment (two map lookups)",
            (FLOOR, r"^    fn key_for\(", r"^    /// The issuer's key for an access token")),
        fn("    both signatures (aws-lc EVP_DigestVerify: hash + verify)", r"_EVP_DigestVerify$"),
        fn("  handler + response", r"axum::routing::Router<.*>::call_with_state$"),
        fn("malloc + free (whole process)", ALLOC),
        calls("allocations per request (malloc, realloc, calloc calls; whole process)", r"^(malloc|realloc|calloc)$"),
    ],
}

if __name__ == "__main__":
    main(STAGES, r"axum_principal|^(dpop_floor|lean_dpop)::|<(dpop_floor|lean_dpop)::")
