//! [`AuthConfigBuilder::build`]: every check, once, and the parsed results kept (URLs,
//! static key sets, HMAC keys) so nothing after it parses configuration again.

use std::sync::Arc;
use std::time::Duration;

use super::issuer::{Template, Tenants};
use super::resource::Resource;
use super::{AuthConfig, AuthConfigBuilder, ConfigError, ConfigInner, JwksSource, KeySource};
use crate::jwk::{self, VerifyingKey};
use crate::principal::Policy;
use crate::rejection::{DpopChallenge, Renderer};
use crate::tenant::{is_tenant_id, PLACEHOLDER};

impl AuthConfigBuilder {
    /// Checks everything and builds the configuration.
    pub fn build(mut self) -> Result<AuthConfig, ConfigError> {
        if self.issuers.is_empty() {
            return Err(ConfigError::NoIssuer);
        }
        // The issuer's URL and its JWKS URL, as parsed here.
        let mut urls = Vec::with_capacity(self.issuers.len());
        for (i, issuer) in self.issuers.iter().enumerate() {
            if self.issuers[..i].iter().any(|o| o.url == issuer.url) {
                return Err(ConfigError::DuplicateIssuer(issuer.url.clone()));
            }
            let issuer_url = check_issuer_url(issuer)?;
            let jwks_uri = issuer.jwks_uri.as_deref().map(check_url).transpose()?;
            urls.push((issuer_url, jwks_uri));
            if let Some(secret) = &issuer.hmac_secret {
                if secret.len() < 32 {
                    return Err(ConfigError::HmacSecretTooShort);
                }
            }
            if !issuer.use_jwks && issuer.hmac_secret.is_none() {
                return Err(ConfigError::NoKeySource(issuer.url.clone()));
            }
        }
        let resource = self.resource.as_deref().map(Resource::parse).transpose()?;
        if self.require_resource_audience {
            let id = resource
                .as_ref()
                .ok_or(ConfigError::ResourceAudienceWithoutResource)?
                .id
                .to_string();
            // Every audience that could admit a token: the global ones and each issuer's own
            // (an issuer's own audiences replace the global ones for its tokens).
            let own = self.issuers.iter().flat_map(|i| &i.audiences);
            if let Some(other) = self.audiences.iter().chain(own).find(|a| **a != id) {
                return Err(ConfigError::AudienceOtherThanResource(other.clone()));
            }
            // A token without `aud` would pass on its `client_id`: not "issued for this
            // resource".
            if let Some(issuer) = self.issuers.iter().find(|i| i.client_id_as_audience) {
                return Err(ConfigError::ClientIdAudienceWithResourceAudience(
                    issuer.url.clone(),
                ));
            }
            self.audiences = vec![id];
        }
        for issuer in &mut self.issuers {
            issuer.template = check_template(issuer)?;
        }
        if self
            .issuers
            .iter()
            .any(|i| i.audiences.is_empty() && self.audiences.is_empty())
        {
            return Err(ConfigError::NoAudience);
        }
        let own_audiences = self.issuers.iter().flat_map(|i| &i.audiences);
        if self
            .audiences
            .iter()
            .chain(own_audiences)
            .any(|a| a.is_empty())
        {
            return Err(ConfigError::EmptyAudience);
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if self.algorithms.iter().any(|a| a.is_hmac()) {
            return Err(ConfigError::HmacInAllowList);
        }
        let mut key_sources = Vec::with_capacity(self.issuers.len());
        for (issuer, (issuer_url, jwks_uri)) in self.issuers.iter().zip(urls) {
            let jwks = match (&issuer.static_jwks, jwks_uri) {
                (Some(doc), _) => {
                    match jwk::parse_jwks(doc.as_bytes(), &self.algorithms, self.keys.max_keys) {
                        Ok(keys) if !keys.is_empty() => JwksSource::Static(keys),
                        _ => return Err(ConfigError::UnusableStaticJwks(issuer.url.clone())),
                    }
                }
                (None, _) if !issuer.use_jwks => JwksSource::None,
                (None, Some(uri)) => JwksSource::Uri(uri),
                (None, None) => JwksSource::Discovery(issuer_url),
            };
            let hmac = issuer
                .hmac_secret
                .as_deref()
                .map(|secret| Arc::new(VerifyingKey::hmac(secret)));
            key_sources.push(KeySource { jwks, hmac });
        }
        let default_preset = self.classifier.preset();
        for issuer in &mut self.issuers {
            issuer.rules = issuer
                .provider
                .or(default_preset)
                .map(|p| p.for_issuer(&issuer.url));
        }
        let own_roles = self.issuers.iter().filter_map(|i| i.roles_claim.as_deref());
        if std::iter::once(self.roles_claim.as_str())
            .chain(own_roles)
            .any(|path| path.is_empty() || path.split('.').any(str::is_empty))
        {
            return Err(ConfigError::InvalidRolesClaim);
        }
        let k = &self.keys;
        if k.min_ttl.is_zero() || k.min_ttl > k.max_ttl {
            return Err(ConfigError::InvalidDuration("key TTL range"));
        }
        if self.fetch_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(ConfigError::InvalidDuration("fetch timeouts"));
        }
        // Every duration is added to points in time on the request path: bound them here,
        // so no setting can overflow `SystemTime` there.
        let bounded = [
            (
                k.default_ttl,
                MAX_KEY_DURATION,
                "key TTL must be at most 30 days",
            ),
            (
                k.max_ttl,
                MAX_KEY_DURATION,
                "key TTL range must end within 30 days",
            ),
            (
                k.refresh_cooldown,
                MAX_KEY_DURATION,
                "refresh cooldown must be at most 30 days",
            ),
            (
                k.failure_backoff,
                MAX_KEY_DURATION,
                "failure backoff must be at most 30 days",
            ),
            (
                k.stale_window,
                MAX_KEY_DURATION,
                "stale window must be at most 30 days",
            ),
            (self.leeway, MAX_LEEWAY, "leeway must be at most 1 day"),
            (
                self.connect_timeout,
                MAX_TIMEOUT,
                "connect timeout must be at most 5 minutes",
            ),
            (
                self.fetch_timeout,
                MAX_TIMEOUT,
                "fetch timeout must be at most 5 minutes",
            ),
        ];
        if let Some((_, _, what)) = bounded.iter().find(|(d, max, _)| d > max) {
            return Err(ConfigError::InvalidDuration(what));
        }
        if k.default_ttl.is_zero() {
            return Err(ConfigError::InvalidDuration("key TTL"));
        }
        if self.realm.is_empty()
            || !self
                .realm
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(ConfigError::InvalidRealm);
        }
        if k.max_response_bytes == 0 || self.max_token_bytes == 0 {
            return Err(ConfigError::InvalidDuration("size limits"));
        }
        if self
            .token_cache
            .is_some_and(|c| c.max_entries == 0 || c.max_bytes == 0)
        {
            return Err(ConfigError::InvalidDuration("token cache limits"));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .timeout(self.fetch_timeout)
            .user_agent(concat!("axum-principal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let leeway_secs = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        let dpop = match self.dpop {
            Some(dpop) => dpop.validate(&self.algorithms)?,
            None => None,
        };
        self.scope_matcher.check()?;
        for scope in &self.challenge_scope {
            crate::scope::check_scope_token(scope)?;
        }
        let challenge_scope =
            crate::scope::challenge_scope(self.challenge_scope.iter().map(String::as_str));
        let policy = Arc::new(Policy {
            scopes: self.scope_matcher,
            leeway_secs,
            clock: Arc::clone(&self.clock),
        });
        let dpop_challenge = dpop.as_ref().map(|d| DpopChallenge {
            algs: d.algs.clone(),
            required: d.required,
        });
        Ok(AuthConfig {
            inner: Arc::new(ConfigInner {
                issuers: super::Issuers::new(self.issuers),
                key_sources,
                audiences: self.audiences,
                algorithms: self.algorithms,
                leeway_secs,
                typ_policy: self.typ_policy,
                max_token_bytes: self.max_token_bytes,
                classifier: self.classifier,
                roles_claim: self.roles_claim,
                keys: self.keys,
                http,
                token_cache: self.token_cache,
                renderer: Renderer {
                    realm: Arc::from(self.realm),
                    custom: self.renderer,
                    resource_metadata: resource.as_ref().map(|r| r.metadata_url.clone()),
                    dpop: dpop_challenge,
                    scope: challenge_scope.map(Arc::from),
                },
                clock: self.clock,
                resource,
                dpop,
                policy,
            }),
        })
    }
}

/// The longest key TTL, refresh cooldown, backoff and stale window accepted.
const MAX_KEY_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);
/// The largest clock-skew leeway accepted.
const MAX_LEEWAY: Duration = Duration::from_secs(24 * 3600);
/// The longest connect or fetch timeout accepted.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// An issuer's URL; a template's with a sample tenant in place of `{tenantid}`.
fn check_issuer_url(issuer: &super::Issuer) -> Result<reqwest::Url, ConfigError> {
    if issuer.is_template {
        check_url(&issuer.url.replacen(PLACEHOLDER, "tenant", 1))
    } else {
        check_url(&issuer.url)
    }
}

