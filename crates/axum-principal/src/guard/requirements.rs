//! [`Requirements`]: what a guard asks of a principal, in a form a document can state
//! (OpenAPI's `security`, the `x-required-roles` extension). It describes a guard; it never
//! decides a request (that stays [`Guard::check`](super::Guard::check)).

use std::collections::BTreeSet;

use crate::classify::Kind;

/// What a guard requires, as alternatives: a principal that meets **any one**
/// [`Requirement`] passes. A guard that reports nothing
/// ([`Requirements::any_principal`], the default) asks only for a valid token; a guard
/// that can admit nobody (an empty list of names) has no alternatives
/// ([`Requirements::nobody`]).
///
/// ```
/// use axum_principal::guard::Requirements;
/// use axum_principal::{Guard, RequireMachine, RequireRole, RequireScope};
///
/// let guard = RequireRole::new("ops").or(RequireMachine).and(RequireScope::new("ops:write"));
/// let alternatives = guard.requirements();
/// assert_eq!(alternatives.alternatives().len(), 2);
/// assert!(alternatives.alternatives().iter().all(|a| a.scopes().eq(["ops:write"])));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements {
    alternatives: Vec<Requirement>,
}

/// One way to pass a guard: every scope, every role and, when set, the kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requirement {
    scopes: BTreeSet<String>,
    roles: BTreeSet<String>,
    kind: Option<Kind>,
}

impl Default for Requirements {
    fn default() -> Self {
        Self::any_principal()
    }
}

impl Requirements {
    /// Any verified principal: what a guard that reports nothing requires.
    pub fn any_principal() -> Self {
        Self {
            alternatives: vec![Requirement::default()],
        }
    }

    /// No principal passes (a guard with an empty list of names).
    pub fn nobody() -> Self {
        Self {
            alternatives: Vec::new(),
        }
    }

    /// Every one of `scopes` (none: [`nobody`](Self::nobody), as the guards fail closed).
    pub fn all_scopes<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: BTreeSet<String> = scopes.into_iter().map(Into::into).collect();
        if scopes.is_empty() {
            return Self::nobody();
        }
        Self::one(Requirement {
            scopes,
            ..Requirement::default()
        })
    }

    /// Every one of `roles` (none: [`nobody`](Self::nobody)).
    pub fn all_roles<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles: BTreeSet<String> = roles.into_iter().map(Into::into).collect();
        if roles.is_empty() {
            return Self::nobody();
        }
        Self::one(Requirement {
            roles,
            ..Requirement::default()
        })
    }

    /// At least one of `roles` (none: [`nobody`](Self::nobody)).
    pub fn any_role<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        roles
            .into_iter()
            .fold(Self::nobody(), |any, role| any.or(Self::all_roles([role])))
    }

    /// Principals of this kind.
    pub fn kind(kind: Kind) -> Self {
        Self::one(Requirement {
            kind: Some(kind),
            ..Requirement::default()
        })
    }

    fn one(requirement: Requirement) -> Self {
        Self {
            alternatives: vec![requirement],
        }
    }

    /// Both: each alternative of `self` joined with each of `other` (a user that must also
    /// be a machine is no alternative).
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        let mut alternatives = Vec::new();
        for a in &self.alternatives {
            for b in &other.alternatives {
                if let Some(joined) = a.join(b) {
                    alternatives.push(joined);
                }
            }
        }
        Self { alternatives }.simplified()
    }

    /// Either.
    #[must_use]
    pub fn or(mut self, other: Self) -> Self {
        self.alternatives.extend(other.alternatives);
        self.simplified()
    }

    /// The alternatives, none implied by another, in a stable order.
    pub fn alternatives(&self) -> &[Requirement] {
        &self.alternatives
    }

    /// Whether any principal passes ([`any_principal`](Self::any_principal)).
    pub fn is_any_principal(&self) -> bool {
        self.alternatives.iter().any(Requirement::is_empty)
    }

    /// Drops duplicates and alternatives implied by a weaker one (`a or (a and b)` is `a`).
    fn simplified(self) -> Self {
        let mut kept: Vec<Requirement> = Vec::with_capacity(self.alternatives.len());
        for candidate in self.alternatives {
            if kept.iter().any(|k| k.is_implied_by(&candidate)) {
                continue;
            }
            kept.retain(|k| !candidate.is_implied_by(k));
            kept.push(candidate);
        }
        Self { alternatives: kept }
    }
}

impl Requirement {
    /// The scopes required (all of them).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(String::as_str)
    }

    /// The roles required (all of them).
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(String::as_str)
    }

    /// The kind required, if any.
    pub fn kind(&self) -> Option<Kind> {
        self.kind
    }

    /// Nothing beyond a valid token.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.roles.is_empty() && self.kind.is_none()
    }

    /// Whether a principal meeting `other` always meets `self` (`self` is the weaker).
    fn is_implied_by(&self, other: &Requirement) -> bool {
        self.scopes.is_subset(&other.scopes)
            && self.roles.is_subset(&other.roles)
            && (self.kind.is_none() || self.kind == other.kind)
    }

    fn join(&self, other: &Requirement) -> Option<Requirement> {
        let kind = match (self.kind, other.kind) {
            (Some(a), Some(b)) if a != b => return None,
            (a, b) => a.or(b),
        };
        Some(Requirement {
            scopes: self.scopes.union(&other.scopes).cloned().collect(),
            roles: self.roles.union(&other.roles).cloned().collect(),
            kind,
        })
    }
}
