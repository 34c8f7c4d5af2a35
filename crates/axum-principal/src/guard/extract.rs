//! The handler-argument form of any [`Guard`] that needs no arguments.

use axum::extract::FromRequestParts;
use http::request::Parts;

use super::{authorize, Guard};
use crate::rejection::AuthRejection;

/// A handler argument that runs the guard `G` (built with `G::default()`):
/// `_: Guarded<RequireRoleOrMachine<Admin>>` with `names!(Admin = "admin")`, or
/// `_: Guarded<MyGuard>` for your own `#[derive(Clone, Default)] struct MyGuard;`.
///
/// Like every `FromRequestParts` argument it runs before the body extractor (axum runs that
/// last), so a refused caller gets 403, not a 422 about its body. Guarding a whole group of
/// routes is a [`guard_layer`](super::guard_layer).
#[derive(Clone, Copy, Debug, Default)]
pub struct Guarded<G>(pub G);

impl<St, G> FromRequestParts<St> for Guarded<G>
where
    St: Send + Sync,
    G: Guard + Default,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, AuthRejection> {
        let guard = G::default();
        authorize(&guard, &parts.headers, &parts.extensions)?;
        Ok(Self(guard))
    }
}
