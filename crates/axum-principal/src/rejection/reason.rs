//! The stable reasons of a refusal: why a header is malformed (400), why a token is not
//! accepted (401). Each has a `reason()` code for logs, metrics and tests.

/// Why a request's `Authorization` header is malformed (400 `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// More than one `Authorization` header.
    MultipleAuthorizationHeaders,
    /// `Bearer` with no token after it.
    EmptyToken,
    /// More than one token after `Bearer`.
    MultipleTokens,
    /// Characters that RFC 6750's `b64token` does not allow.
    BadCharacters,
}

impl InvalidRequest {
    /// A stable code for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::MultipleAuthorizationHeaders => "multiple_authorization_headers",
            Self::EmptyToken => "empty_token",
            Self::MultipleTokens => "multiple_tokens",
            Self::BadCharacters => "bad_characters",
        }
    }

    pub(super) fn description(self) -> &'static str {
        match self {
            Self::MultipleAuthorizationHeaders => "more than one Authorization header",
            Self::EmptyToken => "the bearer token is empty",
            Self::MultipleTokens => "the Authorization header carries more than one token",
            Self::BadCharacters => "the bearer token contains characters not allowed by RFC 6750",
        }
    }
}

/// Why a token is not accepted (401 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidToken {
    /// Longer than the configured cap; refused before any decoding.
    TooLarge,
    /// Not a compact JWS of three base64url parts with JSON header and payload.
    Malformed,
    /// The header lists `crit` extensions; none are supported.
    UnsupportedCritical,
    /// `typ` is not accepted by the configured policy.
    BadType,
    /// `alg` is not on the allow-list, is `none`, or does not fit the key.
    DisallowedAlgorithm,
    /// `iss` is missing or not one of the configured issuers.
    UnknownIssuer,
    /// No key of the issuer matches `kid` and `alg`, even after a refresh.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is missing.
    MissingExpiry,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// `aud` does not name an accepted audience (or is an empty array).
    WrongAudience,
    /// `sub` is missing and no rule supplies the subject.
    MissingSubject,
    /// A claim has the wrong JSON type (for example a string `exp`, or a
    /// non-boolean machine-marker claim).
    InvalidClaim,
    /// An OpenID Connect ID token (`token_use: id`, a `typ` claim of `ID`, `at_hash` or
    /// `c_hash`), not an access token.
    IdToken,
    /// A sender-constrained token (it has a `cnf` claim) presented without its proof, as a
    /// plain bearer token.
    SenderConstrained,
    /// Signed by a trusted issuer but not an access token: a refresh, offline or logout
    /// token, or a security event token.
    NotAccessToken,
    /// A delegated token's `act` claim (RFC 8693 §4.1) is not an object with a non-empty
    /// string `sub` (or its `client_id`/`iss` is not a string), at any depth.
    InvalidActor,
    /// A delegated token's actor chain (nested `act`) is deeper than
    /// [`MAX_DEPTH`](crate::principal::MAX_ACTOR_DEPTH).
    ActorChainTooDeep,
    /// The issuer is a tenant template and the token's `tid` is missing, not a tenant id,
    /// not an allowed tenant, or does not fill the template to the token's `iss`.
    TenantNotAllowed,
    /// Bound to a client certificate (`cnf.x5t#S256`, RFC 8705) other than the one the
    /// connection presented.
    CertificateMismatch,
    /// An opaque token its issuer's introspection endpoint (RFC 7662) does not call active:
    /// `active` is not the JSON value `true` (revoked, expired, unknown, or for another
    /// client).
    Inactive,
}

