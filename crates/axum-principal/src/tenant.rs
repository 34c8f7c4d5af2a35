//! Tenant templates: an issuer URL with a `{tenantid}` placeholder, filled with a token's
//! own `tid` (Microsoft Entra ID's multi-tenant issuers). Pure string work, no allocation on
//! the request path: a template is kept as the parts before and after the placeholder.

/// The placeholder an issuer template (and a JWK `issuer` member) carries.
pub(crate) const PLACEHOLDER: &str = "{tenantid}";

/// The longest tenant id accepted (Entra's are 36-character GUIDs).
const MAX_TENANT_ID_BYTES: usize = 64;

/// A tenant id may only be ASCII letters, digits, `-`, `_` and `.`, 1 to 64 bytes: never a
/// `/`, `?`, `#`, `@`, `:`, `%` or white space that could move it to another part of the URL.
pub(crate) fn is_tenant_id(tid: &str) -> bool {
    !tid.is_empty()
        && tid.len() <= MAX_TENANT_ID_BYTES
        && tid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Whether `iss` is exactly `prefix` + `tid` + `suffix`, compared in place.
pub(crate) fn fills(prefix: &str, suffix: &str, tid: &str, iss: &str) -> bool {
    iss.len() == prefix.len() + tid.len() + suffix.len()
        && iss.starts_with(prefix)
        && iss.ends_with(suffix)
        && iss.get(prefix.len()..iss.len() - suffix.len()) == Some(tid)
}

/// Whether `iss` has the template's fixed parts around something (the template "fits"
/// before the tenant is looked at).
pub(crate) fn fits(prefix: &str, suffix: &str, iss: &str) -> bool {
    iss.len() > prefix.len() + suffix.len() && iss.starts_with(prefix) && iss.ends_with(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids() {
        for good in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "a",
            "contoso.onmicrosoft.com",
            "x_y",
        ] {
            assert!(is_tenant_id(good), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "", "a/b", "a?b", "a#b", "a@b", "a b", "a\tb", "a:b", "a%2f", "ä", &long,
        ] {
            assert!(!is_tenant_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn filling_is_exact() {
        let (p, s) = ("https://login.example.com/", "/v2.0");
        assert!(fills(p, s, "t1", "https://login.example.com/t1/v2.0"));
        assert!(!fills(p, s, "t1", "https://login.example.com/t2/v2.0"));
        assert!(!fills(p, s, "t1", "https://login.example.com/t1/v2.0/"));
        assert!(!fills(p, s, "t1", "https://login.example.com/t1/t1/v2.0"));
        assert!(!fills(p, s, "t", "https://login.example.com/t1/v2.0"));
        assert!(fits(p, s, "https://login.example.com/anything/v2.0"));
        assert!(!fits(p, s, "https://login.example.com//v2.0"));
        assert!(!fits(p, s, "https://other.example.com/t1/v2.0"));
    }
}
