//! [`Principal`]: the verified caller, and the extractors handlers take it with.
//!
//! | extractor | no token (optional mode) | bad token | wrong kind |
//! |---|---|---|---|
//! | [`Principal`] | 401 | 401 (from the layer) | — |
//! | `Option<Principal>` | `None` | 401 (from the layer) | — |
//! | [`User`] / [`Machine`] | 401 | 401 | 403 |
//! | [`Claims<T>`] | 401 | 401 | — |
//!
//! On a route without [`AuthLayer`](crate::AuthLayer) every one of them answers 500 and says
//! the layer is missing: a forgotten layer must never look like an anonymous caller.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use http::Extensions;
use serde::de::DeserializeOwned;
use serde::ser::SerializeStruct;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::classify::{Classification, ClassifiedBy, Kind};
use crate::rejection::{AuthRejection, InvalidToken, RejectionKind, Renderer};

/// Put in every request's extensions by the layer, with or without a principal, so that
/// extractors can tell "no token" from "no layer".
#[derive(Clone, Debug)]
pub(crate) struct AuthContext {
    pub(crate) renderer: Renderer,
}

/// The verified caller. Identity is ([`issuer`](Self::issuer), [`kind`](Self::kind),
/// [`subject`](Self::subject)) — see [`Principal::id`] — never the subject alone. Cheap to
/// clone.
///
/// Serialises to the shape the example service's `/me` answers with:
/// `{"kind","issuer","subject","client_id","roles","scopes","classified_by"}`.
#[derive(Clone)]
pub struct Principal {
    inner: Arc<Inner>,
}

/// Who a [`Principal`] is: (`iss`, kind, `sub`), borrowed from it by [`Principal::id`].
///
/// All three parts take part in equality and hashing, so a `PrincipalId` is a sound key for
/// per-principal state (quotas, caches, audit counters): principals of different issuers
/// never share an id, and neither do a user and a machine whose subjects are equal (an
/// issuer may give a person a `sub` that equals some client's id, and a machine token's
/// subject is often its client id). A named struct rather than a tuple, so a call site
/// reads `id.kind()` instead of `id.1`.
///
/// ```
/// # fn show(principal: &axum_principal::Principal) {
/// let id = principal.id();
/// let key = (id.issuer().to_owned(), id.kind(), id.subject().to_owned());
/// # let _ = key; }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrincipalId<'a> {
    issuer: &'a str,
    kind: Kind,
    subject: &'a str,
}

impl<'a> PrincipalId<'a> {
    /// The verified `iss`.
    pub fn issuer(&self) -> &'a str {
        self.issuer
    }

    /// User or machine.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The verified `sub` (for a machine token without `sub`, its client id).
    pub fn subject(&self) -> &'a str {
        self.subject
    }
}

struct Inner {
    kind: Kind,
    classified_by: ClassifiedBy,
    issuer: String,
    subject: String,
    client_id: Option<String>,
    roles: Vec<String>,
    scopes: Vec<String>,
    expires_at: i64,
    claims: Map<String, Value>,
}

impl Principal {
    /// Builds a principal from verified claims.
    pub(crate) fn from_claims(
        issuer: &str,
        claims: Map<String, Value>,
        expires_at: i64,
        classification: Classification,
        roles_path: &str,
    ) -> Result<Self, InvalidToken> {
        let client_id = ["client_id", "azp", "cid", "appid"]
            .into_iter()
            .map(|name| string_claim(&claims, name))
            .find_map(Result::transpose)
            .transpose()?;
        let subject = match string_claim(&claims, "sub")? {
            Some(sub) if !sub.is_empty() => sub,
            Some(_) => return Err(InvalidToken::MissingSubject),
            None if classification.classified_by.subject_from_client_id() => {
                client_id.clone().ok_or(InvalidToken::MissingSubject)?
            }
            None => return Err(InvalidToken::MissingSubject),
        };
        let roles = read_roles(&claims, roles_path)?;
        let scopes = read_scopes(&claims)?;
        Ok(Self {
            inner: Arc::new(Inner {
                kind: classification.kind,
                classified_by: classification.classified_by,
                issuer: issuer.to_owned(),
                subject,
                client_id,
                roles,
                scopes,
                expires_at,
                claims,
            }),
        })
    }

