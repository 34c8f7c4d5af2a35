use serde_json::{json, Value};

use super::*;
use crate::guard::Guard;
use crate::{
    RequireAllRoles, RequireAllScopes, RequireAnyRole, RequireDirect, RequireMachine, RequireRole,
    RequireRoleOrMachine, RequireScope, RequireUser,
};

fn security(access: &Access) -> Value {
    Value::Array(access.security().into_iter().map(Value::Object).collect())
}

fn guarded<G: Guard>(guard: G) -> Access {
    Access::guarded(guard.requirements())
}

#[test]
fn a_token_is_one_bearer_entry_without_scopes() {
    assert_eq!(security(&Access::token()), json!([{ "bearer": [] }]));
    assert_eq!(Access::token().roles_extension(), None);
}

#[test]
fn an_optional_token_starts_with_the_empty_requirement() {
    assert_eq!(
        security(&Access::optional_token()),
        json!([{}, { "bearer": [] }])
    );
    // With a required token next to it (two extractors), it is required.
    assert_eq!(
        security(&Access::optional_token().and(Access::token())),
        json!([{ "bearer": [] }])
    );
}

#[test]
fn scope_guards_list_their_scopes_and_differ() {
    assert_eq!(
        security(&guarded(RequireScope::new("read:reports"))),
        json!([{ "bearer": ["read:reports"] }])
    );
    assert_eq!(
        security(&guarded(RequireAllScopes::new(["b", "a"]))),
        json!([{ "bearer": ["a", "b"] }])
    );
    // "or" is two alternatives; "and" joins the scopes.
    assert_eq!(
        security(&guarded(RequireScope::new("a").or(RequireScope::new("b")))),
        json!([{ "bearer": ["a"] }, { "bearer": ["b"] }])
    );
    assert_eq!(
        security(&guarded(RequireScope::new("a").and(RequireScope::new("b")))),
        json!([{ "bearer": ["a", "b"] }])
    );
}

#[test]
fn roles_and_kinds_go_to_the_extension_not_to_security() {
    let admin = guarded(RequireRoleOrMachine::new("admin"));
    assert_eq!(security(&admin), json!([{ "bearer": [] }]));
    assert_eq!(
        admin.roles_extension(),
        Some(json!([{ "roles": ["admin"] }, { "kind": "machine" }]))
    );
    assert_eq!(
        guarded(RequireAnyRole::new(["a", "b"])).roles_extension(),
        Some(json!([{ "roles": ["a"] }, { "roles": ["b"] }]))
    );
    assert_eq!(
        guarded(RequireAllRoles::new(["a", "b"])).roles_extension(),
        Some(json!([{ "roles": ["a", "b"] }]))
    );
    assert_eq!(
        guarded(RequireUser).roles_extension(),
        Some(json!([{ "kind": "user" }]))
    );
    assert_eq!(
        guarded(RequireRole::new("ops").and(RequireScope::new("ops:write"))).roles_extension(),
        Some(json!([{ "scopes": ["ops:write"], "roles": ["ops"] }]))
    );
}

#[test]
fn a_guard_that_reports_nothing_still_requires_a_token_and_can_refuse() {
    let direct = guarded(RequireDirect);
    assert_eq!(security(&direct), json!([{ "bearer": [] }]));
    assert_eq!(direct.roles_extension(), None);
    let statuses: Vec<u16> = refusal_responses(&direct).iter().map(|r| r.0).collect();
    assert_eq!(statuses, [401, 403, 503]);
    let statuses: Vec<u16> = refusal_responses(&Access::token())
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(statuses, [401, 503]);
}

#[test]
fn a_guard_that_admits_nobody_says_so_and_still_requires_a_token() {
    let nobody = guarded(RequireAllRoles::new(Vec::<String>::new()));
    assert_eq!(security(&nobody), json!([{ "bearer": [] }]));
    assert_eq!(nobody.roles_extension(), Some(json!([])));
    // A user that must be a machine: nobody either.
    let contradiction = guarded(RequireUser.and(RequireMachine));
    assert_eq!(contradiction.roles_extension(), Some(json!([])));
}

#[test]
fn the_document_reads_back_as_it_was_written() {
    let cases = [
        Access::token(),
        Access::optional_token(),
        guarded(RequireScope::new("a").or(RequireRole::new("r"))),
        guarded(RequireRoleOrMachine::new("admin").and(RequireScope::new("x"))),
        guarded(RequireAllRoles::new(Vec::<String>::new())),
    ];
    for access in cases {
        let read = Access::from_document(
            &access.security(),
            access.roles_extension().as_ref(),
            access.is_guarded(),
        )
        .expect("a document with a bearer entry");
        assert_eq!(read, access);
    }
    assert_eq!(Access::from_document(&[], None, false), None);
}

#[test]
fn the_error_schema_requires_the_error_code() {
    let schema = error_schema();
    assert_eq!(schema["required"], json!(["error"]));
    assert_eq!(schema["properties"]["error"]["type"], "string");
    assert_eq!(schema["properties"]["error_description"]["type"], "string");
}

#[test]
fn the_configuration_tells_issuers_discovery_urls_and_the_dpop_policy() {
    use crate::dpop::{DpopConfig, DpopPolicy};
    use crate::{AuthConfig, Issuer};

    let config = AuthConfig::builder()
        .issuer("https://a.example.com/")
        .issuer("https://b.example.com/realms/x")
        .issuer(
            Issuer::template("https://login.microsoftonline.com/{tenantid}/v2.0")
                .any_tenant()
                .jwks_uri("https://login.microsoftonline.com/common/discovery/v2.0/keys"),
        )
        .audience("api")
        .build()
        .expect("a valid configuration");
    let discovery: Vec<Option<String>> = config
        .issuer_settings()
        .map(|i| i.discovery_url())
        .collect();
    assert_eq!(
        discovery,
        [
            Some("https://a.example.com/.well-known/openid-configuration".to_owned()),
            Some("https://b.example.com/realms/x/.well-known/openid-configuration".to_owned()),
            None,
        ]
    );
    let templates: Vec<bool> = config.issuer_settings().map(|i| i.is_template()).collect();
    assert_eq!(templates, [false, false, true]);
    assert_eq!(config.dpop_policy(), DpopPolicy::Off);

    for policy in [DpopPolicy::Allowed, DpopPolicy::Required, DpopPolicy::Off] {
        let config = AuthConfig::builder()
            .issuer("https://a.example.com/")
            .audience("api")
            .dpop(DpopConfig::new("https://api.example.com").policy(policy))
            .build()
            .expect("a valid configuration");
        assert_eq!(config.dpop_policy(), policy);
    }
}
