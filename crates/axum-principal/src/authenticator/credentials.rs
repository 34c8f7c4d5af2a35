//! Step 1: the credentials of a request, read once from `Authorization: Bearer` (RFC 6750
//! §2.1) or, when DPoP is accepted, `Authorization: DPoP` (RFC 9449 §7.1), nothing else.
//! Scheme names are case-insensitive. The query string and form bodies are never read.

use http::{header, HeaderMap, HeaderValue};

use crate::rejection::InvalidRequest;

/// The scheme a token came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    Dpop,
}

/// A token as presented in `Authorization`: read once, then carried through the pipeline.
/// Owned (it shares the header value's bytes), so it travels from the layer's never-waiting
/// first look into the full pipeline without reading the header again.
pub(crate) struct Presented {
    pub(crate) scheme: Scheme,
    value: HeaderValue,
    /// Where the token lies in `value`: after the scheme, trimmed, non-empty. Not yet
    /// checked against RFC 6750's `b64token` grammar ([`check_b64token`]): a token the
    /// verified-token cache already holds passed that check when it was first seen.
    start: usize,
    end: usize,
}

impl Presented {
    /// The token's bytes.
    pub(crate) fn token(&self) -> &[u8] {
        self.value
            .as_bytes()
            .get(self.start..self.end)
            .unwrap_or_default()
    }
}

/// The request's credentials: `Ok(None)` without an `Authorization` header or with a scheme
/// not accepted.
pub(crate) fn read(
    headers: &HeaderMap,
    accept_dpop: bool,
) -> Result<Option<Presented>, InvalidRequest> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(InvalidRequest::MultipleAuthorizationHeaders);
    }
    let bytes = value.as_bytes();
    let scheme_end = bytes.iter().position(|b| *b == b' ').unwrap_or(bytes.len());
    let (scheme, rest) = bytes.split_at(scheme_end);
    let scheme = if accept_dpop && scheme.eq_ignore_ascii_case(b"dpop") {
        Scheme::Dpop
    } else if scheme.eq_ignore_ascii_case(b"bearer") {
        Scheme::Bearer
    } else {
        return Ok(None);
    };
    let front = trim_start(rest);
    let token = trim_end(front);
    if token.is_empty() {
        return Err(InvalidRequest::EmptyToken);
    }
    // `token` starts where `front` does: after the scheme and the spaces trimmed off.
    let start = scheme_end + (rest.len() - front.len());
    Ok(Some(Presented {
        scheme,
        value: value.clone(),
        start,
        end: start + token.len(),
    }))
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Byte classes for [`check_b64token`]: 0 for the `b64token` alphabet, 1 for space and tab
/// (a second token), 2 for anything else.
const CLASS: [u8; 256] = {
    let mut table = [2u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/') {
            table[b] = 0;
        } else if c == b' ' || c == b'\t' {
            table[b] = 1;
        }
        b += 1;
    }
    table
};

