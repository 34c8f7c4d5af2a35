//! How refusals are shown: the realm, a custom renderer, the RFC 9728 metadata URL and the
//! `DPoP` challenge, carried with every refusal.

use std::fmt;
use std::sync::Arc;

use axum::response::Response;

use super::{sanitize_quoted, AuthRejection};

/// A custom renderer: turns a rejection into the response to send.
pub type RenderFn = dyn Fn(&AuthRejection) -> Response + Send + Sync;

/// How rejections are shown: the `realm`, an optional custom renderer and the RFC 9728
/// metadata URL. Carried through request extensions so that extractors and guards render
/// the same way as the layer.
#[derive(Clone)]
pub(crate) struct Renderer {
    pub(crate) realm: Arc<str>,
    pub(crate) custom: Option<Arc<RenderFn>>,
    /// `resource_metadata` of every challenge (RFC 9728 §5.1), checked by `build()`.
    pub(crate) resource_metadata: Option<Arc<str>>,
    /// The `DPoP` challenge, when DPoP is accepted (behind an `Arc`, so that a refusal, and a
    /// `Result` carrying one, stays small).
    pub(crate) dpop: Option<Arc<DpopChallenge>>,
    /// The scopes a 401 challenge names (`AuthConfigBuilder::challenge_scope`), already a
    /// well-formed `scope` value.
    pub(crate) scope: Option<Arc<str>>,
}

impl Renderer {
    /// The auth-params that end every challenge, whatever its scheme (`Bearer`, `DPoP`):
    /// `, resource_metadata="…"` when a resource identifier is configured, else nothing.
    pub(crate) fn challenge_params(&self) -> String {
        match &self.resource_metadata {
            Some(url) => format!(", resource_metadata=\"{}\"", sanitize_quoted(url)),
            None => String::new(),
        }
    }
}

/// What the `DPoP` challenge says (RFC 9449 §7.1).
#[derive(Debug, Clone)]
pub(crate) struct DpopChallenge {
    /// The accepted proof algorithms, space-separated.
    pub(crate) algs: Arc<str>,
    /// Only `DPoP` is accepted: no `Bearer` challenge.
    pub(crate) required: bool,
}

impl Default for Renderer {
    fn default() -> Self {
        Self {
            realm: Arc::from("api"),
            custom: None,
            resource_metadata: None,
            dpop: None,
            scope: None,
        }
    }
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("realm", &self.realm)
            .field("custom", &self.custom.is_some())
            .field("resource_metadata", &self.resource_metadata)
            .field("dpop", &self.dpop)
            .field("scope", &self.scope)
            .finish()
    }
}
