//! aide: the extractors describe themselves (the core's `aide` feature), [`RouteGuarded`]
//! records a `route_layer` guard on the operations it adds, and [`finish`] adds the
//! security schemes and repeats each requirement per scheme.

use aide::axum::routing::ApiMethodRouter;
use aide::axum::ApiRouter;
use aide::openapi::{OpenApi, Operation, PathItem, ReferenceOr, StatusCode};
use axum_principal::openapi::aide::{require, responses};
use axum_principal::openapi::Access;
use axum_principal::{guard_layer, Guard};

use crate::SecuritySchemes;

/// Adds the schemes of `schemes` to `api` and repeats every operation's requirement for
/// each scheme a token may come with ([`SecuritySchemes::apply`]). Call it once the routes
/// are in (`ApiRouter::finish_api`), before serving the document. An `api` that does not
/// come back from JSON (never for aide's own model) is left as it was, and that is
/// returned as the error.
pub fn finish(api: &mut OpenApi, schemes: &SecuritySchemes) -> Result<(), serde_json::Error> {
    let mut document = serde_json::to_value(&*api)?;
    schemes.apply(&mut document);
    // Through text: aide reads its `openapi` version as a borrowed string.
    *api = serde_json::from_str(&document.to_string())?;
    Ok(())
}

/// [`route_guarded`](RouteGuarded::route_guarded) on aide's [`ApiRouter`].
pub trait RouteGuarded: Sized {
    /// The method router `method_router` at `path`, documented, behind `guard` as a
    /// `route_layer` (it runs before the handler's extractors), and each of its operations
    /// stating the guard's requirements (with the 401/403/503 refusals): what a
    /// `route_layer(guard_layer(guard))` does, visible to the document.
    fn route_guarded<G: Guard>(self, path: &str, method_router: Self::MethodRouter, guard: G) -> Self;

    /// The method router type routes are added with.
    type MethodRouter;
}

impl<S> RouteGuarded for ApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    type MethodRouter = ApiMethodRouter<S>;

    fn route_guarded<G: Guard>(self, path: &str, method_router: ApiMethodRouter<S>, guard: G) -> Self {
        let access = Access::guarded(guard.requirements());
        let method_router = method_router.route_layer(guard_layer(guard));
        self.api_route_with(path, method_router, |mut item| {
            for operation in operations(item.inner_mut()) {
                state(operation, &access);
            }
            item
        })
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// `access` on `operation`: combined into its security, its refusals added where absent.
fn state(operation: &mut Operation, access: &Access) {
    require(operation, access.clone());
    let documented = operation.responses.get_or_insert_with(Default::default);
    for (status, response) in responses(access) {
        if let Some(status) = status {
            documented
                .responses
                .entry(StatusCode::Code(status))
                .or_insert(ReferenceOr::Item(response));
        }
    }
}
