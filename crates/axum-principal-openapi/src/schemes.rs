//! [`SecuritySchemes`]: `components.securitySchemes` from the configuration, and every
//! operation's [`BEARER`] requirement repeated for the other schemes a token may come with.

use serde_json::{json, Map, Value};

use axum_principal::dpop::DpopPolicy;
use axum_principal::openapi::{
    error_schema, openid_connect_scheme, BEARER, DPOP, ERROR_SCHEMA, MUTUAL_TLS,
    OPENID_CONNECT_PREFIX,
};
use axum_principal::AuthConfig;

use crate::document::{operations_mut, security_of};

/// The security schemes of one [`AuthConfig`]: built once at start-up, applied to a whole
/// document by [`apply`](Self::apply) (aide: [`finish`](crate::aide::finish); utoipa:
/// `utoipa::SecurityAddon` (feature `utoipa`)).
///
/// ```
/// use axum_principal::AuthConfig;
/// use axum_principal_openapi::SecuritySchemes;
///
/// # fn main() -> Result<(), axum_principal::ConfigError> {
/// let config = AuthConfig::builder()
///     .issuer("https://issuer.example.com/")
///     .audience("https://api.example.com")
///     .build()?;
/// let schemes = SecuritySchemes::from_config(&config).components();
/// assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
/// assert_eq!(
///     schemes["oidc-1"]["openIdConnectUrl"],
///     "https://issuer.example.com/.well-known/openid-configuration"
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuritySchemes {
    dpop: DpopPolicy,
    mutual_tls: bool,
    /// Each exact issuer: its scheme name, `iss` and discovery URL.
    issuers: Vec<(String, String, String)>,
    /// The tenant templates, which have no single discovery document.
    templates: Vec<String>,
}

impl SecuritySchemes {
    /// The schemes `config` accepts: [`BEARER`] (unless DPoP is required), [`DPOP`] when
    /// DPoP is on, and one `openIdConnect` scheme per exact issuer, named
    /// [`openid_connect_scheme`]`(n)` in the order configured (a tenant template has no
    /// single discovery URL: it is named in the bearer scheme's description instead).
    pub fn from_config(config: &AuthConfig) -> Self {
        let mut issuers = Vec::new();
        let mut templates = Vec::new();
        for issuer in config.issuer_settings() {
            match issuer.discovery_url() {
                Some(url) => issuers.push((
                    openid_connect_scheme(issuers.len() + 1),
                    issuer.url().to_owned(),
                    url,
                )),
                None => templates.push(issuer.url().to_owned()),
            }
        }
        Self {
            dpop: config.dpop_policy(),
            mutual_tls: false,
            issuers,
            templates,
        }
    }

    /// Adds the [`MUTUAL_TLS`] scheme: the application's TLS acceptor hands the client
    /// certificate to the layer (`ClientCertificate`), so certificate-bound tokens (RFC 8705)
    /// are accepted. The configuration cannot tell (this crate does no TLS), so the
    /// application says so. The scheme is described, not required: it binds some tokens, on
    /// top of the token requirement.
    pub fn mutual_tls(mut self, on: bool) -> Self {
        self.mutual_tls = on;
        self
    }

    /// The names an operation's requirement is repeated for, in order.
    fn requirement_schemes(&self) -> Vec<&str> {
        let mut names = Vec::new();
        if self.dpop != DpopPolicy::Required {
            names.push(BEARER);
        }
        if self.dpop != DpopPolicy::Off {
            names.push(DPOP);
        }
        names.extend(self.issuers.iter().map(|(name, _, _)| name.as_str()));
        names
    }

    /// `components.securitySchemes`: scheme name → Security Scheme Object.
    pub fn components(&self) -> Map<String, Value> {
        let mut schemes = Map::new();
        let mut bearer = String::from(
            "An access token (a JWT) in `Authorization: Bearer <token>`, from one of the \
             issuers below.",
        );
        for template in &self.templates {
            bearer.push_str(&format!(
                " Also tokens of the allowed tenants of the issuer template `{template}`."
            ));
        }
        if self.dpop == DpopPolicy::Required {
            bearer.push_str(" Not accepted here: DPoP is required (see `dpop`).");
        }
        schemes.insert(
            BEARER.to_owned(),
            json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": bearer }),
        );
        if self.dpop != DpopPolicy::Off {
            schemes.insert(
                DPOP.to_owned(),
                json!({
                    "type": "http",
                    "scheme": "DPoP",
                    "description": "A DPoP-bound access token (RFC 9449) in `Authorization: \
                        DPoP <token>`, with a `DPoP` header: a proof signed by the key the \
                        token is bound to (`cnf.jkt`), for this method and URL, used once."
                }),
            );
        }
        if self.mutual_tls {
            schemes.insert(
                MUTUAL_TLS.to_owned(),
                json!({
                    "type": "mutualTLS",
                    "description": "A token bound to a client certificate (RFC 8705, \
                        `cnf.x5t#S256`) is accepted only over a mutual-TLS connection with \
                        that certificate."
                }),
            );
        }
        for (name, issuer, url) in &self.issuers {
            schemes.insert(
                name.clone(),
                json!({
                    "type": "openIdConnect",
                    "openIdConnectUrl": url,
                    "description": format!("Access tokens issued by `{issuer}`.")
                }),
            );
        }
        schemes
    }

    /// Repeats each of an operation's requirements for every scheme a token may come with
    /// ([`BEARER`], [`DPOP`], each issuer's), keeping `{}` and other schemes' entries. Safe to
    /// run twice.
    pub fn expand(&self, security: &[Map<String, Value>]) -> Vec<Map<String, Value>> {
        let ours =
            |name: &str| name == BEARER || name == DPOP || name.starts_with(OPENID_CONNECT_PREFIX);
        let mut optional = false;
        let mut scope_lists: Vec<Value> = Vec::new();
        let mut others = Vec::new();
        for entry in security {
            let mut names = entry.iter();
            match (names.next(), names.next()) {
                (None, _) => optional = true,
                (Some((name, scopes)), None) if ours(name) => {
                    if !scope_lists.contains(scopes) {
                        scope_lists.push(scopes.clone());
                    }
                }
                _ => others.push(entry.clone()),
            }
        }
        let mut expanded = Vec::new();
        if optional {
            expanded.push(Map::new());
        }
        for scopes in &scope_lists {
            for name in self.requirement_schemes() {
                let mut entry = Map::new();
                entry.insert(name.to_owned(), scopes.clone());
                expanded.push(entry);
            }
        }
        expanded.extend(others);
        expanded
    }

    /// Adds the schemes and the error body's schema ([`ERROR_SCHEMA`]) to `document`'s
    /// components and [`expand`](Self::expand)s every operation's `security`.
    pub fn apply(&self, document: &mut Value) {
        let Some(root) = document.as_object_mut() else {
            return;
        };
        let components = root
            .entry("components")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(components) = components.as_object_mut() {
            let schemes = components
                .entry("securitySchemes")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(schemes) = schemes.as_object_mut() {
                schemes.extend(self.components());
            }
            let schemas = components
                .entry("schemas")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(schemas) = schemas.as_object_mut() {
                schemas.insert(ERROR_SCHEMA.to_owned(), error_schema());
            }
        }
        for (_, _, operation) in operations_mut(document) {
            if operation.contains_key("security") {
                let expanded = self.expand(&security_of(operation));
                operation.insert(
                    "security".to_owned(),
                    Value::Array(expanded.into_iter().map(Value::Object).collect()),
                );
            }
        }
    }
}
