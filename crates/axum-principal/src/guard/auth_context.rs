//! [`RequireAuthContext`]: step-up authentication (RFC 9470). A route that needs a stronger
//! or a more recent sign-in than the token shows refuses with 401
//! `insufficient_user_authentication`, naming `acr_values` and `max_age`, so that the
//! client sends the user back to the authorization server with exactly those and retries
//! with the new token.

use std::borrow::Cow;
use std::time::Duration;

use super::{Denied, DynNames, Guard, Names};
use crate::config::ConfigError;
use crate::principal::Principal;
use crate::rejection::{InsufficientAuthentication, StepUp};
use crate::scope::is_scope_token;

/// Which authentication context classes (`acr`) a [`RequireAuthContext`] accepts.
pub trait AcrValues: Clone + Send + Sync + 'static {
    /// The accepted `acr` values, any one of them (exact comparison), in the order the
    /// challenge names them; `None`: any `acr`, or none (only `max_age` is required).
    fn acr_values(&self) -> Option<&[Cow<'static, str>]>;
}

/// A [`names!`](crate::names) type lists accepted values: `names!(Mfa = "urn:example:mfa")`.
impl<N: Names> AcrValues for N {
    fn acr_values(&self) -> Option<&[Cow<'static, str>]> {
        Some(self.names())
    }
}

/// No `acr` requirement, only a `max_age`: `RequireAuthContext<AnyAcr, MaxAgeSecs<300>>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnyAcr;

impl AcrValues for AnyAcr {
    fn acr_values(&self) -> Option<&[Cow<'static, str>]> {
        None
    }
}

/// Accepted `acr` values chosen at run time ([`RequireAuthContext::acr`],
/// [`RequireAuthContext::acr_ladder`], [`RequireAuthContext::fresh`]).
#[derive(Clone, Debug)]
pub struct DynAcr(Option<DynNames>);

impl AcrValues for DynAcr {
    fn acr_values(&self) -> Option<&[Cow<'static, str>]> {
        self.0.as_ref().map(Names::names)
    }
}

/// How recent a sign-in a [`RequireAuthContext`] requires.
pub trait MaxAge: Clone + Send + Sync + 'static {
    /// The oldest `auth_time` accepted, as an age; `None`: any age.
    fn max_age(&self) -> Option<Duration>;
}

impl MaxAge for Option<Duration> {
    fn max_age(&self) -> Option<Duration> {
        *self
    }
}

/// A `max_age` of `SECS` seconds as a type, for handler arguments:
/// `Guarded<RequireAuthContext<Mfa, MaxAgeSecs<300>>>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MaxAgeSecs<const SECS: u64>;

impl<const SECS: u64> MaxAge for MaxAgeSecs<SECS> {
    fn max_age(&self) -> Option<Duration> {
        Some(Duration::from_secs(SECS))
    }
}

/// Step-up authentication (RFC 9470): principals whose sign-in is strong enough (`acr` is
/// one of the accepted values, exact comparison) and recent enough (`auth_time` at most
/// `max_age` ago, with the configuration's leeway).
///
/// A token without `acr` (when values are required) or without `auth_time` (when a
/// `max_age` is), or with one of the wrong JSON type, never passes. A refusal is 401
/// `insufficient_user_authentication` whose challenge names `acr_values` and `max_age`
/// (plus `resource_metadata`, and the same under `DPoP` when DPoP is accepted); with
/// [`or`](Guard::or) another guard's pass still admits, and the step-up is what an
/// all-refused [`AnyOf`](super::AnyOf) answers. A guard requiring nothing (no `acr` values
/// and no `max_age`) refuses everyone (403), as an empty list does elsewhere.
///
/// ```
/// use std::time::Duration;
/// use axum::{routing::get, Router};
/// use axum_principal::guard::{MaxAgeSecs, RequireAuthContext};
/// use axum_principal::{guard_layer, names, Guarded};
///
/// names!(pub Mfa = "urn:example:mfa");
///
/// // As a handler argument, the requirement named by types:
/// async fn transfer(_: Guarded<RequireAuthContext<Mfa, MaxAgeSecs<300>>>) -> &'static str {
///     "done"
/// }
///
/// let app: Router = Router::new()
///     .route("/transfer", get(transfer))
///     .route("/settings", get(|| async { "settings" }))
///     // As a route layer, built at run time; an ordered ladder accepts a level or above:
///     .route_layer(guard_layer(
///         RequireAuthContext::acr_ladder(["urn:example:pwd", "urn:example:mfa"], "urn:example:pwd")
///             .max_age(Duration::from_secs(3600)),
///     ));
/// # let _ = app;
/// ```
#[derive(Clone, Debug, Default)]
pub struct RequireAuthContext<A = DynAcr, M = Option<Duration>> {
    acr: A,
    max_age: M,
}

