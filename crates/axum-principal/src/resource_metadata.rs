//! RFC 9728 protected resource metadata: [`ProtectedResourceMetadata`].

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

use crate::alg::Algorithm;
use crate::config::resource::Resource;
use crate::config::{AuthConfig, ConfigError};

/// An RFC 9728 protected resource metadata document, which tells a client which
/// authorization servers issue tokens for this API; built once at start-up and served by
/// [`router`](Self::router).
///
/// A service names its resource identifier with
/// [`AuthConfigBuilder::resource`](crate::AuthConfigBuilder::resource). From then on every
/// 401 and 403 challenge carries `resource_metadata="…"` (RFC 9728 §5.1), the URL of the
/// document, which [`ProtectedResourceMetadata::router`] serves at the well-known path with
/// §3.1 path insertion: for the resource `https://api.example.com/mcp` the document is at
/// `https://api.example.com/.well-known/oauth-protected-resource/mcp`.
///
/// ```
/// use axum::Router;
/// use axum_principal::{AuthConfig, AuthLayer, ProtectedResourceMetadata};
///
/// # fn main() -> Result<(), axum_principal::ConfigError> {
/// let config = AuthConfig::builder()
///     .issuer("https://issuer.example.com/")
///     .resource("https://api.example.com/mcp")
///     .require_resource_audience()
///     .build()?;
/// let metadata = ProtectedResourceMetadata::from_config(&config)
///     .expect("a resource is configured")
///     .scopes_supported(["read:reports"]);
/// assert_eq!(
///     metadata.metadata_url(),
///     "https://api.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// let app: Router = Router::new()
///     // ... routes behind the layer ...
///     .layer(AuthLayer::new(config))
///     // The document is public: merged after (outside) the layer.
///     .merge(metadata.router());
/// # let _ = app; Ok(()) }
/// ```
///
/// Lists are left out of the document while empty; `bearer_methods_supported` starts as
/// `["header"]`, the only way this crate reads a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResourceMetadata {
    resource: Resource,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<String>,
    dpop_signing_alg_values_supported: Vec<Algorithm>,
    dpop_bound_access_tokens_required: Option<bool>,
    tls_client_certificate_bound_access_tokens: Option<bool>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
}

/// The document as RFC 9728 §2 names its members, in the RFC's order.
#[derive(Serialize)]
struct Document<'a> {
    resource: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    authorization_servers: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    scopes_supported: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    bearer_methods_supported: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_client_certificate_bound_access_tokens: Option<bool>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    dpop_signing_alg_values_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_bound_access_tokens_required: Option<bool>,
}

impl ProtectedResourceMetadata {
    /// The document of the resource `resource` (an absolute `https://` URL, or `http://` on
    /// loopback, without query or fragment), with `bearer_methods_supported: ["header"]`
    /// and nothing else yet.
    pub fn new(resource: &str) -> Result<Self, ConfigError> {
        Resource::parse(resource).map(Self::of)
    }

    /// The document of the configured resource
    /// ([`AuthConfigBuilder::resource`](crate::AuthConfigBuilder::resource)), with the
    /// configured issuers as `authorization_servers` and, when DPoP is accepted
    /// ([`AuthConfigBuilder::dpop`](crate::AuthConfigBuilder::dpop)), its proof algorithms
    /// and whether bound tokens are required; `None` when no resource is configured.
    pub fn from_config(config: &AuthConfig) -> Option<Self> {
        let resource = config.inner.resource.clone()?;
        let mut metadata = Self::of(resource);
        metadata.authorization_servers = config.issuers().map(str::to_owned).collect();
        if let Some(dpop) = &config.inner.dpop {
            metadata = metadata
                .dpop_signing_alg_values_supported(dpop.algorithms().iter().copied())
                .dpop_bound_access_tokens_required(dpop.required);
        }
        Some(metadata)
    }

    fn of(resource: Resource) -> Self {
        Self {
            resource,
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            dpop_signing_alg_values_supported: Vec::new(),
            dpop_bound_access_tokens_required: None,
            tls_client_certificate_bound_access_tokens: None,
            resource_name: None,
            resource_documentation: None,
        }
    }

