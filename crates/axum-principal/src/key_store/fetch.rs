//! The HTTP side of the key store: OIDC discovery with the RFC 8414 fallback, JWKS fetches
//! with a bounded body, and `Cache-Control: max-age`. Hardened: one shared client with
//! timeouts and no redirects (set up by the configuration), a body cap, https except on
//! loopback, and a discovery document must name the configured issuer.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::Value;
use tracing::Instrument as _;

use super::refresh::Reason;
use super::{lock, IssuerKeys, KeySet, KeyStore, Keys};
use crate::config::check_url;
use crate::jwk::{self, JwksError};

/// Where an issuer's JWKS is fetched from.
pub(super) enum Location {
    /// A configured JWKS URL: discovery is skipped.
    Configured(Url),
    /// Found by discovery from the issuer's URL, and kept until a fetch from it fails.
    Discovered {
        issuer_url: Url,
        found: Mutex<Option<Url>>,
    },
}

impl Location {
    pub(super) fn configured(uri: &Url) -> Self {
        Self::Configured(uri.clone())
    }

    pub(super) fn discovered(issuer_url: &Url) -> Self {
        Self::Discovered {
            issuer_url: issuer_url.clone(),
            found: Mutex::new(None),
        }
    }
}

/// Why a discovery or JWKS fetch failed. Logged; never shown to callers.
#[derive(Debug)]
pub(crate) enum FetchError {
    Network(reqwest::Error),
    Status(u16),
    TooLarge,
    NotJson,
    NotJwks,
    IssuerMismatch,
    BadJwksUri(String),
    NoUsableKeys,
    /// The issuer has no JWKS to fetch (static keys or none); never started for one.
    NoJwks,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network(e) => write!(
                f,
                "request failed: {}",
                crate::redact::redact_credentials(&e.to_string())
            ),
            Self::Status(s) => write!(f, "unexpected HTTP status {s}"),
            Self::TooLarge => f.write_str("response body exceeds the size cap"),
            Self::NotJson => f.write_str("response is not JSON"),
            Self::NotJwks => f.write_str("response is not a JWKS or metadata document"),
            Self::IssuerMismatch => f.write_str("discovery document names a different issuer"),
            Self::BadJwksUri(e) => write!(f, "unacceptable jwks_uri: {e}"),
            Self::NoUsableKeys => f.write_str("the JWKS has no usable signing key"),
            Self::NoJwks => f.write_str("the issuer has no JWKS to fetch"),
        }
    }
}

impl From<JwksError> for FetchError {
    fn from(e: JwksError) -> Self {
        match e {
            JwksError::NotJson => Self::NotJson,
            JwksError::NotJwks => Self::NotJwks,
        }
    }
}

