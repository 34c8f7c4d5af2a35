//! [`StepUp`]: what a step-up refusal (RFC 9470) asks the client for, and how its
//! challenge parameters are written.

use super::reason::InsufficientAuthentication;
use super::sanitize_quoted;

/// A refusal asking for a stronger or more recent sign-in (RFC 9470 §3): 401
/// `insufficient_user_authentication`, whose challenge names `acr_values` (any of them
/// will do, in order of preference) and `max_age` (seconds) when the route requires them.
/// Made by [`RequireAuthContext`](crate::guard::RequireAuthContext); a guard of your own
/// makes one with [`StepUp::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepUp {
    /// Why the sign-in is not enough.
    pub reason: InsufficientAuthentication,
    /// The authentication context classes that would do, in order of preference; empty:
    /// any.
    pub acr_values: Vec<String>,
    /// How recent the sign-in must be, in seconds; `None`: any age.
    pub max_age: Option<u64>,
}

impl StepUp {
    /// A step-up refusal for `reason`, naming no `acr_values` and no `max_age` yet.
    pub fn new(reason: InsufficientAuthentication) -> Self {
        Self {
            reason,
            acr_values: Vec::new(),
            max_age: None,
        }
    }

    /// Names the authentication context classes that would do.
    pub fn acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Names how recent the sign-in must be, in seconds.
    pub fn max_age(mut self, secs: u64) -> Self {
        self.max_age = Some(secs);
        self
    }

    /// `, acr_values="…", max_age=N` as RFC 9470 §3 writes them (`max_age` unquoted);
    /// empty when the refusal names neither.
    pub(super) fn challenge_params(&self) -> String {
        let mut params = String::new();
        let acr_values = sanitize_quoted(&self.acr_values.join(" "));
        if !acr_values.trim().is_empty() {
            params.push_str(&format!(", acr_values=\"{}\"", acr_values.trim()));
        }
        if let Some(max_age) = self.max_age {
            params.push_str(&format!(", max_age={max_age}"));
        }
        params
    }
}