    /// User or machine.
    pub fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// Whether the caller is a machine (client credentials).
    pub fn is_machine(&self) -> bool {
        self.inner.kind == Kind::Machine
    }

    /// Whether the caller is a person.
    pub fn is_user(&self) -> bool {
        self.inner.kind == Kind::User
    }

    /// The rule that decided the kind.
    pub fn classified_by(&self) -> &ClassifiedBy {
        &self.inner.classified_by
    }

    /// The verified `iss`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The verified `sub` (for a machine token without `sub`, its client id).
    pub fn subject(&self) -> &str {
        &self.inner.subject
    }

    /// The identity: (`iss`, kind, `sub`), as a [`PrincipalId`]. Use this, not the subject
    /// alone, as a key: the same `sub` at two issuers is two principals, and so is a user
    /// whose `sub` equals some client's id and that client.
    pub fn id(&self) -> PrincipalId<'_> {
        PrincipalId {
            issuer: &self.inner.issuer,
            kind: self.inner.kind,
            subject: &self.inner.subject,
        }
    }

    /// The OAuth client the token was issued to (`client_id`, `azp`, `cid` or `appid`).
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// Roles, from the configured roles claim.
    pub fn roles(&self) -> &[String] {
        &self.inner.roles
    }

    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.inner.roles.iter().any(|r| r == role)
    }

    /// Scopes, from `scope` (space-separated string or array) or else `scp`.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// Whether the principal was granted `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// When the token expires (`exp`).
    pub fn expires_at(&self) -> SystemTime {
        let secs = u64::try_from(self.inner.expires_at).unwrap_or(0);
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// All verified claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.inner.claims
    }

    /// One verified claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.inner.claims.get(name)
    }

    /// The verified claims as your own type.
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&Value::Object(self.inner.claims.clone()))
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Claims are left out: they may hold personal data.
        f.debug_struct("Principal")
            .field("kind", &self.inner.kind)
            .field("issuer", &self.inner.issuer)
            .field("subject", &self.inner.subject)
            .field("client_id", &self.inner.client_id)
            .field("roles", &self.inner.roles)
            .field("scopes", &self.inner.scopes)
            .field("classified_by", &self.inner.classified_by)
            .finish_non_exhaustive()
    }
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Principal", 7)?;
        s.serialize_field("kind", &self.inner.kind)?;
        s.serialize_field("issuer", &self.inner.issuer)?;
        s.serialize_field("subject", &self.inner.subject)?;
        s.serialize_field("client_id", &self.inner.client_id)?;
        s.serialize_field("roles", &self.inner.roles)?;
        s.serialize_field("scopes", &self.inner.scopes)?;
        s.serialize_field("classified_by", &self.inner.classified_by)?;
        s.end()
    }
}

fn string_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, InvalidToken> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(InvalidToken::InvalidClaim),
    }
}

/// A claim by its full name, else by walking a dotted path (`realm_access.roles`).
fn lookup<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut current = claims.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

fn string_list(value: &Value, split_spaces: bool) -> Result<Vec<String>, InvalidToken> {
    match value {
        Value::String(s) if split_spaces => Ok(s.split_whitespace().map(str::to_owned).collect()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(InvalidToken::InvalidClaim)
            })
            .collect(),
        _ => Err(InvalidToken::InvalidClaim),
    }
}

fn read_roles(claims: &Map<String, Value>, path: &str) -> Result<Vec<String>, InvalidToken> {
    match lookup(claims, path) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => string_list(v, false),
    }
}

fn read_scopes(claims: &Map<String, Value>) -> Result<Vec<String>, InvalidToken> {
    match (claims.get("scope"), claims.get("scp")) {
        (Some(v), _) | (None, Some(v)) => string_list(v, true),
        (None, None) => Ok(Vec::new()),
    }
}

