//! Every guard against every kind of principal, as one table; then what a refusal says.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::{Layer, Service, ServiceExt};

use super::*;
use crate::classify::{Classification, ClassifiedBy, Kind};
use crate::config::ConfigError;
use crate::principal::AuthContext;
use crate::rejection::Renderer;

crate::names!(Admin = "admin");
crate::names!(Staff = ["admin", "ops"]);

/// The columns of the table.
const COLUMNS: [&str; 5] = [
    "plain user",
    "admin user (scope read)",
    "admin+ops user (scopes read write)",
    "plain machine",
    "ops machine (scope write)",
];

fn principal(kind: Kind, roles: &[&str], scope: &str) -> Principal {
    principal_of(kind, json!({"sub": "s", "roles": roles, "scope": scope}))
}

/// A principal of `kind` from these claims (also for the delegation table).
pub(super) fn principal_of(kind: Kind, claims: Value) -> Principal {
    let Value::Object(claims) = claims else {
        panic!("an object literal is an object");
    };
    let classification = Classification {
        kind,
        classified_by: ClassifiedBy::Default,
    };
    Principal::from_claims("https://iss", claims, 0, classification, "roles")
        .expect("the claims are well-formed")
}

fn principals() -> [Principal; 5] {
    [
        principal(Kind::User, &[], ""),
        principal(Kind::User, &["admin"], "read"),
        principal(Kind::User, &["admin", "ops"], "read write"),
        principal(Kind::Machine, &[], ""),
        principal(Kind::Machine, &["ops"], "write"),
    ]
}

type Check = Box<dyn Fn(&Principal) -> Result<(), Denied>>;

fn row<G: Guard>(guard: G) -> Check {
    Box::new(move |p| guard.check(p))
}

const NONE: [bool; 5] = [false; 5];

#[test]
fn every_guard_against_every_principal() {
    let no_names: [&str; 0] = [];
    let table: Vec<(&str, Check, [bool; 5])> = vec![
        (
            "RequireRole(admin)",
            row(RequireRole::new("admin")),
            [false, true, true, false, false],
        ),
        (
            "RequireRole(read): roles are not scopes",
            row(RequireRole::new("read")),
            NONE,
        ),
        (
            "RequireRole<Admin>",
            row(RequireRole::<Admin>::default()),
            [false, true, true, false, false],
        ),
        (
            "RequireAllRoles(admin, ops)",
            row(RequireAllRoles::new(["admin", "ops"])),
            [false, false, true, false, false],
        ),
        (
            "RequireAllRoles<Staff>",
            row(RequireAllRoles::<Staff>::default()),
            [false, false, true, false, false],
        ),
        (
            "RequireAllRoles([])",
            row(RequireAllRoles::new(no_names)),
            NONE,
        ),
        (
            "RequireAnyRole(admin, ops)",
            row(RequireAnyRole::new(["admin", "ops"])),
            [false, true, true, false, true],
        ),
        (
            "RequireAnyRole<Staff>",
            row(RequireAnyRole::<Staff>::default()),
            [false, true, true, false, true],
        ),
        (
            "RequireAnyRole([])",
            row(RequireAnyRole::new(no_names)),
            NONE,
        ),
        (
            "RequireRoleOrMachine(admin)",
            row(RequireRoleOrMachine::new("admin")),
            [false, true, true, true, true],
        ),
        (
            "RequireRoleOrMachine<Admin>",
            row(RequireRoleOrMachine::<Admin>::default()),
            [false, true, true, true, true],
        ),
        (
            "RequireScope(write)",
            row(RequireScope::new("write")),
            [false, false, true, false, true],
        ),
        (
            "RequireScope(admin): scopes are not roles",
            row(RequireScope::new("admin")),
            NONE,
        ),
        (
            "RequireAllScopes(read, write)",
            row(RequireAllScopes::new(["read", "write"])),
            [false, false, true, false, false],
        ),
        (
            "RequireAllScopes([])",
            row(RequireAllScopes::new(no_names)),
            NONE,
        ),
        (
            "RequireMachine",
            row(RequireMachine),
            [false, false, false, true, true],
        ),
        (
            "RequireUser",
            row(RequireUser),
            [true, true, true, false, false],
        ),
        (
            "RequireRole(admin) or RequireMachine",
            row(RequireRole::new("admin").or(RequireMachine)),
            [false, true, true, true, true],
        ),
        (
            "RequireMachine and RequireScope(write)",
            row(RequireMachine.and(RequireScope::new("write"))),
            [false, false, false, false, true],
        ),
        (
            "AnyOf(RequireRole(ops), RequireScope(read), RequireMachine)",
            row(AnyOf((
                RequireRole::new("ops"),
                RequireScope::new("read"),
                RequireMachine,
            ))),
            [false, true, true, true, true],
        ),
        (
            "AllOf(RequireUser, RequireRole(admin), RequireScope(write), RequireAnyRole(ops))",
            row(AllOf((
                RequireUser,
                RequireRole::new("admin"),
                RequireScope::new("write"),
                RequireAnyRole::new(["ops"]),
            ))),
            [false, false, true, false, false],
        ),
        (
            "(RequireUser and RequireRole(admin)) or (RequireMachine and RequireScope(write))",
            row(RequireUser
                .and(RequireRole::new("admin"))
                .or(RequireMachine.and(RequireScope::new("write")))),
            [false, true, true, false, true],
        ),
    ];
    let principals = principals();
    for (name, check, expected) in &table {
        for ((principal, column), allowed) in principals.iter().zip(COLUMNS).zip(expected) {
            assert_eq!(check(principal).is_ok(), *allowed, "{name} × {column}");
        }
    }
}

