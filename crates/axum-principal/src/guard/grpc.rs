//! The gRPC form of guards: one layer holding a table from gRPC method
//! (`/package.Service/Method`) or whole service (`/package.Service/*`) to a [`Guard`].
//! tonic has no `route_layer`, and every method of every service goes through the same
//! stack of layers, so the guard of a call is looked up from its path here.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::Response;
use http::{Extensions, HeaderMap, Request};
use tower::{Layer, Service};

use super::layer::GuardFuture;
use super::{authorize, Denied, Guard};
use crate::principal::Principal;
use crate::rejection::AuthRejection;
use crate::ConfigError;

/// The health service (`grpc.health.v1`), open by default.
const HEALTH: &str = "grpc.health.v1.Health";
/// The prefix of the reflection services (`grpc.reflection.v1`, `v1alpha`), open by default.
const REFLECTION: &str = "grpc.reflection.";

/// A guard of the table, boxed: it answers in the protocol of the request.
type Check = Arc<dyn Fn(&HeaderMap, &Extensions) -> Result<(), AuthRejection> + Send + Sync>;

/// What a method asks of its caller.
#[derive(Clone)]
enum Rule {
    /// Nothing: no principal needed (health, reflection, what [`GrpcMethodGuards::open`]
    /// names).
    Open,
    /// A principal that the guard admits.
    Guarded(Check),
}

impl Rule {
    fn guarded<G: Guard>(guard: G) -> Self {
        Self::Guarded(Arc::new(move |headers, extensions| {
            authorize(&guard, headers, extensions)
        }))
    }
}

/// The guard that refuses every principal: an unlisted method, by default.
#[derive(Clone, Copy)]
struct Unlisted;

impl Guard for Unlisted {
    fn check(&self, _: &Principal) -> Result<(), Denied> {
        Err(Denied::default())
    }
}

/// Guards per gRPC method, as a layer inside [`AuthLayer`](crate::AuthLayer) (which must
/// then be [`allow_anonymous`](crate::AuthLayer::allow_anonymous) for the open methods to
/// be reachable without a token):
///
/// * `/package.Service/Method` names one method, `/package.Service/*` every method of a
///   service; a method's own entry wins over its service's;
/// * the health service (`/grpc.health.v1.Health/*`) and the reflection services
///   (`/grpc.reflection.…/*`) are **open** by default: answered without a principal, so
///   probes need no token. [`close_health`](Self::close_health) and
///   [`close_reflection`](Self::close_reflection) close them (they then follow the table
///   like any other service);
/// * a method in **no entry is refused** (7 `PERMISSION_DENIED`, after 16
///   `UNAUTHENTICATED` when there is no principal), so that a method added to a service
///   later is not exposed by mistake; [`allow_unlisted`](Self::allow_unlisted) lets any
///   principal call them instead;
/// * a guard that refuses answers 7 `PERMISSION_DENIED` with the `insufficient_scope`
///   challenge as metadata; no principal, 16 `UNAUTHENTICATED` with the layer's challenge;
///   no auth layer in front, 13 `INTERNAL`.
///
/// ```
/// use axum_principal::{GrpcMethodGuards, RequireMachine, RequirePrincipal, RequireRoleOrMachine};
///
/// let guards = GrpcMethodGuards::new()
///     .method("/principal.v1.Principal/WhoAmI", RequirePrincipal)
///     .method("/principal.v1.Principal/Admin", RequireRoleOrMachine::new("admin"))
///     .method("/principal.v1.Principal/MachineOnly", RequireMachine);
/// # let _ = guards;
/// ```
///
/// The layer reads the path of the request, so it belongs in front of the gRPC services
/// only; paths that are not gRPC methods (`/healthz`) are unlisted like any other.
#[derive(Clone)]
pub struct GrpcMethodGuards {
    table: Arc<Table>,
}

#[derive(Clone)]
struct Table {
    /// By full path, `/package.Service/Method`.
    methods: HashMap<String, Rule>,
    /// By service name, `package.Service`.
    services: HashMap<String, Rule>,
    health_open: bool,
    reflection_open: bool,
    /// What a method in no entry asks: a principal, and then [`Unlisted`] or not.
    unlisted: Rule,
}

impl Default for GrpcMethodGuards {
    fn default() -> Self {
        Self::new()
    }
}

impl GrpcMethodGuards {
    /// An empty table: health and reflection open, every other method refused.
    pub fn new() -> Self {
        Self {
            table: Arc::new(Table {
                methods: HashMap::new(),
                services: HashMap::new(),
                health_open: true,
                reflection_open: true,
                unlisted: Rule::guarded(Unlisted),
            }),
        }
    }

