//! utoipa: [`SecurityAddon`], a [`Modify`] that writes the recorded requirements
//! ([`GuardedRoutes`]) into their operations and adds the security schemes. utoipa sees
//! neither extractors nor layers, so every route's access comes from the records.

use utoipa::openapi::OpenApi;
use utoipa::Modify;

use crate::{GuardedRoutes, SecuritySchemes};

/// The schemes of the configuration and the records of the routes, as a utoipa
/// [`Modify`]: `ApiDoc::openapi()` then `SecurityAddon::new(..).modify(&mut api)`, or
/// [`apply`](Self::apply) to learn of a failure.
#[derive(Debug, Clone)]
pub struct SecurityAddon {
    schemes: SecuritySchemes,
    routes: GuardedRoutes,
}

impl SecurityAddon {
    /// The addon for `schemes` and the records in `routes`.
    pub fn new(schemes: SecuritySchemes, routes: GuardedRoutes) -> Self {
        Self { schemes, routes }
    }

    /// Writes the records, then the schemes, into `api` (through its JSON form). An `api`
    /// that does not come back from JSON is left as it was, and that is the error.
    pub fn apply(&self, api: &mut OpenApi) -> Result<(), serde_json::Error> {
        let mut document = serde_json::to_value(&*api)?;
        self.routes.apply(&mut document);
        self.schemes.apply(&mut document);
        *api = serde_json::from_value(document)?;
        Ok(())
    }
}

impl Modify for SecurityAddon {
    /// [`apply`](SecurityAddon::apply), leaving `openapi` as it was if it cannot (utoipa's
    /// `Modify` has no way to report it).
    fn modify(&self, openapi: &mut OpenApi) {
        let _ = self.apply(openapi);
    }
}
