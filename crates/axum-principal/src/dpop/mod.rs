//! DPoP (RFC 9449): access tokens bound to a client's key, each request carrying a fresh
//! proof signed by that key.
//!
//! With [`AuthConfigBuilder::dpop`](crate::AuthConfigBuilder::dpop), a request may present
//! `Authorization: DPoP <token>` with exactly one `DPoP: <proof>` header. The token is
//! verified as any other and must carry `cnf.jkt`; the proof must be a JWS with `typ`
//! `dpop+jwt`, an asymmetric allowed `alg`, a public `jwk` header whose RFC 7638 thumbprint
//! is `cnf.jkt` and that verifies the signature, `htm` the request's method, `htu` the
//! configured origin plus the request's path (normalised, never taken from `Host`), an
//! `iat` within the window (default 60 s, plus the leeway), `ath` the SHA-256 of the token,
//! and a `jti` not seen within the window ([`ReplayStore`]). Optionally a server nonce
//! ([`NonceSource`]).
//!
//! The verified-token cache may answer for the token; the proof is checked in full on every
//! request, and a bound token is never accepted as a bearer token (cached or not).
//!
//! # Replicas
//! The default replay store, [`InMemoryReplayStore`], is per process: a proof replayed to the
//! same instance within its window is refused, but one replayed to another replica behind a
//! load balancer is not (each instance has seen only its own proofs). The window bounds how
//! long a captured proof is worth anything either way, and the proof is tied to one method,
//! one URL and one token. Share a store across replicas ([`DpopConfig::replay_store`]) to
//! refuse every replay.
//!
//! ```
//! use std::time::Duration;
//! use axum_principal::{dpop::{DpopConfig, DpopPolicy}, AuthConfig};
//!
//! # fn main() -> Result<(), axum_principal::ConfigError> {
//! let config = AuthConfig::builder()
//!     .issuer("https://issuer.example.com/")
//!     .audience("https://api.example.com")
//!     .dpop(
//!         DpopConfig::new("https://api.example.com")
//!             .policy(DpopPolicy::Required)
//!             .window(Duration::from_secs(30)),
//!     )
//!     .build()?;
//! # let _ = config; Ok(()) }
//! ```

mod budget;
mod htu;
mod nonce;
mod proof;
mod proof_keys;
mod thumbprint;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

use crate::alg::Algorithm;
use crate::clock::unix_seconds;
use crate::crypto::sha256;
use crate::error::ConfigError;
use crate::principal::PrincipalId;
use crate::rejection::RejectionKind;
use crate::replay::{InMemoryReplayStore, ReplayStore, ReplayVerdict};

pub use self::nonce::{HmacNonces, NonceSource};
pub use crate::headers::{DPOP, DPOP_NONCE};
pub use crate::rejection::InvalidDpopProof;

pub(crate) use self::htu::Origin;

/// Which schemes a layer accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DpopPolicy {
    /// `Bearer` and `DPoP` (the default once DPoP is configured): every 401 offers both.
    #[default]
    Allowed,
    /// Only `DPoP`: a `Bearer` request is refused with the `DPoP` challenge.
    Required,
    /// Only `Bearer`, as without DPoP: the `DPoP` scheme is not recognised.
    Off,
}

/// The DPoP settings: the origin proofs are made for, the policy, the proof window, the
/// allowed algorithms, the replay store and an optional nonce source. Checked by
/// [`build`](crate::AuthConfigBuilder::build).
#[derive(Clone)]
pub struct DpopConfig {
    origin: String,
    policy: DpopPolicy,
    window: Duration,
    algorithms: Option<Vec<Algorithm>>,
    replay: Arc<dyn ReplayStore>,
    nonces: Option<Arc<dyn NonceSource>>,
    max_proof_bytes: usize,
    max_proofs_per_principal: u32,
}

impl fmt::Debug for DpopConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopConfig")
            .field("origin", &self.origin)
            .field("policy", &self.policy)
            .field("window", &self.window)
            .field("algorithms", &self.algorithms)
            .field("nonces", &self.nonces.is_some())
            .field("max_proofs_per_principal", &self.max_proofs_per_principal)
            .finish_non_exhaustive()
    }
}

