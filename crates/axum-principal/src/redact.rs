//! Credentials in URLs never reach output: every message, `Debug` or log line of this crate
//! that may hold a configured URL (a Redis URL with its password, a JWKS URL with basic
//! credentials) goes through [`redact_credentials`] first.

use std::borrow::Cow;

/// What the user information of a URL is replaced with.
const REDACTED: &str = "***";

/// `text` with the user information (`user:password@`) of every URL in it replaced by
/// `***`, so that it can be logged or shown: `redis://:s3cret@host:6379/0` becomes
/// `redis://***@host:6379/0`.
///
/// It works on text, not on parsed URLs, so a malformed URL (`redis://:s3cret@host:port`)
/// is redacted too: after each `://`, everything up to the last `@` before the next
/// whitespace or quote is user information, even when it holds a `/` or `#` (a password
/// may). A URL without `@` is left as it is.
pub fn redact_credentials(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text.get(search..).and_then(|rest| rest.find("://")) {
        let start = search + found + 3;
        let rest = text.get(start..).unwrap_or_default();
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .unwrap_or(rest.len());
        let candidate = rest.get(..end).unwrap_or_default();
        match candidate.rfind('@') {
            Some(at) => {
                out.push_str(text.get(copied..start).unwrap_or_default());
                out.push_str(REDACTED);
                copied = start + at;
                search = copied;
            }
            None => search = start,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    Cow::Owned(out)
}

/// One configured URL (not a text holding URLs) with its user information replaced by
/// `***`: everything between the scheme's `://` (or the start, when there is none) and the
/// *last* `@`. Stricter than [`redact_credentials`], for a value known to be one URL, so
/// that even a URL too malformed to find its end (`redis//:pass word@host`) keeps its
/// password hidden.
pub fn redact_url(url: &str) -> Cow<'_, str> {
    match userinfo(url) {
        Some((start, at)) => Cow::Owned(format!(
            "{}{REDACTED}{}",
            url.get(..start).unwrap_or_default(),
            url.get(at..).unwrap_or_default()
        )),
        None => Cow::Borrowed(url),
    }
}

/// `message` (an error about `url`) with `url`'s credentials taken out wherever they
/// appear, in the URL or on their own (an error text that quotes only the password), then
/// passed through [`redact_credentials`].
#[cfg(feature = "redis")]
pub(crate) fn scrub(message: &str, url: &str) -> String {
    let mut message = message.to_owned();
    if let Some(userinfo) = userinfo(url).and_then(|(start, at)| url.get(start..at)) {
        let password = userinfo.split_once(':').map(|(_, password)| password);
        let decoded = password.map(percent_decode);
        let secrets = [Some(userinfo), password, decoded.as_deref()];
        for secret in secrets.into_iter().flatten() {
            if !secret.is_empty() {
                message = message.replace(secret, REDACTED);
            }
        }
    }
    redact_credentials(&message).into_owned()
}

/// Where the user information of one URL starts and where its last `@` is.
fn userinfo(url: &str) -> Option<(usize, usize)> {
    let at = url.rfind('@')?;
    let start = url.get(..at)?.find("://").map_or(0, |scheme| scheme + 3);
    Some((start, at))
}

/// `%XX` sequences decoded (as the Redis client decodes a password); anything else kept.
#[cfg(feature = "redis")]
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_is_redacted_in_well_formed_and_malformed_urls() {
        let cases = [
            ("redis://:s3cret@host:6379", "redis://***@host:6379"),
            ("redis://alice:s3cret@host/0", "redis://***@host/0"),
            ("redis://:s3cret@host:notaport", "redis://***@host:notaport"),
            ("rediss://u:p/a#s@s@h", "rediss://***@h"),
            (
                "bad \"https://u:pw@a/x\" and redis://:s3cret@b:1 end",
                "bad \"https://***@a/x\" and redis://***@b:1 end",
            ),
        ];
        for (raw, redacted) in cases {
            assert_eq!(redact_credentials(raw), redacted, "{raw}");
        }
        for clean in ["redis://host:6379", "no url", ""] {
            assert!(
                matches!(redact_credentials(clean), Cow::Borrowed(c) if c == clean),
                "{clean}"
            );
        }
    }

    #[test]
    fn one_url_is_redacted_up_to_its_last_at_even_when_malformed() {
        let cases = [
            ("redis://:s3cret@host:notaport", "redis://***@host:notaport"),
            ("redis//:s3 cret@host", "***@host"),
            ("redis://:a@b c@host", "redis://***@host"),
            ("user:pw@host", "***@host"),
        ];
        for (raw, redacted) in cases {
            assert_eq!(redact_url(raw), redacted, "{raw}");
        }
        assert!(matches!(
            redact_url("redis://h:1"),
            Cow::Borrowed("redis://h:1")
        ));
    }

    #[cfg(feature = "redis")]
    #[test]
    fn scrub_removes_a_password_quoted_alone() {
        let url = "redis://:s3%63ret@host:x";
        let scrubbed = scrub(
            "bad password s3cret or s3%63ret in redis://:s3%63ret@host:x",
            url,
        );
        assert!(!scrubbed.contains("s3cret"), "{scrubbed}");
        assert!(!scrubbed.contains("s3%63ret"), "{scrubbed}");
    }
}
