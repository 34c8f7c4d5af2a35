//! The built-in guards: plain [`Guard`] implementations, run by the same generic layer and
//! extractor as a user's own guard.

use std::borrow::Cow;

use super::{Denied, DynName, DynNames, Guard, Name, Names, Requirements};
use crate::classify::Kind;
use crate::config::ConfigError;
use crate::principal::Principal;
use crate::rejection::StepUp;
use crate::scope::check_scope_token;

fn deny() -> Result<(), Denied> {
    Err(Denied::default())
}

fn allow_if(pass: bool) -> Result<(), Denied> {
    if pass {
        Ok(())
    } else {
        deny()
    }
}

/// Principals holding the role.
#[derive(Clone, Debug, Default)]
pub struct RequireRole<N = DynName>(N);

impl RequireRole {
    /// Requires `role`.
    pub fn new(role: impl Into<Cow<'static, str>>) -> Self {
        Self(DynName::new(role))
    }
}

impl<N: Name> Guard for RequireRole<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        allow_if(p.has_role(self.0.name()))
    }

    fn requirements(&self) -> Requirements {
        Requirements::all_roles([self.0.name()])
    }
}

/// Principals holding every one of the roles; an empty list refuses everyone.
#[derive(Clone, Debug, Default)]
pub struct RequireAllRoles<N = DynNames>(N);

impl RequireAllRoles {
    /// Requires all of `roles`.
    pub fn new<I, R>(roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<Cow<'static, str>>,
    {
        Self(DynNames::new(roles))
    }
}

impl<N: Names> Guard for RequireAllRoles<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        let names = self.0.names();
        allow_if(!names.is_empty() && names.iter().all(|r| p.has_role(r)))
    }

    fn requirements(&self) -> Requirements {
        Requirements::all_roles(self.0.names().iter().map(|r| r.as_ref()))
    }
}

/// Principals holding at least one of the roles; an empty list refuses everyone.
#[derive(Clone, Debug, Default)]
pub struct RequireAnyRole<N = DynNames>(N);

impl RequireAnyRole {
    /// Requires one of `roles`.
    pub fn new<I, R>(roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<Cow<'static, str>>,
    {
        Self(DynNames::new(roles))
    }
}

impl<N: Names> Guard for RequireAnyRole<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        allow_if(self.0.names().iter().any(|r| p.has_role(r)))
    }

    fn requirements(&self) -> Requirements {
        Requirements::any_role(self.0.names().iter().map(|r| r.as_ref()))
    }
}

/// Any machine, and users holding the role: "users with role X, or any machine". For a
/// list of roles, compose: `RequireAnyRole::new([..]).or(RequireMachine)`.
#[derive(Clone, Debug, Default)]
pub struct RequireRoleOrMachine<N = DynName>(N);

impl RequireRoleOrMachine {
    /// Machines, and users holding `role`.
    pub fn new(role: impl Into<Cow<'static, str>>) -> Self {
        Self(DynName::new(role))
    }
}

impl<N: Name> Guard for RequireRoleOrMachine<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        allow_if(p.is_machine() || p.has_role(self.0.name()))
    }

    fn requirements(&self) -> Requirements {
        Requirements::all_roles([self.0.name()]).or(Requirements::kind(Kind::Machine))
    }
}

/// Principals granted the scope.
#[derive(Clone, Debug, Default)]
pub struct RequireScope<N = DynName>(N);

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
        let scope = scope.into();
        check_scope_token(&scope)?;
        Ok(Self(DynName::new(scope)))
    }
}

impl<N: Name> Guard for RequireScope<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        let scope = self.0.name();
        if p.has_scope(scope) {
            Ok(())
        } else {
            Err(Denied::scope(scope))
        }
    }

    fn requirements(&self) -> Requirements {
        Requirements::all_scopes([self.0.name()])
    }
}

/// Principals granted every one of the scopes; an empty list refuses everyone.
#[derive(Clone, Debug, Default)]
pub struct RequireAllScopes<N = DynNames>(N);

