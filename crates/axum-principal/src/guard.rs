//! Route guards: who may call a route, decided from the [`Principal`].
//!
//! Every guard works two ways:
//!
//! * as a **`route_layer`**, so it answers before the handler's own extractors run (a refused
//!   caller gets 403, not a 422 about its request body):
//!   `.route_layer(RequireRoleOrMachine::new("admin"))`;
//! * as a **handler argument**, with names fixed at compile time by [`names!`](crate::names):
//!   `_: RequireRoleOrMachine<Admin>`.
//!
//! A refusal is 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` (and
//! `scope="…"` from [`RequireScope`]); a request without a principal gets the 401 or 500 the
//! [`Principal`] extractor would give. Guards never remove the principal, so guards stack.
//! Guards compose with [`Guard::or`] / [`Guard::and`] ([`AnyOf`], [`AllOf`]). A guard with
//! an empty list of names refuses everyone (it fails closed).
//!
//! ```
//! use axum::{routing::get, Router};
//! use axum_principal::{names, Guard, RequireMachine, RequireRole, RequireRoleOrMachine, RequireScope};
//!
//! names!(pub Admin = "admin");
//!
//! async fn handler(_: RequireRoleOrMachine<Admin>) -> &'static str { "ok" }
//!
//! let app: Router = Router::new()
//!     .route("/admin", get(handler))
//!     .route("/ops", get(|| async { "ok" }))
//!     .route_layer(RequireRole::new("ops").or(RequireMachine).and(RequireScope::new("ops:write")));
//! # let _ = app;
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use http::request::Parts;
use http::Request;
use tower::{Layer, Service};

use crate::config::ConfigError;
use crate::principal::{principal_from, renderer_from, Principal};
use crate::rejection::{AuthRejection, RejectionKind};

/// Why a guard refused: 403, with the scopes it required if it was a scope guard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Denied {
    /// Space-separated scopes that were required, for the `scope` challenge parameter.
    pub required_scope: Option<String>,
}

/// A check on a verified principal.
pub trait Guard: Clone + Send + Sync + 'static {
    /// `Ok` to let the request through.
    fn check(&self, principal: &Principal) -> Result<(), Denied>;

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

/// A guard that can be built with no arguments, so it can be a handler argument.
pub trait StaticGuard: Guard {
    /// The guard.
    fn build() -> Self;
}

/// A list of role or scope names a guard checks.
pub trait Names: Clone + Send + Sync + 'static {
    /// The names.
    fn names(&self) -> &[Cow<'static, str>];
}

/// Names fixed at compile time (made by [`names!`](crate::names)); guards with such names can
/// be handler arguments.
pub trait StaticNames: Names {
    /// The value.
    fn value() -> Self;
}

/// Names chosen at run time, e.g. `RequireRole::new("admin")`.
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
    fn one(name: impl Into<Cow<'static, str>>) -> Self {
        Self(Arc::from(vec![name.into()]))
    }

    fn many<I, N>(names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: Into<Cow<'static, str>>,
    {
        Self(names.into_iter().map(Into::into).collect::<Vec<_>>().into())
    }
}

/// Declares a type naming one or more roles or scopes, for guards used as handler
/// arguments: `names!(pub Admin = "admin");`, `names!(Staff = ["admin", "support"]);`.
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
        impl $crate::guard::StaticNames for $ty {
            fn value() -> Self {
                $ty
            }
        }
    };
    ($vis:vis $ty:ident = $name:literal) => {
        $crate::names!($vis $ty = [$name]);
    };
}

fn deny() -> Result<(), Denied> {
    Err(Denied::default())
}

/// Principals holding every one of the roles (usually one).
#[derive(Clone, Debug)]
pub struct RequireRole<N = DynNames>(N);

impl RequireRole {
    /// Requires `role`.
    pub fn new(role: impl Into<Cow<'static, str>>) -> Self {
        Self(DynNames::one(role))
    }
}

impl<N: Names> Guard for RequireRole<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        let names = self.0.names();
        if !names.is_empty() && names.iter().all(|r| p.has_role(r)) {
            Ok(())
        } else {
            deny()
        }
    }
}

/// Principals holding at least one of the roles.
#[derive(Clone, Debug)]
pub struct RequireAnyRole<N = DynNames>(N);

impl RequireAnyRole {
    /// Requires one of `roles`.
    pub fn new<I, R>(roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<Cow<'static, str>>,
    {
        Self(DynNames::many(roles))
    }
}

impl<N: Names> Guard for RequireAnyRole<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        if self.0.names().iter().any(|r| p.has_role(r)) {
            Ok(())
        } else {
            deny()
        }
    }
}

/// Any machine, and users holding one of the roles: "users with role X, or any machine".
#[derive(Clone, Debug)]
pub struct RequireRoleOrMachine<N = DynNames>(N);