#[test]
fn a_refusal_names_the_scopes_that_would_have_let_the_caller_in() {
    let [user, _, _, machine, _] = principals();
    let scope = |r: Result<(), Denied>| r.expect_err("the guard refuses").required_scope;
    assert_eq!(
        scope(RequireScope::new("write").check(&user)).as_deref(),
        Some("write")
    );
    assert_eq!(
        scope(RequireAllScopes::new(["read", "write"]).check(&user)).as_deref(),
        Some("read write")
    );
    assert_eq!(
        scope(
            RequireScope::new("a")
                .or(RequireScope::new("b"))
                .check(&user)
        )
        .as_deref(),
        Some("a b")
    );
    // A refusal that is not about scopes names none.
    assert_eq!(
        scope(RequireRole::new("x").or(RequireMachine).check(&user)),
        None
    );
    assert_eq!(scope(RequireRole::new("x").check(&machine)), None);
    // `AllOf` refuses with the first refusal.
    let guard = RequireUser.and(RequireScope::new("w"));
    assert_eq!(scope(guard.check(&machine)), None);
    assert_eq!(scope(guard.check(&user)).as_deref(), Some("w"));
}

#[test]
fn scopes_must_be_scope_tokens() {
    for ok in [
        "read:reports",
        "api/read",
        "a!#[]~",
        "https://api.example.com/read",
    ] {
        assert!(RequireScope::try_new(ok).is_ok(), "{ok}");
        assert!(RequireAllScopes::try_new([ok, "read"]).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "read reports",
        "caf\u{e9}",
        "a\"b",
        "a\\b",
        "tab\there",
        "nl\n",
    ] {
        let expected = ConfigError::InvalidScope(bad.to_owned());
        assert_eq!(
            RequireScope::try_new(bad).err(),
            Some(expected.clone()),
            "{bad:?}"
        );
        assert_eq!(
            RequireAllScopes::try_new(["read", bad]).err(),
            Some(expected),
            "{bad:?}"
        );
    }
}

#[test]
#[should_panic(expected = "is not a scope")]
fn a_scope_that_cannot_be_named_in_a_challenge_is_refused_when_the_guard_is_built() {
    let _ = RequireScope::new("read reports");
}

#[test]
#[should_panic(expected = "is not a scope")]
fn a_list_of_scopes_is_checked_when_the_guard_is_built() {
    let _ = RequireAllScopes::new(["read", "read reports"]);
}

/// The layer's rendering context, with a realm other than the default.
pub(super) fn context() -> AuthContext {
    AuthContext {
        renderer: std::sync::Arc::new(Renderer {
            realm: "tests".into(),
            custom: None,
            ..Renderer::default()
        }),
    }
}

fn kind(result: Result<(), AuthRejection>) -> RejectionKind {
    result.expect_err("refused").kind().clone()
}

#[test]
fn without_a_principal_a_guard_answers_as_the_principal_extractor() {
    let mut extensions = Extensions::new();
    assert_eq!(
        kind(authorize(&RequireUser, &HeaderMap::new(), &extensions)),
        RejectionKind::MissingLayer
    );
    extensions.insert(context());
    assert_eq!(
        kind(authorize(&RequireUser, &HeaderMap::new(), &extensions)),
        RejectionKind::MissingCredentials
    );
    let [user, ..] = principals();
    extensions.insert(user);
    assert!(authorize(&RequireUser, &HeaderMap::new(), &extensions).is_ok());
    let refusal = authorize(&RequireScope::new("write"), &HeaderMap::new(), &extensions)
        .expect_err("no scope");
    assert_eq!(
        refusal.kind(),
        &RejectionKind::InsufficientScope {
            scope: Some("write".into())
        }
    );
    // Rendered the layer's way.
    let challenge = refusal.www_authenticate().expect("403 has a challenge");
    assert!(challenge.contains("realm=\"tests\""), "{challenge}");
}

/// A user's own guard, as in the module documentation.
#[derive(Clone, Default)]
struct Acme;

impl Guard for Acme {
    fn check(&self, p: &Principal) -> Result<(), Denied> {
        match p.claim("tenant").and_then(Value::as_str) {
            Some("acme") => Ok(()),
            _ => Err(Denied::default()),
        }
    }
}

/// The inner service of the layer tests: 200 only if the principal is still in place.
pub(super) fn inner() -> impl Service<Request<Body>, Response = Response, Error = Infallible> {
    tower::service_fn(|request: Request<Body>| async move {
        let mut response = Response::new(Body::empty());
        if request.extensions().get::<Principal>().is_none() {
            *response.status_mut() = StatusCode::IM_A_TEAPOT;
        }
        Ok::<_, Infallible>(response)
    })
}

/// The status `service` answers a request carrying `principal` with.
pub(super) async fn call<S>(service: S, principal: Option<Principal>) -> StatusCode
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    let mut request = Request::new(Body::empty());
    request.extensions_mut().insert(context());
    if let Some(p) = principal {
        request.extensions_mut().insert(p);
    }
    match service.oneshot(request).await {
        Ok(response) => response.status(),
        Err(never) => match never {},
    }
}

