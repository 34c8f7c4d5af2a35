//! aide: the extractors describe themselves (the core's `aide` feature), [`RouteGuarded`]
//! records a `route_layer` guard on the operations it adds, and [`finish`] adds the
//! security schemes and repeats each requirement per scheme.

use aide::axum::routing::ApiMethodRouter;
use aide::axum::ApiRouter;
use aide::openapi::{
    OpenApi, Operation, PathItem, ReferenceOr, SchemaObject, SecurityScheme, StatusCode,
};
use axum_principal::openapi::aide::{require, responses};
use axum_principal::openapi::{error_schema, Access, ERROR_SCHEMA};
use axum_principal::{guard_layer, Guard};
use serde_json::{Map, Value};

use crate::SecuritySchemes;

/// Adds the schemes of `schemes` and the error body's schema to `api`, and repeats every
/// operation's requirement for each scheme a token may come with
/// ([`SecuritySchemes::expand`]). Call it once the routes are in
/// (`ApiRouter::finish_api`), before serving the document. It works on aide's model (aide
/// cannot read back every document it writes); a scheme aide cannot read is the error.
pub fn finish(api: &mut OpenApi, schemes: &SecuritySchemes) -> Result<(), serde_json::Error> {
    let components = api.components.get_or_insert_with(Default::default);
    for (name, scheme) in schemes.components() {
        let scheme: SecurityScheme = serde_json::from_value(scheme)?;
        components
            .security_schemes
            .insert(name, ReferenceOr::Item(scheme));
    }
    let error: SchemaObject = serde_json::from_value(error_schema())?;
    components.schemas.insert(ERROR_SCHEMA.to_owned(), error);
    let items = api
        .paths
        .iter_mut()
        .flat_map(|paths| paths.paths.values_mut());
    for item in items.filter_map(ReferenceOr::as_item_mut) {
        for operation in operations(item) {
            if operation.security.is_empty() {
                continue;
            }
            let security: Vec<Map<String, Value>> = operation
                .security
                .iter()
                .map(|entry| {
                    entry
                        .iter()
                        .map(|(name, scopes)| (name.clone(), Value::from(scopes.clone())))
                        .collect()
                })
                .collect();
            operation.security = schemes
                .expand(&security)
                .into_iter()
                .map(|entry| {
                    entry
                        .into_iter()
                        .map(|(name, scopes)| (name, strings(&scopes)))
                        .collect()
                })
                .collect();
        }
    }
    Ok(())
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// [`route_guarded`](RouteGuarded::route_guarded) on aide's [`ApiRouter`].
pub trait RouteGuarded: Sized {
    /// The method router `method_router` at `path`, documented, behind `guard` as a
    /// `route_layer` (it runs before the handler's extractors), and each of its operations
    /// stating the guard's requirements (with the 401/403/503 refusals): what a
    /// `route_layer(guard_layer(guard))` does, visible to the document.
    fn route_guarded<G: Guard>(
        self,
        path: &str,
        method_router: Self::MethodRouter,
        guard: G,
    ) -> Self;

    /// The method router type routes are added with.
    type MethodRouter;
}

impl<S> RouteGuarded for ApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    type MethodRouter = ApiMethodRouter<S>;

    fn route_guarded<G: Guard>(
        self,
        path: &str,
        method_router: ApiMethodRouter<S>,
        guard: G,
    ) -> Self {
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
