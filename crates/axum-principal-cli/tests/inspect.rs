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
    result
        .expect("the task running the cli finishes")
        .expect("the cli runs")
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
    MockIssuer::start().await.expect("the mock issuer starts")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explains_a_user_token() {
    let issuer = issuer().await;
    let token = issuer
        .token()
        .claim("sub", "alice")
        .claim("roles", ["admin"])
        .auth_time_in(-120)
        .sign();
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
    assert!(
        text.contains("signed in") && text.contains("(2 minutes ago)"),
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
        text.contains("classified_by: rfc9068:sub-equals-client_id"),
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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `inspect -` with `token` on standard input, plus `extra` arguments.
async fn inspect_stdin(token: &str, extra: &[String]) -> Output {
    let mut args = vec!["inspect".to_owned(), "-".to_owned()];
    args.extend_from_slice(extra);
    run(args, Some(format!("{token}\n"))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_no_date_can_hold_are_out_of_range_not_a_panic() {
    let issuer = issuer().await;
    let verify = vec![
        "--issuer".to_owned(),
        issuer.issuer().to_owned(),
        "--audience".to_owned(),
        issuer.audience().to_owned(),
    ];
    // (claim, value, the line decoding prints, what verification says, its exit code)
    let cases: [(&str, serde_json::Value, &str, &str, i32); 6] = [
        (
            "exp",
            i64::MIN.into(),
            "expires     -9223372036854775808 (out of range: not a date between the years 1 and 9999)",
            "reason:      expired",
            1,
        ),
        (
            "exp",
            i64::MAX.into(),
            "expires     9223372036854775807 (out of range: not a date between the years 1 and 9999)",
            "verified: yes",
            0,
        ),
        (
            "exp",
            u64::MAX.into(),
            "expires     18446744073709551615 (out of range: beyond 64-bit seconds, refused by axum-principal as invalid_claim)",
            "reason:      invalid_claim",
            1,
        ),
        (
            "iat",
            (-1e300).into(),
            "issued      -1e+300 (out of range: beyond 64-bit seconds, refused by axum-principal as invalid_claim)",
            "reason:      invalid_claim",
            1,
        ),
        (
            "nbf",
            1e300.into(),
            "not before  1e+300 (out of range: beyond 64-bit seconds, refused by axum-principal as invalid_claim)",
            "reason:      invalid_claim",
            1,
        ),
        (
            "iat",
            (-9_223_372_036_854_775_808.0_f64).into(),
            "issued      -9.223372036854776e+18 (out of range: not a date between the years 1 and 9999)",
            "verified: yes",
            0,
        ),
    ];
    for (claim, value, line, verdict, code) in cases {
        let token = issuer.token().claim(claim, value.clone()).sign();
        let decoded = inspect_stdin(&token, &[]).await;
        let (out, err) = (stdout(&decoded), stderr(&decoded));
        assert_eq!(
            decoded.status.code(),
            Some(0),
            "{claim}={value}: {out}{err}"
        );
        assert!(out.lines().any(|l| l == line), "{claim}={value}: {out}");
        assert_eq!(err, "", "{claim}={value}: nothing on stderr (no panic)");

        let verified = inspect_stdin(&token, &verify).await;
        let (out, err) = (stdout(&verified), stderr(&verified));
        assert_eq!(
            verified.status.code(),
            Some(code),
            "{claim}={value}: {out}{err}"
        );
        assert!(out.lines().any(|l| l == line), "{claim}={value}: {out}");
        assert!(out.contains(verdict), "{claim}={value}: {out}");
        assert_eq!(err, "", "{claim}={value}: nothing on stderr (no panic)");
    }
}

/// Bytes that let a token drive the terminal: ESC (ANSI sequences), CR (overwrites the
/// line), BEL, DEL, the C1 CSI U+009B, and the bidi override U+202E.
const RAW: [(&str, &[u8]); 6] = [
    ("ESC", b"\x1b"),
    ("CR", b"\r"),
    ("BEL", b"\x07"),
    ("DEL", b"\x7f"),
    ("U+009B", "\u{9b}".as_bytes()),
    ("U+202E", "\u{202e}".as_bytes()),
];

fn assert_no_raw_controls(what: &str, bytes: &[u8]) {
    for (name, raw) in RAW {
        assert!(
            !bytes.windows(raw.len()).any(|w| w == raw),
            "{what} carries a raw {name}: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_and_bidi_characters_from_the_token_are_escaped() {
    let issuer = issuer().await;
    let evil_key = "\u{1b}]0;owned\u{7}key";
    let evil_value = "\r\u{1b}[2J\u{202e}gnp.exe\u{9b}31m\u{7f}";
    let token = issuer
        .token()
        .header("x-evil", evil_value)
        .claim("sub", "\u{1b}[1Aalice\r")
        .claim("roles", serde_json::json!(["ad\u{202e}min", "ops\\u001b"]))
        .claim("scope", "read:reports\u{1b}[0m")
        .claim(evil_key, evil_value)
        .sign();
    let verify = vec![
        "--issuer".to_owned(),
        issuer.issuer().to_owned(),
        "--audience".to_owned(),
        issuer.audience().to_owned(),
    ];
    let out = inspect_stdin(&token, &verify).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert_no_raw_controls("stdout", &out.stdout);
    assert_no_raw_controls("stderr", &out.stderr);

    // The principal's fields: escaped, on their own line, a literal backslash doubled.
    assert!(
        text.contains("subject:       \\u001b[1Aalice\\u000d\n"),
        "{text}"
    );
    assert!(
        text.contains("roles:         ad\\u202emin ops\\\\u001b\n"),
        "{text}"
    );
    assert!(
        text.contains("scopes:        read:reports\\u001b[0m\n"),
        "{text}"
    );

    // The claims are still JSON, and mean exactly the token's claims (keys included).
    let start = text.find("claims:\n").expect("a claims section") + "claims:\n".len();
    let len = text[start..]
        .find("\n}\n")
        .expect("the end of the claims object")
        + 2;
    let claims: serde_json::Value =
        serde_json::from_str(&text[start..start + len]).expect("the printed claims are JSON");
    assert_eq!(claims[evil_key], evil_value, "{text}");
    assert_eq!(claims["sub"], "\u{1b}[1Aalice\r", "{text}");
    assert!(text.contains("\\u202egnp.exe\\u009b31m\\u007f"), "{text}");

    // Decoding only (no verification) goes through the same escaping, header included.
    let out = inspect_stdin(&token, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_no_raw_controls("stdout", &out.stdout);
    assert_no_raw_controls("stderr", &out.stderr);
    assert!(
        stdout(&out).contains("\"x-evil\": \"\\r\\u001b[2J\\u202egnp.exe"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_recommends_standard_input_and_an_argument_token_draws_a_note() {
    let help = run(vec!["--help".into()], None).await;
    let usage = stderr(&help);
    assert_eq!(help.status.code(), Some(2), "{usage}");
    assert!(usage.contains("inspect -|<token>"), "{usage}");
    assert!(
        usage.contains("axum-principal-cli inspect - <<<\"$TOKEN\""),
        "{usage}"
    );
    assert!(
        usage.contains("printf %s \"$TOKEN\" | axum-principal-cli inspect -"),
        "{usage}"
    );

    let issuer = issuer().await;
    let token = issuer.user_token("dave");
    let argv = run(vec!["inspect".into(), token.clone()], None).await;
    assert_eq!(argv.status.code(), Some(0));
    assert!(
        stderr(&argv).contains("visible to other users (ps)"),
        "{}",
        stderr(&argv)
    );
    let stdin = inspect_stdin(&token, &[]).await;
    assert_eq!(stdin.status.code(), Some(0));
    assert_eq!(stderr(&stdin), "", "no note when the token came on stdin");
}

#[test]
fn the_readme_passes_the_token_on_standard_input() {
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(readme).expect("the workspace README is readable");
    let lines: Vec<&str> = readme
        .lines()
        .filter(|l| l.contains("axum-principal-cli") && l.contains(" inspect"))
        .collect();
    assert!(!lines.is_empty(), "the README shows the inspect command");
    for line in lines {
        assert!(line.contains(" inspect -"), "token in argv: {line}");
    }
}

/// `--introspect`: an opaque token is introspected with the credentials of
/// `AUTHZ_INTROSPECTION_CLIENT` (never an argument), and the answer shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspects_an_opaque_token_with_credentials_from_the_environment() {
    let issuer = issuer().await;
    issuer.add_introspection_client("cli", "cli-secret");
    let token = issuer.opaque_machine_token("reporting-service");
    let mut args = verify_args(&issuer, "-");
    args.push("--introspect".into());
    let run_with = |client: Option<&'static str>, args: Vec<String>, token: String| async move {
        let result = tokio::task::spawn_blocking(move || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_axum-principal-cli"));
            command
                .args(&args)
                .env_remove("AUTHZ_INTROSPECTION_CLIENT")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if let Some(client) = client {
                command.env("AUTHZ_INTROSPECTION_CLIENT", client);
            }
            let mut child = command.spawn()?;
            if let Some(mut pipe) = child.stdin.take() {
                pipe.write_all(token.as_bytes())?;
            }
            child.wait_with_output()
        })
        .await;
        result.expect("joined").expect("the cli runs")
    };
    let out = run_with(Some("cli:cli-secret"), args.clone(), token.clone()).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verified: yes"), "{text}");
    assert!(text.contains("kind:          machine"), "{text}");
    assert!(text.contains("subject:       reporting-service"), "{text}");
    assert!(text.contains("introspection answer:"), "{text}");
    assert!(text.contains("\"active\": true"), "{text}");
    assert!(!text.contains(&token), "the token is never printed");
    assert_eq!(issuer.introspection_requests(), 1);

    let out = run_with(Some("cli:wrong"), args.clone(), token.clone()).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains("reason:      introspection_credentials_refused"),
        "{text}"
    );

    let out = run_with(None, args.clone(), token.clone()).await;
    assert_eq!(out.status.code(), Some(2), "no credentials: a usage error");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("AUTHZ_INTROSPECTION_CLIENT"), "{err}");

    // Without --introspect an opaque token cannot be decoded, and nothing is asked.
    args.pop();
    let out = run_with(Some("cli:cli-secret"), args, token).await;
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        issuer.introspection_requests(),
        2,
        "only the two --introspect runs asked"
    );
}
