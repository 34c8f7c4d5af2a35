//! Unit tests of the principal and its extractors.

use super::*;
use serde_json::json;

fn user() -> Classification {
    Classification {
        kind: Kind::User,
        classified_by: ClassifiedBy::Default,
    }
}

fn build(claims: Value, roles_path: &str) -> Result<Principal, InvalidToken> {
    let claims = claims.as_object().cloned().unwrap_or_default();
    Principal::from_claims("https://iss", claims, 2_000_000_000, user(), roles_path)
}

#[test]
fn roles_from_paths_and_shapes() {
    let cases = [
        (
            json!({"sub":"u","roles":["a","b"]}),
            "roles",
            vec!["a", "b"],
        ),
        (json!({"sub":"u","roles":"admin"}), "roles", vec!["admin"]),
        (json!({"sub":"u"}), "roles", vec![]),
        (
            json!({"sub":"u","realm_access":{"roles":["admin"]}}),
            "realm_access.roles",
            vec!["admin"],
        ),
        (
            json!({"sub":"u","resource_access":{"api":{"roles":["r"]}}}),
            "resource_access.api.roles",
            vec!["r"],
        ),
        (
            json!({"sub":"u","https://example.com/roles":["x"]}),
            "https://example.com/roles",
            vec!["x"],
        ),
        (
            json!({"sub":"u","permissions":["read:all"]}),
            "permissions",
            vec!["read:all"],
        ),
        // Items with escapes in the JSON text are kept decoded, the others as spans.
        (
            json!({"sub":"u","roles":["plain","quo\"te","back\\slash","last"]}),
            "roles",
            vec!["plain", "quo\"te", "back\\slash", "last"],
        ),
    ];
    for (claims, path, expected) in cases {
        let p = build(claims.clone(), path).unwrap_or_else(|e| panic!("{claims}: {e:?}"));
        assert_eq!(p.roles().collect::<Vec<_>>(), expected, "{claims}");
    }
    assert_eq!(
        build(json!({"sub":"u","roles":[1]}), "roles").err(),
        Some(InvalidToken::InvalidClaim)
    );
    assert_eq!(
        build(json!({"sub":"u","roles":{"a":1}}), "roles").err(),
        Some(InvalidToken::InvalidClaim)
    );
}

#[test]
fn scopes_from_scope_or_scp() {
    let cases = [
        (
            json!({"sub":"u","scope":"openid  read:reports"}),
            vec!["openid", "read:reports"],
        ),
        (json!({"sub":"u","scope":["a","b"]}), vec!["a", "b"]),
        (json!({"sub":"u","scp":"a b"}), vec!["a", "b"]),
        (json!({"sub":"u","scp":["a"]}), vec!["a"]),
        (json!({"sub":"u","scope":"x","scp":["y"]}), vec!["x"]),
        (
            json!({"sub":"u","scope":"a\tb\"c  d"}),
            vec!["a", "b\"c", "d"],
        ),
        (json!({"sub":"u","scope":["a\"", "b"]}), vec!["a\"", "b"]),
        (json!({"sub":"u","scope":"  a  b "}), vec!["a", "b"]),
        // Unicode whitespace (here U+3000, not escaped in the JSON text) still separates.
        (
            json!({"sub":"u","scope":"a\u{3000}b c"}),
            vec!["a", "b", "c"],
        ),
        (json!({"sub":"u"}), vec![]),
    ];
    for (claims, expected) in cases {
        let p = build(claims.clone(), "roles").unwrap_or_else(|e| panic!("{claims}: {e:?}"));
        assert_eq!(p.scopes().collect::<Vec<_>>(), expected, "{claims}");
    }
    assert_eq!(
        build(json!({"sub":"u","scope":7}), "roles").err(),
        Some(InvalidToken::InvalidClaim)
    );
}

#[test]
fn client_id_follows_the_issuers_claim_names() {
    let cases = [
        (json!({"sub":"u","client_id":"c1","azp":"c2"}), Some("c1")),
        (json!({"sub":"u","azp":"c2"}), Some("c2")),
        (json!({"sub":"u","cid":"c3"}), Some("c3")),
        (json!({"sub":"u","appid":"c4"}), Some("c4")),
        (json!({"sub":"u"}), None),
    ];
    for (claims, expected) in cases {
        let p = build(claims.clone(), "roles").unwrap_or_else(|e| panic!("{claims}: {e:?}"));
        assert_eq!(p.client_id(), expected, "{claims}");
    }
}

