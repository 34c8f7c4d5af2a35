//! [`GuardedRoutes`]: the requirements of routes whose guard no generator can see (a
//! `route_layer`), recorded where the route is added and written into the document later.

use axum::routing::MethodRouter;
use axum::Router;
use axum_principal::openapi::Access;
use axum_principal::{guard_layer, Guard};
use serde_json::Value;

use crate::document::{operations_mut, require};

/// What each recorded path requires. [`route_guarded`](Self::route_guarded) adds a route
/// with its guard as a `route_layer` and records the guard's requirements in one call, so
/// the two cannot differ; [`record`](Self::record) states the access of a route added
/// otherwise. [`apply`](Self::apply) writes the records into every operation of their
/// paths (utoipa: `utoipa::SecurityAddon` (feature `utoipa`) does it).
///
/// ```
/// use axum::{routing::get, Router};
/// use axum_principal::RequireMachine;
/// use axum_principal_openapi::GuardedRoutes;
/// use serde_json::json;
///
/// let mut guarded = GuardedRoutes::default();
/// let app: Router = guarded.route_guarded(
///     Router::new(),
///     "/machine",
///     get(|| async { "ok" }),
///     RequireMachine,
/// );
/// let mut document = json!({ "paths": { "/machine": { "get": { "responses": {} } } } });
/// guarded.apply(&mut document);
/// let operation = &document["paths"]["/machine"]["get"];
/// assert_eq!(operation["security"], json!([{ "bearer": [] }]));
/// assert_eq!(operation["x-required-roles"], json!([{ "kind": "machine" }]));
/// assert!(operation["responses"]["403"].is_object());
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Default)]
pub struct GuardedRoutes {
    routes: Vec<(String, Access)>,
}

impl GuardedRoutes {
    /// `router` with `method_router` at `path`, behind `guard` as a `route_layer` (it runs
    /// before the handler's extractors), the guard's requirements recorded for `path`.
    pub fn route_guarded<S, G>(
        &mut self,
        router: Router<S>,
        path: &str,
        method_router: MethodRouter<S>,
        guard: G,
    ) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
        G: Guard,
    {
        self.record(path, Access::guarded(guard.requirements()));
        router.route(path, method_router.route_layer(guard_layer(guard)))
    }

    /// Records that every operation at `path` needs `access` (combined with what the
    /// document already states for it).
    pub fn record(&mut self, path: &str, access: Access) {
        self.routes.push((path.to_owned(), access));
    }

    /// The recorded paths with their access, in the order recorded.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Access)> {
        self.routes
            .iter()
            .map(|(path, access)| (path.as_str(), access))
    }

    /// Writes each record into every operation at its path: `security` (one [`BEARER`]
    /// entry per alternative, before [`SecuritySchemes::apply`] repeats them per scheme),
    /// the roles extension, and the 401/403/503 refusals it does not document yet.
    ///
    /// [`BEARER`]: crate::BEARER
    /// [`SecuritySchemes::apply`]: crate::SecuritySchemes::apply
    pub fn apply(&self, document: &mut Value) {
        for (path, access) in &self.routes {
            for (_, _, operation) in operations_mut(document).filter(|(p, _, _)| p == path) {
                require(operation, access.clone());
            }
        }
    }
}