impl DpopConfig {
    /// DPoP for requests arriving at `origin`, this API's external `scheme://host[:port]` as
    /// clients see it (behind a proxy: the proxy's). A proof's `htu` must be this origin plus
    /// the request's path; the `Host` header is never used. A path in `origin` is ignored.
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            policy: DpopPolicy::Allowed,
            window: Duration::from_secs(60),
            algorithms: None,
            replay: Arc::new(InMemoryReplayStore::default()),
            nonces: None,
            max_proof_bytes: 8 * 1024,
            max_proofs_per_principal: Self::DEFAULT_MAX_PROOFS_PER_PRINCIPAL,
        }
    }

    /// The default of [`max_proofs_per_principal`](Self::max_proofs_per_principal): 6,000
    /// per window (100 proofs a second over the default 60 s window).
    pub const DEFAULT_MAX_PROOFS_PER_PRINCIPAL: u32 = 6_000;

    /// How many fresh proofs one principal (`iss`, kind, `sub`) may have the replay store
    /// remember per window (default
    /// [`DEFAULT_MAX_PROOFS_PER_PRINCIPAL`](Self::DEFAULT_MAX_PROOFS_PER_PRINCIPAL)); beyond
    /// it, its DPoP requests are refused with 429 and `Retry-After` until the next window.
    /// The replay check runs before any quota, so without this bound one token holder could
    /// fill the store with fresh proofs. A key lives at most window + leeway + 1 s, so one
    /// principal holds at most about three times this many keys (with the default window and
    /// leeway); the in-process store costs about 450 bytes per key.
    #[must_use]
    pub fn max_proofs_per_principal(mut self, proofs: u32) -> Self {
        self.max_proofs_per_principal = proofs;
        self
    }

    /// Which schemes are accepted (default [`DpopPolicy::Allowed`]).
    #[must_use]
    pub fn policy(mut self, policy: DpopPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How old a proof's `iat` may be, before the leeway (default 60 s, at most 10 min); a
    /// `jti` is remembered until its proof can no longer be accepted (`iat` + window +
    /// leeway, to the end of that second).
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The algorithms a proof may be signed with (default: the configuration's asymmetric
    /// allow-list). They are advertised in the `DPoP algs="…"` challenge.
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Where `jti`s are remembered (default: an [`InMemoryReplayStore`], per process). A
    /// store that cannot answer makes DPoP requests fail with 503, never pass.
    #[must_use]
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.replay = Arc::new(store);
        self
    }

    /// The same, for a store already shared.
    #[must_use]
    pub fn shared_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replay = store;
        self
    }

    /// Requires a server nonce in every proof (default: none), e.g. [`HmacNonces`].
    #[must_use]
    pub fn nonces(mut self, source: impl NonceSource) -> Self {
        self.nonces = Some(Arc::new(source));
        self
    }

    /// Longest proof accepted, in bytes (default 8 KiB).
    #[must_use]
    pub fn max_proof_bytes(mut self, bytes: usize) -> Self {
        self.max_proof_bytes = bytes;
        self
    }

    /// Checks the settings (called by `build`); `None` when the policy is
    /// [`Off`](DpopPolicy::Off).
    pub(crate) fn validate(
        self,
        config_algorithms: &[Algorithm],
    ) -> Result<Option<Dpop>, ConfigError> {
        if self.policy == DpopPolicy::Off {
            return Ok(None);
        }
        let origin = Origin::parse(&self.origin).map_err(ConfigError::InvalidDpop)?;
        if self.window.is_zero() || self.window > Duration::from_secs(600) {
            return Err(ConfigError::InvalidDpop(
                "the DPoP window must be 1 s to 10 min",
            ));
        }
        let algorithms = self
            .algorithms
            .unwrap_or_else(|| config_algorithms.to_vec());
        if algorithms.is_empty() || algorithms.iter().any(|a| a.is_hmac()) {
            return Err(ConfigError::InvalidDpop(
                "DPoP algorithms must be a non-empty list of asymmetric algorithms",
            ));
        }
        if self.max_proof_bytes == 0 {
            return Err(ConfigError::InvalidDpop("the DPoP proof size cap is zero"));
        }
        if self.max_proofs_per_principal == 0 {
            return Err(ConfigError::InvalidDpop(
                "the DPoP proofs per principal must be at least 1",
            ));
        }
        let algs = algorithms
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Some(Dpop {
            required: self.policy == DpopPolicy::Required,
            origin,
            window_secs: i64::try_from(self.window.as_secs()).unwrap_or(600),
            algorithms,
            algs: Arc::from(algs),
            replay: self.replay,
            budget: Arc::new(budget::ProofBudget::new(
                self.max_proofs_per_principal,
                self.window.as_secs(),
            )),
            nonces: self.nonces,
            max_proof_bytes: self.max_proof_bytes,
            proof_keys: Arc::new(proof_keys::ProofKeys::new()),
        }))
    }
}

/// The validated DPoP settings, kept in the configuration.
#[derive(Clone)]
pub(crate) struct Dpop {
    pub(crate) required: bool,
    pub(crate) origin: Origin,
    window_secs: i64,
    algorithms: Vec<Algorithm>,
    /// The algorithms as the challenge's `algs` value (space-separated).
    pub(crate) algs: Arc<str>,
    replay: Arc<dyn ReplayStore>,
    budget: Arc<budget::ProofBudget>,
    nonces: Option<Arc<dyn NonceSource>>,
    max_proof_bytes: usize,
    /// Proof headers already checked, with their parsed keys and thumbprints.
    proof_keys: Arc<proof_keys::ProofKeys>,
}