    /// Adds an issuer to `authorization_servers` (RFC 8414 issuer identifiers).
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// `scopes_supported`: the scopes the routes require (RECOMMENDED by RFC 9728), each
    /// once; [`offline_access`](crate::scope::OFFLINE_ACCESS) is left out, as in every
    /// challenge (it asks the authorization server for a refresh token and says nothing
    /// about this resource).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported.clear();
        for scope in scopes.into_iter().map(Into::into) {
            if scope != crate::scope::OFFLINE_ACCESS && !self.scopes_supported.contains(&scope) {
                self.scopes_supported.push(scope);
            }
        }
        self
    }

    /// `bearer_methods_supported` (default `["header"]`; an empty list leaves it out).
    pub fn bearer_methods_supported<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// `dpop_signing_alg_values_supported`: the algorithms a DPoP proof may be signed with
    /// (left out while empty, that is when DPoP is not accepted).
    pub fn dpop_signing_alg_values_supported(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Self {
        self.dpop_signing_alg_values_supported = algorithms.into_iter().collect();
        self
    }

    /// `dpop_bound_access_tokens_required`: whether only DPoP-bound tokens are accepted
    /// (RFC 9728 §2: absent means `false`).
    pub fn dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.dpop_bound_access_tokens_required = Some(required);
        self
    }

    /// `tls_client_certificate_bound_access_tokens`: whether only mTLS-bound tokens
    /// (RFC 8705) are accepted (absent means `false`).
    pub fn tls_client_certificate_bound_access_tokens(mut self, required: bool) -> Self {
        self.tls_client_certificate_bound_access_tokens = Some(required);
        self
    }

    /// `resource_name`: a human-readable name of the API.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// `resource_documentation`: the URL of a page for developers using the API.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The resource identifier, exactly as configured (the document's `resource`).
    pub fn resource(&self) -> &str {
        &self.resource.id
    }

    /// The path the document is served at:
    /// `/.well-known/oauth-protected-resource` followed by the resource's path (§3.1).
    pub fn well_known_path(&self) -> &str {
        &self.resource.well_known_path
    }

    /// The document's URL: the resource's origin and [`well_known_path`](Self::well_known_path),
    /// the `resource_metadata` value of the challenges.
    pub fn metadata_url(&self) -> &str {
        &self.resource.metadata_url
    }

    /// The document as JSON (RFC 9728 §2).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.document()).unwrap_or(serde_json::Value::Null)
    }

    fn document(&self) -> Document<'_> {
        Document {
            resource: &self.resource.id,
            authorization_servers: &self.authorization_servers,
            scopes_supported: &self.scopes_supported,
            bearer_methods_supported: &self.bearer_methods_supported,
            resource_name: self.resource_name.as_deref(),
            resource_documentation: self.resource_documentation.as_deref(),
            tls_client_certificate_bound_access_tokens: self
                .tls_client_certificate_bound_access_tokens,
            dpop_signing_alg_values_supported: self
                .dpop_signing_alg_values_supported
                .iter()
                .map(|a| a.as_str())
                .collect(),
            dpop_bound_access_tokens_required: self.dpop_bound_access_tokens_required,
        }
    }

    /// A router answering `GET` (and `HEAD`) at [`well_known_path`](Self::well_known_path)
    /// with the document, `200 application/json`, without reading any token: merge it
    /// outside the [`AuthLayer`](crate::AuthLayer).
    pub fn router<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let path = self.resource.well_known_path.clone();
        let body: Arc<str> = Arc::from(self.body());
        Router::new().route(
            &path,
            get(move || {
                let body = body.clone();
                async move { json_response(body.to_string()) }
            }),
        )
    }

    fn body(&self) -> String {
        serde_json::to_string(&self.document()).unwrap_or_default()
    }
}

/// The document as a `200 application/json` response.
impl IntoResponse for ProtectedResourceMetadata {
    fn into_response(self) -> Response {
        json_response(self.body())
    }
}

fn json_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_insertion_follows_rfc_9728_section_3_1() {
        let cases = [
            (
                "https://api.example.test",
                "/.well-known/oauth-protected-resource",
                "https://api.example.test/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.test/",
                "/.well-known/oauth-protected-resource",
                "https://api.example.test/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.test/mcp",
                "/.well-known/oauth-protected-resource/mcp",
                "https://api.example.test/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://api.example.test:8443/a/b/",
                "/.well-known/oauth-protected-resource/a/b/",
                "https://api.example.test:8443/.well-known/oauth-protected-resource/a/b/",
            ),
            (
                "http://127.0.0.1:3001/mcp",
                "/.well-known/oauth-protected-resource/mcp",
                "http://127.0.0.1:3001/.well-known/oauth-protected-resource/mcp",
            ),
        ];
        for (id, path, url) in cases {
            let r = Resource::parse(id).expect("a valid resource identifier");
            assert_eq!(&*r.id, id);
            assert_eq!(&*r.well_known_path, path, "{id}");
            assert_eq!(&*r.metadata_url, url, "{id}");
        }
    }

    #[test]
    fn a_resource_identifier_is_an_absolute_url_without_query_or_fragment() {
        for bad in [
            "api.example.test",
            "/mcp",
            "https://api.example.test/mcp?x=1",
            "https://api.example.test/mcp#f",
            "http://api.example.test/mcp",
            "https://user@api.example.test/mcp",
            "urn:example:api",
        ] {
            assert!(
                matches!(
                    Resource::parse(bad),
                    Err(ConfigError::InvalidResource { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_lists_are_left_out_and_bearer_methods_default_to_header() {
        let doc = ProtectedResourceMetadata::new("https://api.example.test")
            .expect("a valid resource identifier")
            .to_json();
        assert_eq!(
            doc,
            serde_json::json!({
                "resource": "https://api.example.test",
                "bearer_methods_supported": ["header"],
            })
        );
    }

    #[test]
    fn scopes_supported_never_names_offline_access() {
        let doc = ProtectedResourceMetadata::new("https://api.example.test")
            .expect("a valid resource identifier")
            .scopes_supported([
                "read:reports",
                "offline_access",
                "mcp:tools",
                "read:reports",
            ])
            .to_json();
        assert_eq!(
            doc["scopes_supported"],
            serde_json::json!(["read:reports", "mcp:tools"])
        );
    }
}