impl KeyStore {
    /// One fetch (discovery when needed, then the JWKS) in a `jwks_fetch` span. Each field
    /// is recorded once, at the end: `outcome` (`ok`/`error`), `http.status` (the last
    /// response's, absent when none came), `keys` and `duration_ms`; a field recorded
    /// twice would be printed twice by `tracing-subscriber`'s formatter.
    pub(super) async fn fetch(
        &self,
        issuer: &IssuerKeys,
        reason: Reason,
    ) -> Result<KeySet, FetchError> {
        let span = tracing::info_span!(
            "jwks_fetch",
            issuer = %issuer.issuer,
            reason = ?reason,
            outcome = tracing::field::Empty,
            http.status = tracing::field::Empty,
            keys = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let mut http_status = None;
        let result = self
            .fetch_inner(issuer, &mut http_status)
            .instrument(span.clone())
            .await;
        crate::observe::key_refresh(&issuer.issuer, result.is_ok());
        span.record("duration_ms", started.elapsed().as_millis());
        if let Some(status) = http_status {
            span.record("http.status", status);
        }
        match &result {
            Ok(set) => {
                span.record("outcome", "ok");
                span.record("keys", set.keys.len());
                span.in_scope(|| tracing::info!("keys fetched"));
            }
            Err(_) => {
                span.record("outcome", "error");
            }
        }
        result
    }

    /// `http_status`: the status of the last response received, for the span.
    async fn fetch_inner(
        &self,
        issuer: &IssuerKeys,
        http_status: &mut Option<u16>,
    ) -> Result<KeySet, FetchError> {
        let Keys::Fetched(location) = &issuer.keys else {
            return Err(FetchError::NoJwks);
        };
        let jwks_uri = match location {
            Location::Configured(uri) => uri.clone(),
            Location::Discovered { issuer_url, found } => {
                let cached = lock(found).clone();
                match cached {
                    Some(uri) => uri,
                    None => {
                        let uri = self
                            .discover(&issuer.issuer, issuer_url, http_status)
                            .await?;
                        *lock(found) = Some(uri.clone());
                        uri
                    }
                }
            }
        };
        let fetched = self.get_bounded(&jwks_uri, http_status).await;
        let (body, max_age) = match fetched {
            Ok(ok) => ok,
            Err(e) => {
                // The issuer may have moved its JWKS: discover again next time.
                if let Location::Discovered { found, .. } = location {
                    *lock(found) = None;
                }
                return Err(e);
            }
        };
        let keys = jwk::parse_jwks(&body, &self.inner.algorithms, self.inner.policy.max_keys)?;
        if keys.is_empty() {
            return Err(FetchError::NoUsableKeys);
        }
        Ok(KeySet::fetched(
            keys,
            self.inner.versions.fetch_add(1, Ordering::Relaxed) + 1,
            self.inner.clock.now(),
            max_age,
            &self.inner.policy,
        ))
    }

    /// OIDC discovery, falling back to RFC 8414 metadata. A document that names another
    /// issuer is refused outright (no fallback).
    async fn discover(
        &self,
        issuer: &str,
        issuer_url: &Url,
        http_status: &mut Option<u16>,
    ) -> Result<Url, FetchError> {
        let oidc = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        match self.metadata_jwks_uri(&oidc, issuer, http_status).await {
            Ok(uri) => Ok(uri),
            Err(FetchError::IssuerMismatch) => Err(FetchError::IssuerMismatch),
            Err(oidc_error) => match rfc8414_url(issuer_url) {
                Some(url) => self.metadata_jwks_uri(&url, issuer, http_status).await,
                None => Err(oidc_error),
            },
        }
    }

    async fn metadata_jwks_uri(
        &self,
        url: &str,
        issuer: &str,
        http_status: &mut Option<u16>,
    ) -> Result<Url, FetchError> {
        let url = check_url(url).map_err(|e| FetchError::BadJwksUri(e.to_string()))?;
        let (body, _) = self.get_bounded(&url, http_status).await?;
        jwks_uri_from_metadata(&body, issuer)
    }

    /// GET with the body capped; returns the body and `Cache-Control: max-age`, and sets
    /// `http_status` to this response's status (to `None` when no response came).
    async fn get_bounded(
        &self,
        url: &Url,
        http_status: &mut Option<u16>,
    ) -> Result<(Vec<u8>, Option<Duration>), FetchError> {
        let limit = self.inner.policy.max_response_bytes;
        *http_status = None;
        let mut response = self
            .inner
            .http
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(FetchError::Network)?;
        let status = response.status();
        *http_status = Some(status.as_u16());
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(FetchError::TooLarge);
        }
        let max_age = max_age(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::Network)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

/// The `jwks_uri` of a discovery or RFC 8414 metadata document, which must name `issuer`.
pub(crate) fn jwks_uri_from_metadata(body: &[u8], issuer: &str) -> Result<Url, FetchError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| FetchError::NotJson)?;
    match doc.get("issuer") {
        Some(Value::String(i)) if i == issuer => {}
        Some(Value::String(_)) => return Err(FetchError::IssuerMismatch),
        _ => return Err(FetchError::NotJwks),
    }
    let Some(Value::String(jwks_uri)) = doc.get("jwks_uri") else {
        return Err(FetchError::NotJwks);
    };
    check_url(jwks_uri).map_err(|e| FetchError::BadJwksUri(e.to_string()))
}

/// RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
pub(crate) fn rfc8414_url(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let port = match url.port() {
        Some(p) => format!(":{p}"),
        None => String::new(),
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let path = url.path().trim_end_matches('/');
    Some(format!(
        "{}://{host}{port}/.well-known/oauth-authorization-server{path}",
        url.scheme()
    ))
}

/// `Cache-Control: max-age=N`; `no-cache`/`no-store` count as 0 (then clamped up).
pub(crate) fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    let mut result = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-cache" || lower == "no-store" {
                return Some(Duration::ZERO);
            }
            if let Some(secs) = lower.strip_prefix("max-age=") {
                if let Ok(secs) = secs.trim_matches('"').parse::<u64>() {
                    result = Some(Duration::from_secs(secs));
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        let mut h = http::HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("public, max-age=120"),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(120)));
        h.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        assert_eq!(max_age(&h), Some(Duration::ZERO));
        h.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("max-age=abc"),
        );
        assert_eq!(max_age(&h), None);
    }

    #[test]
    fn rfc8414_inserts_the_well_known_segment_before_the_path() {
        let url = |s: &str| Url::parse(s).expect("a valid URL");
        assert_eq!(
            rfc8414_url(&url("https://a.example.com/realms/x/")).as_deref(),
            Some("https://a.example.com/.well-known/oauth-authorization-server/realms/x")
        );
        assert_eq!(
            rfc8414_url(&url("http://127.0.0.1:8080")).as_deref(),
            Some("http://127.0.0.1:8080/.well-known/oauth-authorization-server")
        );
    }
}
