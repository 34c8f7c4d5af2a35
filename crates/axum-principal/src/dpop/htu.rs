//! `htu` (RFC 9449 §4.3 check 9): the proof's URL against this resource's configured
//! external origin plus the request's path, never a URL rebuilt from `Host`.
//!
//! Both sides are normalised the same way (RFC 3986 §6.2.2 and §6.2.3, as RFC 9449 asks):
//! scheme and host lower-cased, the scheme's default port elided, dot segments removed, an
//! empty path made `/`, percent-encodings of unreserved characters decoded and the other
//! percent-encodings upper-cased. The query and fragment are ignored; user information in the
//! proof's URL never matches.

use url::Url;

/// The scheme, host and port requests arrive at, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    url: Url,
    /// `scheme://host[:port]` as `Url` writes it (lower case, default port left out): a
    /// proof's URL that is this plus a plain path needs no parsing.
    prefix: Box<str>,
}

impl Origin {
    /// An origin from an absolute `http(s)` URL; its path, query and fragment are ignored.
    pub(crate) fn parse(origin: &str) -> Result<Self, &'static str> {
        let url = Url::parse(origin).map_err(|_| "the DPoP origin is not an absolute URL")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the DPoP origin must be an http or https URL");
        }
        if url.host_str().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err("the DPoP origin must name a host and no user information");
        }
        let mut origin = url;
        origin.set_path("/");
        origin.set_query(None);
        origin.set_fragment(None);
        let prefix = Box::from(origin.as_str().trim_end_matches('/'));
        Ok(Self {
            url: origin,
            prefix,
        })
    }

    /// `scheme://host[:port]`, as the URL of the request would start.
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.prefix
    }

    /// Whether `htu` names this origin plus `path` (the request's path, as received).
    pub(crate) fn matches(&self, htu: &str, path: &str) -> bool {
        if !path.starts_with('/') {
            return false;
        }
        self.matches_exactly(htu, path) || self.matches_normalised(htu, path)
    }

    /// The common case without parsing: `htu` is the origin as written and then `path`, byte
    /// for byte, and `path` holds nothing normalisation changes (only unreserved characters
    /// and `/`, no dot segment), so the normalised comparison would say yes too.
    fn matches_exactly(&self, htu: &str, path: &str) -> bool {
        htu.strip_prefix(&*self.prefix) == Some(path)
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~'))
            && !path
                .split('/')
                .any(|segment| segment == "." || segment == "..")
    }

    /// RFC 9449's comparison: both URLs parsed and normalised.
    fn matches_normalised(&self, htu: &str, path: &str) -> bool {
        // `set_path`, not `join`: a request path such as `//evil.example/x` must not name
        // another host.
        let mut expected = self.url.clone();
        expected.set_path(path);
        let Ok(got) = Url::parse(htu) else {
            return false;
        };
        got.scheme() == expected.scheme()
            && got.username().is_empty()
            && got.password().is_none()
            && got.host() == expected.host()
            && got.port_or_known_default() == expected.port_or_known_default()
            && normalise_path(got.path()) == normalise_path(expected.path())
    }
}

/// Percent-encodings of unreserved characters decoded, the others in upper case.
fn normalise_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let decoded = (b == b'%')
            .then(|| {
                let hi = hex(*bytes.get(i + 1)?)?;
                let lo = hex(*bytes.get(i + 2)?)?;
                Some(hi * 16 + lo)
            })
            .flatten();
        match decoded {
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') => {
                out.push(char::from(c));
                i += 3;
            }
            Some(c) => {
                out.push_str(&format!("%{c:02X}"));
                i += 3;
            }
            None => {
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_urls_match() {
        let origin = Origin::parse("https://API.example.test:443/ignored?q#f").expect("an origin");
        assert_eq!(origin.as_str(), "https://api.example.test");
        let same = [
            "https://api.example.test/reports",
            "HTTPS://Api.Example.Test/reports",
            "https://api.example.test:443/reports",
            "https://api.example.test/reports?x=1",
            "https://api.example.test/reports#frag",
            "https://api.example.test/a/../reports",
            "https://api.example.test/%72eports",
        ];
        for htu in same {
            assert!(origin.matches(htu, "/reports"), "{htu}");
        }
        let origin_enc = Origin::parse("https://api.example.test").expect("an origin");
        assert!(origin_enc.matches("https://api.example.test/a%2fb", "/a%2Fb"));
        assert!(origin_enc.matches("https://api.example.test", "/"));
        let other = [
            "http://api.example.test/reports",
            "https://api.example.test:8443/reports",
            "https://evil.example.test/reports",
            "https://api.example.test/reports/",
            "https://api.example.test/Reports",
            "https://user@api.example.test/reports",
            "https://api.example.test/a%2Freports",
            "/reports",
            "not a url",
        ];
        for htu in other {
            assert!(!origin.matches(htu, "/reports"), "{htu}");
        }
        assert!(!origin.matches("https://api.example.test/x", "x"));
        assert!(!origin.matches("https://evil.example/x", "//evil.example/x"));
    }

    #[test]
    fn the_exact_shortcut_says_yes_only_where_the_normalised_comparison_does() {
        let origin = Origin::parse("https://api.example.test:8443").expect("an origin");
        let paths = [
            "/",
            "/reports",
            "/v1.0/me",
            "//evil.example/x",
            "/a/./b",
            "/a/../b",
            "/.",
            "/..",
            "/a%2Fb",
            "/%72eports",
            "/a b",
            "/ü",
            "/a;b",
            "/~user/_x-y",
        ];
        let prefixes = [
            "https://api.example.test:8443",
            "https://api.example.test",
            "HTTPS://api.example.test:8443",
            "https://user@api.example.test:8443",
        ];
        let mut shortcuts = 0;
        for path in paths {
            for prefix in prefixes {
                for suffix in ["", "?q=1", "#f", "/"] {
                    let htu = format!("{prefix}{path}{suffix}");
                    if origin.matches_exactly(&htu, path) {
                        shortcuts += 1;
                        assert!(origin.matches_normalised(&htu, path), "{htu} for {path}");
                    }
                }
            }
        }
        // The shortcut is taken for the plain paths with the origin as written.
        assert_eq!(shortcuts, 5);
        assert!(origin.matches("https://api.example.test:8443/v1.0/me", "/v1.0/me"));
        assert!(!origin.matches_exactly("https://api.example.test:8443/a/../b", "/a/../b"));
    }

    #[test]
    fn a_bad_origin_is_refused() {
        for bad in ["api.example.test", "ftp://x", "https://u:p@x/", "http://"] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
        let plain = Origin::parse("http://127.0.0.1:3000").expect("an origin");
        assert_eq!(plain.as_str(), "http://127.0.0.1:3000");
        assert_eq!(
            Origin::parse("http://example.test:80")
                .expect("an origin")
                .as_str(),
            "http://example.test"
        );
    }
}
