//! Shared by the `authorization_header` and `token` targets: one `Authenticator` over a
//! fixed (static) JWKS, and a current-thread runtime, both built once.

use std::sync::OnceLock;

use axum_principal::{AuthConfig, Authenticator, Issuer};

/// Public keys (RS256, ES256, EdDSA) of the issuer that minted the seed tokens.
pub const JWKS: &str = include_str!("../jwks.json");
/// The seed tokens that are valid (the only inputs that may authenticate).
const VALID_TOKENS: &str = include_str!("../valid_tokens.txt");

pub const ISSUER: &str = "https://issuer.example.com";
pub const AUDIENCE: &str = "https://api.example.test";

pub struct Harness {
    pub auth: Authenticator,
    pub rt: tokio::runtime::Runtime,
    pub valid: Vec<&'static str>,
}

pub fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let config = AuthConfig::builder()
            .issuer(Issuer::new(ISSUER).static_jwks(JWKS))
            .audience(AUDIENCE)
            .build()
            .expect("fuzz config builds");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let h = Harness {
            auth: Authenticator::new(config),
            rt,
            valid: VALID_TOKENS
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect(),
        };
        // The seeds must really be valid, or the targets never reach the accepting path.
        for token in &h.valid {
            if let Err(e) = h.rt.block_on(h.auth.verify(token)) {
                panic!("seed token refused ({e}): regenerate fuzz/jwks.json and valid_tokens.txt");
            }
        }
        h
    })
}

impl Harness {
    /// Whether `input` holds one of the known valid tokens.
    #[allow(dead_code)] // used by one of the two targets that include this module
    pub fn holds_valid_token(&self, input: &[u8]) -> bool {
        self.valid
            .iter()
            .any(|t| input.windows(t.len()).any(|w| w == t.as_bytes()))
    }
}
