//! [`Settings`] → the library's [`AuthConfig`], and library configuration errors mapped to
//! the variable they concern.

use std::net::SocketAddr;

use axum_principal::dpop::{DpopConfig, DpopPolicy};
use axum_principal::{AuthConfig, Classifier, ConfigError, Issuer};
use axum_principal_testkit::MockIssuer;

use crate::settings::{ConfigProblem, Settings, TEMPLATE};

/// Builds the [`AuthConfig`] for `settings`. In development mode (no issuers configured) it
/// trusts `dev`, which must then be given.
pub fn auth_config(
    settings: &Settings,
    dev: Option<&MockIssuer>,
) -> Result<AuthConfig, ConfigProblem> {
    auth_config_at(settings, dev, settings.bind)
}

/// The DPoP origin (`htu` is checked against it plus the request's path): the origin of
/// `AUTHZ_RESOURCE` when set, else `http://{listening}`.
pub fn dpop_origin(settings: &Settings, listening: SocketAddr) -> String {
    // `settings_from` checked that AUTHZ_RESOURCE is an absolute http(s) URL.
    match settings
        .resource
        .as_deref()
        .and_then(|r| reqwest::Url::parse(r).ok())
    {
        Some(resource) => resource.origin().ascii_serialization(),
        None => format!("http://{listening}"),
    }
}

/// [`auth_config`] for a service listening at `listening` (the address actually bound, when
/// `BIND` asks for port 0), which the DPoP origin defaults to.
pub fn auth_config_at(
    settings: &Settings,
    dev: Option<&MockIssuer>,
    listening: SocketAddr,
) -> Result<AuthConfig, ConfigProblem> {
    // Each issuer's preset is set on the issuer; the classifier holds only the custom claim.
    let mut classifier = Classifier::without_rules();
    // A per-issuer list (`settings.m2m_claims`) sets each issuer's own claim below; an issuer
    // whose entry is empty then has none.
    if let (Some(claim), None) = (&settings.m2m_claim, &settings.m2m_claims) {
        classifier = classifier.machine_claim(claim.clone());
    }
    let mut builder = AuthConfig::builder()
        .leeway(settings.leeway)
        .roles_claim(settings.roles_claim.clone())
        .classifier(classifier);
    if !settings.token_cache {
        builder = builder.without_token_cache();
    }
    if settings.dpop != DpopPolicy::Off {
        // The replay store is in-process, or with AUTHZ_REDIS_URL in Redis, shared by every
        // replica (a proof replayed to another replica is caught; Redis down → 503).
        let redis = crate::shared::redis_connection(settings)?;
        let dpop = DpopConfig::new(dpop_origin(settings, listening))
            .policy(settings.dpop)
            .shared_replay_store(crate::shared::replay_store(redis.as_ref()));
        builder = builder.dpop(dpop);
    }

    let audiences: Vec<String> = if settings.dev_mode() {
        let dev = dev.ok_or_else(|| {
            ConfigProblem::new(
                "AUTHZ_ISSUER",
                "not set, and no development issuer was started",
            )
        })?;
        let preset = settings.providers.first().copied().unwrap_or_default();
        let mut issuer = Issuer::new(dev.issuer()).provider(preset);
        if let Some(introspection) = &settings.introspection {
            issuer = introspection.apply(issuer);
        }
        builder = builder.issuer(issuer);
        if settings.audiences.is_empty() {
            vec![dev.audience().to_owned()]
        } else {
            settings.audiences.clone()
        }
    } else {
        for (i, url) in settings.issuers.iter().enumerate() {
            let preset = settings.providers.get(i).copied().unwrap_or_default();
            let mut issuer = if url.contains(TEMPLATE) {
                let template = Issuer::template(url.clone());
                match &settings.tenants {
                    Some(tenants) if !tenants.is_empty() => template.tenants(tenants.clone()),
                    _ => template.any_tenant(),
                }
            } else {
                Issuer::new(url.clone())
            }
            .provider(preset);
            if let Some(uri) = &settings.jwks_uri {
                issuer = issuer.jwks_uri(uri.clone());
            }
            if let Some(Some(claim)) = settings.m2m_claims.as_ref().and_then(|c| c.get(i)) {
                issuer = issuer.machine_claim(claim.clone());
            }
            if let Some(claim) = settings.roles_claims.as_ref().and_then(|c| c.get(i)) {
                issuer = issuer.roles_claim(claim.clone());
            }
            if let (0, Some(introspection)) = (i, &settings.introspection) {
                issuer = introspection.apply(issuer);
            }
            builder = builder.issuer(issuer);
        }
        settings.audiences.clone()
    };
    for audience in audiences {
        builder = builder.audience(audience);
    }
    if let Some(resource) = &settings.resource {
        builder = builder.resource(resource.clone());
    }
    if let Some(scope) = &settings.challenge_scope {
        builder = builder.challenge_scope(scope.clone());
    }

    builder
        .build()
        .map_err(|e| config_problem(&e, settings.jwks_uri.as_deref()))
}

/// The variable a library [`ConfigError`] concerns.
fn config_problem(error: &ConfigError, jwks_uri: Option<&str>) -> ConfigProblem {
    // The library's error shows the URL redacted; so is the one compared with it.
    let jwks_uri = jwks_uri.map(axum_principal::redact_url);
    let url_variable = |url: &str| {
        if jwks_uri.as_deref() == Some(url) {
            "AUTHZ_JWKS_URI"
        } else {
            "AUTHZ_ISSUER"
        }
    };
    let variable = match error {
        ConfigError::InvalidUrl { url, .. } | ConfigError::InsecureUrl(url) => url_variable(url),
        ConfigError::NoAudience | ConfigError::EmptyAudience => "AUTHZ_AUDIENCE",
        ConfigError::InvalidRolesClaim => "AUTHZ_ROLES_CLAIM",
        ConfigError::InvalidResource { .. } => "AUTHZ_RESOURCE",
        ConfigError::NoTenants(_) | ConfigError::InvalidTenant(_) => "AUTHZ_TENANTS",
        ConfigError::TemplateWithoutJwks(_) => "AUTHZ_JWKS_URI",
        ConfigError::InvalidDpop(_) => "AUTHZ_DPOP",
        // The one scope the configuration names: the MCP example's challenge scope.
        ConfigError::InvalidScope(_) => "AUTHZ_MCP_SCOPE",
        ConfigError::InvalidIntrospection { .. } => "AUTHZ_INTROSPECTION_CLIENT",
        // NoIssuer, DuplicateIssuer, NoKeySource, HttpClient and anything added later: the
        // issuer settings are the closest match.
        _ => "AUTHZ_ISSUER",
    };
    ConfigProblem::new(variable, error.to_string())
}
