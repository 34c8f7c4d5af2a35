//! Hostile input, family by family: algorithms, keys, signatures, claims, JSON, headers,
//! what an access token is, DPoP proofs, and the fuzz seeds. One test binary; each case is
//! refused with its stable reason code, never a panic.

#[path = "../common/mod.rs"]
mod common;

mod access_token;
mod alg;
mod claims;
mod dpop;
mod fuzz_seeds;
mod headers;
mod json;
mod keys;
mod signature;
