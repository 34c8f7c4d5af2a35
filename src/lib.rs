//! The workspace's own package (not published). It owns the top-level `examples/` and
//! `tests/`, and compiles the top-level README's examples as doctests: they use the core
//! library with its `rate-limit` and `redis` features, the test kit, and the OpenAPI crate
//! with both generators, which only this package depends on together.

/// The README's examples, compiled as doctests.
#[cfg(all(doctest, feature = "rate-limit", feature = "redis"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
