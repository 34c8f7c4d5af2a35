//! Signed introspection answers (RFC 9701): what the mock's endpoint sends a client that
//! asks with `Accept: application/token-introspection+jwt`, and the faults of such answers.

use serde_json::{json, Map, Value};

use crate::introspection::IntrospectionFault;
use crate::jws::{sign_compact, signing_input};
use crate::keys::KeyMaterial;
use crate::state::Shared;
use crate::{now_unix, Error};

/// The media type of a signed answer.
pub(crate) const JWT_ANSWER: &str = "application/token-introspection+jwt";

/// `answer` for `client`, signed by the issuer's current key for its default algorithm:
/// `typ` `token-introspection+jwt`, `iss` the issuer, `aud` the client, `iat` now, the
/// answer as `token_introspection` (RFC 9701 §5), or broken as `fault` says.
pub(crate) fn signed_answer(
    shared: &Shared,
    fault: IntrospectionFault,
    client: &str,
    answer: Value,
) -> Result<String, Error> {
    let key = shared
        .signing_key(shared.default_alg)
        .ok_or(Error::NoSigningKey(shared.default_alg))?;
    let typ = if fault == IntrospectionFault::JwtWrongTyp {
        "JWT"
    } else {
        "token-introspection+jwt"
    };
    let mut header = Map::new();
    header.insert("alg".into(), key.material.alg().as_str().into());
    header.insert("kid".into(), key.kid.clone().into());
    header.insert("typ".into(), typ.into());
    let audience = if fault == IntrospectionFault::JwtWrongAudience {
        "another-client"
    } else {
        client
    };
    let claims = json!({
        "iss": shared.issuer,
        "aud": audience,
        "iat": now_unix(),
        "token_introspection": answer,
    });
    let Value::Object(claims) = claims else {
        return Err(Error::Crypto("claims are an object"));
    };
    match fault {
        IntrospectionFault::UnsignedJwt => {
            header.insert("alg".into(), "none".into());
            Ok(format!("{}.", signing_input(&header, &claims)))
        }
        IntrospectionFault::JwtForeignKey => {
            let foreign = KeyMaterial::generate(shared.default_alg)?;
            sign_compact(signing_input(&header, &claims), &foreign)
        }
        _ => sign_compact(signing_input(&header, &claims), &key.material),
    }
}
