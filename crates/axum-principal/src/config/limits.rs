//! Named bounds of the verified-token cache.

/// How big the verified-token cache may grow: at most [`max_entries`](Self::max_entries)
/// entries and [`max_bytes`](Self::max_bytes) estimated bytes, whichever is reached first
/// (default 100 000 entries and 64 MiB). Both must be non-zero;
/// [`build`](crate::AuthConfigBuilder::build) refuses a zero.
///
/// ```
/// use axum_principal::{AuthConfig, TokenCacheLimits};
///
/// let builder = AuthConfig::builder()
///     .token_cache(TokenCacheLimits::default().max_entries(10_000).max_bytes(16 << 20));
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCacheLimits {
    pub(crate) max_entries: u64,
    pub(crate) max_bytes: u64,
}

impl Default for TokenCacheLimits {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

impl TokenCacheLimits {
    /// The most entries the cache holds.
    #[must_use]
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.max_entries = entries;
        self
    }

    /// The most memory the entries may take, in bytes, estimated from their decoded claims.
    /// Each entry counts at least `max_bytes / max_entries`, so neither bound is exceeded.
    #[must_use]
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }
}
