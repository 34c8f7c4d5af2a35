//! Step 1 of the flow: the token from `Authorization: Bearer` (RFC 6750 §2.1) or, when DPoP
//! is accepted, `Authorization: DPoP` (RFC 9449 §7.1), nothing else. Scheme names are
//! case-insensitive. The query string and form bodies are never read.

use http::{header, HeaderMap};

use crate::rejection::InvalidRequest;

/// What the `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// No `Authorization` header, or a scheme not accepted.
    None,
    /// What follows `Bearer`, trimmed and non-empty, not yet checked against RFC 6750's
    /// `b64token` grammar ([`check_b64token`]): a token the verified-token cache already
    /// holds passed that check when it was first seen, so a cache hit skips it.
    Bearer(&'a [u8]),
    /// What follows `DPoP` (only when `accept_dpop`), as for [`Bearer`](Self::Bearer).
    Dpop(&'a [u8]),
}

pub(crate) fn bearer_token(
    headers: &HeaderMap,
    accept_dpop: bool,
) -> Result<Credentials<'_>, InvalidRequest> {
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
    let dpop = accept_dpop && scheme.eq_ignore_ascii_case(b"dpop");
    if !dpop && !scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(Credentials::None);
    }
    let token = trim_spaces(rest);
    if token.is_empty() {
        return Err(InvalidRequest::EmptyToken);
    }
    Ok(if dpop {
        Credentials::Dpop(token)
    } else {
        Credentials::Bearer(token)
    })
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

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, in one pass.
pub(crate) fn check_b64token(token: &[u8]) -> Result<&str, InvalidRequest> {
    let body_end = token.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    let classes = token[..body_end]
        .iter()
        .fold(0u8, |acc, b| acc | CLASS[usize::from(*b)]);
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
        match bearer_token(headers, accept_dpop)? {
            Credentials::None => Ok(Credentials::None),
            Credentials::Bearer(raw) => {
                check_b64token(raw).map(|t| Credentials::Bearer(t.as_bytes()))
            }
            Credentials::Dpop(raw) => check_b64token(raw).map(|t| Credentials::Dpop(t.as_bytes())),
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
