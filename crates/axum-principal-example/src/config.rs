//! [`Settings`] → the library's [`AuthConfig`], and library configuration errors mapped to
//! the variable they concern.

use std::net::SocketAddr;

use axum_principal::dpop::{DpopConfig, DpopPolicy};
use axum_principal::{AuthConfig, Classifier, ConfigError, Issuer};
use axum_principal_testkit::MockIssuer;

use crate::settings::{ConfigProblem, IssuerSettings, Settings, TEMPLATE};

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
    // Each issuer's preset and claims are set on the issuer; the classifier holds no rules.
    let mut builder = AuthConfig::builder()
        .leeway(settings.leeway)
        .classifier(Classifier::without_rules());
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
    let dev_url = match (settings.dev_mode(), dev) {
        (false, _) => None,
        (true, Some(dev)) => Some(dev.issuer()),
        (true, None) => {
            return Err(ConfigProblem::new(
                "AUTHZ_ISSUER",
                "not set, and no development issuer was started",
            ))
        }
    };
    for (i, own) in settings.issuers.iter().enumerate() {
        let mut issuer = issuer(settings, own, dev_url.unwrap_or_default());
        // Introspection belongs to the first issuer (CONTRACT.md).
        if let (0, Some(introspection)) = (i, &settings.introspection) {
            issuer = introspection.apply(issuer);
        }
        builder = builder.issuer(issuer);
    }
    let audiences = match dev {
        Some(dev) if settings.dev_mode() && settings.audiences.is_empty() => {
            vec![dev.audience().to_owned()]
        }
        _ => settings.audiences.clone(),
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

/// The library's issuer for `own` (at `dev_url` when it is the development issuer): its
/// preset, claims, and for a template its tenants, and the key set of `AUTHZ_JWKS_URI`.
fn issuer(settings: &Settings, own: &IssuerSettings, dev_url: &str) -> Issuer {
    let mut issuer = match own.url.as_deref() {
        None => Issuer::new(dev_url),
        Some(url) if url.contains(TEMPLATE) => {
            let template = Issuer::template(url);
            match &settings.tenants {
                Some(tenants) if !tenants.is_empty() => template.tenants(tenants.clone()),
                _ => template.any_tenant(),
            }
        }
        Some(url) => Issuer::new(url),
    }
    .provider(own.provider)
    .roles_claim(own.roles_claim.clone());
    if let Some(claim) = &own.m2m_claim {
        issuer = issuer.machine_claim(claim.clone());
    }
    // Only ever with a single configured issuer (checked by the settings).
    if let (Some(uri), Some(_)) = (&settings.jwks_uri, &own.url) {
        issuer = issuer.jwks_uri(uri.clone());
    }
    issuer
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
