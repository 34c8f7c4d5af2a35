//! The [`MockIssuer`] handle, its builder and the shared state behind both.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::introspection::{Introspection, IntrospectionFault};
use crate::keys::{random_hex, KeyMaterial};
use crate::token::{sign_compact, TokenBuilder};
use crate::{
    b64url, Discovery, Error, Fault, KeyAlg, DEFAULT_AUDIENCE, DEFAULT_JWKS_CACHE_CONTROL,
};

/// Locks a std mutex, recovering the data if another thread panicked while
/// holding it (a panicking test must not cascade into unrelated failures).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// One key the issuer created.
struct KeyEntry {
    kid: String,
    material: Arc<KeyMaterial>,
    published: bool,
    retired: bool,
}

/// Mutable configuration and key set.
pub(crate) struct State {
    keys: Vec<KeyEntry>,
    raw_jwks: Vec<Value>,
    pub(crate) fault: Fault,
    pub(crate) cache_control: Option<String>,
    pub(crate) discovery: Discovery,
    pub(crate) discovery_issuer: Option<String>,
    pub(crate) introspection: Introspection,
}

/// State shared between the handles, the server task and token builders.
pub(crate) struct Shared {
    /// `http://127.0.0.1:PORT`
    pub(crate) base_url: String,
    /// `base_url` + path prefix.
    pub(crate) issuer: String,
    /// Normalised path prefix: empty, or `/segment[/segment…]` without a
    /// trailing slash.
    pub(crate) path_prefix: String,
    pub(crate) audience: String,
    pub(crate) default_alg: KeyAlg,
    state: Mutex<State>,
    discovery_requests: AtomicUsize,
    jwks_requests: AtomicUsize,
    introspection_requests: AtomicUsize,
    log: Mutex<Vec<String>>,
}

/// A key selected for signing: its kid and private material.
#[derive(Clone, Debug)]
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) material: Arc<KeyMaterial>,
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The newest published, non-retired key of `alg`.
    pub(crate) fn signing_key(&self, alg: KeyAlg) -> Option<SigningKey> {
        self.state()
            .keys
            .iter()
            .rev()
            .find(|k| k.material.alg() == alg && k.published && !k.retired)
            .map(|k| SigningKey {
                kid: k.kid.clone(),
                material: Arc::clone(&k.material),
            })
    }

    /// Any key ever created by the issuer, published or not.
    pub(crate) fn key_by_kid(&self, kid: &str) -> Option<SigningKey> {
        self.state()
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| SigningKey {
                kid: k.kid.clone(),
                material: Arc::clone(&k.material),
            })
    }

    /// The JWKS document: published keys in creation order, then raw JWKs.
    pub(crate) fn jwks(&self) -> Value {
        let state = self.state();
        let keys: Vec<Value> = state
            .keys
            .iter()
            .filter(|k| k.published)
            .map(|k| k.material.public_jwk(&k.kid))
            .chain(state.raw_jwks.iter().cloned())
            .collect();
        json!({ "keys": keys })
    }

    /// The discovery / authorization-server metadata document.
    pub(crate) fn discovery_document(&self) -> Value {
        let reported_issuer = self
            .state()
            .discovery_issuer
            .clone()
            .unwrap_or_else(|| self.issuer.clone());
        let issuer = &self.issuer;
        json!({
            "issuer": reported_issuer,
            "jwks_uri": format!("{issuer}/jwks"),
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "introspection_endpoint": format!("{issuer}/introspect"),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "email", "read:reports"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        })
    }

    pub(crate) fn record_request(&self, line: String) {
        lock(&self.log).push(line);
    }

    pub(crate) fn count_discovery(&self) {
        self.discovery_requests.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn count_jwks(&self) {
        self.jwks_requests.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn count_introspection(&self) {
        self.introspection_requests.fetch_add(1, Ordering::SeqCst);
    }

    /// Issues an opaque token whose introspection answers `claims`.
    pub(crate) fn issue_opaque(&self, claims: serde_json::Map<String, Value>) -> String {
        let token = format!("mock_at_{}", random_hex(24));
        self.state().introspection.issue(token.clone(), claims);
        token
    }
}

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

/// Configures a [`MockIssuer`] before it starts. Obtained from
/// [`MockIssuer::builder`]; every setting is optional.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use axum_principal_testkit::{KeyAlg, MockIssuer};
///
/// let issuer = MockIssuer::builder()
///     .path_prefix("/realms/test")
///     .audience("orders-api")
///     .keys([KeyAlg::Es256])
///     .default_alg(KeyAlg::Es256)
///     .start()
///     .await?;
/// assert!(issuer.issuer().ends_with("/realms/test"));
/// assert_eq!(issuer.audience(), "orders-api");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct MockIssuerBuilder {
    path_prefix: Option<String>,
    audience: Option<String>,
    cache_control: Option<Option<String>>,
    keys: Option<Vec<KeyAlg>>,
    default_alg: Option<KeyAlg>,
    discovery: Discovery,
    discovery_issuer: Option<String>,
    fault: Fault,
}

