//! The one place that names the crypto backend chosen by crate features.

use jsonwebtoken::crypto::CryptoProvider;

/// The backend's provider, chosen explicitly rather than through jsonwebtoken's
/// process-wide default, so another crate enabling jsonwebtoken's other backend cannot
/// turn verification into a runtime panic.
#[cfg(feature = "aws-lc-rs")]
pub(crate) fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
pub(crate) fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
}
