//! [`MockIssuerBuilder`]: what a [`MockIssuer`] starts with.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::introspection::Introspection;
use crate::issuer::MockIssuer;
use crate::keys::KeyMaterial;
use crate::state::{unique_kid, KeyEntry, Shared, State};
use crate::{Discovery, Fault, KeyAlg, DEFAULT_AUDIENCE, DEFAULT_JWKS_CACHE_CONTROL};

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
        Ok(MockIssuer::running(shared, shutdown, task))
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
}
