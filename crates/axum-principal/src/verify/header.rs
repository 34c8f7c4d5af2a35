//! The JOSE header, read in the one scan of its JSON: decoded on the stack when it fits,
//! its members dispatched by name as they are met (`alg`, `kid`, `typ`, `jwk`, `crit`; any
//! other skipped after its check), duplicates refused at any depth. No index, nothing kept
//! but the four fields; and an issuer's recurring header is decoded once ([`HeaderMemo`]).

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use super::base64url::{self, Undecoded};
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
    let bytes = match base64url::decode_into(b64, &mut buf) {
        Ok(bytes) => bytes,
        Err(Undecoded::TooLong) => {
            heap = base64url::decode(b64).ok_or(InvalidToken::Malformed)?;
            &heap[..]
        }
        Err(Undecoded::Invalid) => return Err(InvalidToken::Malformed),
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
    json::object(json, |key, _, value, _| {
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

fn optional_string(text: Option<&str>) -> Result<Option<Arc<str>>, InvalidToken> {
    match text.map(read_text) {
        None => Ok(None),
        Some(Some(Claim::Str(s))) => Ok(Some(Arc::from(&*s))),
        Some(_) => Err(InvalidToken::Malformed),
    }
}

/// The last few headers read, by their segment. An issuer's tokens share a header (the same
/// `alg`, `kid` and `typ`), so it is decoded once, as the floor finds its key by the header
/// segment. Bounded: [`MEMO_ENTRIES`] entries of segments up to [`MEMO_SEGMENT`] bytes, no
/// header with a `jwk`; only headers that decoded are kept, and a segment is compared whole,
/// so a hit is the very header decoded before (decoding is a pure function of the segment).
/// Never waits: when the lock is taken, the header is decoded as if nothing were kept.
#[derive(Default)]
pub(crate) struct HeaderMemo {
    entries: RwLock<Vec<(Box<str>, Header)>>,
    /// Where the next entry goes once the memo is full (round robin).
    next: AtomicUsize,
}

/// How many headers a memo keeps: an issuer's signing keys, a few rotations.
const MEMO_ENTRIES: usize = 8;
/// The longest segment kept (an RS256 header with a `kid` is ~100 bytes).
const MEMO_SEGMENT: usize = 256;

impl HeaderMemo {
    /// [`decode`], or the header decoded from the same segment before.
    pub(crate) fn decode(&self, b64: &str) -> Result<Header, InvalidToken> {
        if b64.len() > MEMO_SEGMENT {
            return decode(b64);
        }
        if let Ok(entries) = self.entries.try_read() {
            if let Some((_, header)) = entries.iter().find(|(segment, _)| **segment == *b64) {
                return Ok(header.clone());
            }
        }
        let header = decode(b64)?;
        if header.jwk.is_none() {
            if let Ok(mut entries) = self.entries.try_write() {
                let entry = (Box::from(b64), header.clone());
                if entries.len() < MEMO_ENTRIES {
                    entries.push(entry);
                } else if let Some(slot) =
                    entries.get_mut(self.next.fetch_add(1, Ordering::Relaxed) % MEMO_ENTRIES)
                {
                    *slot = entry;
                }
            }
        }
        Ok(header)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().map_or(0, |entries| entries.len())
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::{decode, HeaderMemo, MEMO_ENTRIES};

    #[test]
    fn the_memo_answers_what_decoding_answers_and_stays_bounded() {
        let memo = HeaderMemo::default();
        let mut segments: Vec<String> = (0..3 * MEMO_ENTRIES)
            .map(|i| format!(r#"{{"alg":"RS256","kid":"k{i}","typ":"JWT"}}"#))
            .chain([
                r#"{"alg":"ES256"}"#.to_owned(),
                r#"{"alg":"none"}"#.to_owned(),
                r#"{"alg":"RS256","alg":"none"}"#.to_owned(),
                r#"{"alg":"RS256","crit":["b64"]}"#.to_owned(),
                r#"{"alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}"#.to_owned(),
                "[1]".to_owned(),
            ])
            .map(|json| URL_SAFE_NO_PAD.encode(json))
            .collect();
        segments.push("!!".to_owned());
        // Twice over: the second round is answered from the memo where it holds the segment.
        for _ in 0..2 {
            for segment in &segments {
                assert_eq!(memo.decode(segment), decode(segment), "{segment}");
                assert!(memo.len() <= MEMO_ENTRIES);
            }
        }
        // The same header twice in a row: the second is the memo's.
        let kid = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"again"}"#);
        let first = memo.decode(&kid).expect("a valid header");
        assert_eq!(memo.decode(&kid), Ok(first));
    }
}