impl InvalidToken {
    /// A stable code for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::UnsupportedCritical => "unsupported_crit",
            Self::BadType => "bad_typ",
            Self::DisallowedAlgorithm => "disallowed_alg",
            Self::UnknownIssuer => "unknown_issuer",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::MissingExpiry => "missing_exp",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::WrongAudience => "wrong_audience",
            Self::MissingSubject => "missing_sub",
            Self::InvalidClaim => "invalid_claim",
            Self::IdToken => "id_token",
            Self::SenderConstrained => "bound_token_as_bearer",
            Self::NotAccessToken => "not_access_token",
            Self::InvalidActor => "invalid_actor",
            Self::ActorChainTooDeep => "actor_chain_too_deep",
            Self::TenantNotAllowed => "tenant_not_allowed",
            Self::CertificateMismatch => "certificate_mismatch",
            Self::Inactive => "inactive",
        }
    }

    pub(super) fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "the token is too large",
            Self::Malformed => "the token is not a well-formed JWT",
            Self::UnsupportedCritical => "the token requires unsupported header extensions",
            Self::BadType => "the token type is not accepted",
            Self::DisallowedAlgorithm => "the token's signing algorithm is not accepted",
            Self::UnknownIssuer => "the token's issuer is not trusted",
            Self::UnknownKey => "the token was signed with an unknown key",
            Self::BadSignature => "the token's signature is invalid",
            Self::MissingExpiry => "the token has no expiry",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet",
            Self::IssuedInFuture => "the token was issued in the future",
            Self::WrongAudience => "the token is not meant for this audience",
            Self::MissingSubject => "the token has no subject",
            Self::InvalidClaim => "a claim in the token has an invalid value",
            Self::IdToken => "the token is an ID token, not an access token",
            Self::SenderConstrained => {
                "the token is bound to a key and cannot be used as a bearer token"
            }
            Self::NotAccessToken => "the token is not an access token",
            Self::InvalidActor => "the token's actor (act claim) is invalid",
            Self::ActorChainTooDeep => "the token's chain of actors is too deep",
            Self::TenantNotAllowed => "the token's tenant is not trusted",
            Self::CertificateMismatch => "the token is bound to another client certificate",
            Self::Inactive => "the token is not active",
        }
    }
}

/// Why an opaque token could not be introspected (RFC 7662): the issuer's fault or this
/// service's, never the token's, so the answer is 503, not 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntrospectionFailure {
    /// The endpoint is not known: discovery failed, or the issuer's metadata names no
    /// `introspection_endpoint`.
    NoEndpoint,
    /// No connection, or the connection failed before an answer.
    Unreachable,
    /// No answer within the timeout.
    Timeout,
    /// An HTTP status other than 200 (a 5xx, a redirect, an unexpected 4xx).
    ErrorStatus,
    /// A body that is not one JSON object, or larger than the cap.
    BadResponse,
    /// The endpoint refused this service's own client credentials (401 or 403): a
    /// configuration error of this service, logged as such.
    CredentialsRefused,
    /// Recent calls failed: the issuer's breaker is open and no call is made until its
    /// cool-down ends.
    BreakerOpen,
    /// Too many introspection calls to this issuer are in flight already.
    Busy,
    /// A signed answer was asked for ([`Introspection::jwt_response`](crate::Introspection::jwt_response))
    /// and what came back is not one this service can verify (RFC 9701 §5): unsigned, not
    /// signed by one of the issuer's keys, the wrong `typ`, `iss` or `aud`, no `iat`, or a
    /// plain JSON answer. Not the token's fault: no trustworthy answer arrived.
    UnverifiedResponse,
}

impl IntrospectionFailure {
    /// A stable code for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NoEndpoint => "introspection_no_endpoint",
            Self::Unreachable => "introspection_unreachable",
            Self::Timeout => "introspection_timeout",
            Self::ErrorStatus => "introspection_error_status",
            Self::BadResponse => "introspection_bad_response",
            Self::CredentialsRefused => "introspection_credentials_refused",
            Self::BreakerOpen => "introspection_breaker_open",
            Self::Busy => "introspection_busy",
            Self::UnverifiedResponse => "introspection_unverified_response",
        }
    }
}

/// Why a valid token's sign-in is not enough for a route (401
/// `insufficient_user_authentication`, RFC 9470 §3): the route needs a stronger or a more
/// recent authentication of the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsufficientAuthentication {
    /// The route needs an authentication context class, and the token has no `acr` (or
    /// one that is not a string).
    AcrMissing,
    /// The token's `acr` is not one the route accepts.
    AcrNotAccepted,
    /// The route needs a recent sign-in, and the token has no `auth_time` (or one that is
    /// not a number).
    AuthTimeMissing,
    /// The token's `auth_time` is older than the route's `max_age` (plus the leeway).
    AuthTimeTooOld,
    /// The token's `auth_time` is in the future (beyond the leeway).
    AuthTimeInFuture,
}

impl InsufficientAuthentication {
    /// A stable code for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::AcrMissing => "acr_missing",
            Self::AcrNotAccepted => "acr_not_accepted",
            Self::AuthTimeMissing => "auth_time_missing",
            Self::AuthTimeTooOld => "auth_time_too_old",
            Self::AuthTimeInFuture => "auth_time_in_future",
        }
    }

    pub(super) fn description(self) -> &'static str {
        match self {
            Self::AcrMissing | Self::AcrNotAccepted => {
                "a stronger authentication is required for this resource"
            }
            Self::AuthTimeMissing | Self::AuthTimeTooOld | Self::AuthTimeInFuture => {
                "a more recent authentication is required for this resource"
            }
        }
    }
}
