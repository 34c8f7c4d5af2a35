//! With `AUTHZ_RESOURCE`: the RFC 9728 protected resource metadata document, served at
//! `/.well-known/oauth-protected-resource` followed by the resource's path, and named by
//! every 401 and 403 challenge (the library adds `resource_metadata="…"` once the
//! configuration names the resource).

use axum_principal::{AuthConfig, ProtectedResourceMetadata};

/// The document for `config`'s resource (`None` without `AUTHZ_RESOURCE`): `resource`,
/// `authorization_servers` (the configured issuers), `bearer_methods_supported`
/// (`["header"]`), `scopes_supported` (`scopes`, those the routes require) and the DPoP
/// members.
pub fn resource_metadata<'a>(
    config: &AuthConfig,
    scopes: impl IntoIterator<Item = &'a str>,
) -> Option<ProtectedResourceMetadata> {
    // The DPoP members follow the configuration (AUTHZ_DPOP): left out with `off`,
    // `dpop_bound_access_tokens_required` true exactly with `required`.
    Some(ProtectedResourceMetadata::from_config(config)?.scopes_supported(scopes))
}