impl Dpop {
    /// The accepted proof algorithms.
    pub(crate) fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }
}

/// The request a DPoP proof is checked against.
pub(crate) struct ProofRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) access_token: &'a str,
    /// `cnf.jkt` of the verified token.
    pub(crate) jkt: &'a str,
    /// Whose token it is: each principal's proofs are bounded in the replay store.
    pub(crate) principal: PrincipalId<'a>,
}

impl Dpop {
    /// RFC 9449 §4.3 in full for one request, the replay check last (so only a proof that
    /// passed everything else uses up its `jti`).
    pub(crate) async fn check(
        &self,
        request: &ProofRequest<'_>,
        now: SystemTime,
        leeway_secs: i64,
    ) -> Result<(), RejectionKind> {
        let invalid = RejectionKind::InvalidDpopProof;
        let mut values = request.headers.get_all(DPOP).iter();
        let value = values.next().ok_or(invalid(InvalidDpopProof::Missing))?;
        if values.next().is_some() {
            return Err(invalid(InvalidDpopProof::Multiple));
        }
        let proof = value
            .to_str()
            .map_err(|_| invalid(InvalidDpopProof::Malformed))?
            .trim();
        if proof.contains(',') {
            // Two proofs folded into one header line.
            return Err(invalid(InvalidDpopProof::Multiple));
        }
        let expected = proof::Expected {
            method: request.method,
            origin: &self.origin,
            path: request.path,
            access_token: request.access_token,
            algorithms: &self.algorithms,
            now_secs: unix_seconds(now),
            window_secs: self.window_secs,
            leeway_secs,
            max_bytes: self.max_proof_bytes,
            keys: &self.proof_keys,
        };
        let checked = proof::check(proof, &expected).map_err(invalid)?;
        if checked.jkt != request.jkt {
            return Err(invalid(InvalidDpopProof::KeyMismatch));
        }
        if let Some(source) = &self.nonces {
            let ok = checked
                .nonce
                .as_deref()
                .is_some_and(|n| source.is_valid(n, now));
            if !ok {
                return Err(RejectionKind::UseDpopNonce {
                    nonce: source.current(now),
                });
            }
        }
        // The key is fixed-size and namespaced: a digest of the key's thumbprint and the jti.
        let digest = sha256(&[
            b"dpop-jti\0",
            checked.jkt.as_bytes(),
            b"\0",
            checked.jti.as_bytes(),
        ]);
        let key = hex(&digest);
        self.budget
            .take(request.principal, now)
            .map_err(|retry_after_secs| RejectionKind::RateLimited { retry_after_secs })?;
        let window = replay_lifetime(checked.iat, self.window_secs, leeway_secs, now);
        match self.replay.first_use(&key, window).await {
            Ok(ReplayVerdict::Fresh) => Ok(()),
            Ok(ReplayVerdict::Replayed) => Err(invalid(InvalidDpopProof::Replayed)),
            Err(_) => Err(RejectionKind::ReplayStoreUnavailable),
        }
    }
}

/// Lowercase hex of a digest (a `format!` per byte cost more than the digest itself).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// How long, from `now`, a proof's `jti` must be remembered: until strictly after the last
/// instant the proof could still be accepted. The `iat` check compares whole seconds
/// (`⌊now⌋ − iat ≤ window + leeway`), so a proof is accepted up to, but not at,
/// `iat + window + leeway + 1 s`; a lifetime counted from the first use in sub-second time
/// (`window + 2·leeway`) ended up to a second before that and let one replay through.
fn replay_lifetime(iat: i64, window_secs: i64, leeway_secs: i64, now: SystemTime) -> Duration {
    let first_refused = iat
        .saturating_add(window_secs)
        .saturating_add(leeway_secs)
        .saturating_add(1);
    u64::try_from(first_refused)
        .ok()
        .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
        .and_then(|until| until.duration_since(now).ok())
        .unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn a_jti_is_remembered_past_the_last_accepted_instant() {
        let iat = 1_700_000_000_i64;
        let at = |millis: u64| UNIX_EPOCH + Duration::from_millis(millis);
        let iat_ms = 1_700_000_000_000_u64;
        for (window, leeway) in [(60, 0), (60, 5), (1, 0), (600, 60)] {
            // First use anywhere the proof is accepted, to the millisecond.
            let first = iat_ms - leeway * 1000;
            let last_accepted = iat_ms + (window + leeway + 1) * 1000 - 1;
            for first_use in [first, first + 10, iat_ms, iat_ms + 160, last_accepted] {
                let lifetime = replay_lifetime(
                    iat,
                    i64::try_from(window).expect("small"),
                    i64::try_from(leeway).expect("small"),
                    at(first_use),
                );
                assert!(
                    at(first_use) + lifetime > at(last_accepted),
                    "window {window}, leeway {leeway}, first use {first_use}: {lifetime:?}"
                );
            }
        }
    }
}
