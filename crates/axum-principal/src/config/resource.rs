//! The resource identifier (RFC 8707, RFC 9728), checked once by `build()`.

use std::sync::Arc;

use super::check_url;
use crate::error::ConfigError;

/// The well-known path of RFC 9728 §3, before path insertion.
pub(crate) const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// A checked resource identifier and where its metadata lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resource {
    /// The identifier exactly as configured: the document's `resource` and, with
    /// [`require_resource_audience`](crate::AuthConfigBuilder::require_resource_audience),
    /// the one accepted audience.
    pub(crate) id: Arc<str>,
    /// [`WELL_KNOWN_PATH`] with the identifier's path inserted after it (RFC 9728 §3.1).
    pub(crate) well_known_path: Arc<str>,
    /// The identifier's origin followed by `well_known_path`: the `resource_metadata` value
    /// of every challenge.
    pub(crate) metadata_url: Arc<str>,
}

impl Resource {
    /// An absolute `https://` URL (`http://` on loopback only), without query or fragment
    /// (RFC 8707 §2: a resource identifier has no fragment and should have no query).
    pub(crate) fn parse(id: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::InvalidResource {
            url: crate::redact::redact_url(id).into_owned(),
            reason,
        };
        let url = check_url(id).map_err(|e| invalid(e.to_string()))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(
                "a resource identifier has no query or fragment".into(),
            ));
        }
        if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "a resource identifier names a host, without user information".into(),
            ));
        }
        // §3.1: the path goes after the well-known string; a lone `/` after the host is
        // dropped (`https://api.example.com` and `https://api.example.com/` alike).
        let path = match url.path() {
            "/" => "",
            path => path,
        };
        let well_known_path = format!("{WELL_KNOWN_PATH}{path}");
        let metadata_url = format!("{}{well_known_path}", url.origin().ascii_serialization());
        Ok(Self {
            id: Arc::from(id),
            well_known_path: Arc::from(well_known_path),
            metadata_url: Arc::from(metadata_url),
        })
    }
}