impl RequireAllScopes {
    /// Requires every one of `scopes`.
    ///
    /// # Panics
    /// As [`RequireScope::new`], for any of `scopes`.
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        match Self::try_new(scopes) {
            Ok(guard) => guard,
            Err(e) => panic!("{e}"),
        }
    }

    /// Requires every one of `scopes`, or says which one cannot be a scope.
    pub fn try_new<I, S>(scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        let names = DynNames::new(scopes);
        for scope in names.names() {
            check_scope_token(scope)?;
        }
        Ok(Self(names))
    }
}

impl<N: Names> Guard for RequireAllScopes<N> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        let names = self.0.names();
        if !names.is_empty() && names.iter().all(|s| p.has_scope(s)) {
            Ok(())
        } else {
            Err(Denied::scope(
                names
                    .iter()
                    .map(|s| s.as_ref())
                    .collect::<Vec<_>>()
                    .join(" "),
            ))
        }
    }

    fn requirements(&self) -> Requirements {
        Requirements::all_scopes(self.0.names().iter().map(|s| s.as_ref()))
    }
}

/// Any principal, user or machine: what a strict [`AuthLayer`](crate::AuthLayer) already
/// asks of every request, for the places that let a request through without one (a route
/// behind an `allow_anonymous` layer, a method of [`GrpcMethodGuards`](super::GrpcMethodGuards)).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequirePrincipal;

impl Guard for RequirePrincipal {
    fn check(&self, _: &Principal) -> Result<(), Denied> {
        // `authorize` has found the principal before any guard runs.
        Ok(())
    }
}

/// Machines only.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequireMachine;

impl Guard for RequireMachine {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        allow_if(p.is_machine())
    }

    fn requirements(&self) -> Requirements {
        Requirements::kind(Kind::Machine)
    }
}

/// Users (people) only.
///
/// The kind is the **subject's**, so a delegated token whose subject is a user (a service
/// acting for alice through RFC 8693 token exchange) passes too: the call carries alice's
/// authority. To admit only a user's own token, use [`RequireDirectUser`] (or
/// `RequireUser.and(RequireDirect)`); to admit delegation by one service only,
/// `RequireUser.and(RequireDirect.or(RequireActor::client_id("reporting")))`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequireUser;

impl Guard for RequireUser {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        allow_if(p.is_user())
    }

    fn requirements(&self) -> Requirements {
        Requirements::kind(Kind::User)
    }
}

/// Principals acting for themselves: any valid token without an `act` claim. A delegated
/// token ([`Principal::is_delegated`]) is refused (403), whoever its subject and actor are.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequireDirect;

impl Guard for RequireDirect {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        allow_if(!p.is_delegated())
    }
}

/// A user's own token: a [`RequireUser`] that also refuses delegated tokens (as
/// [`RequireDirect`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequireDirectUser;

impl Guard for RequireDirectUser {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        allow_if(p.is_user() && !p.is_delegated())
    }

    fn requirements(&self) -> Requirements {
        Requirements::kind(Kind::User)
    }
}

/// Delegated tokens whose **current** actor (the outermost `act`) is one named party: "only
/// this service may act for users here". A token without an actor is refused; compose with
/// [`RequireDirect`] (`RequireDirect.or(RequireActor::client_id("reporting"))`) to admit
/// the subjects' own tokens as well.
///
/// The actor is matched on identifiers the issuer put into `act`: its `client_id`
/// ([`client_id`](Self::client_id)) or its `sub` ([`subject`](Self::subject)); and, with
/// [`issuer`](Self::issuer), on its issuer: the `iss` inside `act` when there is one, else
/// the token's own issuer (the actor then lives in the token issuer's namespace). Prior
/// actors of a chain are not consulted. A guard naming nothing (its `Default`) refuses
/// everyone.
#[derive(Clone, Debug, Default)]
pub struct RequireActor {
    client_id: Option<Cow<'static, str>>,
    subject: Option<Cow<'static, str>>,
    issuer: Option<Cow<'static, str>>,
}

