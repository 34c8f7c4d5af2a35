//! How a granted scope satisfies a required one: the [`ScopeMatcher`], configured once
//! ([`AuthConfigBuilder::scope_matcher`](crate::AuthConfigBuilder::scope_matcher)) and
//! consulted by [`Principal::has_scope`](crate::Principal::has_scope), so by every scope
//! guard, and by [`challenge_scope`], which writes the `scope` of every challenge.
//!
//! Exact comparison is the default. Two options widen it, for issuers whose scopes form a
//! hierarchy (the MCP authorization spec asks servers to "account for scope hierarchies"):
//!
//! * **prefix wildcards**: a granted `files:*` satisfies `files:read` and `files:write:all`;
//! * an **implication table**: a granted `admin` satisfies whatever `admin` implies, and
//!   what that implies in turn.
//!
//! ```
//! use axum_principal::scope::ScopeMatcher;
//!
//! let matcher = ScopeMatcher::exact()
//!     .prefix_wildcards()
//!     .implies("admin", ["write"])
//!     .implies("write", ["read", "files:*"]);
//! assert!(matcher.grants(&["admin"], "read"));
//! assert!(matcher.grants(&["admin"], "files:delete"));
//! assert!(matcher.grants(&["files:*"], "files:read"));
//! assert!(!matcher.grants(&["read"], "write"));
//! assert!(!ScopeMatcher::exact().grants(&["files:*"], "files:read"));
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::error::ConfigError;

/// The scope a client asks for to get a refresh token (OpenID Connect Core §11). It says
/// nothing about this resource, so no challenge and no `scopes_supported` ever names it.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The separators after which a prefix wildcard may stand: `files:*`, `api/*`, `a.b.*`.
/// A bare `*`, or `read*`, is no wildcard: `read*` would grant `readwrite`.
const WILDCARD_SEPARATORS: [char; 3] = [':', '/', '.'];

/// Decides whether the scopes a token grants satisfy a required scope. Exact by default;
/// see the [module](self) documentation for the options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeMatcher {
    prefix_wildcards: bool,
    /// Each granted scope of the table → every scope it implies, directly or through
    /// others (itself left out).
    implied: BTreeMap<String, BTreeSet<String>>,
    /// The table as written, from which `implied` is recomputed.
    direct: BTreeMap<String, BTreeSet<String>>,
}

impl ScopeMatcher {
    /// Exact comparison: a required scope is granted only by the same scope.
    pub fn exact() -> Self {
        Self::default()
    }

    /// A granted scope ending in a separator (`:`, `/`, `.`) and `*` grants every longer
    /// scope that starts with what comes before the `*`: `files:*` grants `files:read`.
    /// A bare `*` and a `*` after another character (`read*`) stay plain names.
    pub fn prefix_wildcards(mut self) -> Self {
        self.prefix_wildcards = true;
        self
    }

    /// A granted `scope` grants every one of `implied` too, and what they imply in turn
    /// (`admin` ⊇ `write` ⊇ `read`). An implied scope may be a prefix wildcard when
    /// [`prefix_wildcards`](Self::prefix_wildcards) is on. Names are checked by
    /// [`AuthConfigBuilder::build`](crate::AuthConfigBuilder::build).
    pub fn implies<I, S>(mut self, scope: impl Into<String>, implied: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.direct
            .entry(scope.into())
            .or_default()
            .extend(implied.into_iter().map(Into::into));
        self.implied = closure(&self.direct);
        self
    }

    /// Whether the scopes in `granted` satisfy `required`.
    pub fn grants<S: AsRef<str>>(&self, granted: &[S], required: &str) -> bool {
        self.grants_any(granted, required)
    }

    /// [`grants`](Self::grants) for any list of scopes ([`Principal::scopes`](crate::Principal::scopes)).
    pub(crate) fn grants_any<I>(&self, granted: I, required: &str) -> bool
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        granted.into_iter().any(|g| {
            let g = g.as_ref();
            self.covers(g, required)
                || self
                    .implied
                    .get(g)
                    .is_some_and(|implied| implied.iter().any(|i| self.covers(i, required)))
        })
    }

    /// One granted scope against one required scope.
    fn covers(&self, granted: &str, required: &str) -> bool {
        if granted == required {
            return true;
        }
        if !self.prefix_wildcards {
            return false;
        }
        match granted.strip_suffix('*') {
            Some(prefix) if prefix.ends_with(WILDCARD_SEPARATORS) => {
                required.len() > prefix.len() && required.starts_with(prefix)
            }
            _ => false,
        }
    }

    /// Every name in the table must be a scope token.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        for (scope, implied) in &self.direct {
            check_scope_token(scope)?;
            for scope in implied {
                check_scope_token(scope)?;
            }
        }
        Ok(())
    }
}