impl RequireAuthContext {
    /// Requires an `acr` equal to one of `values` (any of them; the challenge names them in
    /// this order, the preferred first). An empty list refuses everyone.
    ///
    /// # Panics
    /// If a value cannot be named in the challenge (not printable ASCII without space, `"`
    /// or `\`): a mistake in the code, as for [`RequireScope::new`](crate::RequireScope::new).
    /// Values read from configuration go through [`try_acr`](Self::try_acr).
    pub fn acr<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        match Self::try_acr(values) {
            Ok(guard) => guard,
            Err(e) => panic!("{e}"),
        }
    }

    /// As [`acr`](Self::acr), or says which value cannot be named in a challenge.
    pub fn try_acr<I, S>(values: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        let names = DynNames::new(values);
        if let Some(bad) = names.names().iter().find(|v| !is_scope_token(v)) {
            return Err(ConfigError::InvalidAcrValue(bad.to_string()));
        }
        Ok(Self {
            acr: DynAcr(Some(names)),
            max_age: None,
        })
    }

    /// An ordered ladder of `acr` values, weakest first: requires `minimum` or any value
    /// above it (the challenge names them from `minimum` up).
    ///
    /// # Panics
    /// If `minimum` is not on the ladder, or a value cannot be named in a challenge;
    /// [`try_acr_ladder`](Self::try_acr_ladder) says so instead.
    pub fn acr_ladder<I, S>(ladder: I, minimum: &str) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        match Self::try_acr_ladder(ladder, minimum) {
            Ok(guard) => guard,
            Err(e) => panic!("{e}"),
        }
    }

    /// As [`acr_ladder`](Self::acr_ladder), or says what is wrong with the ladder.
    pub fn try_acr_ladder<I, S>(ladder: I, minimum: &str) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        let ladder: Vec<Cow<'static, str>> = ladder.into_iter().map(Into::into).collect();
        let start = ladder
            .iter()
            .position(|level| level == minimum)
            .ok_or_else(|| ConfigError::InvalidAcrValue(minimum.to_owned()))?;
        Self::try_acr(ladder.into_iter().skip(start))
    }

    /// Requires only a recent sign-in: any `acr` (or none), and an `auth_time` at most
    /// `max_age` ago.
    pub fn fresh(max_age: Duration) -> Self {
        Self {
            acr: DynAcr(None),
            max_age: Some(max_age),
        }
    }
}

impl<A> RequireAuthContext<A, Option<Duration>> {
    /// Also requires `auth_time` at most `max_age` ago (plus the configuration's leeway).
    /// The challenge names it in whole seconds.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }
}

impl<A: AcrValues, M: MaxAge> RequireAuthContext<A, M> {
    /// The refusal for `reason`, naming everything the route requires.
    fn refuse(&self, reason: InsufficientAuthentication) -> Result<(), Denied> {
        let mut step_up = StepUp::new(reason);
        if let Some(values) = self.acr.acr_values() {
            step_up = step_up.acr_values(values.iter().map(|v| v.to_string()));
        }
        if let Some(max_age) = self.max_age.max_age() {
            step_up = step_up.max_age(max_age.as_secs());
        }
        Err(Denied::step_up(step_up))
    }
}

impl<A: AcrValues, M: MaxAge> Guard for RequireAuthContext<A, M> {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        let values = self.acr.acr_values();
        let max_age = self.max_age.max_age();
        if values.is_none() && max_age.is_none() {
            return Err(Denied::default());
        }
        if let Some(values) = values {
            match p.acr() {
                None => return self.refuse(InsufficientAuthentication::AcrMissing),
                Some(acr) if !values.iter().any(|v| v == acr) => {
                    return self.refuse(InsufficientAuthentication::AcrNotAccepted)
                }
                Some(_) => {}
            }
        }
        if let Some(max_age) = max_age {
            let Some(auth_time) = p.auth_time_secs() else {
                return self.refuse(InsufficientAuthentication::AuthTimeMissing);
            };
            let (now, leeway) = p.with_policy(|policy| (policy.now_secs(), policy.leeway_secs));
            if auth_time > now.saturating_add(leeway) {
                return self.refuse(InsufficientAuthentication::AuthTimeInFuture);
            }
            let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            if now.saturating_sub(auth_time) > max_age.saturating_add(leeway) {
                return self.refuse(InsufficientAuthentication::AuthTimeTooOld);
            }
        }
        Ok(())
    }
}
