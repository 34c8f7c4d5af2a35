//! Route guards: who may call a route, decided from the [`Principal`].
//!
//! A guard is anything that implements [`Guard`]: a pure check of the verified principal.
//! One generic adapter turns any guard into each of the two places it can run, as axum's
//! `middleware::from_extractor` does for extractors:
//!
//! * [`guard_layer(g)`](guard_layer) is a **`route_layer`**, so it answers before the
//!   handler's own extractors run (a refused caller gets 403, not a 422 about its body):
//!   `.route_layer(guard_layer(RequireRoleOrMachine::new("admin")))`;
//! * [`Guarded<G>`] is a **handler argument**, for a guard that needs no arguments
//!   (`G: Default`; built-in guards get their names at compile time from
//!   [`names!`](crate::names)): `_: Guarded<RequireRoleOrMachine<Admin>>`.
//!
//! The built-in guards say in their name whether a list means "all" or "any":
//! [`RequireRole`] and [`RequireScope`] take one name, [`RequireAllRoles`],
//! [`RequireAnyRole`] and [`RequireAllScopes`] take a list; [`RequireRoleOrMachine`],
//! [`RequireMachine`] and [`RequireUser`] complete the set. For delegated tokens (RFC 8693
//! `act`), [`RequireDirect`] admits only principals acting for themselves,
//! [`RequireDirectUser`] only a user's own token, and [`RequireActor`] only delegations to
//! one named actor; every other guard judges the subject, whoever acts for it.
//! [`RequireAuthContext`] asks for a stronger or more recent sign-in (RFC 9470 step-up).
//! Guards compose with
//! [`Guard::or`] / [`Guard::and`] ([`AnyOf`], [`AllOf`]). A guard with an empty list of
//! names refuses everyone (it fails closed).
//!
//! A refusal is 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` (and
//! `scope="…"` from the scope guards, each scope once, never `offline_access`), or, from
//! [`RequireAuthContext`], 401 `insufficient_user_authentication` with `acr_values` and
//! `max_age`; a request without a principal gets the 401 or 500 the [`Principal`]
//! extractor would give. Whether a granted scope satisfies a required one is the
//! configuration's [`ScopeMatcher`](crate::scope::ScopeMatcher). Guards never remove the principal, so guards
//! stack. A gRPC call is refused with the gRPC status of the same refusal (7, 16, 13) and
//! the same challenge as metadata; [`GrpcMethodGuards`] is the guard of each gRPC method,
//! since tonic has no `route_layer`.
//!
//! ```
//! use axum::{routing::get, Router};
//! use axum_principal::{
//!     guard_layer, names, Guard, Guarded, RequireMachine, RequireRole, RequireRoleOrMachine,
//!     RequireScope,
//! };
//!
//! names!(pub Admin = "admin");
//!
//! async fn handler(_: Guarded<RequireRoleOrMachine<Admin>>) -> &'static str { "ok" }
//!
//! let app: Router = Router::new()
//!     .route("/admin", get(handler))
//!     .route("/ops", get(|| async { "ok" }))
//!     .route_layer(guard_layer(
//!         RequireRole::new("ops").or(RequireMachine).and(RequireScope::new("ops:write")),
//!     ));
//! # let _ = app;
//! ```
//!
//! Your own guard works the same way as the built-in ones:
//!
//! ```
//! use axum::{routing::get, Router};
//! use axum_principal::{guard_layer, Denied, Guard, Guarded, Principal};
//!
//! /// Callers of the `acme` tenant only.
//! #[derive(Clone, Default)]
//! struct AcmeOnly;
//!
//! impl Guard for AcmeOnly {
//!     fn check(&self, principal: &Principal) -> Result<(), Denied> {
//!         match principal.claim("tenant").and_then(|t| t.as_str()) {
//!             Some("acme") => Ok(()),
//!             _ => Err(Denied::default()),
//!         }
//!     }
//! }
//!
//! async fn report(_: Guarded<AcmeOnly>) -> &'static str { "acme's report" }
//!
//! let app: Router = Router::new()
//!     .route("/report", get(report))
//!     .route("/export", get(|| async { "export" }))
//!     .route_layer(guard_layer(AcmeOnly));
//! # let _ = app;
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::{Extensions, HeaderMap};

use crate::principal::{principal_from, renderer_from, Principal};
use crate::rejection::{AuthRejection, RejectionKind, StepUp};
use crate::scope::challenge_scope;

mod auth_context;
mod builtin;
#[cfg(test)]
mod delegation_tests;
mod extract;
mod grpc;
#[cfg(test)]
mod grpc_tests;
mod layer;
mod requirements;
#[cfg(test)]
mod step_up_tests;
#[cfg(test)]
mod tests;

pub use auth_context::{AcrValues, AnyAcr, DynAcr, MaxAge, MaxAgeSecs, RequireAuthContext};
pub use builtin::{
    AllOf, AnyOf, RequireActor, RequireAllRoles, RequireAllScopes, RequireAnyRole, RequireDirect,
    RequireDirectUser, RequireMachine, RequirePrincipal, RequireRole, RequireRoleOrMachine,
    RequireScope, RequireUser,
};
pub use extract::Guarded;
pub use grpc::{GrpcMethodGuardService, GrpcMethodGuards};
pub use layer::{guard_layer, GuardFuture, GuardLayer, GuardService};
pub use requirements::{Requirement, Requirements};

/// Why a guard refused: 403 `insufficient_scope` (naming the scopes it required, if it was
/// a scope guard), or, with a [`step_up`](Self::step_up), 401
/// `insufficient_user_authentication` (RFC 9470).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Denied {
    /// Space-separated scopes that were required, for the `scope` challenge parameter.
    pub required_scope: Option<String>,
    /// The sign-in the route needs, when a stronger or more recent one would let the
    /// caller in: the refusal is then a 401 that asks for it.
    pub step_up: Option<StepUp>,
}

