//! The [`MockIssuer`] handle: its URLs, tokens, keys and faults, changed while it runs.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client_auth::AssertionKey;
use crate::introspection::IntrospectionFault;
use crate::jws::sign_compact;
use crate::keys::KeyMaterial;
use crate::state::{lock, unique_kid, KeyEntry, Shared};
use crate::token::TokenBuilder;
use crate::{b64url, Discovery, Error, Fault, KeyAlg};

struct Inner {
    shared: Arc<Shared>,
    /// Dropping this (with the last handle) or sending `true` stops the server.
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// A mock OpenID provider listening on an ephemeral `127.0.0.1` port.
///
/// Cloning is cheap and yields another handle to the same issuer. The server
/// stops when the last handle is dropped or [`MockIssuer::shutdown`] is
/// called. See the [crate documentation](crate) for the endpoints it serves.
#[derive(Clone)]
pub struct MockIssuer {
    inner: Arc<Inner>,
}

impl fmt::Debug for MockIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockIssuer")
            .field("issuer", &self.issuer())
            .field("audience", &self.audience())
            .field("published_kids", &self.published_kids())
            .finish_non_exhaustive()
    }
}

impl MockIssuer {
    /// The handle of a running issuer (made by [`MockIssuerBuilder::start`]).
    pub(crate) fn running(
        shared: Arc<Shared>,
        shutdown: watch::Sender<bool>,
        task: JoinHandle<()>,
    ) -> MockIssuer {
        MockIssuer {
            inner: Arc::new(Inner {
                shared,
                shutdown,
                task: Mutex::new(Some(task)),
            }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The issuer URL, e.g. `http://127.0.0.1:41234` or
    /// `http://127.0.0.1:41234/realms/test`; never with a trailing slash.
    /// This is the `iss` claim of minted tokens.
    pub fn issuer(&self) -> &str {
        &self.shared().issuer
    }

    /// `http://127.0.0.1:PORT`, the issuer URL without its path prefix.
    pub fn base_url(&self) -> &str {
        &self.shared().base_url
    }

    /// The URL of the JWKS: `{issuer}/jwks`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer())
    }

    /// The OIDC discovery URL: `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// The RFC 8414 metadata URL:
    /// `http://127.0.0.1:PORT/.well-known/oauth-authorization-server{prefix}`.
    pub fn rfc8414_url(&self) -> String {
        format!(
            "{}/.well-known/oauth-authorization-server{}",
            self.shared().base_url,
            self.shared().path_prefix
        )
    }

    /// The `aud` claim of minted tokens (default `"https://api.example.test"`).
    pub fn audience(&self) -> &str {
        &self.shared().audience
    }

    /// Generates and publishes a new key and makes it the signing key for its
    /// algorithm. Returns its `kid`.
    ///
    /// # Panics
    ///
    /// Panics if the crypto library fails to generate a key, which does not
    /// happen in practice; use [`MockIssuer::try_add_key`] to get an error
    /// instead.
    pub fn add_key(&self, alg: KeyAlg) -> String {
        match self.try_add_key(alg) {
            Ok(kid) => kid,
            Err(err) => panic!("MockIssuer::add_key({alg}): {err}"),
        }
    }

    /// Like [`MockIssuer::add_key`], but returns key-generation failures.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if key generation fails.
    pub fn try_add_key(&self, alg: KeyAlg) -> Result<String, Error> {
        let material = Arc::new(KeyMaterial::generate(alg)?);
        let mut state = self.shared().state();
        let kid = unique_kid(alg, |kid| state.keys.iter().any(|k| k.kid == kid));
        state.keys.push(KeyEntry {
            kid: kid.clone(),
            material,
            published: true,
            retired: false,
        });
        Ok(kid)
    }

    /// Retires a key: it stays in the JWKS (so tokens it signed still
    /// verify) but is no longer the default signer for its algorithm, which
    /// falls back to the newest published, non-retired key of that algorithm.
    /// Returns `false` if the issuer never created a key with this `kid`.
    pub fn retire_key(&self, kid: &str) -> bool {
        let mut state = self.shared().state();
        match state.keys.iter_mut().find(|k| k.kid == kid) {
            Some(key) => {
                key.retired = true;
                true
            }
            None => false,
        }
    }

    /// Removes a key from the JWKS. It is no longer a default signer, but
    /// [`TokenBuilder::key`] and [`MockIssuer::sign_raw`] can still sign with
    /// it, to test tokens signed by an unpublished key. Returns `false` if no
    /// published key has this `kid`.
    pub fn remove_key(&self, kid: &str) -> bool {
        let mut state = self.shared().state();
        match state.keys.iter_mut().find(|k| k.kid == kid && k.published) {
            Some(key) => {
                key.published = false;
                true
            }
            None => false,
        }
    }

    /// The `kid` of the key that tokens of `alg` are signed with by default:
    /// the newest published, non-retired key of that algorithm.
    pub fn signing_kid(&self, alg: KeyAlg) -> Option<String> {
        self.shared().signing_key(alg).map(|k| k.kid)
    }

    /// The `kid`s of the generated keys currently in the JWKS, in creation
    /// order. Entries added with [`MockIssuer::add_raw_jwk`] are not included.
    pub fn published_kids(&self) -> Vec<String> {
        self.shared()
            .state()
            .keys
            .iter()
            .filter(|k| k.published)
            .map(|k| k.kid.clone())
            .collect()
    }

    /// Publishes `jwk` verbatim in the JWKS `keys` array, after the generated
    /// keys. Useful for odd entries: `"use":"enc"`, unknown `kty`, bad curve,
    /// duplicate `kid`… The value need not even be an object.
    pub fn add_raw_jwk(&self, jwk: Value) {
        self.shared().state().raw_jwks.push(jwk);
    }

    /// Removes every entry added with [`MockIssuer::add_raw_jwk`].
    pub fn clear_raw_jwks(&self) {
        self.shared().state().raw_jwks.clear();
    }

    /// The public JWK of the generated key `kid` (published or not), or else
    /// the first raw JWK whose `kid` member equals `kid`.
    pub fn public_jwk(&self, kid: &str) -> Option<Value> {
        let state = self.shared().state();
        state
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| k.material.public_jwk(&k.kid))
            .or_else(|| {
                state
                    .raw_jwks
                    .iter()
                    .find(|j| j.get("kid").and_then(Value::as_str) == Some(kid))
                    .cloned()
            })
    }

    /// The JWKS document as currently served (ignoring faults).
    pub fn jwks(&self) -> Value {
        self.shared().jwks()
    }

    /// Injects a fault into subsequent discovery and JWKS responses
    /// ([`Fault::Down`] affects every connection). [`Fault::None`] restores
    /// normal service.
    pub fn set_fault(&self, fault: Fault) {
        self.shared().state().fault = fault;
    }

    /// Sets the `Cache-Control` header value of JWKS responses; `None` omits
    /// the header.
    pub fn set_cache_control(&self, value: Option<String>) {
        self.shared().state().cache_control = value;
    }

    /// Chooses which discovery documents are served.
    pub fn set_discovery(&self, discovery: Discovery) {
        self.shared().state().discovery = discovery;
    }

    /// Makes the discovery documents report `issuer` as their `issuer` member
    /// (to test issuer-mismatch checks); `None` restores the real value.
    pub fn set_discovery_issuer(&self, issuer: Option<String>) {
        self.shared().state().discovery_issuer = issuer;
    }

    /// Requests received on either discovery path (OIDC or RFC 8414), whatever
    /// the answer was.
    pub fn discovery_requests(&self) -> usize {
        self.shared().discovery_requests.load(Ordering::SeqCst)
    }

    /// Requests received on the JWKS path, whatever the answer was.
    pub fn jwks_requests(&self) -> usize {
        self.shared().jwks_requests.load(Ordering::SeqCst)
    }

    /// Every request received, in order, as `"METHOD /path?query"`.
    /// Under [`Fault::Down`], only requests that were read before the
    /// connection was dropped are logged.
    pub fn request_log(&self) -> Vec<String> {
        lock(&self.shared().log).clone()
    }

    /// Requests received on the introspection path, whatever the answer was.
    pub fn introspection_requests(&self) -> usize {
        self.shared().introspection_requests.load(Ordering::SeqCst)
    }

    /// Lets a client (a resource server) ask the introspection endpoint, with HTTP Basic
    /// (`client_secret_basic`) or form (`client_secret_post`) credentials. No client is
    /// registered at start: every introspection request is refused with `401` until one is.
    pub fn add_introspection_client(&self, client_id: &str, client_secret: &str) {
        self.shared()
            .state()
            .introspection
            .clients
            .add_secret(client_id, client_secret);
    }

    /// Lets a client ask the introspection endpoint with `private_key_jwt` (RFC 7523 §2.2):
    /// a client assertion signed with `key`, whose `iss` and `sub` are `client_id`, whose
    /// `aud` is the issuer identifier or the endpoint's URL, with an `exp` to come and a
    /// `jti` not used before. Any other assertion is refused with `401 invalid_client`.
    pub fn add_introspection_client_key(&self, client_id: &str, key: &AssertionKey) {
        self.shared()
            .state()
            .introspection
            .clients
            .add_key(client_id, key);
    }

    /// Revokes an opaque token: its introspection answers `{"active":false}` from now on.
    /// Returns `false` if the issuer never issued it.
    pub fn revoke(&self, token: &str) -> bool {
        self.shared().state().introspection.revoke(token)
    }

    /// Injects a fault into the introspection endpoint's responses
    /// ([`IntrospectionFault::None`] restores normal service).
    pub fn set_introspection_fault(&self, fault: IntrospectionFault) {
        self.shared().state().introspection.fault = fault;
    }

    /// An opaque token for a user: [`MockIssuer::token`]'s claims with `sub` and
    /// `"scope":"openid profile"`, answered by introspection.
    pub fn opaque_user_token(&self, sub: &str) -> String {
        self.user_token_builder(sub).opaque()
    }

    /// An opaque client-credentials token, answered as such an answer usually is: its
    /// `client_id` and no `sub` (`"scope":"read:reports"`).
    pub fn opaque_machine_token(&self, client_id: &str) -> String {
        self.token()
            .without_claim("sub")
            .claim("client_id", client_id)
            .claim("scope", "read:reports")
            .opaque()
    }

    /// Resets the request counters and clears the request log.
    pub fn reset_counters(&self) {
        let shared = self.shared();
        let mut log = lock(&shared.log);
        shared.discovery_requests.store(0, Ordering::SeqCst);
        shared.jwks_requests.store(0, Ordering::SeqCst);
        shared.introspection_requests.store(0, Ordering::SeqCst);
        log.clear();
    }

    /// Starts a token with valid defaults:
    ///
    /// * header `{"alg":"RS256","typ":"JWT","kid":<RS256 signing kid>}` (the
    ///   algorithm is the builder's [`default_alg`](crate::MockIssuerBuilder::default_alg)),
    /// * claims `{"iss":issuer,"aud":audience,"iat":now,"exp":now+300,"sub":"user-1"}`.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder::new(Arc::clone(&self.inner.shared))
    }

