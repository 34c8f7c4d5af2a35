//! `axum-principal-cli inspect` against the mock issuer.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use axum_principal_testkit::MockIssuer;

async fn run(args: Vec<String>, stdin: Option<String>) -> Output {
    let result = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_axum-principal-cli"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin.unwrap_or_default().as_bytes())?;
        }
        child.wait_with_output()
    })
    .await;
    match result {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("cannot run the cli: {e}"),
        Err(e) => panic!("join: {e}"),
    }
}

fn verify_args(issuer: &MockIssuer, token: &str) -> Vec<String> {
    vec![
        "inspect".into(),
        token.into(),
        "--issuer".into(),
        issuer.issuer().into(),
        "--audience".into(),
        issuer.audience().into(),
    ]
}

async fn issuer() -> MockIssuer {
    match MockIssuer::start().await {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explains_a_user_token() {
    let issuer = issuer().await;
    let token = issuer.user_token_with_roles("alice", &["admin"]);
    let out = run(verify_args(&issuer, &token), None).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verified: yes"), "{text}");
    assert!(text.contains("kind:          user"), "{text}");
    assert!(text.contains("classified_by: default:user"), "{text}");
    assert!(text.contains("subject:       alice"), "{text}");
    assert!(text.contains("roles:         admin"), "{text}");
    assert!(
        text.contains("expires") && text.contains("(in 5 minutes)"),
        "{text}"
    );
    assert!(!text.contains(&token), "the token is never printed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explains_a_machine_token_read_from_stdin() {
    let issuer = issuer().await;
    let token = issuer.machine_token("reporting-service");
    let mut args = verify_args(&issuer, "-");
    args[1] = "-".into();
    let out = run(args, Some(format!("Bearer {token}\n"))).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("kind:          machine"), "{text}");
    assert!(
        text.contains("classified_by: hydra:sub-equals-client_id"),
        "{text}"
    );
    assert!(text.contains("client_id:     reporting-service"), "{text}");
    assert!(!text.contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_the_exact_rejection() {
    let issuer = issuer().await;
    let expired = issuer.token().expires_in(-7200).sign();
    let out = run(verify_args(&issuer, &expired), None).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("verified: no"), "{text}");
    assert!(text.contains("reason:      expired"), "{text}");
    assert!(text.contains("(2 hours ago)"), "{text}");
    let wrong_aud = issuer.token().claim("aud", "someone-else").sign();
    let text = stdout(&run(verify_args(&issuer, &wrong_aud), None).await);
    assert!(text.contains("reason:      wrong_audience"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decodes_without_verifying_when_no_issuer_is_given() {
    let issuer = issuer().await;
    let token = issuer.user_token("bob");
    let out = run(vec!["inspect".into(), token.clone()], None).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("\"sub\": \"bob\""), "{text}");
    assert!(text.contains("not verified"), "{text}");
    assert_eq!(issuer.jwks_requests() + issuer.discovery_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_for_garbage_usage_and_an_unreachable_issuer() {
    let garbage = run(vec!["inspect".into(), "not-a-token".into()], None).await;
    assert_eq!(garbage.status.code(), Some(3));
    let usage = run(vec!["frobnicate".into()], None).await;
    assert_eq!(usage.status.code(), Some(2));
    let issuer = issuer().await;
    let token = issuer.user_token("carol");
    issuer.set_fault(axum_principal_testkit::Fault::Down);
    let out = run(verify_args(&issuer, &token), None).await;
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
}
