//! base64url without padding (RFC 7515 §2) on the request path: the claims, the header and
//! the signature of every token. Decoded by `base64-simd` (vector instructions chosen at run
//! time), which is as strict as the `base64` crate's `URL_SAFE_NO_PAD`: no padding, no
//! whitespace, no `+` or `/`, and the unused bits of the last character zero (one token,
//! one spelling).

use base64_simd::{Out, URL_SAFE_NO_PAD};

/// Why a segment was not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undecoded {
    /// Not base64url.
    Invalid,
    /// Valid, but longer than the buffer (decode it with [`decode`] instead).
    TooLong,
}

/// `b64` decoded into the start of `buf`.
pub(crate) fn decode_into<'b>(b64: &str, buf: &'b mut [u8]) -> Result<&'b [u8], Undecoded> {
    let len = URL_SAFE_NO_PAD
        .decoded_length(b64.as_bytes())
        .map_err(|_| Undecoded::Invalid)?;
    // Checked here: `decode` panics on a buffer too short.
    let out = buf.get_mut(..len).ok_or(Undecoded::TooLong)?;
    match URL_SAFE_NO_PAD.decode(b64.as_bytes(), Out::from_slice(out)) {
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(Undecoded::Invalid),
    }
}

/// `b64` decoded into a new vector (`None`: not base64url).
pub(crate) fn decode(b64: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode_to_vec(b64.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as REFERENCE;
    use base64::Engine as _;

    use super::{decode, decode_into, Undecoded};

    /// Every spelling the `base64` crate's strict engine refuses is refused here, and every
    /// one it accepts decodes to the same bytes, into a vector and into a buffer.
    #[test]
    fn agrees_with_the_strict_scalar_engine() {
        let mut cases: Vec<String> = [
            "", "A", "AA", "AB", "AAA", "AAB", "QQ", "QQ==", "QQ=", "Q", "a+b", "a/b", "a-_b",
            "a.b", " QQ", "QQ\n", "QUJD", "QUJDRA", "QUJDRB", "QUJDRE", "////", "____", "-_-_",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Every length up to 100 of every byte pattern's encoding, and each with one
        // character changed to a character outside the alphabet.
        for len in 0..100usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let good = REFERENCE.encode(&bytes);
            cases.push(good.clone());
            for bad in ['=', '.', '+', '/', ' ', '\u{e9}'] {
                let mut chars: Vec<char> = good.chars().collect();
                if let Some(c) = chars.get_mut(len / 2) {
                    *c = bad;
                    cases.push(chars.into_iter().collect());
                }
            }
        }
        for case in &cases {
            let expected = REFERENCE.decode(case).ok();
            assert_eq!(decode(case), expected, "decode {case:?}");
            let mut buf = [0u8; 128];
            let into = decode_into(case, &mut buf).ok().map(<[u8]>::to_vec);
            assert_eq!(into, expected, "decode_into {case:?}");
        }
    }

    /// A character outside the alphabet (the token split relies on this for `.`) is
    /// refused at every place of every length around the vector blocks, not only mid-way.
    #[test]
    fn a_foreign_character_anywhere_is_refused() {
        for len in 0..160usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 91 + 7) as u8).collect();
            let good = REFERENCE.encode(&bytes);
            for at in 0..=good.len() {
                for bad in ['.', '=', '+', '/', ' ', '\0'] {
                    let mut case = good.clone();
                    case.insert(at, bad);
                    assert_eq!(decode(&case), None, "{case:?}");
                    let mut buf = [0u8; 128];
                    assert!(decode_into(&case, &mut buf).is_err(), "{case:?}");
                }
            }
        }
    }

    #[test]
    fn a_buffer_too_small_is_none_not_a_panic() {
        let mut buf = [0u8; 2];
        assert_eq!(decode_into("QUJD", &mut buf), Err(Undecoded::TooLong));
        assert_eq!(decode_into("QUI", &mut buf), Ok(&b"AB"[..]));
        assert_eq!(decode_into("QU=", &mut buf), Err(Undecoded::Invalid));
    }
}
