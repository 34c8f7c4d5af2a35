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
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::ser::SerializeStruct;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::classify::{Classification, ClassifiedBy, EntityProfile, Kind};
use crate::rejection::{InvalidToken, Renderer};
use crate::verify::{Claim, ClaimRead, RawClaims, Shape};

mod actor;
mod extract;
mod policy;
mod strings;
#[cfg(test)]
mod tests;

pub use actor::{Actor, MAX_DEPTH as MAX_ACTOR_DEPTH};

#[cfg(feature = "rate-limit")]
pub(crate) use extract::layer_context;
pub(crate) use extract::{principal_from, renderer_from};
pub use extract::{Claims, Machine, User};
pub(crate) use policy::Policy;
pub use strings::ClaimStrings;
use strings::{offset_in, Item, Strings};

/// Put in a request's extensions by the layer when it passes the request on without a
/// principal (a principal carries its authenticator's renderer), so that extractors can
/// tell "no token" from "no layer". [`layer_context`] finds either.
#[derive(Clone, Debug)]
pub(crate) struct AuthContext {
    /// Shared, so that putting it into a request costs one reference count.
    pub(crate) renderer: Arc<Renderer>,
}

/// The verified caller. Identity is ([`issuer`](Self::issuer), [`kind`](Self::kind),
/// [`subject`](Self::subject)) — see [`Principal::id`] — never the subject alone. Cheap to
/// clone.
///
/// Serialises to the shape the example service's `/me` answers with:
/// `{"kind","issuer","subject","client_id","roles","scopes","classified_by","profile","actor"}`
/// (`profile` and `actor` are `null` when there is none).
///
/// A delegated token (RFC 8693 token exchange: an `act` claim) gives a principal whose
/// [`subject`](Self::subject), [`kind`](Self::kind) and [`id`](Self::id) are the subject's,
/// the party on whose behalf the call is made, and whose [`actor`](Self::actor) names the
/// party making it. [`is_delegated`](Self::is_delegated) tells the two cases apart.
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

    pub(crate) fn new(issuer: &'a str, kind: Kind, subject: &'a str) -> Self {
        Self {
            issuer,
            kind,
            subject,
        }
    }

    /// A SHA-256 digest of the identity under `domain` (a fixed label per use): the same size
    /// however long `iss` and `sub` are, and, every part being length-prefixed, distinct for
    /// distinct identities.
    pub(crate) fn digest(&self, domain: &[u8]) -> [u8; 32] {
        let len = |s: &str| u64::try_from(s.len()).unwrap_or(u64::MAX).to_be_bytes();
        let kind = self.kind.as_str();
        crate::crypto::sha256(&[
            domain,
            &len(self.issuer),
            self.issuer.as_bytes(),
            &len(kind),
            kind.as_bytes(),
            &len(self.subject),
            self.subject.as_bytes(),
        ])
    }
}

struct Inner {
    kind: Kind,
    classified_by: ClassifiedBy,
    /// The `iss` claim's span when it is the issuer's URL as is (it was checked against it),
    /// else the URL.
    issuer: Item,
    /// Spans of `claims`' JSON text (or of `strings`' decoded ones), as the roles and scopes.
    subject: Item,
    client_id: Option<Item>,
    /// The roles and the scopes, and the strings kept decoded.
    strings: Strings,
    expires_at: i64,
    actor: Option<Actor>,
    /// The verified claims as decoded: JSON text and an index, the `Map` built on first use.
    claims: RawClaims,
    /// How refusals are shown, when an [`Authenticator`](crate::Authenticator) made this
    /// principal: a request carrying it needs no [`AuthContext`] beside it.
    renderer: Option<Arc<Renderer>>,
    /// How it is judged (scopes, `auth_time`), when a configuration made it.
    policy: Option<Arc<Policy>>,
}

impl Principal {
    /// Builds a principal from verified claims, read in place (nothing is copied twice).
    pub(crate) fn from_claims(
        issuer: &str,
        claims: impl Into<RawClaims>,
        expires_at: i64,
        classification: Classification,
        roles_path: &str,
    ) -> Result<Self, InvalidToken> {
        let claims = claims.into();
        let mut strings = Strings::default();
        let json = claims.json();
        let issuer = match claims.str("iss") {
            Some(iss) if iss == issuer => strings.item(json, iss)?,
            _ => strings.item(json, issuer.into())?,
        };
        // The first of these that is a string; one of another JSON type (a numeric
        // `client_id`) is no client id, and no error either.
        let client_id = ["client_id", "azp", "cid", "appid"]
            .into_iter()
            .find_map(|name| claims.str(name))
            .map(|id| strings.item(json, id))
            .transpose()?;
        let subject = match claims.claim("sub") {
            Some(Claim::Str(sub)) if !sub.is_empty() => strings.item(json, sub)?,
            Some(Claim::Str(_)) => return Err(InvalidToken::MissingSubject),
            Some(_) => return Err(InvalidToken::InvalidClaim),
            None if classification.classified_by.subject_from_client_id() => {
                client_id.ok_or(InvalidToken::MissingSubject)?
            }
            None => return Err(InvalidToken::MissingSubject),
        };
        read_roles(&claims, roles_path, &mut strings)?;
        strings.end_roles();
        read_scopes(&claims, &mut strings)?;
        let actor = Actor::from_claims(&claims)?;
        Ok(Self {
            inner: Arc::new(Inner {
                kind: classification.kind,
                classified_by: classification.classified_by,
                issuer,
                subject,
                client_id,
                strings,
                expires_at,
                actor,
                claims,
                renderer: None,
                policy: None,
            }),
        })
    }

