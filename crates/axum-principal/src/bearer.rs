//! Step 1 of the flow: the token from `Authorization: Bearer` (RFC 6750 §2.1), nothing else.
//! The query string and form bodies are never read.

use http::{header, HeaderMap};

use crate::rejection::InvalidRequest;

/// What the `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// No `Authorization` header, or a scheme other than Bearer.
    None,
    /// One bearer token, checked against RFC 6750's `b64token` grammar.
    Bearer(&'a str),
}

pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Credentials<'_>, InvalidRequest> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(Credentials::None);
    };
    if values.next().is_some() {
        return Err(InvalidRequest::MultipleAuthorizationHeaders);
    }
    let bytes = value.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|b| *b == b' ') {
        Some(i) => (&bytes[..i], &bytes[i..]),
        None => (bytes, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(Credentials::None);
    }
    let token = trim_spaces(rest);
    if token.is_empty() {
        return Err(InvalidRequest::EmptyToken);
    }
    if token.iter().any(|b| *b == b' ' || *b == b'\t') {
        return Err(InvalidRequest::MultipleTokens);
    }
    if !is_b64token(token) {
        return Err(InvalidRequest::BadCharacters);
    }
    // is_b64token admits ASCII only, so this cannot fail; map defensively anyway.
    std::str::from_utf8(token)
        .map(Credentials::Bearer)
        .map_err(|_| InvalidRequest::BadCharacters)
}

fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &[u8]) -> bool {
    let body_end = token.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    body_end > 0
        && token[..body_end].iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn parse(values: &[&[u8]]) -> Result<Credentials<'static>, InvalidRequest> {
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
        bearer_token(headers)
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
            (&[b"Bearer abc.def.ghi"], Ok(C::Bearer("abc.def.ghi"))),
            (&[b"bearer abc"], Ok(C::Bearer("abc"))),
            (&[b"BEARER   abc  "], Ok(C::Bearer("abc"))),
            (&[b"Bearer a+/b=="], Ok(C::Bearer("a+/b=="))),
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