/// Whether `b` is in the `b64token` alphabet: `CLASS[b] == 0`, computed.
fn allowed(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    // `-`, `.` and `/` are 0x2d..=0x2f.
    let punctuation = (b.wrapping_sub(b'-') < 3) | (b == b'_') | (b == b'~') | (b == b'+');
    letter | digit | punctuation
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, in one pass.
pub(crate) fn check_b64token(token: &[u8]) -> Result<&str, InvalidRequest> {
    let body_end = token.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    let body = token.get(..body_end).unwrap_or_default();
    // The common case, every byte allowed, in a loop without branches or table loads
    // (the compiler runs it 16 bytes at a time); the classes below only for a refusal.
    if body_end != 0 && body.iter().fold(true, |ok, b| ok & allowed(*b)) {
        return std::str::from_utf8(token).map_err(|_| InvalidRequest::BadCharacters);
    }
    let classes = body.iter().fold(0u8, |acc, b| acc | CLASS[usize::from(*b)]);
    if classes & 1 != 0 {
        return Err(InvalidRequest::MultipleTokens);
    }
    if body_end == 0 || classes != 0 {
        return Err(InvalidRequest::BadCharacters);
    }
    // Only ASCII is left, so this cannot fail; map defensively anyway.
    std::str::from_utf8(token).map_err(|_| InvalidRequest::BadCharacters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn parse(values: &[&[u8]]) -> Result<Credentials<'static>, InvalidRequest> {
        parse_with(values, false)
    }

    /// What the header holds, as the old `Credentials` shape, for the tables.
    #[derive(Debug, PartialEq, Eq)]
    enum Credentials<'a> {
        None,
        Bearer(&'a [u8]),
        Dpop(&'a [u8]),
    }

    fn parse_with(
        values: &[&[u8]],
        accept_dpop: bool,
    ) -> Result<Credentials<'static>, InvalidRequest> {
        let mut headers = HeaderMap::new();
        for v in values {
            match HeaderValue::from_bytes(v) {
                Ok(v) => {
                    headers.append(header::AUTHORIZATION, v);
                }
                Err(e) => panic!("test header is not a valid header value: {e}"),
            }
        }
        // Leak to get a 'static borrow in tests only.
        let headers: &'static HeaderMap = Box::leak(Box::new(headers));
        let Some(presented) = read(headers, accept_dpop)? else {
            return Ok(Credentials::None);
        };
        let presented: &'static Presented = Box::leak(Box::new(presented));
        let token = check_b64token(presented.token())?.as_bytes();
        Ok(match presented.scheme {
            Scheme::Bearer => Credentials::Bearer(token),
            Scheme::Dpop => Credentials::Dpop(token),
        })
    }

    #[test]
    fn the_fast_check_allows_what_the_table_allows() {
        for b in 0..=u8::MAX {
            assert_eq!(allowed(b), CLASS[usize::from(b)] == 0, "byte {b:#04x}");
        }
    }

    #[test]
    fn dpop_only_when_accepted() {
        use Credentials as C;
        assert_eq!(parse_with(&[b"DPoP abc"], false), Ok(C::None));
        assert_eq!(parse_with(&[b"DPoP abc"], true), Ok(C::Dpop(b"abc")));
        assert_eq!(parse_with(&[b"dpop  abc "], true), Ok(C::Dpop(b"abc")));
        assert_eq!(parse_with(&[b"DPOP abc"], true), Ok(C::Dpop(b"abc")));
        assert_eq!(parse_with(&[b"Bearer abc"], true), Ok(C::Bearer(b"abc")));
        assert_eq!(parse_with(&[b"DPoPabc"], true), Ok(C::None));
        assert_eq!(
            parse_with(&[b"DPoP"], true),
            Err(InvalidRequest::EmptyToken)
        );
        assert_eq!(
            parse_with(&[b"DPoP a b"], true),
            Err(InvalidRequest::MultipleTokens)
        );
    }

    #[test]
    fn table() {
        use Credentials as C;
        use InvalidRequest as E;
        type Case = (
            &'static [&'static [u8]],
            Result<Credentials<'static>, InvalidRequest>,
        );
        let cases: &[Case] = &[
            (&[], Ok(C::None)),
            (&[b"Basic dXNlcjpwYXNz"], Ok(C::None)),
            (&[b"Bearerabc"], Ok(C::None)),
            (&[b"Bearer abc.def.ghi"], Ok(C::Bearer(b"abc.def.ghi"))),
            (&[b"bearer abc"], Ok(C::Bearer(b"abc"))),
            (&[b"BEARER   abc  "], Ok(C::Bearer(b"abc"))),
            (&[b"Bearer a+/b=="], Ok(C::Bearer(b"a+/b=="))),
            (&[b"Bearer a\tb"], Err(E::MultipleTokens)),
            (&[b"Bearer a b\"c"], Err(E::MultipleTokens)),
            (&[b"Bearer"], Err(E::EmptyToken)),
            (&[b"Bearer    "], Err(E::EmptyToken)),
            (&[b"Bearer a b"], Err(E::MultipleTokens)),
            (&[b"Bearer a,b"], Err(E::BadCharacters)),
            (&[b"Bearer a\"b"], Err(E::BadCharacters)),
            (&[b"Bearer ==="], Err(E::BadCharacters)),
            (&[b"Bearer a=b"], Err(E::BadCharacters)),
            (&[b"Bearer \xc3\xa9t\xc3\xa9"], Err(E::BadCharacters)),
            (
                &[b"Bearer a", b"Bearer b"],
                Err(E::MultipleAuthorizationHeaders),
            ),
        ];
        for (values, expected) in cases {
            assert_eq!(&parse(values), expected, "{values:?}");
        }
    }
}