    /// The principal, made by an authenticator that shows refusals with `renderer`.
    pub(crate) fn rendered_by(mut self, renderer: &Arc<Renderer>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.renderer = Some(Arc::clone(renderer));
        }
        self
    }

    /// The principal, judged by `policy` (its configuration's).
    pub(crate) fn judged_by(mut self, policy: &Arc<Policy>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.policy = Some(Arc::clone(policy));
        }
        self
    }

    /// How this principal is judged: its configuration's policy, else the default (exact
    /// scopes, no leeway, the system clock).
    pub(crate) fn with_policy<T>(&self, f: impl FnOnce(&Policy) -> T) -> T {
        match &self.inner.policy {
            Some(policy) => f(policy),
            None => f(&Policy::default()),
        }
    }

    /// The texts its strings are spans of.
    fn texts(&self) -> strings::Texts<'_> {
        self.inner.strings.texts(self.inner.claims.json())
    }

    /// The renderer of the authenticator that made this principal.
    pub(crate) fn renderer(&self) -> Option<&Arc<Renderer>> {
        self.inner.renderer.as_ref()
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

    /// The issuer-set entity profile (`sub_profile`) when it decided the kind: a route can
    /// refuse AI agents, say, with `principal.profile() == Some(EntityProfile::AiAgent)`.
    /// `None` when the token has none, or when the configured machine claim decided first.
    pub fn profile(&self) -> Option<EntityProfile> {
        match self.inner.classified_by {
            ClassifiedBy::Profile(profile) => Some(profile),
            _ => None,
        }
    }

    /// The acting party of a delegated token (its `act` claim), `None` for a token the
    /// subject uses itself. See [`Actor`].
    pub fn actor(&self) -> Option<&Actor> {
        self.inner.actor.as_ref()
    }

    /// Whether the token is delegated: someone ([`actor`](Self::actor)) acts for the
    /// subject.
    pub fn is_delegated(&self) -> bool {
        self.inner.actor.is_some()
    }

    /// The verified `iss`.
    pub fn issuer(&self) -> &str {
        self.inner.issuer.get(self.texts())
    }

    /// The verified `sub` (for a machine token without `sub`, its client id).
    pub fn subject(&self) -> &str {
        self.inner.subject.get(self.texts())
    }

    /// The identity: (`iss`, kind, `sub`), as a [`PrincipalId`]. Use this, not the subject
    /// alone, as a key: the same `sub` at two issuers is two principals, and so is a user
    /// whose `sub` equals some client's id and that client.
    pub fn id(&self) -> PrincipalId<'_> {
        PrincipalId::new(self.issuer(), self.inner.kind, self.subject())
    }

    /// The OAuth client the token was issued to (`client_id`, `azp`, `cid` or `appid`).
    pub fn client_id(&self) -> Option<&str> {
        let texts = self.texts();
        self.inner.client_id.map(|id| id.get(texts))
    }

    /// Roles, from the configured roles claim, in token order (borrowed from the claims:
    /// `principal.roles().collect::<Vec<_>>()` for a list).
    pub fn roles(&self) -> ClaimStrings<'_> {
        self.inner.strings.roles(self.inner.claims.json())
    }

    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().any(|r| r == role)
    }

    /// Scopes, from `scope` (space-separated string or array) or else `scp`, in token order
    /// (borrowed from the claims).
    pub fn scopes(&self) -> ClaimStrings<'_> {
        self.inner.strings.scopes(self.inner.claims.json())
    }

    /// Whether the principal was granted `scope`, as the configuration's
    /// [`ScopeMatcher`](crate::scope::ScopeMatcher) decides (exact comparison unless
    /// [`AuthConfigBuilder::scope_matcher`](crate::AuthConfigBuilder::scope_matcher) says
    /// otherwise).
    pub fn has_scope(&self, scope: &str) -> bool {
        match &self.inner.policy {
            Some(policy) => policy.scopes.grants_any(self.scopes(), scope),
            None => self.scopes().any(|s| s == scope),
        }
    }

    /// The authentication context class the user signed in with (`acr`, OpenID Connect
    /// Core §2; RFC 9470), when it is a string. A claim of another type reads as absent.
    pub fn acr(&self) -> Option<&str> {
        self.claim("acr").and_then(Value::as_str)
    }

    /// The authentication methods the user signed in with (`amr`, RFC 8176: `pwd`,
    /// `otp`, `hwk`, …), when the claim is an array of strings. A claim of another type,
    /// or an array holding anything but strings, reads as absent.
    pub fn amr(&self) -> Option<Vec<&str>> {
        match self.claim("amr")? {
            Value::Array(items) => items.iter().map(Value::as_str).collect(),
            _ => None,
        }
    }

    /// When the user last signed in (`auth_time`, OpenID Connect Core §2; RFC 9470), when
    /// it is a JSON number of seconds since the Unix epoch, not before it. A claim of
    /// another type reads as absent.
    pub fn auth_time(&self) -> Option<SystemTime> {
        self.auth_time_secs()
            .and_then(|secs| u64::try_from(secs).ok())
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// `auth_time` in whole seconds (a fraction is dropped), when it is a number.
    pub(crate) fn auth_time_secs(&self) -> Option<i64> {
        let Claim::Number(n) = self.inner.claims.claim("auth_time")? else {
            return None;
        };
        match n.as_i64() {
            Some(secs) => Some(secs),
            // A fractional NumericDate; `as` saturates, and the range check keeps it exact.
            None => n
                .as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f.floor() as i64),
        }
    }

    /// When the token expires (`exp`).
    pub fn expires_at(&self) -> SystemTime {
        let secs = u64::try_from(self.inner.expires_at).unwrap_or(0);
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// All verified claims (decoded into a `Map` on the first call, then kept).
    pub fn claims(&self) -> &Map<String, Value> {
        self.inner.claims.map()
    }

    /// One verified claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims().get(name)
    }

    /// The verified claims as your own type.
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&Value::Object(self.claims().clone()))
    }

    /// What the claims take and would take once decoded into a `Map`: the bytes held now,
    /// and the decoded shape (for the token cache's weight).
    pub(crate) fn claims_size(&self) -> (usize, Shape) {
        (self.inner.claims.held_bytes(), self.inner.claims.shape())
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Claims are left out: they may hold personal data.
        f.debug_struct("Principal")
            .field("kind", &self.inner.kind)
            .field("issuer", &self.issuer())
            .field("subject", &self.subject())
            .field("client_id", &self.client_id())
            .field("roles", &self.roles())
            .field("scopes", &self.scopes())
            .field("classified_by", &self.inner.classified_by)
            .field("actor", &self.inner.actor)
            .finish_non_exhaustive()
    }
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Principal", 9)?;
        s.serialize_field("kind", &self.inner.kind)?;
        s.serialize_field("issuer", self.issuer())?;
        s.serialize_field("subject", self.subject())?;
        s.serialize_field("client_id", &self.client_id())?;
        s.serialize_field("roles", &self.roles())?;
        s.serialize_field("scopes", &self.scopes())?;
        s.serialize_field("classified_by", &self.inner.classified_by)?;
        s.serialize_field("profile", &self.profile())?;
        s.serialize_field("actor", &self.inner.actor)?;
        s.end()
    }
}

