//! The unit tests of [`AuthRejection`](super::AuthRejection)'s rendering.

use super::*;

fn challenge(kind: RejectionKind) -> Option<String> {
    AuthRejection::new(kind).www_authenticate()
}

#[test]
fn statuses_follow_the_contract_table() {
    let table = [
        (RejectionKind::MissingCredentials, 401),
        (
            RejectionKind::InvalidRequest(InvalidRequest::EmptyToken),
            400,
        ),
        (RejectionKind::InvalidToken(InvalidToken::Expired), 401),
        (RejectionKind::InsufficientScope { scope: None }, 403),
        (RejectionKind::Unavailable, 503),
        (RejectionKind::MissingLayer, 500),
        (
            RejectionKind::RateLimited {
                retry_after_secs: 1,
            },
            429,
        ),
        (RejectionKind::RateLimitUnavailable, 503),
    ];
    for (kind, status) in table {
        assert_eq!(
            AuthRejection::new(kind.clone()).status().as_u16(),
            status,
            "{kind:?}"
        );
    }
}

#[test]
fn missing_credentials_challenge_has_realm_and_no_error() {
    let c = challenge(RejectionKind::MissingCredentials).unwrap_or_default();
    assert_eq!(c, "Bearer realm=\"api\"");
}

#[test]
fn a_scope_that_cannot_be_written_never_loses_the_challenge() {
    let r = AuthRejection::new(RejectionKind::InsufficientScope {
        scope: Some("caf\u{e9} \"x\"\r\n".into()),
    });
    let value = r
        .challenge_header()
        .expect("a 403 always carries a challenge");
    let text = value.to_str().expect("visible ASCII");
    assert!(text.contains("error=\"insufficient_scope\""), "{text}");
    assert!(text.contains("scope=\"caf x\""), "{text}");
    let response = r.default_response();
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
}

#[test]
fn insufficient_scope_names_the_scope() {
    let c = challenge(RejectionKind::InsufficientScope {
        scope: Some("read:reports".into()),
    })
    .unwrap_or_default();
    assert!(c.contains("error=\"insufficient_scope\""), "{c}");
    assert!(c.contains("scope=\"read:reports\""), "{c}");
}

#[test]
fn rate_limited_says_when_to_retry_in_whole_seconds() {
    for (secs, header) in [(0, "1"), (1, "1"), (3600, "3600")] {
        let response = AuthRejection::new(RejectionKind::RateLimited {
            retry_after_secs: secs,
        })
        .default_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from_static(header)),
            "{secs}"
        );
        assert!(!response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}

#[test]
fn unavailable_has_no_challenge() {
    assert_eq!(challenge(RejectionKind::Unavailable), None);
}

fn dpop_renderer(required: bool) -> Renderer {
    Renderer {
        dpop: Some(std::sync::Arc::new(DpopChallenge {
            algs: "ES256 RS256".into(),
            required,
        })),
        ..Renderer::default()
    }
}

#[test]
fn dpop_challenges_follow_the_scheme_of_the_request() {
    let all = |kind: RejectionKind, required: bool| {
        AuthRejection::with_renderer(kind, dpop_renderer(required)).challenges()
    };
    assert_eq!(
        all(RejectionKind::MissingCredentials, false),
        ["Bearer realm=\"api\"", "DPoP algs=\"ES256 RS256\""]
    );
    assert_eq!(
        all(RejectionKind::MissingCredentials, true),
        ["DPoP algs=\"ES256 RS256\""]
    );
    assert_eq!(
        all(RejectionKind::DpopRequired, true),
        ["DPoP algs=\"ES256 RS256\""]
    );
    let proof = all(
        RejectionKind::InvalidDpopProof(InvalidDpopProof::Replayed),
        false,
    );
    assert!(
        proof[0].starts_with("DPoP error=\"invalid_dpop_proof\", algs=\"ES256 RS256\""),
        "{proof:?}"
    );
    assert_eq!(proof[1], "Bearer realm=\"api\"");
    let token = all(RejectionKind::InvalidDpopToken(InvalidToken::Expired), true);
    assert_eq!(token.len(), 1);
    assert!(
        token[0].starts_with("DPoP error=\"invalid_token\""),
        "{token:?}"
    );
    let bearer = all(RejectionKind::InvalidToken(InvalidToken::Expired), false);
    assert!(bearer[0].starts_with("Bearer realm=\"api\", error=\"invalid_token\""));
    assert_eq!(bearer[1], "DPoP algs=\"ES256 RS256\"");
    // 400 and 403 are Bearer only; 503 has none.
    assert_eq!(
        all(RejectionKind::InsufficientScope { scope: None }, false).len(),
        1
    );
    assert!(all(RejectionKind::ReplayStoreUnavailable, false).is_empty());
    let response = AuthRejection::with_renderer(
        RejectionKind::UseDpopNonce {
            nonce: "n-1".into(),
        },
        dpop_renderer(false),
    )
    .default_response();
    assert_eq!(
        response
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .count(),
        2
    );
    assert_eq!(
        response.headers().get(DPOP_NONCE),
        Some(&HeaderValue::from_static("n-1"))
    );
}

#[test]
fn a_configured_scope_is_named_by_the_401s_that_ask_for_a_token() {
    let renderer = Renderer {
        scope: Some("mcp:tools".into()),
        ..Renderer::default()
    };
    let render = |kind: RejectionKind| AuthRejection::with_renderer(kind, renderer.clone());
    assert_eq!(
        render(RejectionKind::MissingCredentials).challenges(),
        ["Bearer realm=\"api\", scope=\"mcp:tools\""]
    );
    let invalid = render(RejectionKind::InvalidToken(InvalidToken::Expired)).challenges();
    assert!(invalid[0].ends_with(", scope=\"mcp:tools\""), "{invalid:?}");
    // A 403 names the scopes its guard required, not these.
    let forbidden = render(RejectionKind::InsufficientScope { scope: None }).challenges();
    assert!(
        !forbidden[0].contains("scope=\"mcp:tools\""),
        "{forbidden:?}"
    );
    // With DPoP accepted, the DPoP challenge of a 401 names them too.
    let dpop = Renderer {
        dpop: Some(std::sync::Arc::new(DpopChallenge {
            algs: "ES256".into(),
            required: false,
        })),
        ..renderer.clone()
    };
    let both = AuthRejection::with_renderer(RejectionKind::MissingCredentials, dpop).challenges();
    assert_eq!(
        both,
        [
            "Bearer realm=\"api\", scope=\"mcp:tools\"",
            "DPoP algs=\"ES256\", scope=\"mcp:tools\""
        ]
    );
}
