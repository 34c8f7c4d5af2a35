//! The JOSE header, read in the one scan of its JSON: decoded on the stack when it fits,
//! its members dispatched by name as they are met (`alg`, `kid`, `typ`, `jwk`, `crit`; any
//! other skipped after its check), duplicates refused at any depth. No index, nothing kept
//! but the four fields.

use std::borrow::Cow;
use std::ops::Range;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::claims::read_text;
use super::json::{self, Seen};
use super::{Claim, Header};
use crate::alg::Algorithm;
use crate::rejection::InvalidToken;

/// Headers up to this many bytes are decoded on the stack (an RS256 header with a `kid` is
/// ~100; one with an embedded `jwk`, a DPoP proof's, ~400 to ~800).
const STACK: usize = 1024;

/// Decodes and reads the header segment `b64`.
pub(super) fn decode(b64: &str) -> Result<Header, InvalidToken> {
    let mut buf = [0u8; STACK];
    let heap;
    let bytes = match URL_SAFE_NO_PAD.decode_slice(b64, &mut buf) {
        Ok(len) => buf.get(..len).unwrap_or_default(),
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
            heap = URL_SAFE_NO_PAD
                .decode(b64)
                .map_err(|_| InvalidToken::Malformed)?;
            &heap[..]
        }
        Err(base64::DecodeSliceError::DecodeError(_)) => return Err(InvalidToken::Malformed),
    };
    let json = std::str::from_utf8(bytes).map_err(|_| InvalidToken::Malformed)?;
    read(json)
}

/// The spans of the members this crate acts on.
#[derive(Default)]
struct Fields {
    alg: Option<Range<usize>>,
    kid: Option<Range<usize>>,
    typ: Option<Range<usize>>,
    jwk: Option<Range<usize>>,
    crit: bool,
}

fn read(json: &str) -> Result<Header, InvalidToken> {
    let mut seen = Seen::default();
    let mut fields = Fields::default();
    json::object(json, |key, _, value| {
        let slot = match &*key {
            "alg" => Some(&mut fields.alg),
            "kid" => Some(&mut fields.kid),
            "typ" => Some(&mut fields.typ),
            "jwk" => Some(&mut fields.jwk),
            "crit" => {
                fields.crit = true;
                None
            }
            _ => None,
        };
        if let Some(slot) = slot {
            *slot = Some(value);
        }
        if seen.insert(key) {
            Ok(())
        } else {
            Err(json::Invalid)
        }
    })
    .map_err(|_| InvalidToken::Malformed)?;
    if fields.crit {
        // RFC 7515 §4.1.11: extensions listed in `crit` must be understood; none are.
        return Err(InvalidToken::UnsupportedCritical);
    }
    let text = |span: Option<Range<usize>>| span.and_then(|span| json.get(span));
    let alg = match text(fields.alg).and_then(read_text) {
        Some(Claim::Str(name)) => Algorithm::from_name(&name),
        _ => return Err(InvalidToken::Malformed),
    };
    let kid = optional_string(text(fields.kid))?;
    let typ = optional_string(text(fields.typ))?;
    let jwk = text(fields.jwk).and_then(|jwk| serde_json::from_str(jwk).ok());
    Ok(Header { alg, kid, typ, jwk })
}

fn optional_string(text: Option<&str>) -> Result<Option<String>, InvalidToken> {
    match text.map(read_text) {
        None => Ok(None),
        Some(Some(Claim::Str(s))) => Ok(Some(Cow::into_owned(s))),
        Some(_) => Err(InvalidToken::Malformed),
    }
}
