//! The generator-neutral parts of an OpenAPI description of this crate's guards: the
//! security scheme names, an operation's [`Access`] written as `security` and the
//! [`ROLES_EXTENSION`], and the RFC 6750 error body's schema. The crate
//! `axum-principal-openapi` builds the schemes from an [`AuthConfig`](crate::AuthConfig)
//! and plugs this into aide and utoipa; with the `aide` feature, this crate's extractors
//! ([`Principal`](crate::Principal), [`User`](crate::User), [`Machine`](crate::Machine),
//! [`Claims`](crate::Claims), [`Guarded`](crate::Guarded)) describe themselves to aide.
//!
//! An operation's `security` names only [`BEARER`], with the scopes of each alternative of
//! its guards (OpenAPI 3.1 allows scopes on an `http` scheme); the document-level step of
//! `axum-principal-openapi` repeats each entry for the other configured schemes (DPoP, each
//! issuer's `openIdConnect`). Roles are not OAuth scopes: they go to [`ROLES_EXTENSION`].

#[cfg(feature = "aide")]
#[cfg_attr(docsrs, doc(cfg(feature = "aide")))]
pub mod aide;

use serde_json::{json, Map, Value};

use crate::classify::Kind;
use crate::guard::{Requirement, Requirements};

/// The `http` scheme `bearer` (`bearerFormat: JWT`): `Authorization: Bearer <token>`.
pub const BEARER: &str = "bearer";
/// The `http` scheme `DPoP` (RFC 9449): `Authorization: DPoP <token>` with a `DPoP` proof.
pub const DPOP: &str = "dpop";
/// The `mutualTLS` scheme: tokens bound to the client certificate (RFC 8705).
pub const MUTUAL_TLS: &str = "mutualTLS";
/// The prefix of each issuer's `openIdConnect` scheme: `oidc-1`, `oidc-2`, … in the
/// order the issuers are configured ([`openid_connect_scheme`]).
pub const OPENID_CONNECT_PREFIX: &str = "oidc-";
/// The operation extension listing a guard's alternatives when any names a role or a
/// kind: `[{"roles": ["admin"]}, {"kind": "machine"}]` (any one admits; each with the
/// `scopes`, `roles` and `kind` it needs, members left out when empty). An empty list: no
/// principal is admitted.
pub const ROLES_EXTENSION: &str = "x-required-roles";
/// The name of the error body's schema ([`error_schema`]) where a document keeps it
/// among its components.
pub const ERROR_SCHEMA: &str = "AuthError";

/// The scheme name of the `n`-th configured exact issuer (from 1): `oidc-1`.
pub fn openid_connect_scheme(n: usize) -> String {
    format!("{OPENID_CONNECT_PREFIX}{n}")
}

/// The JSON Schema of every refusal's body (RFC 6750 §3 codes and this crate's own, as
/// [`AuthRejection::error_code`](crate::AuthRejection::error_code) gives them).
pub fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "A refusal (RFC 6750 §3); WWW-Authenticate carries the challenge.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "string",
                "description": "A stable error code.",
                "examples": ["invalid_token", "insufficient_scope", "missing_token"]
            },
            "error_description": {
                "type": "string",
                "description": "Human-readable; not for programs to match."
            }
        }
    })
}

/// `{"$ref": "#/components/schemas/AuthError"}`: where a response names [`error_schema`].
pub fn error_schema_ref() -> Value {
    json!({ "$ref": format!("#/components/schemas/{ERROR_SCHEMA}") })
}

/// The responses an operation with this access can give before its handler runs, as
/// `(status, Response object)`: 401 and 503 for any token, 403 when a guard can refuse.
/// Each refers to the [`error_schema`] as `#/components/schemas/AuthError`
/// ([`ERROR_SCHEMA`]), which the document-level step adds with the security schemes.
pub fn refusal_responses(access: &Access) -> Vec<(u16, Value)> {
    let mut responses = vec![(
        401,
        "No valid token: missing, expired, not for this API, or its sender check failed.",
    )];
    if access.guarded {
        responses.push((
            403,
            "The token's principal does not meet the route's guard.",
        ));
    }
    responses.push((
        503,
        "The issuer's keys (or a shared store) are not available yet.",
    ));
    responses
        .into_iter()
        .map(|(status, description)| {
            let response = json!({
                "description": description,
                "content": { "application/json": { "schema": error_schema_ref() } }
            });
            (status, response)
        })
        .collect()
}

/// What an operation asks of its caller: a token or none (`optional`), what its guards
/// require, and whether a guard can refuse. Several extractors and guards on one operation
/// combine with [`and`](Self::and).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    optional: bool,
    guarded: bool,
    requirements: Requirements,
}

impl Access {
    /// Any valid token ([`Principal`](crate::Principal), [`Claims`](crate::Claims)).
    pub fn token() -> Self {
        Self {
            optional: false,
            guarded: false,
            requirements: Requirements::any_principal(),
        }
    }