#[tokio::test]
async fn the_one_layer_and_the_one_extractor_run_any_guard() {
    let acme = {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), "a".into());
        claims.insert("tenant".into(), "acme".into());
        let classification = Classification {
            kind: Kind::User,
            classified_by: ClassifiedBy::Default,
        };
        Principal::from_claims("https://iss", claims, 0, classification, "roles")
            .expect("well-formed claims")
    };
    let [other, ..] = principals();
    let layer = guard_layer(Acme);
    assert_eq!(
        call(layer.layer(inner()), Some(acme.clone())).await,
        StatusCode::OK
    );
    assert_eq!(
        call(layer.layer(inner()), Some(other.clone())).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(layer.layer(inner()), None).await,
        StatusCode::UNAUTHORIZED
    );
    let builtin = guard_layer(RequireMachine.or(Acme));
    assert_eq!(
        call(builtin.layer(inner()), Some(acme.clone())).await,
        StatusCode::OK
    );

    // The extractor builds the guard with `Default` and runs the same check.
    async fn extract(principal: Principal) -> Result<(), AuthRejection> {
        let mut request = Request::new(());
        request.extensions_mut().insert(context());
        request.extensions_mut().insert(principal);
        let (mut parts, ()) = request.into_parts();
        <Guarded<Acme> as axum::extract::FromRequestParts<()>>::from_request_parts(&mut parts, &())
            .await
            .map(|_| ())
    }
    assert!(extract(acme).await.is_ok());
    assert_eq!(
        kind(extract(other).await),
        RejectionKind::InsufficientScope { scope: None }
    );
}
