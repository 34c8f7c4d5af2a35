//! Where an issuer's introspection endpoint is: configured, or found once by discovery
//! (OpenID Connect discovery, then RFC 8414 metadata), whose `issuer` must be the configured
//! one and whose `introspection_endpoint` must be `https://` (`http://` on loopback). A
//! failed discovery is retried on a later call (the breaker spaces them out).

use reqwest::Url;
use serde_json::Value;

use super::call::{network_failure, read_capped};
use crate::config::check_url;
use crate::key_store::rfc8414_url;
use crate::rejection::IntrospectionFailure;

/// One issuer's endpoint, as known now.
#[derive(Debug)]
pub(crate) struct Endpoint {
    configured: Option<Url>,
    /// What discovery found; behind an async lock so that one discovery runs at a time.
    discovered: tokio::sync::Mutex<Option<Url>>,
}

impl Endpoint {
    pub(crate) fn new(configured: Option<Url>) -> Self {
        Self {
            configured,
            discovered: tokio::sync::Mutex::new(None),
        }
    }

    /// The endpoint: configured, found before, or found now.
    pub(crate) async fn get(
        &self,
        http: &reqwest::Client,
        issuer: &str,
        max_bytes: usize,
    ) -> Result<Url, IntrospectionFailure> {
        if let Some(url) = &self.configured {
            return Ok(url.clone());
        }
        let mut discovered = self.discovered.lock().await;
        if let Some(url) = &*discovered {
            return Ok(url.clone());
        }
        let url = discover(http, issuer, max_bytes).await?;
        *discovered = Some(url.clone());
        Ok(url)
    }
}

async fn discover(
    http: &reqwest::Client,
    issuer: &str,
    max_bytes: usize,
) -> Result<Url, IntrospectionFailure> {
    let oidc = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let first = from_metadata(http, &oidc, issuer, max_bytes).await;
    if first.is_ok() {
        return first;
    }
    let rfc8414 = check_url(issuer).ok().and_then(|url| rfc8414_url(&url));
    match rfc8414 {
        Some(url) => from_metadata(http, &url, issuer, max_bytes).await,
        None => first,
    }
}

async fn from_metadata(
    http: &reqwest::Client,
    url: &str,
    issuer: &str,
    max_bytes: usize,
) -> Result<Url, IntrospectionFailure> {
    let url = check_url(url).map_err(|_| IntrospectionFailure::NoEndpoint)?;
    let response = http
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(network_failure)?;
    if !response.status().is_success() {
        return Err(IntrospectionFailure::NoEndpoint);
    }
    let body = read_capped(response, max_bytes).await?;
    endpoint_from_metadata(&body, issuer)
}

/// The `introspection_endpoint` of a metadata document that names `issuer`.
pub(crate) fn endpoint_from_metadata(
    body: &[u8],
    issuer: &str,
) -> Result<Url, IntrospectionFailure> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| IntrospectionFailure::NoEndpoint)?;
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(IntrospectionFailure::NoEndpoint);
    }
    let endpoint = doc
        .get("introspection_endpoint")
        .and_then(Value::as_str)
        .ok_or(IntrospectionFailure::NoEndpoint)?;
    check_url(endpoint).map_err(|_| IntrospectionFailure::NoEndpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_comes_from_a_document_of_this_issuer_only() {
        let issuer = "https://id.example.com";
        let doc = |iss: &str, endpoint: &str| {
            serde_json::json!({"issuer": iss, "introspection_endpoint": endpoint}).to_string()
        };
        let found = endpoint_from_metadata(
            doc(issuer, "https://id.example.com/introspect").as_bytes(),
            issuer,
        )
        .expect("this issuer's endpoint");
        assert_eq!(found.as_str(), "https://id.example.com/introspect");
        for (body, why) in [
            (
                doc("https://evil.example.com", "https://id.example.com/i"),
                "another issuer",
            ),
            (
                doc(issuer, "http://id.example.com/i"),
                "plain http off loopback",
            ),
            (
                serde_json::json!({"issuer": issuer}).to_string(),
                "no endpoint",
            ),
            ("not json".to_owned(), "not JSON"),
        ] {
            assert_eq!(
                endpoint_from_metadata(body.as_bytes(), issuer),
                Err(IntrospectionFailure::NoEndpoint),
                "{why}"
            );
        }
    }
}
