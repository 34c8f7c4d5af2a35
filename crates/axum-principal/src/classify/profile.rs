//! Entity profiles: the issuer-set `sub_profile` claim (draft-mora-oauth-entity-profiles),
//! which says outright what kind of entity the subject is.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::Kind;
use crate::verify::ClaimRead;

/// The claim that carries the subject's entity profile.
pub const SUB_PROFILE_CLAIM: &str = "sub_profile";

/// An entity profile the classifier recognises in a token's `sub_profile` claim. Any other
/// value, or a value that is not a JSON string, is no decision (the next rule decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntityProfile {
    /// `user`: a person → [`Kind::User`].
    User,
    /// `service`: a program acting for itself → [`Kind::Machine`].
    Service,
    /// `device`: a device → [`Kind::Machine`].
    Device,
    /// `ai_agent`: an AI agent → [`Kind::Machine`].
    AiAgent,
}

impl EntityProfile {
    /// The claim value: `user`, `service`, `device` or `ai_agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Service => "service",
            Self::Device => "device",
            Self::AiAgent => "ai_agent",
        }
    }

    /// The kind this profile means.
    pub fn kind(self) -> Kind {
        match self {
            Self::User => Kind::User,
            Self::Service | Self::Device | Self::AiAgent => Kind::Machine,
        }
    }

    /// The profile of a `sub_profile` value; `None` for anything else (exact, case-sensitive
    /// match).
    pub fn from_claim(value: &Value) -> Option<Self> {
        Self::from_name(value.as_str()?)
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "user" => Some(Self::User),
            "service" => Some(Self::Service),
            "device" => Some(Self::Device),
            "ai_agent" => Some(Self::AiAgent),
            _ => None,
        }
    }

    /// The profile the claims carry, if any.
    pub(super) fn of<C: ClaimRead + ?Sized>(claims: &C) -> Option<Self> {
        Self::from_name(&claims.str(SUB_PROFILE_CLAIM)?)
    }
}

impl fmt::Display for EntityProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