/// What each scope implies, followed through the table (cycles end where they began).
fn closure(direct: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    direct
        .keys()
        .map(|root| {
            let mut seen = BTreeSet::new();
            let mut todo: Vec<&str> = vec![root];
            while let Some(scope) = todo.pop() {
                for next in direct.get(scope).into_iter().flatten() {
                    if next != root && seen.insert(next.clone()) {
                        todo.push(next);
                    }
                }
            }
            (root.clone(), seen)
        })
        .collect()
}

/// The `scope` parameter of a challenge (RFC 6750 §3): `required` in order, each once,
/// without [`OFFLINE_ACCESS`] and anything that is not a scope token; `None` when nothing
/// is left.
///
/// ```
/// use axum_principal::scope::challenge_scope;
///
/// assert_eq!(
///     challenge_scope(["mcp:tools", "read:reports", "offline_access", "mcp:tools"]),
///     Some("mcp:tools read:reports".to_owned())
/// );
/// assert_eq!(challenge_scope(["offline_access"]), None);
/// ```
pub fn challenge_scope<'a>(required: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut named: Vec<&str> = Vec::new();
    for scope in required.into_iter().flat_map(str::split_whitespace) {
        if scope != OFFLINE_ACCESS && is_scope_token(scope) && !named.contains(&scope) {
            named.push(scope);
        }
    }
    (!named.is_empty()).then(|| named.join(" "))
}

/// `scope` as a scope token, or the configuration error naming it.
pub(crate) fn check_scope_token(scope: &str) -> Result<(), ConfigError> {
    if is_scope_token(scope) {
        Ok(())
    } else {
        Err(ConfigError::InvalidScope(scope.to_owned()))
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_by_default() {
        let m = ScopeMatcher::exact();
        assert!(m.grants(&["read"], "read"));
        assert!(!m.grants(&["files:*"], "files:read"));
        assert!(!m.grants(&["admin"], "read"));
        assert!(!m.grants::<&str>(&[], "read"));
    }

    #[test]
    fn prefix_wildcards_need_a_separator_and_something_after_it() {
        let m = ScopeMatcher::exact().prefix_wildcards();
        assert!(m.grants(&["files:*"], "files:read"));
        assert!(m.grants(&["files:*"], "files:read:all"));
        assert!(m.grants(&["api/*"], "api/v1"));
        assert!(m.grants(&["a.b.*"], "a.b.c"));
        assert!(
            !m.grants(&["files:*"], "files:"),
            "nothing after the prefix"
        );
        assert!(!m.grants(&["files:*"], "filesystem"));
        assert!(!m.grants(&["read*"], "readwrite"), "no separator before *");
        assert!(
            !m.grants(&["*"], "anything"),
            "a bare * grants nothing else"
        );
        assert!(m.grants(&["*"], "*"));
        // A required wildcard is only granted by itself.
        assert!(!m.grants(&["files:read"], "files:*"));
    }

    #[test]
    fn implications_are_followed_and_cycles_end() {
        let m = ScopeMatcher::exact()
            .implies("admin", ["write"])
            .implies("write", ["read"])
            .implies("read", ["admin"]);
        assert!(m.grants(&["admin"], "read"));
        assert!(m.grants(&["write"], "read"));
        // The cycle back to admin is the table's own statement: read implies admin.
        assert!(m.grants(&["read"], "admin"));
        assert!(!m.grants(&["other"], "read"));
        let m = ScopeMatcher::exact().implies("admin", ["read"]);
        assert!(!m.grants(&["read"], "admin"), "implication is one way");
    }

    #[test]
    fn an_implied_wildcard_needs_the_wildcard_option() {
        let table = ScopeMatcher::exact().implies("admin", ["files:*"]);
        assert!(!table.grants(&["admin"], "files:read"));
        assert!(table
            .clone()
            .prefix_wildcards()
            .grants(&["admin"], "files:read"));
    }

    #[test]
    fn table_names_must_be_scope_tokens() {
        let bad = ScopeMatcher::exact().implies("admin", ["has space"]);
        assert_eq!(
            bad.check(),
            Err(ConfigError::InvalidScope("has space".into()))
        );
        assert_eq!(ScopeMatcher::exact().implies("a", ["b"]).check(), Ok(()));
    }

    #[test]
    fn challenges_never_name_offline_access() {
        assert_eq!(
            challenge_scope(["a b", "offline_access", "b", "c"]),
            Some("a b c".to_owned())
        );
        assert_eq!(challenge_scope(["offline_access"]), None);
        assert_eq!(challenge_scope([]), None);
        assert_eq!(challenge_scope(["bad\"quote"]), None);
    }
}