impl RequireActor {
    /// The actor's `client_id` must be `client_id`.
    pub fn client_id(client_id: impl Into<Cow<'static, str>>) -> Self {
        Self {
            client_id: Some(client_id.into()),
            ..Self::default()
        }
    }

    /// The actor's `sub` must be `subject`.
    pub fn subject(subject: impl Into<Cow<'static, str>>) -> Self {
        Self {
            subject: Some(subject.into()),
            ..Self::default()
        }
    }

    /// The actor's issuer must also be `issuer` (the `iss` in `act`, else the token's).
    pub fn issuer(mut self, issuer: impl Into<Cow<'static, str>>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }
}

impl Guard for RequireActor {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        let Some(actor) = p.actor() else {
            return deny();
        };
        if self.client_id.is_none() && self.subject.is_none() {
            return deny();
        }
        let client_ok = self
            .client_id
            .as_deref()
            .is_none_or(|want| actor.client_id() == Some(want));
        let subject_ok = self
            .subject
            .as_deref()
            .is_none_or(|want| actor.subject() == want);
        let issuer_ok = self
            .issuer
            .as_deref()
            .is_none_or(|want| actor.issuer().unwrap_or(p.issuer()) == want);
        allow_if(client_ok && subject_ok && issuer_ok)
    }
}

/// Passes when any of the tuple's guards passes. A refusal names every scope that would
/// have let the caller in; when any of the guards asked for a step-up (RFC 9470), the
/// refusal is that step-up (a 401 the client can act on), naming every `acr` value that
/// would do (none when one of them accepts any) and the smallest `max_age`.
#[derive(Clone, Debug, Default)]
pub struct AnyOf<T>(pub T);

/// The refusal of an [`AnyOf`] whose guards all refused.
fn any_refused(refusals: Vec<Denied>) -> Denied {
    let mut scopes: Vec<String> = Vec::new();
    let mut step_up: Option<StepUp> = None;
    for denied in refusals {
        scopes.extend(denied.required_scope);
        step_up = match (step_up, denied.step_up) {
            (None, next) => next,
            (some, None) => some,
            (Some(mut merged), Some(next)) => {
                if merged.acr_values.is_empty() || next.acr_values.is_empty() {
                    merged.acr_values.clear();
                } else {
                    for value in next.acr_values {
                        if !merged.acr_values.contains(&value) {
                            merged.acr_values.push(value);
                        }
                    }
                }
                merged.max_age = match (merged.max_age, next.max_age) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                Some(merged)
            }
        };
    }
    Denied {
        required_scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
        step_up,
    }
}

/// Passes when all of the tuple's guards pass; refuses with the first refusal.
#[derive(Clone, Debug, Default)]
pub struct AllOf<T>(pub T);

/// `Guard` for tuples of 2 to 4 guards (the arity, not per guard type).
macro_rules! tuple_guards {
    ($($g:ident),+) => {
        impl<$($g: Guard),+> Guard for AnyOf<($($g,)+)> {
            #[allow(non_snake_case)]
            fn check(&self, p: &Principal) -> Result<(), Denied> {
                let ($($g,)+) = &self.0;
                let mut refusals = Vec::new();
                $(
                    match $g.check(p) {
                        Ok(()) => return Ok(()),
                        Err(denied) => refusals.push(denied),
                    }
                )+
                Err(any_refused(refusals))
            }

            #[allow(non_snake_case)]
            fn requirements(&self) -> Requirements {
                let ($($g,)+) = &self.0;
                Requirements::nobody()$(.or($g.requirements()))+
            }
        }
        impl<$($g: Guard),+> Guard for AllOf<($($g,)+)> {
            #[allow(non_snake_case)]
            fn check(&self, p: &Principal) -> Result<(), Denied> {
                let ($($g,)+) = &self.0;
                $( $g.check(p)?; )+
                Ok(())
            }

            #[allow(non_snake_case)]
            fn requirements(&self) -> Requirements {
                let ($($g,)+) = &self.0;
                Requirements::any_principal()$(.and($g.requirements()))+
            }
        }
    };
}

tuple_guards!(A, B);
tuple_guards!(A, B, C);
tuple_guards!(A, B, C, D);