    /// Runs `guard` for `pattern`: `/package.Service/Method` or `/package.Service/*`. A
    /// second entry for the same pattern replaces the first.
    ///
    /// # Panics
    /// If `pattern` is neither form: a mistake in the code, found when the server is built
    /// (as axum's invalid route paths are); patterns read from configuration go through
    /// [`try_method`](Self::try_method).
    pub fn method<G: Guard>(self, pattern: &str, guard: G) -> Self {
        match self.try_method(pattern, guard) {
            Ok(guards) => guards,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`method`](Self::method), or why `pattern` is not a method pattern.
    pub fn try_method<G: Guard>(self, pattern: &str, guard: G) -> Result<Self, ConfigError> {
        self.with(pattern, Rule::guarded(guard))
    }

    /// Answers `pattern` without a principal, as health is by default.
    ///
    /// # Panics
    /// As [`method`](Self::method); [`try_open`](Self::try_open) does not.
    pub fn open(self, pattern: &str) -> Self {
        match self.try_open(pattern) {
            Ok(guards) => guards,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`open`](Self::open), or why `pattern` is not a method pattern.
    pub fn try_open(self, pattern: &str) -> Result<Self, ConfigError> {
        self.with(pattern, Rule::Open)
    }

    /// The health service needs a principal: it follows the table like any other.
    pub fn close_health(mut self) -> Self {
        Arc::make_mut(&mut self.table).health_open = false;
        self
    }

    /// The reflection services need a principal: they follow the table like any other.
    pub fn close_reflection(mut self) -> Self {
        Arc::make_mut(&mut self.table).reflection_open = false;
        self
    }

    /// A method in no entry is let through for any principal (and still refused without
    /// one), instead of being refused.
    pub fn allow_unlisted(mut self) -> Self {
        Arc::make_mut(&mut self.table).unlisted = Rule::guarded(super::RequirePrincipal);
        self
    }

    fn with(mut self, pattern: &str, rule: Rule) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::InvalidGrpcMethod(pattern.to_owned());
        let (service, method) = pattern
            .strip_prefix('/')
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(invalid)?;
        if !is_name(service) || !(method == "*" || is_name(method)) {
            return Err(invalid());
        }
        let table = Arc::make_mut(&mut self.table);
        if method == "*" {
            table.services.insert(service.to_owned(), rule);
        } else {
            table.methods.insert(pattern.to_owned(), rule);
        }
        Ok(self)
    }

    /// What a call of `path` asks of its caller: `None` when it is open.
    fn rule(&self, path: &str) -> Option<&Check> {
        fn guarded(rule: &Rule) -> Option<&Check> {
            match rule {
                Rule::Open => None,
                Rule::Guarded(check) => Some(check),
            }
        }
        let table = &self.table;
        if let Some(rule) = table.methods.get(path) {
            return guarded(rule);
        }
        let service = path
            .strip_prefix('/')
            .and_then(|rest| rest.split_once('/'))
            .map(|(service, _)| service);
        if let Some(service) = service {
            if let Some(rule) = table.services.get(service) {
                return guarded(rule);
            }
            if (table.health_open && service == HEALTH)
                || (table.reflection_open && service.starts_with(REFLECTION))
            {
                return None;
            }
        }
        guarded(&table.unlisted)
    }

    /// The check of one call: `Ok` to pass it on.
    fn check(
        &self,
        path: &str,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<(), AuthRejection> {
        match self.rule(path) {
            None => Ok(()),
            Some(check) => check(headers, extensions),
        }
    }
}

/// A protobuf package, service or method name: letters, digits, `_` and `.`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

impl fmt::Debug for GrpcMethodGuards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |rule: &Rule| match rule {
            Rule::Open => "open",
            Rule::Guarded(_) => "guarded",
        };
        let mut methods: Vec<_> = (self.table.methods.iter())
            .map(|(path, rule)| (path.clone(), kind(rule)))
            .chain(
                (self.table.services.iter())
                    .map(|(service, rule)| (format!("/{service}/*"), kind(rule))),
            )
            .collect();
        methods.sort();
        f.debug_struct("GrpcMethodGuards")
            .field("methods", &methods)
            .field("health_open", &self.table.health_open)
            .field("reflection_open", &self.table.reflection_open)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for GrpcMethodGuards {
    type Service = GrpcMethodGuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMethodGuardService {
            guards: self.clone(),
            inner,
        }
    }
}

/// The service made by [`GrpcMethodGuards`]: refuses, or calls the inner service unchanged.
#[derive(Clone, Debug)]
pub struct GrpcMethodGuardService<S> {
    guards: GrpcMethodGuards,
    inner: S,
}

impl<S, B> Service<Request<B>> for GrpcMethodGuardService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = GuardFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // Synchronous, as GuardService: the service polled ready is the one called.
        match self.guards.check(
            request.uri().path(),
            request.headers(),
            request.extensions(),
        ) {
            Ok(()) => GuardFuture::called(self.inner.call(request)),
            Err(rejection) => GuardFuture::refused(rejection),
        }
    }
}
