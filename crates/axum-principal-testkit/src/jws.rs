//! Compact JWS serialization: the signing input of a header and claims, and the signed token.

use serde_json::{Map, Value};

use crate::keys::KeyMaterial;
use crate::{b64url, Error};

/// `b64url(header) + "." + b64url(claims)`.
pub(crate) fn signing_input(header: &Map<String, Value>, claims: &Map<String, Value>) -> String {
    format!(
        "{}.{}",
        b64url(Value::Object(header.clone()).to_string().as_bytes()),
        b64url(Value::Object(claims.clone()).to_string().as_bytes())
    )
}

/// Signs `signing_input` (`b64(header).b64(payload)`) and appends the
/// signature segment.
pub(crate) fn sign_compact(signing_input: String, key: &KeyMaterial) -> Result<String, Error> {
    let signature = key.sign(signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", b64url(&signature)))
}
