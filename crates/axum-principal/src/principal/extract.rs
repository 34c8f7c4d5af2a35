//! The extractors: `Principal`, `Option<Principal>`, `User`, `Machine`, `Claims<T>`.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use http::{Extensions, HeaderMap};
use serde::de::DeserializeOwned;

use super::{AuthContext, Principal};
use crate::classify::Kind;
use crate::rejection::{AuthRejection, InvalidToken, RejectionKind, Renderer};

/// The principal in `extensions`, or why there is none, answered in the protocol of the
/// request with these `headers`.
pub(crate) fn principal_from(
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<Principal, AuthRejection> {
    if let Some(principal) = extensions.get::<Principal>() {
        return Ok(principal.clone());
    }
    let rejection = match extensions.get::<AuthContext>() {
        Some(ctx) => {
            AuthRejection::with_renderer(RejectionKind::MissingCredentials, (*ctx.renderer).clone())
        }
        None => missing_layer(),
    };
    Err(rejection.in_reply_to(headers))
}

pub(crate) fn renderer_from(extensions: &Extensions) -> Renderer {
    layer_context(extensions)
        .map(|renderer| (**renderer).clone())
        .unwrap_or_default()
}

/// The layer's renderer, when the request went through [`AuthLayer`](crate::AuthLayer):
/// its [`AuthContext`], or the renderer of the principal it put there.
pub(crate) fn layer_context(extensions: &Extensions) -> Option<&Arc<Renderer>> {
    match extensions.get::<AuthContext>() {
        Some(context) => Some(&context.renderer),
        None => extensions.get::<Principal>().and_then(Principal::renderer),
    }
}

fn missing_layer() -> AuthRejection {
    tracing::error!("axum_principal extractor used on a route without AuthLayer");
    AuthRejection::new(RejectionKind::MissingLayer)
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        principal_from(&parts.headers, &parts.extensions)
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
            Err(missing_layer().in_reply_to(&parts.headers))
        }
    }
}

fn of_kind(parts: &Parts, kind: Kind) -> Result<Principal, AuthRejection> {
    let principal = principal_from(&parts.headers, &parts.extensions)?;
    if principal.kind() == kind {
        Ok(principal)
    } else {
        Err(AuthRejection::with_renderer(
            RejectionKind::InsufficientScope { scope: None },
            renderer_from(&parts.extensions),
        )
        .in_reply_to(&parts.headers))
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
        let principal = principal_from(&parts.headers, &parts.extensions)?;
        principal.claims_as::<T>().map(Claims).map_err(|_| {
            AuthRejection::with_renderer(
                RejectionKind::InvalidToken(InvalidToken::InvalidClaim),
                renderer_from(&parts.extensions),
            )
            .in_reply_to(&parts.headers)
        })
    }
}