#[test]
fn subject_is_required_unless_the_duende_rule_decided() {
    assert_eq!(
        build(json!({"client_id":"c"}), "roles").err(),
        Some(InvalidToken::MissingSubject)
    );
    assert_eq!(
        build(json!({"sub":""}), "roles").err(),
        Some(InvalidToken::MissingSubject)
    );
    let machine = Classification {
        kind: Kind::Machine,
        classified_by: ClassifiedBy::ClientIdWithoutSubject,
    };
    let claims = json!({"client_id":"svc"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let p = Principal::from_claims("https://iss", claims, 0, machine, "roles");
    assert_eq!(
        p.map(|p| p.subject().to_owned()).ok().as_deref(),
        Some("svc")
    );
}

#[test]
fn identity_includes_the_kind() {
    let claims = json!({"sub":"svc","client_id":"svc"})
        .as_object()
        .cloned()
        .expect("an object literal");
    let as_kind = |kind| {
        let classification = Classification {
            kind,
            classified_by: ClassifiedBy::Default,
        };
        Principal::from_claims("https://iss", claims.clone(), 0, classification, "roles")
            .expect("valid claims")
    };
    let (user, machine) = (as_kind(Kind::User), as_kind(Kind::Machine));
    assert_eq!(user.id().issuer(), machine.id().issuer());
    assert_eq!(user.id().subject(), machine.id().subject());
    assert_eq!(
        (user.id().kind(), machine.id().kind()),
        (Kind::User, Kind::Machine)
    );
    assert_ne!(user.id(), machine.id());
    assert_eq!(user.id(), as_kind(Kind::User).id());
    let ids: std::collections::HashSet<_> = [user.id(), machine.id()].into_iter().collect();
    assert_eq!(ids.len(), 2);
}

#[test]
fn serialises_to_the_me_shape() {
    let p = build(
        json!({"sub":"u","scope":"a","roles":["r"],"azp":"web","email":"x@y"}),
        "roles",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        serde_json::to_value(&p).ok(),
        Some(
            json!({"kind":"user","issuer":"https://iss","subject":"u","client_id":"web",
                    "roles":["r"],"scopes":["a"],"classified_by":"default:user",
                    "profile":null,"actor":null})
        )
    );
}

#[test]
fn step_up_claims_of_the_wrong_type_read_as_absent() {
    let p = |claims: Value| build(claims, "roles").expect("well-formed claims");
    let signed_in =
        p(json!({"sub":"u","acr":"urn:mfa","amr":["pwd","otp"],"auth_time":1_700_000_000}));
    assert_eq!(signed_in.acr(), Some("urn:mfa"));
    assert_eq!(signed_in.amr(), Some(vec!["pwd", "otp"]));
    assert_eq!(
        signed_in.auth_time(),
        Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    );
    let odd = p(json!({"sub":"u","acr":1,"amr":"pwd","auth_time":"1700000000"}));
    assert_eq!((odd.acr(), odd.amr(), odd.auth_time()), (None, None, None));
    let mixed = p(json!({"sub":"u","amr":["pwd",1],"auth_time":-5}));
    assert_eq!((mixed.amr(), mixed.auth_time()), (None, None));
    let fraction = p(json!({"sub":"u","auth_time":1_700_000_000.75}));
    assert_eq!(
        fraction.auth_time(),
        Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    );
    let absent = p(json!({"sub":"u"}));
    assert_eq!(
        (absent.acr(), absent.amr(), absent.auth_time()),
        (None, None, None)
    );
}

#[test]
fn strings_read_in_place_are_the_verified_values() {
    // `iss` equal to the issuer is read in place; absent, another value (an introspection
    // answer may omit it) or escaped, the issuer given is kept. Subject and client id alike.
    for text in [
        r#"{"sub":"u","iss":"https://iss","azp":"web"}"#,
        r#"{"sub":"u","azp":"web"}"#,
        r#"{"sub":"u","iss":"https://other","azp":"web"}"#,
        r#"{"sub":"u","iss":"https:\/\/iss","azp":"w\u0065b"}"#,
    ] {
        let claims = crate::verify::RawClaims::parse(text.to_owned()).expect("valid claims");
        let p = Principal::from_claims("https://iss", claims, 2_000_000_000, user(), "roles")
            .unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(p.issuer(), "https://iss", "{text}");
        assert_eq!(p.id().issuer(), "https://iss", "{text}");
        assert_eq!(p.subject(), "u", "{text}");
        assert_eq!(p.client_id(), Some("web"), "{text}");
        let shown = serde_json::to_value(&p).expect("a principal serializes");
        assert_eq!(shown["issuer"], "https://iss", "{text}");
        assert_eq!(shown["subject"], "u", "{text}");
    }
}

#[test]
fn roles_and_scopes_with_escapes_are_the_decoded_strings() {
    // Escaped quotes, backslashes and names: every string is what serde_json decodes, in
    // token order, whether it is kept as a span of the JSON or decoded.
    let text =
        r#"{"sub":"u","r\u006fles":["a\"b","c\\","d","\u0065"],"sc\u006fpe":"x\u0020y  z\ty"}"#;
    let claims = crate::verify::RawClaims::parse(text.to_owned()).expect("valid claims");
    let p = Principal::from_claims("https://iss", claims, 2_000_000_000, user(), "roles")
        .expect("a principal");
    assert_eq!(p.roles().collect::<Vec<_>>(), ["a\"b", "c\\", "d", "e"]);
    assert_eq!(p.scopes().collect::<Vec<_>>(), ["x", "y", "z", "y"]);
}

#[test]
fn roles_and_scopes_past_the_ones_kept_in_place_are_all_kept_in_order() {
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 30] {
        let roles: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
        let scopes: Vec<String> = (0..n).map(|i| format!("s\\u0030{i}")).collect();
        let text = format!(
            r#"{{"sub":"u","roles":{},"scope":"{}"}}"#,
            serde_json::to_string(&roles).expect("strings serialize"),
            scopes.join(" ")
        );
        let claims = crate::verify::RawClaims::parse(text.clone()).expect("valid claims");
        let p = Principal::from_claims("https://iss", claims, 2_000_000_000, user(), "roles")
            .unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(p.roles().len(), n, "{text}");
        assert_eq!(p.roles().collect::<Vec<_>>(), roles, "{text}");
        let decoded: Vec<String> = (0..n).map(|i| format!("s0{i}")).collect();
        assert_eq!(p.scopes().collect::<Vec<_>>(), decoded, "{text}");
    }
}

#[test]
fn a_list_read_in_place_then_refused_or_decoded_is_read_again_whole() {
    // Twenty plain roles (past the ones kept in place) before an escaped one, then one of
    // another type: the fast reader gives up, and the general one decodes or refuses.
    let plain: Vec<String> = (0..20).map(|i| format!("\"r{i}\"")).collect();
    let text = |last: &str| {
        format!(
            r#"{{"sub":"u","scope":"a b","roles":[{},"\u0065",{last}]}}"#,
            plain.join(",")
        )
    };
    let read = |text: String| {
        let claims = crate::verify::RawClaims::parse(text).expect("valid claims");
        Principal::from_claims("https://iss", claims, 2_000_000_000, user(), "roles")
    };
    let p = read(text(r#""z""#)).expect("strings only");
    let mut expected: Vec<String> = (0..20).map(|i| format!("r{i}")).collect();
    expected.extend(["e".into(), "z".into()]);
    assert_eq!(p.roles().collect::<Vec<_>>(), expected);
    assert_eq!(p.scopes().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(
        read(text("1")).err(),
        Some(InvalidToken::InvalidClaim),
        "a number among the roles"
    );
}

#[test]
fn one_claim_can_be_both_the_roles_and_the_scopes() {
    // The roles are the claim's strings as they are; the scopes split at whitespace.
    let p = build(json!({"sub":"u","scope":"a b"}), "scope").expect("valid claims");
    assert_eq!(p.roles().collect::<Vec<_>>(), ["a b"]);
    assert_eq!(p.scopes().collect::<Vec<_>>(), ["a", "b"]);
    let escaped = crate::verify::RawClaims::parse(r#"{"sub":"u","scope":"a\u0020b"}"#.into())
        .expect("valid claims");
    let p = Principal::from_claims("https://iss", escaped, 0, user(), "scope").expect("valid");
    assert_eq!(p.roles().collect::<Vec<_>>(), ["a b"]);
    assert_eq!(p.scopes().collect::<Vec<_>>(), ["a", "b"]);
}