impl RequireRoleOrMachine {
    /// Machines, and users holding `role`.
    pub fn new(role: impl Into<Cow<'static, str>>) -> Self {
        Self(DynNames::one(role))
    }
}

impl<N: Names> Guard for RequireRoleOrMachine<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        if p.is_machine() || self.0.names().iter().any(|r| p.has_role(r)) {
            Ok(())
        } else {
            deny()
        }
    }
}

/// Principals granted every one of the scopes (usually one).
#[derive(Clone, Debug)]
pub struct RequireScope<N = DynNames>(N);

impl RequireScope {
    /// Requires `scope`.
    ///
    /// # Panics
    /// If `scope` is not an RFC 6749 §3.3 scope token (printable ASCII without space, `"`
    /// or `\`): it could not be named in the `WWW-Authenticate` challenge. Such a scope is a
    /// mistake in the code, found when the router is built (as axum's invalid route paths
    /// are); scopes read from configuration go through [`try_new`](Self::try_new).
    pub fn new(scope: impl Into<Cow<'static, str>>) -> Self {
        match Self::try_new(scope) {
            Ok(guard) => guard,
            Err(e) => panic!("{e}"),
        }
    }

    /// Requires `scope`, or says why it cannot be a scope.
    pub fn try_new(scope: impl Into<Cow<'static, str>>) -> Result<Self, ConfigError> {
        Self::try_all([scope])
    }

    /// Requires every one of `scopes`.
    ///
    /// # Panics
    /// As [`new`](Self::new), for any of `scopes`.
    pub fn all<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        match Self::try_all(scopes) {
            Ok(guard) => guard,
            Err(e) => panic!("{e}"),
        }
    }

    /// Requires every one of `scopes`, or says which one cannot be a scope.
    pub fn try_all<I, S>(scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        let names = DynNames::many(scopes);
        if let Some(bad) = names.0.iter().find(|s| !is_scope_token(s)) {
            return Err(ConfigError::InvalidScope(bad.clone().into_owned()));
        }
        Ok(Self(names))
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

impl<N: Names> Guard for RequireScope<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        let names = self.0.names();
        if !names.is_empty() && names.iter().all(|s| p.has_scope(s)) {
            Ok(())
        } else {
            Err(Denied {
                required_scope: Some(
                    names
                        .iter()
                        .map(|s| s.as_ref())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            })
        }
    }
}

/// Machines only.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequireMachine;

impl Guard for RequireMachine {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        if p.is_machine() {
            Ok(())
        } else {
            deny()
        }
    }
}

/// Users (people) only.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequireUser;

impl Guard for RequireUser {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        if p.is_user() {
            Ok(())
        } else {
            deny()
        }
    }
}

/// Passes when any of the tuple's guards passes.
#[derive(Clone, Debug)]
pub struct AnyOf<T>(pub T);

/// Passes when all of the tuple's guards pass; refuses with the first refusal.
#[derive(Clone, Debug)]
pub struct AllOf<T>(pub T);

macro_rules! tuple_guards {
    ($($g:ident),+) => {
        impl<$($g: Guard),+> Guard for AnyOf<($($g,)+)> {
            #[allow(non_snake_case)]
            fn check(&self, p: &Principal) -> Result<(), Denied> {
                let ($($g,)+) = &self.0;
                let mut scopes: Vec<String> = Vec::new();
                $(
                    match $g.check(p) {
                        Ok(()) => return Ok(()),
                        Err(d) => scopes.extend(d.required_scope),
                    }
                )+
                Err(Denied {
                    required_scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
                })
            }
        }
        impl<$($g: Guard),+> Guard for AllOf<($($g,)+)> {
            #[allow(non_snake_case)]
            fn check(&self, p: &Principal) -> Result<(), Denied> {
                let ($($g,)+) = &self.0;
                $( $g.check(p)?; )+
                Ok(())
            }
        }
        impl<$($g: StaticGuard),+> StaticGuard for AnyOf<($($g,)+)> {
            fn build() -> Self {
                AnyOf(($($g::build(),)+))
            }
        }
        impl<$($g: StaticGuard),+> StaticGuard for AllOf<($($g,)+)> {
            fn build() -> Self {
                AllOf(($($g::build(),)+))
            }
        }
    };
}

tuple_guards!(A, B);
tuple_guards!(A, B, C);
tuple_guards!(A, B, C, D);

impl StaticGuard for RequireMachine {
    fn build() -> Self {
        RequireMachine
    }
}

impl StaticGuard for RequireUser {
    fn build() -> Self {
        RequireUser
    }
}

macro_rules! static_named_guard {
    ($($guard:ident),+) => {$(
        impl<N: StaticNames> StaticGuard for $guard<N> {
            fn build() -> Self {
                $guard(N::value())
            }
        }
    )+};
}

static_named_guard!(
    RequireRole,
    RequireAnyRole,
    RequireRoleOrMachine,
    RequireScope
);