/// A claim by its full name, else by walking a dotted path (`realm_access.roles`).
fn lookup<'a>(claims: &'a RawClaims, path: &str) -> Option<Claim<'a>> {
    if let Some(v) = claims.claim(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut current = claims.claim(parts.next()?)?;
    for part in parts {
        current = match current {
            Claim::Object(object) => object.member(part)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Adds the strings of a roles or scopes claim to `out`: a string (split at spaces for
/// scopes) or an array of strings; anything else is refused. Never inlined, so that
/// bench/callgrind.sh can show what it costs (its "roles and scopes" row).
#[inline(never)]
fn string_list(
    json: &str,
    value: Claim<'_>,
    split_spaces: bool,
    out: &mut Strings,
) -> Result<(), InvalidToken> {
    match value {
        Claim::Str(s) if split_spaces => out.push_words(json, s),
        Claim::Str(s) => out.push_str(json, s),
        Claim::Array(list) => {
            // Most arrays hold plain strings: read in place, without decoding each.
            if let Some(text) = list.text() {
                if let Some(offset) = offset_in(json, text) {
                    if out.push_plain_strings(offset, text)? {
                        return Ok(());
                    }
                }
            }
            let mut pushed = Ok(());
            list.each_string(|item| {
                if pushed.is_ok() {
                    pushed = out.push_str(json, item);
                }
            })
            .map_err(|()| InvalidToken::InvalidClaim)?;
            pushed
        }
        _ => Err(InvalidToken::InvalidClaim),
    }
}

fn read_roles(claims: &RawClaims, path: &str, out: &mut Strings) -> Result<(), InvalidToken> {
    match lookup(claims, path) {
        None | Some(Claim::Null) => Ok(()),
        Some(v) => string_list(claims.json(), v, false, out),
    }
}

fn read_scopes(claims: &RawClaims, out: &mut Strings) -> Result<(), InvalidToken> {
    match claims.claim("scope").or_else(|| claims.claim("scp")) {
        Some(v) => string_list(claims.json(), v, true, out),
        None => Ok(()),
    }
}