    /// A token for a user: [`MockIssuer::token`] with `sub` and
    /// `"scope":"openid profile"`.
    pub fn user_token(&self, sub: &str) -> String {
        self.user_token_builder(sub).sign()
    }

    /// Like [`MockIssuer::user_token`], plus a `"roles"` array claim.
    pub fn user_token_with_roles(&self, sub: &str, roles: &[&str]) -> String {
        self.user_token_builder(sub).claim("roles", roles).sign()
    }

    fn user_token_builder(&self, sub: &str) -> TokenBuilder {
        self.token()
            .claim("sub", sub)
            .claim("scope", "openid profile")
    }

    /// A client-credentials (machine) token: `sub` and `client_id` both equal
    /// `client_id`, `"scope":"read:reports"`.
    pub fn machine_token(&self, client_id: &str) -> String {
        self.token()
            .claim("sub", client_id)
            .claim("client_id", client_id)
            .claim("scope", "read:reports")
            .sign()
    }

    /// Assembles a compact JWS from raw JSON text, for hostile tests: the
    /// header and payload are base64url-encoded exactly as given (they need
    /// not be valid JSON), then signed with key `kid` using that key's
    /// algorithm (whatever the header says), or given an empty signature if
    /// `kid` is `None`.
    ///
    /// # Panics
    ///
    /// Panics if the issuer never created a key `kid` (see
    /// [`MockIssuer::try_sign_raw`]).
    pub fn sign_raw(&self, header_json: &str, payload_json: &str, kid: Option<&str>) -> String {
        match self.try_sign_raw(header_json, payload_json, kid) {
            Ok(token) => token,
            Err(err) => panic!("MockIssuer::sign_raw: {err}"),
        }
    }

    /// Like [`MockIssuer::sign_raw`], but returns an error for an unknown key.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] if no key `kid` exists, [`Error::Crypto`] if
    /// signing fails.
    pub fn try_sign_raw(
        &self,
        header_json: &str,
        payload_json: &str,
        kid: Option<&str>,
    ) -> Result<String, Error> {
        let signing_input = format!(
            "{}.{}",
            b64url(header_json.as_bytes()),
            b64url(payload_json.as_bytes())
        );
        match kid {
            None => Ok(format!("{signing_input}.")),
            Some(kid) => {
                let key = self
                    .shared()
                    .key_by_kid(kid)
                    .ok_or_else(|| Error::UnknownKey(kid.to_owned()))?;
                sign_compact(signing_input, &key.material)
            }
        }
    }

    /// Stops the server (for every handle) and waits for its accept loop to
    /// finish. Open connections are closed. Later requests fail with
    /// "connection refused"; tokens can still be minted.
    pub async fn shutdown(self) {
        self.inner.shutdown.send_replace(true);
        let task = lock(&self.inner.task).take();
        if let Some(task) = task {
            // The task never panics; a JoinError here would only mean the
            // runtime is shutting down, which is fine.
            let _ = task.await;
        }
    }
}