impl Denied {
    /// A 403 naming the space-separated `scopes` that would let the caller in.
    pub fn scope(scopes: impl Into<String>) -> Self {
        Self {
            required_scope: Some(scopes.into()),
            step_up: None,
        }
    }

    /// A 401 asking for a stronger or more recent sign-in (RFC 9470).
    pub fn step_up(step_up: StepUp) -> Self {
        Self {
            required_scope: None,
            step_up: Some(step_up),
        }
    }

    /// The refusal this becomes: a step-up, or `insufficient_scope` whose `scope` is
    /// written by [`challenge_scope`] (each once, never `offline_access`).
    fn into_kind(self) -> RejectionKind {
        match self.step_up {
            Some(step_up) => RejectionKind::InsufficientUserAuthentication(Box::new(step_up)),
            None => RejectionKind::InsufficientScope {
                scope: self
                    .required_scope
                    .as_deref()
                    .and_then(|scope| challenge_scope([scope])),
            },
        }
    }
}

/// A check on a verified principal. Run it with [`guard_layer`] or [`Guarded`].
pub trait Guard: Clone + Send + Sync + 'static {
    /// `Ok` to let the request through.
    fn check(&self, principal: &Principal) -> Result<(), Denied>;

    /// What this guard requires, for documents such as an OpenAPI description
    /// (`axum-principal-openapi`): the scopes, roles and kind it checks. The built-in guards
    /// and [`or`](Self::or)/[`and`](Self::and) report theirs; the default reports only that
    /// a verified principal is needed, which is all a document can say of a check it
    /// cannot see. It never decides a request.
    fn requirements(&self) -> Requirements {
        Requirements::any_principal()
    }

    /// This guard or `other`.
    fn or<O: Guard>(self, other: O) -> AnyOf<(Self, O)>
    where
        Self: Sized,
    {
        AnyOf((self, other))
    }

    /// This guard and `other`.
    fn and<O: Guard>(self, other: O) -> AllOf<(Self, O)>
    where
        Self: Sized,
    {
        AllOf((self, other))
    }
}

/// Runs `guard` against the principal in a request's `extensions`, refusing as the layer
/// would (its realm, `resource_metadata` and DPoP challenge) and in the request's protocol
/// (`headers`: a gRPC call gets a gRPC status): the one check behind [`GuardService`],
/// [`Guarded`] and the gRPC method table, and the way a middleware of your own runs a guard
/// it picks per request. It only reads the principal, so the next guard and the handler see
/// it too. No principal: the 401 (or, without [`AuthLayer`](crate::AuthLayer), the 500)
/// the [`Principal`] extractor gives.
pub fn authorize<G: Guard>(
    guard: &G,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<(), AuthRejection> {
    let principal = principal_from(headers, extensions)?;
    guard.check(&principal).map_err(|denied| {
        AuthRejection::with_renderer(denied.into_kind(), renderer_from(extensions))
            .in_reply_to(headers)
    })
}

/// One role or scope name a guard checks ([`RequireRole`], [`RequireScope`],
/// [`RequireRoleOrMachine`]).
pub trait Name: Clone + Send + Sync + 'static {
    /// The name.
    fn name(&self) -> &str;
}

/// A list of role or scope names a guard checks ([`RequireAllRoles`], [`RequireAnyRole`],
/// [`RequireAllScopes`]).
pub trait Names: Clone + Send + Sync + 'static {
    /// The names.
    fn names(&self) -> &[Cow<'static, str>];
}

/// A name chosen at run time, e.g. `RequireRole::new("admin")`.
#[derive(Clone, PartialEq, Eq)]
pub struct DynName(Cow<'static, str>);

impl Name for DynName {
    fn name(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DynName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl DynName {
    fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self(name.into())
    }
}

/// Names chosen at run time, e.g. `RequireAnyRole::new(["admin", "support"])`.
#[derive(Clone, PartialEq, Eq)]
pub struct DynNames(Arc<[Cow<'static, str>]>);

impl Names for DynNames {
    fn names(&self) -> &[Cow<'static, str>] {
        &self.0
    }
}

impl fmt::Debug for DynNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl DynNames {
    fn new<I, N>(names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: Into<Cow<'static, str>>,
    {
        Self(names.into_iter().map(Into::into).collect::<Vec<_>>().into())
    }
}

/// Declares a type naming a role or scope, or a list of them, for guards used as handler
/// arguments: `names!(pub Admin = "admin");` (a [`Name`], and a [`Names`] of one) or
/// `names!(Staff = ["admin", "support"]);` (a [`Names`] only, for the guards whose name
/// says "all" or "any").
///
/// [`Name`]: crate::guard::Name
/// [`Names`]: crate::guard::Names
#[macro_export]
macro_rules! names {
    ($vis:vis $ty:ident = [$($name:literal),+ $(,)?]) => {
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        #[doc = concat!("Names: ", $($name, " "),+)]
        $vis struct $ty;
        impl $crate::guard::Names for $ty {
            fn names(&self) -> &[::std::borrow::Cow<'static, str>] {
                const NAMES: &[::std::borrow::Cow<'static, str>] =
                    &[$(::std::borrow::Cow::Borrowed($name)),+];
                NAMES
            }
        }
    };
    ($vis:vis $ty:ident = $name:literal) => {
        $crate::names!($vis $ty = [$name]);
        impl $crate::guard::Name for $ty {
            fn name(&self) -> &str {
                $name
            }
        }
    };
}
