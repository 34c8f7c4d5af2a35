//! [`InvalidDpopProof`]: why a DPoP proof is refused, with a stable reason code each.

/// Why a DPoP request is refused (401 `invalid_dpop_proof`, RFC 9449 §7.1). Each check of
/// RFC 9449 §4.3 has its own variant and reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidDpopProof {
    /// `Authorization: DPoP` without a `DPoP` header.
    Missing,
    /// More than one `DPoP` header (or one holding several values).
    Multiple,
    /// Longer than the proof size cap.
    TooLarge,
    /// Not a compact JWS of JSON objects (or it lists `crit` extensions).
    Malformed,
    /// `typ` is not `dpop+jwt`.
    BadType,
    /// `alg` is missing, `none`, symmetric or not on the DPoP allow-list.
    DisallowedAlgorithm,
    /// No usable public `jwk` header, or one that does not fit `alg`.
    BadKey,
    /// The `jwk` header holds private key material (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`) or
    /// a symmetric (`oct`) key.
    PrivateKey,
    /// The signature does not verify with the `jwk` header.
    BadSignature,
    /// A required claim (`jti`, `htm`, `htu`, `iat`, `ath`) is missing or of the wrong type.
    MissingClaim,
    /// `htm` is not the request's method.
    MethodMismatch,
    /// `htu` is not this resource's origin plus the request's path.
    UrlMismatch,
    /// `iat` is older than the proof window (plus leeway).
    Expired,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// `ath` is not the base64url SHA-256 of the access token.
    AccessTokenHash,
    /// The access token carries no `cnf.jkt`: it is not bound to a DPoP key.
    Unbound,
    /// `cnf.jkt` is not the RFC 7638 thumbprint of the proof's key.
    KeyMismatch,
    /// The proof's `jti` was already used within the window.
    Replayed,
    /// The request carries no verifiable request context (method and URL), so the proof
    /// cannot be checked: [`Authenticator::authenticate`](crate::Authenticator::authenticate)
    /// was used where [`Authenticator::authenticate_request`](crate::Authenticator::authenticate_request)
    /// is needed.
    NoRequestContext,
}

impl InvalidDpopProof {
    /// A stable code for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "dpop_proof_missing",
            Self::Multiple => "dpop_proof_multiple",
            Self::TooLarge => "dpop_proof_too_large",
            Self::Malformed => "dpop_proof_malformed",
            Self::BadType => "dpop_bad_typ",
            Self::DisallowedAlgorithm => "dpop_disallowed_alg",
            Self::BadKey => "dpop_bad_jwk",
            Self::PrivateKey => "dpop_private_jwk",
            Self::BadSignature => "dpop_bad_signature",
            Self::MissingClaim => "dpop_missing_claim",
            Self::MethodMismatch => "dpop_htm_mismatch",
            Self::UrlMismatch => "dpop_htu_mismatch",
            Self::Expired => "dpop_expired",
            Self::IssuedInFuture => "dpop_issued_in_future",
            Self::AccessTokenHash => "dpop_ath_mismatch",
            Self::Unbound => "dpop_token_unbound",
            Self::KeyMismatch => "dpop_jkt_mismatch",
            Self::Replayed => "dpop_replayed",
            Self::NoRequestContext => "dpop_no_request_context",
        }
    }

    /// A fixed sentence (never the proof or the token).
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Missing => "a DPoP proof header is required with the DPoP scheme",
            Self::Multiple => "exactly one DPoP proof header is allowed",
            Self::TooLarge => "the DPoP proof is too large",
            Self::Malformed => "the DPoP proof is not a well-formed JWT",
            Self::BadType => "the DPoP proof's typ must be dpop+jwt",
            Self::DisallowedAlgorithm => "the DPoP proof's signing algorithm is not accepted",
            Self::BadKey => "the DPoP proof carries no usable public jwk",
            Self::PrivateKey => "the DPoP proof's jwk must be a public asymmetric key",
            Self::BadSignature => "the DPoP proof's signature is invalid",
            Self::MissingClaim => "the DPoP proof lacks a required claim",
            Self::MethodMismatch => "the DPoP proof was made for another HTTP method",
            Self::UrlMismatch => "the DPoP proof was made for another URL",
            Self::Expired => "the DPoP proof is too old",
            Self::IssuedInFuture => "the DPoP proof was issued in the future",
            Self::AccessTokenHash => "the DPoP proof was made for another access token",
            Self::Unbound => "the access token is not bound to a DPoP key",
            Self::KeyMismatch => "the DPoP proof's key is not the key the token is bound to",
            Self::Replayed => "the DPoP proof was already used",
            Self::NoRequestContext => "the DPoP proof cannot be checked without the request",
        }
    }
}
