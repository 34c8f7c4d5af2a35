//! With `AUTHZ_RESOURCE`: the RFC 9728 protected resource metadata document, served at
//! `/.well-known/oauth-protected-resource` followed by the resource's path, and named by
//! every 401 and 403 challenge (the library adds `resource_metadata="…"` once the
//! configuration names the resource).

use axum_principal::{Algorithm, AuthConfig, ProtectedResourceMetadata};

/// The document for `config`'s resource (`None` without `AUTHZ_RESOURCE`): `resource`,
/// `authorization_servers` (the configured issuers), `bearer_methods_supported`
/// (`["header"]`), `scopes_supported` (`scopes`, those the routes require) and the DPoP
/// members.
pub fn resource_metadata<'a>(
    config: &AuthConfig,
    scopes: impl IntoIterator<Item = &'a str>,
) -> Option<ProtectedResourceMetadata> {
    let metadata = ProtectedResourceMetadata::from_config(config)?.scopes_supported(scopes);
    // TODO(DPoP): DPoP is `allowed` by default (AUTHZ_DPOP), so the document advertises
    // it. Once settings.rs parses AUTHZ_DPOP: `off` leaves both members out, `required`
    // sets `dpop_bound_access_tokens_required: true`, and the algorithms are the ones the
    // DPoP configuration allows.
    Some(
        metadata
            .dpop_signing_alg_values_supported(Algorithm::ASYMMETRIC)
            .dpop_bound_access_tokens_required(false),
    )
}
