//! [`Policy`]: what the configuration says about judging a principal once its token has
//! verified — how its scopes satisfy required ones, and the clock and leeway against which
//! its `auth_time` is judged. One per configuration, shared by every principal it makes.

use std::fmt;
use std::sync::Arc;

use crate::clock::{unix_seconds, Clock, SystemClock};
use crate::scope::ScopeMatcher;

/// How a principal is judged after verification (see the [module](self) documentation).
pub(crate) struct Policy {
    /// How granted scopes satisfy required ones.
    pub(crate) scopes: ScopeMatcher,
    /// The clock-skew leeway of the configuration, also given to `auth_time`.
    pub(crate) leeway_secs: i64,
    /// The configuration's clock.
    pub(crate) clock: Arc<dyn Clock>,
}

impl Policy {
    /// Now, in seconds since the Unix epoch, by the configuration's clock.
    pub(crate) fn now_secs(&self) -> i64 {
        unix_seconds(self.clock.now())
    }
}

impl Default for Policy {
    /// Exact scopes, no leeway, the system clock: for a principal no configuration made.
    fn default() -> Self {
        Self {
            scopes: ScopeMatcher::exact(),
            leeway_secs: 0,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("scopes", &self.scopes)
            .field("leeway_secs", &self.leeway_secs)
            .finish_non_exhaustive()
    }
}
