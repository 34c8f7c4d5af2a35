//! `build()`: every check, table by table.

use super::build::*;
use super::*;
use crate::alg::Algorithm;
use crate::classify::{Classifier, Preset};
use crate::config::Issuer;

fn base() -> AuthConfigBuilder {
    AuthConfig::builder()
        .issuer("https://issuer.example.com/")
        .audience("api")
}

#[test]
fn a_minimal_config_builds() {
    assert!(base().build().is_ok());
}

#[test]
fn mistakes_are_errors() {
    let cases: Vec<(AuthConfigBuilder, ConfigError)> = vec![
        (AuthConfig::builder().audience("api"), ConfigError::NoIssuer),
        (
            AuthConfig::builder().issuer("https://i.example.com"),
            ConfigError::NoAudience,
        ),
        (base().audience(""), ConfigError::EmptyAudience),
        (
            base().issuer("https://issuer.example.com/"),
            ConfigError::DuplicateIssuer("https://issuer.example.com/".into()),
        ),
        (
            base().issuer("http://issuer.example.com"),
            ConfigError::InsecureUrl("http://issuer.example.com".into()),
        ),
        (base().algorithms([]), ConfigError::NoAlgorithms),
        (
            base().algorithms([Algorithm::HS256]),
            ConfigError::HmacInAllowList,
        ),
        (
            base().issuer(Issuer::new("https://h.example.com").hmac_secret(b"short".to_vec())),
            ConfigError::HmacSecretTooShort,
        ),
        (
            base().issuer(Issuer::new("https://h.example.com").without_jwks()),
            ConfigError::NoKeySource("https://h.example.com".into()),
        ),
        (base().roles_claim("a..b"), ConfigError::InvalidRolesClaim),
        (
            base().key_ttl_range(Duration::from_secs(10), Duration::from_secs(5)),
            ConfigError::InvalidDuration("key TTL range"),
        ),
        (
            base().stale_window(Duration::MAX),
            ConfigError::InvalidDuration("stale window must be at most 30 days"),
        ),
        (
            base().refresh_cooldown(Duration::from_secs(u64::MAX)),
            ConfigError::InvalidDuration("refresh cooldown must be at most 30 days"),
        ),
        (
            base().failure_backoff(Duration::MAX),
            ConfigError::InvalidDuration("failure backoff must be at most 30 days"),
        ),
        (
            base().key_ttl(Duration::MAX),
            ConfigError::InvalidDuration("key TTL must be at most 30 days"),
        ),
        (
            base().key_ttl_range(Duration::from_secs(60), Duration::MAX),
            ConfigError::InvalidDuration("key TTL range must end within 30 days"),
        ),
        (
            base().leeway(Duration::MAX),
            ConfigError::InvalidDuration("leeway must be at most 1 day"),
        ),
        (
            base().fetch_timeout(Duration::MAX),
            ConfigError::InvalidDuration("fetch timeout must be at most 5 minutes"),
        ),
        (base().realm("a\"b"), ConfigError::InvalidRealm),
        (base().realm("line\nbreak"), ConfigError::InvalidRealm),
        (base().realm("caf\u{e9}"), ConfigError::InvalidRealm),
        (base().realm(""), ConfigError::InvalidRealm),
    ];
    for (builder, expected) in cases {
        match builder.build() {
            Ok(_) => panic!("expected {expected:?}"),
            Err(e) => assert_eq!(e, expected),
        }
    }
}

#[test]
fn each_issuer_gets_its_own_resolved_preset() {
    let config = AuthConfig::builder()
        .issuer("https://tenant.auth0.com/")
        .issuer("https://sso.example.com/realms/staff")
        .issuer(Issuer::new("https://login.example.com/").provider(Preset::Hydra))
        .issuer("https://other.example.com/")
        .audience("api")
        .build()
        .expect("a valid configuration");
    let rules: Vec<_> = config.inner.issuers.iter().map(|(_, i)| i.rules).collect();
    assert_eq!(
        rules,
        [
            Some(Preset::Auth0),
            Some(Preset::Keycloak),
            Some(Preset::Hydra),
            Some(Preset::Rfc9068)
        ]
    );
    let none = base()
        .classifier(Classifier::without_rules())
        .build()
        .expect("a valid configuration");
    assert_eq!(
        none.inner.issuers.iter().next().and_then(|(_, i)| i.rules),
        None
    );
    let generic = base()
        .classifier(Classifier::new(Preset::Generic))
        .build()
        .expect("a valid configuration");
    assert_eq!(
        generic
            .inner
            .issuers
            .iter()
            .next()
            .and_then(|(_, i)| i.rules),
        Some(Preset::Generic)
    );
}

#[test]
fn a_printable_realm_is_kept_as_given() {
    let config = base()
        .realm("my api (v2)")
        .build()
        .expect("a valid configuration");
    assert_eq!(&*config.inner.renderer.realm, "my api (v2)");
}

#[test]
fn loopback_http_is_allowed_elsewhere_https_is_required() {
    assert!(check_url("http://127.0.0.1:8080").is_ok());
    assert!(check_url("http://localhost:8080/realms/x").is_ok());
    assert!(check_url("http://[::1]:8080").is_ok());
    assert!(check_url("http://10.0.0.1").is_err());
    assert!(check_url("ftp://127.0.0.1").is_err());
    assert!(check_url("not a url").is_err());
}

#[test]
fn build_keeps_what_it_parsed() {
    let jwks = serde_json::json!({"keys": [{
        "kty": "OKP", "kid": "ed", "crv": "Ed25519",
        "x": "W-06xkm-nUzz8G7_xLlEAfw33d3OksTzK_E-tXTyzek"
    }]});
    let config = AuthConfig::builder()
        .issuer("https://discovered.example.com/")
        .issuer(Issuer::new("https://uri.example.com").jwks_uri("https://keys.example.com/j"))
        .issuer(Issuer::new("https://static.example.com").static_jwks(jwks.to_string()))
        .issuer(
            Issuer::new("https://hmac.example.com")
                .hmac_secret([7u8; 32].to_vec())
                .without_jwks(),
        )
        .audience("api")
        .build()
        .expect("a valid configuration");
    let sources = &config.inner.key_sources;
    assert_eq!(sources.len(), 4, "one key source per issuer");
    let url = |s: &str| reqwest::Url::parse(s).expect("a valid URL");
    match &sources[0].jwks {
        JwksSource::Discovery(issuer) => {
            assert_eq!(*issuer, url("https://discovered.example.com/"))
        }
        _ => panic!("expected discovery"),
    }
    match &sources[1].jwks {
        JwksSource::Uri(uri) => assert_eq!(*uri, url("https://keys.example.com/j")),
        _ => panic!("expected the configured JWKS URL"),
    }
    match &sources[2].jwks {
        JwksSource::Static(keys) => {
            let kids: Vec<_> = keys.iter().map(|k| k.kid.as_deref()).collect();
            assert_eq!(kids, [Some("ed")]);
        }
        _ => panic!("expected the static keys"),
    }
    assert!(matches!(sources[3].jwks, JwksSource::None));
    let hmac = sources[3].hmac.as_ref().expect("the HMAC key");
    assert!(hmac.fits(Algorithm::HS256));
    assert!(sources[..3].iter().all(|s| s.hmac.is_none()));
}