    /// A token or none (`Option<Principal>`): `security` starts with `{}`.
    pub fn optional_token() -> Self {
        Self {
            optional: true,
            ..Self::token()
        }
    }

    /// A token whose principal meets `requirements`, checked by a guard (or an extractor
    /// that refuses as one, such as [`User`](crate::User)).
    pub fn guarded(requirements: Requirements) -> Self {
        Self {
            optional: false,
            guarded: true,
            requirements,
        }
    }

    /// Both accesses at once (two extractors, or a guard and an extractor).
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        Self {
            optional: self.optional && other.optional,
            guarded: self.guarded || other.guarded,
            requirements: self.requirements.and(other.requirements),
        }
    }

    /// Whether no token is needed.
    pub fn is_optional(&self) -> bool {
        self.optional
    }

    /// Whether a guard can refuse (a 403).
    pub fn is_guarded(&self) -> bool {
        self.guarded
    }

    /// What the guards require.
    pub fn requirements(&self) -> &Requirements {
        &self.requirements
    }

    /// The operation's `security`: `{}` first when optional, then `{bearer: [scopes]}` for
    /// each distinct set of scopes among the alternatives (`{bearer: []}` when no
    /// alternative is left: the token is still required).
    pub fn security(&self) -> Vec<Map<String, Value>> {
        let mut security = Vec::new();
        if self.optional {
            security.push(Map::new());
        }
        let mut scope_sets: Vec<Vec<&str>> = Vec::new();
        for alternative in self.requirements.alternatives() {
            let scopes: Vec<&str> = alternative.scopes().collect();
            if !scope_sets.contains(&scopes) {
                scope_sets.push(scopes);
            }
        }
        if scope_sets.is_empty() {
            scope_sets.push(Vec::new());
        }
        for scopes in scope_sets {
            let mut entry = Map::new();
            entry.insert(BEARER.to_owned(), json!(scopes));
            security.push(entry);
        }
        security
    }

    /// The [`ROLES_EXTENSION`] value, when an alternative names a role or a kind, or none
    /// is left.
    pub fn roles_extension(&self) -> Option<Value> {
        let alternatives = self.requirements.alternatives();
        let needed = alternatives.is_empty()
            || alternatives
                .iter()
                .any(|a| a.roles().next().is_some() || a.kind().is_some());
        needed.then(|| Value::Array(alternatives.iter().map(alternative_json).collect()))
    }

    /// The access an operation's `security` and [`ROLES_EXTENSION`] state, as
    /// [`security`](Self::security) and [`roles_extension`](Self::roles_extension) wrote
    /// them (`None` when `security` names no [`BEARER`] entry: not this crate's).
    /// `guarded` is whether the operation documents a 403.
    pub fn from_document(
        security: &[Map<String, Value>],
        roles_extension: Option<&Value>,
        guarded: bool,
    ) -> Option<Self> {
        let bearer: Vec<&Value> = security.iter().filter_map(|e| e.get(BEARER)).collect();
        if bearer.is_empty() {
            return None;
        }
        let optional = security.iter().any(Map::is_empty);
        let requirements = match roles_extension.and_then(Value::as_array) {
            Some(alternatives) => alternatives
                .iter()
                .fold(Requirements::nobody(), |any, a| any.or(alternative_from(a))),
            None => bearer.iter().fold(Requirements::nobody(), |any, scopes| {
                let scopes = strings(scopes);
                any.or(if scopes.is_empty() {
                    Requirements::any_principal()
                } else {
                    Requirements::all_scopes(scopes)
                })
            }),
        };
        Some(Self {
            optional,
            guarded,
            requirements,
        })
    }
}

fn alternative_json(alternative: &Requirement) -> Value {
    let mut object = Map::new();
    let scopes: Vec<&str> = alternative.scopes().collect();
    if !scopes.is_empty() {
        object.insert("scopes".to_owned(), json!(scopes));
    }
    let roles: Vec<&str> = alternative.roles().collect();
    if !roles.is_empty() {
        object.insert("roles".to_owned(), json!(roles));
    }
    if let Some(kind) = alternative.kind() {
        object.insert("kind".to_owned(), json!(kind.as_str()));
    }
    Value::Object(object)
}

fn alternative_from(value: &Value) -> Requirements {
    let scopes = strings(value.get("scopes").unwrap_or(&Value::Null));
    let roles = strings(value.get("roles").unwrap_or(&Value::Null));
    let mut requirements = Requirements::any_principal();
    if !scopes.is_empty() {
        requirements = requirements.and(Requirements::all_scopes(scopes));
    }
    if !roles.is_empty() {
        requirements = requirements.and(Requirements::all_roles(roles));
    }
    match value.get("kind").and_then(Value::as_str) {
        Some("user") => requirements.and(Requirements::kind(Kind::User)),
        Some("machine") => requirements.and(Requirements::kind(Kind::Machine)),
        _ => requirements,
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