/// Runs `guard` against the request's principal.
fn run_guard<G: Guard>(guard: &G, extensions: &http::Extensions) -> Result<(), AuthRejection> {
    let principal = principal_from(extensions)?;
    guard.check(&principal).map_err(|denied| {
        crate::observe::rejected("guard_refused", 403);
        AuthRejection::with_renderer(
            RejectionKind::InsufficientScope {
                scope: denied.required_scope,
            },
            renderer_from(extensions),
        )
    })
}

/// The `route_layer` form of a guard: checks before the inner service runs.
#[derive(Clone, Debug)]
pub struct GuardService<G, S> {
    guard: G,
    inner: S,
}

impl<G, S, B> Service<Request<B>> for GuardService<G, S>
where
    G: Guard,
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<std::future::Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match run_guard(&self.guard, request.extensions()) {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(rejection) => Either::Left(std::future::ready(Ok(rejection.into_response()))),
        }
    }
}

macro_rules! guard_layer_and_extractor {
    (@layer $ty:ty, [$($gen:tt)*]) => {
        impl<S, $($gen)*> Layer<S> for $ty {
            type Service = GuardService<Self, S>;
            fn layer(&self, inner: S) -> Self::Service {
                GuardService { guard: self.clone(), inner }
            }
        }
    };
    (@extract $ty:ty, [$($gen:tt)*]) => {
        impl<St: Send + Sync, $($gen)*> FromRequestParts<St> for $ty {
            type Rejection = AuthRejection;
            async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, AuthRejection> {
                let guard = <$ty as StaticGuard>::build();
                run_guard(&guard, &parts.extensions)?;
                Ok(guard)
            }
        }
    };
}

guard_layer_and_extractor!(@layer RequireRole<N>, [N: Names]);
guard_layer_and_extractor!(@layer RequireAnyRole<N>, [N: Names]);
guard_layer_and_extractor!(@layer RequireRoleOrMachine<N>, [N: Names]);
guard_layer_and_extractor!(@layer RequireScope<N>, [N: Names]);
guard_layer_and_extractor!(@layer RequireMachine, []);
guard_layer_and_extractor!(@layer RequireUser, []);
guard_layer_and_extractor!(@layer AnyOf<(A, B)>, [A: Guard, B: Guard]);
guard_layer_and_extractor!(@layer AnyOf<(A, B, C)>, [A: Guard, B: Guard, C: Guard]);
guard_layer_and_extractor!(@layer AnyOf<(A, B, C, D)>, [A: Guard, B: Guard, C: Guard, D: Guard]);
guard_layer_and_extractor!(@layer AllOf<(A, B)>, [A: Guard, B: Guard]);
guard_layer_and_extractor!(@layer AllOf<(A, B, C)>, [A: Guard, B: Guard, C: Guard]);
guard_layer_and_extractor!(@layer AllOf<(A, B, C, D)>, [A: Guard, B: Guard, C: Guard, D: Guard]);

guard_layer_and_extractor!(@extract RequireRole<N>, [N: StaticNames]);
guard_layer_and_extractor!(@extract RequireAnyRole<N>, [N: StaticNames]);
guard_layer_and_extractor!(@extract RequireRoleOrMachine<N>, [N: StaticNames]);
guard_layer_and_extractor!(@extract RequireScope<N>, [N: StaticNames]);
guard_layer_and_extractor!(@extract RequireMachine, []);
guard_layer_and_extractor!(@extract RequireUser, []);
guard_layer_and_extractor!(@extract AnyOf<(A, B)>, [A: StaticGuard, B: StaticGuard]);
guard_layer_and_extractor!(@extract AnyOf<(A, B, C)>, [A: StaticGuard, B: StaticGuard, C: StaticGuard]);
guard_layer_and_extractor!(@extract AllOf<(A, B)>, [A: StaticGuard, B: StaticGuard]);
guard_layer_and_extractor!(@extract AllOf<(A, B, C)>, [A: StaticGuard, B: StaticGuard, C: StaticGuard]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_must_be_scope_tokens() {
        for ok in [
            "read:reports",
            "api/read",
            "a!#[]~",
            "https://api.example.com/read",
        ] {
            assert!(RequireScope::try_new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "read reports",
            "caf\u{e9}",
            "a\"b",
            "a\\b",
            "tab\there",
            "nl\n",
        ] {
            match RequireScope::try_new(bad) {
                Ok(_) => panic!("accepted {bad:?}"),
                Err(e) => assert_eq!(e, ConfigError::InvalidScope(bad.to_owned())),
            }
        }
        assert!(RequireScope::try_all(["read", "bad scope"]).is_err());
    }

    #[test]
    #[should_panic(expected = "is not a scope")]
    fn a_scope_that_cannot_be_named_in_a_challenge_is_refused_when_the_guard_is_built() {
        let _ = RequireScope::new("read reports");
    }
}