/// The principal in `extensions`, or why there is none.
pub(crate) fn principal_from(extensions: &Extensions) -> Result<Principal, AuthRejection> {
    if let Some(principal) = extensions.get::<Principal>() {
        return Ok(principal.clone());
    }
    Err(match extensions.get::<AuthContext>() {
        Some(ctx) => {
            AuthRejection::with_renderer(RejectionKind::MissingCredentials, ctx.renderer.clone())
        }
        None => missing_layer(),
    })
}

pub(crate) fn renderer_from(extensions: &Extensions) -> Renderer {
    extensions
        .get::<AuthContext>()
        .map(|c| c.renderer.clone())
        .unwrap_or_default()
}

fn missing_layer() -> AuthRejection {
    tracing::error!("axum_principal extractor used on a route without AuthLayer");
    AuthRejection::new(RejectionKind::MissingLayer)
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        principal_from(&parts.extensions)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(Some(principal.clone()));
        }
        if parts.extensions.get::<AuthContext>().is_some() {
            Ok(None)
        } else {
            Err(missing_layer())
        }
    }
}

fn of_kind(parts: &Parts, kind: Kind) -> Result<Principal, AuthRejection> {
    let principal = principal_from(&parts.extensions)?;
    if principal.kind() == kind {
        Ok(principal)
    } else {
        Err(AuthRejection::with_renderer(
            RejectionKind::InsufficientScope { scope: None },
            renderer_from(&parts.extensions),
        ))
    }
}

/// A principal that is a person; a machine gets 403.
#[derive(Clone, Debug)]
pub struct User(pub Principal);

/// A principal that is a machine; a person gets 403.
#[derive(Clone, Debug)]
pub struct Machine(pub Principal);

