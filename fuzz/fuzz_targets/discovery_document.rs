//! An OIDC discovery / RFC 8414 metadata document as an issuer might send it: parsing never
//! panics, and a `jwks_uri` it returns is https, or plain http on loopback only.
#![no_main]

use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://issuer.example.com";

fn acceptable(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Domain(d))) => d.eq_ignore_ascii_case("localhost"),
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(uri) = axum_principal::internals::parse_metadata(data, ISSUER) {
        assert!(acceptable(&uri), "unacceptable jwks_uri accepted: {uri:?}");
    }
    // The Cache-Control reader, on the same bytes split into header values.
    let values: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let _ = axum_principal::internals::parse_max_age(&values);
});
