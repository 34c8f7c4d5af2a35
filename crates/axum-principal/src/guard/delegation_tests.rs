//! The delegation guards (and what the kind guards do with a delegated token), as one table.

use serde_json::{json, Value};

use super::*;
use crate::classify::{Classification, ClassifiedBy, Kind};

const COLUMNS: [&str; 6] = [
    "alice herself",
    "svc-reporting for alice",
    "svc-reporting (iss of its own) for alice",
    "svc-other for alice",
    "svc-reporting for alice, after svc-other",
    "a machine itself",
];

fn principal(kind: Kind, claims: Value) -> Principal {
    super::tests::principal_of(kind, claims)
}

fn principals() -> [Principal; 6] {
    let u = Kind::User;
    [
        principal(u, json!({"sub": "alice"})),
        principal(
            u,
            json!({"sub": "alice", "act": {"sub": "svc-reporting", "client_id": "svc-reporting"}}),
        ),
        principal(
            u,
            json!({"sub": "alice", "act": {"sub": "svc-reporting", "client_id": "svc-reporting",
                "iss": "https://other-iss"}}),
        ),
        principal(
            u,
            json!({"sub": "alice", "act": {"sub": "svc-other", "client_id": "svc-other"}}),
        ),
        principal(
            u,
            json!({"sub": "alice", "act": {"sub": "svc-reporting", "client_id": "svc-reporting",
                "act": {"sub": "svc-other"}}}),
        ),
        principal(Kind::Machine, json!({"sub": "m", "client_id": "m"})),
    ]
}

type Check = Box<dyn Fn(&Principal) -> Result<(), Denied>>;

fn row<G: Guard>(guard: G) -> Check {
    Box::new(move |p| guard.check(p))
}

#[test]
fn delegation_guards_against_direct_and_delegated_principals() {
    let table: Vec<(&str, Check, [bool; 6])> = vec![
        (
            "RequireUser: the kind is the subject's, delegated or not",
            row(RequireUser),
            [true, true, true, true, true, false],
        ),
        (
            "RequireMachine",
            row(RequireMachine),
            [false, false, false, false, false, true],
        ),
        (
            "RequireDirect",
            row(RequireDirect),
            [true, false, false, false, false, true],
        ),
        (
            "RequireDirectUser",
            row(RequireDirectUser),
            [true, false, false, false, false, false],
        ),
        (
            "RequireActor::client_id(svc-reporting): the current actor only",
            row(RequireActor::client_id("svc-reporting")),
            [false, true, true, false, true, false],
        ),
        (
            "RequireActor::subject(svc-other): prior actors do not count",
            row(RequireActor::subject("svc-other")),
            [false, false, false, true, false, false],
        ),
        (
            "RequireActor with the token's issuer (act without iss)",
            row(RequireActor::client_id("svc-reporting").issuer("https://iss")),
            [false, true, false, false, true, false],
        ),
        (
            "RequireActor with the act's own iss",
            row(RequireActor::client_id("svc-reporting").issuer("https://other-iss")),
            [false, false, true, false, false, false],
        ),
        (
            "RequireActor naming nobody fails closed",
            row(RequireActor::default()),
            [false; 6],
        ),
        (
            "RequireDirect or RequireActor(svc-reporting)",
            row(RequireDirect.or(RequireActor::client_id("svc-reporting"))),
            [true, true, true, false, true, true],
        ),
    ];
    let principals = principals();
    for (name, check, expected) in table {
        for (i, p) in principals.iter().enumerate() {
            assert_eq!(check(p).is_ok(), expected[i], "{name} for {}", COLUMNS[i]);
        }
    }
}

#[test]
fn the_principal_reports_its_actor_and_profile() {
    let [direct, delegated, ..] = principals();
    assert!(!direct.is_delegated() && direct.actor().is_none());
    assert!(delegated.is_delegated());
    let actor = delegated.actor().expect("delegated");
    assert_eq!(
        (actor.subject(), actor.client_id()),
        ("svc-reporting", Some("svc-reporting"))
    );
    let body = serde_json::to_value(&delegated).expect("serialises");
    assert_eq!(body["subject"], "alice");
    assert_eq!(body["kind"], "user");
    assert_eq!(body["profile"], Value::Null);
    assert_eq!(
        body["actor"],
        json!({"subject": "svc-reporting", "client_id": "svc-reporting", "actor": null})
    );
    assert_eq!(
        serde_json::to_value(&direct).expect("serialises")["actor"],
        Value::Null
    );
}

#[test]
fn a_bad_act_claim_makes_the_token_invalid() {
    let claims = json!({"sub": "alice", "act": "svc"});
    let Value::Object(claims) = claims else {
        panic!("an object literal is an object");
    };
    let classification = Classification {
        kind: Kind::User,
        classified_by: ClassifiedBy::Default,
    };
    let err = Principal::from_claims("https://iss", claims, 0, classification, "roles").err();
    assert_eq!(err, Some(crate::rejection::InvalidToken::InvalidActor));
}