impl Deref for User {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl Deref for Machine {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = AuthRejection;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        of_kind(parts, Kind::User).map(User)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Machine {
    type Rejection = AuthRejection;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        of_kind(parts, Kind::Machine).map(Machine)
    }
}

/// The verified claims as your own type `T`. A token whose claims do not fit `T` is refused
/// with 401 `invalid_token`.
///
/// ```
/// use axum_principal::Claims;
/// #[derive(serde::Deserialize)]
/// struct TenantClaims { tenant: String }
/// async fn handler(Claims(c): Claims<TenantClaims>) -> String { c.tenant }
/// # let _ = handler;
/// ```
#[derive(Clone, Debug)]
pub struct Claims<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = AuthRejection;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = principal_from(&parts.extensions)?;
        principal.claims_as::<T>().map(Claims).map_err(|_| {
            AuthRejection::with_renderer(
                RejectionKind::InvalidToken(InvalidToken::InvalidClaim),
                renderer_from(&parts.extensions),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Classification {
        Classification {
            kind: Kind::User,
            classified_by: ClassifiedBy::Default,
        }
    }

    fn build(claims: Value, roles_path: &str) -> Result<Principal, InvalidToken> {
        let claims = claims.as_object().cloned().unwrap_or_default();
        Principal::from_claims("https://iss", claims, 2_000_000_000, user(), roles_path)
    }

    #[test]
    fn roles_from_paths_and_shapes() {
        let cases = [
            (
                json!({"sub":"u","roles":["a","b"]}),
                "roles",
                vec!["a", "b"],
            ),
            (json!({"sub":"u","roles":"admin"}), "roles", vec!["admin"]),
            (json!({"sub":"u"}), "roles", vec![]),
            (
                json!({"sub":"u","realm_access":{"roles":["admin"]}}),
                "realm_access.roles",
                vec!["admin"],
            ),
            (
                json!({"sub":"u","resource_access":{"api":{"roles":["r"]}}}),
                "resource_access.api.roles",
                vec!["r"],
            ),
            (
                json!({"sub":"u","https://example.com/roles":["x"]}),
                "https://example.com/roles",
                vec!["x"],
            ),
            (
                json!({"sub":"u","permissions":["read:all"]}),
                "permissions",
                vec!["read:all"],
            ),
        ];
        for (claims, path, expected) in cases {
            let p = build(claims.clone(), path).unwrap_or_else(|e| panic!("{claims}: {e:?}"));
            assert_eq!(p.roles(), expected.as_slice(), "{claims}");
        }
        assert_eq!(
            build(json!({"sub":"u","roles":[1]}), "roles").err(),
            Some(InvalidToken::InvalidClaim)
        );
        assert_eq!(
            build(json!({"sub":"u","roles":{"a":1}}), "roles").err(),
            Some(InvalidToken::InvalidClaim)
        );
    }

    #[test]
    fn scopes_from_scope_or_scp() {
        let cases = [
            (
                json!({"sub":"u","scope":"openid  read:reports"}),
                vec!["openid", "read:reports"],
            ),
            (json!({"sub":"u","scope":["a","b"]}), vec!["a", "b"]),
            (json!({"sub":"u","scp":"a b"}), vec!["a", "b"]),
            (json!({"sub":"u","scp":["a"]}), vec!["a"]),
            (json!({"sub":"u","scope":"x","scp":["y"]}), vec!["x"]),
            (json!({"sub":"u"}), vec![]),
        ];
        for (claims, expected) in cases {
            let p = build(claims.clone(), "roles").unwrap_or_else(|e| panic!("{claims}: {e:?}"));
            assert_eq!(p.scopes(), expected.as_slice(), "{claims}");
        }
        assert_eq!(
            build(json!({"sub":"u","scope":7}), "roles").err(),
            Some(InvalidToken::InvalidClaim)
        );
    }

    #[test]
    fn client_id_follows_the_issuers_claim_names() {
        let cases = [
            (json!({"sub":"u","client_id":"c1","azp":"c2"}), Some("c1")),
            (json!({"sub":"u","azp":"c2"}), Some("c2")),
            (json!({"sub":"u","cid":"c3"}), Some("c3")),
            (json!({"sub":"u","appid":"c4"}), Some("c4")),
            (json!({"sub":"u"}), None),
        ];
        for (claims, expected) in cases {
            let p = build(claims.clone(), "roles").unwrap_or_else(|e| panic!("{claims}: {e:?}"));
            assert_eq!(p.client_id(), expected, "{claims}");
        }
    }

    #[test]
    fn subject_is_required_unless_the_duende_rule_decided() {
        assert_eq!(
            build(json!({"client_id":"c"}), "roles").err(),
            Some(InvalidToken::MissingSubject)
        );
        assert_eq!(
            build(json!({"sub":""}), "roles").err(),
            Some(InvalidToken::MissingSubject)
        );
        let machine = Classification {
            kind: Kind::Machine,
            classified_by: ClassifiedBy::ClientIdWithoutSubject,
        };
        let claims = json!({"client_id":"svc"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let p = Principal::from_claims("https://iss", claims, 0, machine, "roles");
        assert_eq!(
            p.map(|p| p.subject().to_owned()).ok().as_deref(),
            Some("svc")
        );
    }

    #[test]
    fn identity_includes_the_kind() {
        let claims = json!({"sub":"svc","client_id":"svc"})
            .as_object()
            .cloned()
            .expect("an object literal");
        let as_kind = |kind| {
            let classification = Classification {
                kind,
                classified_by: ClassifiedBy::Default,
            };
            Principal::from_claims("https://iss", claims.clone(), 0, classification, "roles")
                .expect("valid claims")
        };
        let (user, machine) = (as_kind(Kind::User), as_kind(Kind::Machine));
        assert_eq!(user.id().issuer(), machine.id().issuer());
        assert_eq!(user.id().subject(), machine.id().subject());
        assert_eq!(
            (user.id().kind(), machine.id().kind()),
            (Kind::User, Kind::Machine)
        );
        assert_ne!(user.id(), machine.id());
        assert_eq!(user.id(), as_kind(Kind::User).id());
        let ids: std::collections::HashSet<_> = [user.id(), machine.id()].into_iter().collect();
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn serialises_to_the_me_shape() {
        let p = build(
            json!({"sub":"u","scope":"a","roles":["r"],"azp":"web","email":"x@y"}),
            "roles",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            serde_json::to_value(&p).ok(),
            Some(
                json!({"kind":"user","issuer":"https://iss","subject":"u","client_id":"web",
                        "roles":["r"],"scopes":["a"],"classified_by":"default:user"})
            )
        );
    }
}
