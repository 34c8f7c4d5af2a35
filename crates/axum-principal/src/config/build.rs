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
            issuer.introspection_endpoint = super::opaque::check_introspection(issuer)?;
        }
        super::opaque::check_routing(&self.issuers)?;
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
                    dpop: dpop_challenge.map(Arc::new),
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
pub(super) const MAX_KEY_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);
/// The largest clock-skew leeway accepted.
const MAX_LEEWAY: Duration = Duration::from_secs(24 * 3600);
/// The longest connect or fetch timeout accepted.
pub(super) const MAX_TIMEOUT: Duration = Duration::from_secs(300);

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
    // The URL goes into the error redacted: a JWKS URL may carry basic credentials.
    let shown = || crate::redact::redact_url(url).into_owned();
    let parsed = reqwest::Url::parse(url).map_err(|e| ConfigError::InvalidUrl {
        url: shown(),
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(ConfigError::InsecureUrl(shown())),
        other => Err(ConfigError::InvalidUrl {
            url: shown(),
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
