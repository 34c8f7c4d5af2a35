//! One introspection call (RFC 7662 §2): `POST` of the form `token=…` with this service's
//! client authentication, on the configuration's shared client (no redirects, a connect
//! timeout) with the introspection timeout over the whole exchange, and a capped body. The
//! token travels in the body only; it is never logged, and no error carries it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header;
use reqwest::Url;

use crate::config::{ClientAuth, Introspection};
use crate::rejection::IntrospectionFailure;
use crate::verify::RawClaims;

/// What the endpoint answered: one JSON object (its members not yet checked), as indexed
/// claims.
pub(crate) async fn introspect(
    http: &reqwest::Client,
    endpoint: &Url,
    settings: &Introspection,
    token: &str,
    max_bytes: usize,
) -> Result<RawClaims, IntrospectionFailure> {
    let mut request = http
        .post(endpoint.clone())
        .timeout(settings.timeout)
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token);
        form.append_pair("token_type_hint", "access_token");
        match settings.auth {
            ClientAuth::Basic => {
                let mut value = http::HeaderValue::from_str(&basic(settings))
                    .map_err(|_| IntrospectionFailure::CredentialsRefused)?;
                value.set_sensitive(true);
                request = request.header(header::AUTHORIZATION, value);
            }
            ClientAuth::Post => {
                form.append_pair("client_id", &settings.client_id);
                form.append_pair("client_secret", settings.secret.expose());
            }
        }
        form.finish()
    };
    let response = request.body(body).send().await.map_err(network_failure)?;
    let status = response.status();
    if status == http::StatusCode::UNAUTHORIZED || status == http::StatusCode::FORBIDDEN {
        return Err(IntrospectionFailure::CredentialsRefused);
    }
    if status != http::StatusCode::OK {
        return Err(IntrospectionFailure::ErrorStatus);
    }
    let body = read_capped(response, max_bytes).await?;
    let text = String::from_utf8(body).map_err(|_| IntrospectionFailure::BadResponse)?;
    RawClaims::parse(text).ok_or(IntrospectionFailure::BadResponse)
}

/// `Basic base64(id:secret)`, each form-encoded first (RFC 6749 §2.3.1); wiped when dropped.
fn basic(settings: &Introspection) -> zeroize::Zeroizing<String> {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = zeroize::Zeroizing::new(format!(
        "{}:{}",
        encode(&settings.client_id),
        encode(settings.secret.expose())
    ));
    zeroize::Zeroizing::new(format!("Basic {}", STANDARD.encode(pair.as_bytes())))
}

/// A body read in chunks, refused once it would exceed `max_bytes`.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    max_bytes: usize,
) -> Result<Vec<u8>, IntrospectionFailure> {
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(max_bytes).unwrap_or(u64::MAX))
    {
        return Err(IntrospectionFailure::BadResponse);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network_failure)? {
        if body.len().saturating_add(chunk.len()) > max_bytes {
            return Err(IntrospectionFailure::BadResponse);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error: a timeout, or anything else that kept an answer from arriving.
pub(crate) fn network_failure(error: reqwest::Error) -> IntrospectionFailure {
    if error.is_timeout() {
        IntrospectionFailure::Timeout
    } else {
        IntrospectionFailure::Unreachable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_then_base64() {
        let settings = Introspection::new("my client", "p@ss:word");
        let value = basic(&settings);
        let decoded = STANDARD
            .decode(value.trim_start_matches("Basic "))
            .expect("base64");
        assert_eq!(decoded, b"my+client:p%40ss%3Aword");
    }
}