/// A template's parts and tenants, checked; `None` for an issuer that is no template.
fn check_template(issuer: &super::Issuer) -> Result<Option<Template>, ConfigError> {
    let url = &issuer.url;
    if !issuer.is_template {
        if url.contains(PLACEHOLDER) {
            return Err(ConfigError::InvalidTemplate(url.clone()));
        }
        if issuer.tenants.is_some() {
            return Err(ConfigError::TenantsWithoutTemplate(url.clone()));
        }
        return Ok(None);
    }
    let Some((prefix, suffix)) = url.split_once(PLACEHOLDER) else {
        return Err(ConfigError::InvalidTemplate(url.clone()));
    };
    if suffix.contains(PLACEHOLDER) {
        return Err(ConfigError::InvalidTemplate(url.clone()));
    }
    let tenants = issuer
        .tenants
        .clone()
        .ok_or_else(|| ConfigError::NoTenants(url.clone()))?;
    if let Tenants::Only(set) = &tenants {
        if set.is_empty() {
            return Err(ConfigError::NoTenants(url.clone()));
        }
        if let Some(bad) = set.iter().find(|t| !is_tenant_id(t)) {
            return Err(ConfigError::InvalidTenant(bad.to_string()));
        }
    }
    if issuer.use_jwks && issuer.jwks_uri.is_none() && issuer.static_jwks.is_none() {
        return Err(ConfigError::TemplateWithoutJwks(url.clone()));
    }
    Ok(Some(Template {
        prefix: Box::from(prefix),
        suffix: Box::from(suffix),
        tenants,
    }))
}

/// `https://…`, or `http://` on loopback only.
pub(crate) fn check_url(url: &str) -> Result<reqwest::Url, ConfigError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| ConfigError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(ConfigError::InsecureUrl(url.to_owned())),
        other => Err(ConfigError::InvalidUrl {
            url: url.to_owned(),
            reason: format!("unsupported scheme {other:?}"),
        }),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
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
}
