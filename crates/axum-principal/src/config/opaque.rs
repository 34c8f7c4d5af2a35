//! The checks `build()` makes of introspection ([`Introspection`](crate::Introspection)):
//! each issuer's settings, and that an opaque token can go to one issuer only.

use std::time::Duration;

use super::build::{check_url, MAX_KEY_DURATION, MAX_TIMEOUT};
use super::{ClientAuth, ConfigError, Issuer};

/// The longest introspection cache lifetime accepted.
const MAX_INTROSPECTION_CACHE: Duration = Duration::from_secs(24 * 3600);

/// The longest an `active: false` answer may be remembered: a short negative entry.
const MAX_INACTIVE_CACHE: Duration = Duration::from_secs(300);

/// An issuer's introspection settings, checked; its configured endpoint parsed.
pub(super) fn check_introspection(issuer: &Issuer) -> Result<Option<reqwest::Url>, ConfigError> {
    let Some(settings) = &issuer.introspection else {
        return Ok(None);
    };
    let invalid = |reason| ConfigError::InvalidIntrospection {
        issuer: issuer.url.clone(),
        reason,
    };
    if issuer.is_template {
        return Err(invalid(
            "an issuer template cannot introspect (it has no one endpoint)",
        ));
    }
    let empty_secret = match &settings.auth {
        ClientAuth::Basic(secret) | ClientAuth::Post(secret) => secret.expose().is_empty(),
        ClientAuth::PrivateKeyJwt(_) => false,
    };
    if settings.client_id.is_empty() || empty_secret {
        return Err(invalid("the client id and secret must not be empty"));
    }
    if settings.timeout.is_zero() || settings.timeout > MAX_TIMEOUT {
        return Err(invalid("the timeout must be between 1 ms and 5 minutes"));
    }
    if settings.cache_ttl > MAX_INTROSPECTION_CACHE {
        return Err(invalid("the cache lifetime must be at most 1 day"));
    }
    if settings.inactive_ttl > MAX_INACTIVE_CACHE {
        return Err(invalid(
            "the lifetime of an inactive answer must be at most 5 minutes",
        ));
    }
    let limits = settings.cache_limits;
    if limits.max_entries == 0 || limits.max_bytes == 0 || settings.max_calls == 0 {
        return Err(invalid(
            "cache limits and concurrent calls must not be zero",
        ));
    }
    if settings.breaker_cooldown > MAX_KEY_DURATION {
        return Err(invalid("the breaker cool-down must be at most 30 days"));
    }
    if settings.enrich && settings.token_prefix.is_some() {
        return Err(invalid(
            "an enriching issuer takes no opaque tokens: it has no token prefix",
        ));
    }
    if settings.token_prefix.as_deref() == Some("") {
        return Err(invalid("a token prefix must not be empty"));
    }
    settings.endpoint.as_deref().map(check_url).transpose()
}

/// Every opaque token goes to one issuer at most: one without a prefix at most, and no
/// prefix that starts another (enriching issuers take none).
pub(super) fn check_routing(issuers: &[Issuer]) -> Result<(), ConfigError> {
    let prefixes: Vec<Option<&str>> = issuers
        .iter()
        .filter_map(|i| i.introspection.as_ref())
        .filter(|s| !s.enrich)
        .map(|s| s.token_prefix.as_deref())
        .collect();
    if prefixes.iter().filter(|p| p.is_none()).count() > 1 {
        return Err(ConfigError::AmbiguousIntrospection);
    }
    let named: Vec<&str> = prefixes.into_iter().flatten().collect();
    for (i, a) in named.iter().enumerate() {
        if named
            .iter()
            .enumerate()
            .any(|(j, b)| i != j && b.starts_with(a))
        {
            return Err(ConfigError::AmbiguousIntrospection);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthConfig;
    use crate::Introspection;

    fn build(issuers: Vec<Issuer>) -> Result<(), ConfigError> {
        let mut builder = AuthConfig::builder().audience("api");
        for issuer in issuers {
            builder = builder.issuer(issuer);
        }
        builder.build().map(|_| ())
    }

    fn opaque(url: &str, introspection: Introspection) -> Issuer {
        Issuer::new(url).introspection(introspection)
    }

    #[test]
    fn one_issuer_without_a_prefix_or_distinct_prefixes() {
        let plain = || Introspection::new("api", "secret");
        assert_eq!(
            build(vec![opaque("https://a.example.com", plain())]),
            Ok(())
        );
        assert_eq!(
            build(vec![
                opaque("https://a.example.com", plain()),
                opaque("https://b.example.com", plain()),
            ]),
            Err(ConfigError::AmbiguousIntrospection)
        );
        assert_eq!(
            build(vec![
                opaque("https://a.example.com", plain().token_prefix("ory_at_")),
                opaque("https://b.example.com", plain()),
            ]),
            Ok(())
        );
        assert_eq!(
            build(vec![
                opaque("https://a.example.com", plain().enrich()),
                opaque("https://b.example.com", plain()),
            ]),
            Ok(()),
            "an enriching issuer takes no opaque token"
        );
        assert!(matches!(
            build(vec![opaque(
                "https://a.example.com",
                plain().enrich().token_prefix("at_")
            )]),
            Err(ConfigError::InvalidIntrospection { .. })
        ));
        assert_eq!(
            build(vec![
                opaque("https://a.example.com", plain().token_prefix("at_")),
                opaque("https://b.example.com", plain().token_prefix("at_x")),
            ]),
            Err(ConfigError::AmbiguousIntrospection)
        );
    }

    #[test]
    fn settings_that_cannot_work_are_errors() {
        let url = "https://a.example.com";
        let invalid = |i: Introspection| match build(vec![opaque(url, i)]) {
            Err(ConfigError::InvalidIntrospection { issuer, .. }) => issuer == url,
            _ => false,
        };
        assert!(invalid(Introspection::new("", "secret")));
        assert!(invalid(Introspection::new("api", "")));
        assert!(invalid(
            Introspection::new("api", "s").timeout(Duration::ZERO)
        ));
        assert!(invalid(
            Introspection::new("api", "s").cache(Duration::from_secs(2 * 86_400))
        ));
        assert!(invalid(
            Introspection::new("api", "s").max_concurrent_calls(0)
        ));
        assert!(invalid(
            Introspection::new("api", "s").cache_inactive(Duration::from_secs(301))
        ));
        assert!(invalid(Introspection::new("api", "s").token_prefix("")));
        assert!(matches!(
            build(vec![opaque(
                url,
                Introspection::new("api", "s").endpoint("http://a.example.com/i")
            )]),
            Err(ConfigError::InsecureUrl(_))
        ));
        let template = Issuer::template("https://login.example.com/{tenantid}/v2.0")
            .any_tenant()
            .jwks_uri("https://login.example.com/keys")
            .introspection(Introspection::new("api", "s"));
        assert!(matches!(
            build(vec![template]),
            Err(ConfigError::InvalidIntrospection { .. })
        ));
    }
}
