//! The state every part of the mock issuer shares: its keys, its settings and faults, and
//! the counters and log of the requests it served. Below the handle, the server and the
//! token builders, which all read it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};

use crate::introspection::Introspection;
use crate::keys::{random_hex, KeyMaterial};
use crate::{Discovery, Fault, KeyAlg};

/// Locks a std mutex, recovering the data if another thread panicked while
/// holding it (a panicking test must not cascade into unrelated failures).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// One key the issuer created.
pub(crate) struct KeyEntry {
    pub(crate) kid: String,
    pub(crate) material: Arc<KeyMaterial>,
    pub(crate) published: bool,
    pub(crate) retired: bool,
}

/// Mutable configuration and key set.
pub(crate) struct State {
    pub(crate) keys: Vec<KeyEntry>,
    pub(crate) raw_jwks: Vec<Value>,
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
    pub(crate) state: Mutex<State>,
    pub(crate) discovery_requests: AtomicUsize,
    pub(crate) jwks_requests: AtomicUsize,
    pub(crate) introspection_requests: AtomicUsize,
    pub(crate) log: Mutex<Vec<String>>,
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
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "introspection_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
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

/// A key id for `alg` that no key of the issuer has yet.
pub(crate) fn unique_kid(alg: KeyAlg, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let kid = format!("{}-{}", alg.kid_prefix(), random_hex(4));
        if !taken(&kid) {
            return kid;
        }
    }
}
