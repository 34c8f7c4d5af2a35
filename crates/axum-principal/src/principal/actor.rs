//! [`Actor`]: the party acting for the subject of a delegated token (RFC 8693 §4.1, the
//! `act` claim).
//!
//! A token with an `act` claim is *delegated*: its `sub` is the party on whose behalf the
//! call is made (a user, usually), and `act` names the party making it (a service, an agent).
//! A nested `act` inside `act` names a prior actor: `{"sub":"alice","act":{"sub":"svc-b",
//! "act":{"sub":"svc-a"}}}` is svc-b acting now, for alice, on the authority svc-a had
//! before. The outermost `act` is the current actor.
//!
//! Read strictly, because an actor is an authorization input ([`RequireActor`],
//! [`RequireDirect`]): an `act` that is not a JSON object, lacks a non-empty string `sub`,
//! has a `client_id` or `iss` that is not a string, or nests deeper than [`MAX_DEPTH`] makes
//! the token invalid (401 `invalid_actor` or `actor_chain_too_deep`), never "not delegated".
//!
//! [`RequireActor`]: crate::RequireActor
//! [`RequireDirect`]: crate::RequireDirect

use serde::ser::SerializeStruct;
use serde::Serialize;
use serde_json::Value;

use crate::rejection::InvalidToken;
use crate::verify::ClaimRead;

/// The deepest actor chain accepted: `act` with at most four nested `act`s below it.
pub const MAX_DEPTH: usize = 5;

/// The acting party of a delegated token (RFC 8693 §4.1 `act`), with its own prior actor
/// for a chain.
///
/// An actor has no [`Kind`](crate::Kind): the issuer's classification rules read whole
/// tokens, and `act` carries only identifiers. [`Principal::kind`](crate::Principal::kind)
/// stays the subject's. Serialises as `{"subject","client_id","actor"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    subject: String,
    client_id: Option<String>,
    issuer: Option<String>,
    actor: Option<Box<Actor>>,
}

impl Actor {
    /// The actor's `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The actor's `client_id`, when `act` carries one.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The actor's `iss`, when `act` carries one (without it, the actor's `sub` is in the
    /// token issuer's namespace).
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The prior actor (a nested `act`), for a chain of delegations.
    pub fn actor(&self) -> Option<&Actor> {
        self.actor.as_deref()
    }

    /// This actor and every prior one, the current actor first.
    pub fn chain(&self) -> impl Iterator<Item = &Actor> {
        std::iter::successors(Some(self), |a| a.actor())
    }

    /// Reads the `act` claim of verified claims: `Ok(None)` when there is none.
    pub(crate) fn from_claims<C: ClaimRead + ?Sized>(
        claims: &C,
    ) -> Result<Option<Self>, InvalidToken> {
        // Only delegated tokens carry `act`: it alone is decoded into a `Value`.
        claims
            .claim("act")
            .map(|act| Self::parse(&act.into_value(), 1))
            .transpose()
    }

    fn parse(value: &Value, depth: usize) -> Result<Self, InvalidToken> {
        if depth > MAX_DEPTH {
            return Err(InvalidToken::ActorChainTooDeep);
        }
        let Value::Object(act) = value else {
            return Err(InvalidToken::InvalidActor);
        };
        let string = |name: &str| match act.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(InvalidToken::InvalidActor),
        };
        let subject = string("sub")?
            .filter(|s| !s.is_empty())
            .ok_or(InvalidToken::InvalidActor)?;
        let actor = act
            .get("act")
            .map(|inner| Self::parse(inner, depth + 1).map(Box::new))
            .transpose()?;
        Ok(Self {
            subject,
            client_id: string("client_id")?,
            issuer: string("iss")?,
            actor,
        })
    }
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Actor", 3)?;
        s.serialize_field("subject", &self.subject)?;
        s.serialize_field("client_id", &self.client_id)?;
        s.serialize_field("actor", &self.actor)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(claims: Value) -> Result<Option<Actor>, InvalidToken> {
        Actor::from_claims(claims.as_object().expect("claims are an object"))
    }

    fn nested(depth: usize) -> Value {
        (1..depth).rev().fold(
            json!({"sub": format!("a{depth}")}),
            |inner, d| json!({"sub": format!("a{d}"), "act": inner}),
        )
    }

    #[test]
    fn act_shapes() {
        use InvalidToken::{ActorChainTooDeep as Deep, InvalidActor as Bad};
        let cases: Vec<(Value, Result<Option<&str>, InvalidToken>)> = vec![
            (json!({"sub": "alice"}), Ok(None)),
            (json!({"act": {"sub": "svc"}}), Ok(Some("svc"))),
            (
                json!({"act": {"sub": "svc", "client_id": "c", "iss": "https://i"}}),
                Ok(Some("svc")),
            ),
            (
                json!({"act": {"sub": "b", "act": {"sub": "a"}}}),
                Ok(Some("b")),
            ),
            (json!({"act": nested(5)}), Ok(Some("a1"))),
            (json!({"act": nested(6)}), Err(Deep)),
            (json!({"act": nested(50)}), Err(Deep)),
            (json!({"act": {}}), Err(Bad)),
            (json!({"act": {"client_id": "svc"}}), Err(Bad)),
            (json!({"act": {"sub": ""}}), Err(Bad)),
            (json!({"act": {"sub": 7}}), Err(Bad)),
            (json!({"act": {"sub": null}}), Err(Bad)),
            (json!({"act": {"sub": "svc", "client_id": 1}}), Err(Bad)),
            (json!({"act": {"sub": "svc", "iss": ["x"]}}), Err(Bad)),
            (json!({"act": "svc"}), Err(Bad)),
            (json!({"act": ["svc"]}), Err(Bad)),
            (json!({"act": null}), Err(Bad)),
            (json!({"act": true}), Err(Bad)),
            (json!({"act": {"sub": "b", "act": "a"}}), Err(Bad)),
            (json!({"act": {"sub": "b", "act": {"nope": 1}}}), Err(Bad)),
        ];
        for (claims, expected) in cases {
            let got = read(claims.clone());
            let got = got.as_ref().map(|a| a.as_ref().map(Actor::subject));
            assert_eq!(got, expected.as_ref().map(|s| *s), "{claims}");
        }
    }

    #[test]
    fn a_chain_keeps_every_actor_and_serialises_as_the_contract_says() {
        let actor = read(
            json!({"act": {"sub": "b", "client_id": "cb", "iss": "https://x",
            "act": {"sub": "a"}}}),
        )
        .expect("a valid act")
        .expect("delegated");
        assert_eq!(actor.client_id(), Some("cb"));
        assert_eq!(actor.issuer(), Some("https://x"));
        let subjects: Vec<_> = actor.chain().map(Actor::subject).collect();
        assert_eq!(subjects, ["b", "a"]);
        assert_eq!(
            serde_json::to_value(&actor).expect("serialises"),
            json!({"subject": "b", "client_id": "cb",
                   "actor": {"subject": "a", "client_id": null, "actor": null}})
        );
    }
}