impl MockIssuerBuilder {
    /// Appends a path to the issuer URL, e.g. `"/realms/test"` gives
    /// `http://127.0.0.1:PORT/realms/test`. Leading and trailing slashes are
    /// normalised; `""` or `"/"` means no prefix (the default).
    pub fn path_prefix(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_owned());
        self
    }

    /// The `aud` claim of minted tokens. Default: [`DEFAULT_AUDIENCE`]
    /// (`"https://api.example.test"`).
    pub fn audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.to_owned());
        self
    }

    /// The `Cache-Control` header value of JWKS responses; `None` omits the
    /// header. Default: `Some("max-age=300")`.
    pub fn cache_control(mut self, value: Option<String>) -> Self {
        self.cache_control = Some(value);
        self
    }

    /// The keys to create at start, one per entry (repeat an algorithm to
    /// create several keys of it; the last one becomes its signing key).
    /// Default: one RS256, one ES256 and one EdDSA key.
    pub fn keys(mut self, algs: impl IntoIterator<Item = KeyAlg>) -> Self {
        self.keys = Some(algs.into_iter().collect());
        self
    }

    /// The algorithm [`MockIssuer::token`] signs with unless told otherwise.
    /// Default: [`KeyAlg::Rs256`].
    pub fn default_alg(mut self, alg: KeyAlg) -> Self {
        self.default_alg = Some(alg);
        self
    }

    /// Which discovery documents to serve. Default: [`Discovery::Oidc`].
    pub fn discovery(mut self, discovery: Discovery) -> Self {
        self.discovery = discovery;
        self
    }

    /// Makes the discovery documents report this `issuer` instead of the real
    /// one. Default: the real issuer URL.
    pub fn discovery_issuer(mut self, issuer: &str) -> Self {
        self.discovery_issuer = Some(issuer.to_owned());
        self
    }

    /// A fault active from the start. Default: [`Fault::None`].
    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    /// Generates the keys, binds `127.0.0.1:0` and starts serving on the
    /// current tokio runtime.
    ///
    /// # Errors
    ///
    /// Fails if the listener cannot be bound or key generation fails.
    ///
    /// # Panics
    ///
    /// Panics if called outside a tokio runtime.
    pub async fn start(self) -> std::io::Result<MockIssuer> {
        let algs = self.keys.unwrap_or_else(|| KeyAlg::ALL.to_vec());
        let mut keys: Vec<KeyEntry> = Vec::with_capacity(algs.len());
        for alg in algs {
            let kid = unique_kid(alg, |kid| keys.iter().any(|k| k.kid == kid));
            keys.push(KeyEntry {
                kid,
                material: Arc::new(KeyMaterial::generate(alg)?),
                published: true,
                retired: false,
            });
        }

        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let base_url = format!("http://127.0.0.1:{port}");
        let path_prefix = normalise_prefix(self.path_prefix.as_deref().unwrap_or(""));
        let shared = Arc::new(Shared {
            issuer: format!("{base_url}{path_prefix}"),
            base_url,
            path_prefix,
            audience: self.audience.unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            default_alg: self.default_alg.unwrap_or(KeyAlg::Rs256),
            state: Mutex::new(State {
                keys,
                raw_jwks: Vec::new(),
                fault: self.fault,
                cache_control: self
                    .cache_control
                    .unwrap_or_else(|| Some(DEFAULT_JWKS_CACHE_CONTROL.to_owned())),
                discovery: self.discovery,
                discovery_issuer: self.discovery_issuer,
                introspection: Introspection::default(),
            }),
            discovery_requests: AtomicUsize::new(0),
            jwks_requests: AtomicUsize::new(0),
            introspection_requests: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        });

        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(crate::server::serve(
            listener,
            Arc::clone(&shared),
            shutdown_rx,
        ));
        Ok(MockIssuer {
            inner: Arc::new(Inner {
                shared,
                shutdown,
                task: Mutex::new(Some(task)),
            }),
        })
    }
}

fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

fn unique_kid(alg: KeyAlg, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let kid = format!("{}-{}", alg.kid_prefix(), random_hex(4));
        if !taken(&kid) {
            return kid;
        }
    }
}

impl MockIssuer {
    /// Starts an issuer with the default settings: no path prefix, audience
    /// `"https://api.example.test"`, one RS256 (the default signer), one ES256
    /// and one EdDSA key, OIDC discovery on, no fault.
    ///
    /// # Errors
    ///
    /// Fails if the listener cannot be bound or key generation fails.
    ///
    /// # Panics
    ///
    /// Panics if called outside a tokio runtime.
    pub async fn start() -> std::io::Result<MockIssuer> {
        MockIssuerBuilder::default().start().await
    }

    /// Returns a builder to configure the issuer before starting it.
    pub fn builder() -> MockIssuerBuilder {
        MockIssuerBuilder::default()
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
            .add_client(client_id, client_secret);
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
    ///   algorithm is the builder's [`default_alg`](MockIssuerBuilder::default_alg)),
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
