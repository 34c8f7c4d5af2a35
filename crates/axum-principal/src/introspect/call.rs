//! One introspection call (RFC 7662 §2): `POST` of the form `token=…` with this service's
//! client authentication, on the configuration's shared client (no redirects, a connect
//! timeout) with the introspection timeout over the whole exchange, and a capped body. The
//! token travels in the body only; it is never logged, and no error carries it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header;
use reqwest::Url;

use zeroize::Zeroizing;

use super::assertion::{client_assertion, JWT_BEARER};
use crate::config::{ClientAuth, Introspection, Secret};
use crate::rejection::IntrospectionFailure;
use crate::verify::RawClaims;

/// One call's context: where, as whom, when.
pub(crate) struct Call<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) endpoint: &'a Url,
    pub(crate) settings: &'a Introspection,
    /// The issuer identifier: a client assertion's `aud`.
    pub(crate) issuer: &'a str,
    /// Now (Unix seconds of the configured clock): a client assertion's `iat`.
    pub(crate) now: i64,
    pub(crate) max_bytes: usize,
}

/// The media type of a signed answer (RFC 9701 §4).
pub(crate) const JWT_ANSWER: &str = "application/token-introspection+jwt";

/// What the endpoint answered, not yet checked. Short-lived (one call, then checked and
/// kept as claims), so the indexed claims stay in place rather than boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Reply {
    /// One JSON object, as indexed claims.
    Json(RawClaims),
    /// A signed answer (RFC 9701): the JWS's compact serialization.
    Jwt(String),
}

/// What the endpoint answered: a JSON object, or a signed answer when it says so by its
/// `Content-Type`.
pub(crate) async fn introspect(call: Call<'_>, token: &str) -> Result<Reply, IntrospectionFailure> {
    let Call {
        http,
        endpoint,
        settings,
        max_bytes,
        ..
    } = call;
    let mut request = http
        .post(endpoint.clone())
        .timeout(settings.timeout)
        .header(
            header::ACCEPT,
            if settings.jwt_response {
                JWT_ANSWER
            } else {
                "application/json"
            },
        )
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token);
        form.append_pair("token_type_hint", "access_token");
        match &settings.auth {
            ClientAuth::Basic(secret) => {
                let mut value = http::HeaderValue::from_str(&basic(&settings.client_id, secret))
                    .map_err(|_| IntrospectionFailure::CredentialsRefused)?;
                value.set_sensitive(true);
                request = request.header(header::AUTHORIZATION, value);
            }
            ClientAuth::Post(secret) => {
                form.append_pair("client_id", &settings.client_id);
                form.append_pair("client_secret", secret.expose());
            }
            ClientAuth::PrivateKeyJwt(key) => {
                let assertion = client_assertion(key, &settings.client_id, call.issuer, call.now)
                    .ok_or(IntrospectionFailure::CredentialsRefused)?;
                form.append_pair("client_id", &settings.client_id);
                form.append_pair("client_assertion_type", JWT_BEARER);
                form.append_pair("client_assertion", &assertion);
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
    let signed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JWT_ANSWER));
    let body = read_capped(response, max_bytes).await?;
    let text = String::from_utf8(body).map_err(|_| IntrospectionFailure::BadResponse)?;
    if signed {
        return Ok(Reply::Jwt(text.trim().to_owned()));
    }
    RawClaims::parse(text)
        .map(Reply::Json)
        .ok_or(IntrospectionFailure::BadResponse)
}

/// `Basic base64(id:secret)`, each form-encoded first (RFC 6749 §2.3.1); wiped when dropped.
fn basic(client_id: &str, secret: &Secret) -> Zeroizing<String> {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = Zeroizing::new(format!("{}:{}", encode(client_id), encode(secret.expose())));
    Zeroizing::new(format!("Basic {}", STANDARD.encode(pair.as_bytes())))
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
        let ClientAuth::Basic(secret) = &settings.auth else {
            panic!("Basic is the default");
        };
        let value = basic(&settings.client_id, secret);
        let decoded = STANDARD
            .decode(value.trim_start_matches("Basic "))
            .expect("base64");
        assert_eq!(decoded, b"my+client:p%40ss%3Aword");
    }
}
