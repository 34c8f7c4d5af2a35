//! The gRPC example as a client that is not tonic sees it: Python's grpcio, on gRPC's C
//! core, installed by the test itself into `target/test-tools` with `python3 -m pip` (once;
//! a machine with Python 3 and pip, and PyPI that once). Each status code of CONTRACT.md's
//! table; a refusal's metadata comes as trailing metadata with no initial metadata (a
//! Trailers-Only response), and `www-authenticate` is among it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum_principal_testkit::{Fault, KeyAlg};
use prost::Message as _;
use serde_json::{json, Value};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::provision::{install_atomically, run, tools_dir};
use crate::support::{bearer, Server};

/// grpcio from PyPI: manylinux wheels for CPython 3.11 and others (no compiler needed).
const GRPCIO: &str = "grpcio==1.85.1";

/// How long one run of the client may take, all its calls together.
const CLIENT_DEADLINE: Duration = Duration::from_secs(120);

/// The directory holding the `grpc` package: installed once per machine and process.
fn site() -> &'static Path {
    static SITE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let site = SITE.get_or_init(|| {
        let dest = tools_dir().join("grpcio-1.85.1");
        let ready = |dir: &Path| dir.join("grpc/__init__.py").is_file();
        install_atomically(&dest, ready, |staging| {
            let target = staging.join("site");
            run(
                Command::new("python3")
                    .args(["-m", "pip", "install", "--no-compile"])
                    .args(["--only-binary=:all:", "--disable-pip-version-check"])
                    .arg("--target")
                    .arg(&target)
                    .arg(GRPCIO),
                &format!("`python3 -m pip install {GRPCIO}` (it needs PyPI)"),
            )?;
            Ok(target)
        })
        .map(|()| dest)
    });
    site.as_deref()
        .expect("grpcio is installed (the grpcio tests need it)")
}

/// One call's outcome as grpcio reports it.
struct Outcome {
    code: i64,
    details: String,
    initial: Vec<(String, String)>,
    trailing: Vec<(String, String)>,
    response: Option<Vec<u8>>,
}

impl Outcome {
    fn trailing(&self, name: &str) -> Vec<&str> {
        (self.trailing.iter())
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A refusal: this code and message, in a Trailers-Only response (nothing came as
    /// initial metadata), and no `secret` in any of it.
    fn assert_refused(&self, code: i64, message: &str, secret: &str) {
        assert_eq!((self.code, self.details.as_str()), (code, message));
        assert!(
            self.initial.is_empty(),
            "initial metadata: {:?}",
            self.initial
        );
        assert!(self.response.is_none());
        if !secret.is_empty() {
            assert!(!self.details.contains(secret));
            for (name, value) in &self.trailing {
                assert!(!value.contains(secret), "{name} carries the token");
            }
        }
    }
}

/// Runs `calls` (`[method, request bytes, authorization]`) in one grpcio channel.
async fn grpcio_calls(server: &Server, calls: &[(&str, Vec<u8>, Option<String>)]) -> Vec<Outcome> {
    let site = site().to_owned();
    let spec = json!({
        "target": server.addr.to_string(),
        "calls": calls.iter().map(|(method, request, authorization)| json!({
            "method": method,
            "request_hex": hex(request),
            "metadata": authorization.iter().map(|a| json!(["authorization", a])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let output = tokio::task::spawn_blocking(move || run_client(&site, &spec))
        .await
        .expect("the client thread");
    let results: Vec<Value> = serde_json::from_str(&output).expect("the client prints JSON");
    results.iter().map(outcome).collect()
}

/// `python3 grpcio_client.py` with `spec` on stdin, killed after [`CLIENT_DEADLINE`].
fn run_client(site: &Path, spec: &Value) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpc/grpcio_client.py");
    let mut child = Command::new("python3")
        .arg(script)
        .env("PYTHONPATH", site)
        .env("GRPC_VERBOSITY", "ERROR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("a stdin pipe");
    stdin
        .write_all(spec.to_string().as_bytes())
        .expect("the calls are written");
    drop(stdin);
    let started = Instant::now();
    while child.try_wait().expect("the client's status").is_none() {
        if started.elapsed() > CLIENT_DEADLINE {
            let _ = child.kill();
            panic!("the grpcio client did not finish within {CLIENT_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("the client's output");
    assert!(
        output.status.success(),
        "the grpcio client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 JSON")
}

fn outcome(value: &Value) -> Outcome {
    let pairs = |name: &str| -> Vec<(String, String)> {
        (value[name].as_array().expect("a metadata list").iter())
            .map(|pair| {
                let text = |i: usize| pair[i].as_str().unwrap_or_default().to_owned();
                (text(0), text(1))
            })
            .collect()
    };
    Outcome {
        code: value["code"].as_i64().expect("a status code"),
        details: value["details"].as_str().unwrap_or_default().to_owned(),
        initial: pairs("initial"),
        trailing: pairs("trailing"),
        response: value["response_hex"].as_str().map(unhex),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex from the client"))
        .collect()
}

const WHO_AM_I: &str = "/principal.v1.Principal/WhoAmI";
const ADMIN: &str = "/principal.v1.Principal/Admin";
const MACHINE_ONLY: &str = "/principal.v1.Principal/MachineOnly";
const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

#[tokio::test]
async fn each_status_of_the_contract_table_as_grpcio_sees_it() {
    let server = Server::start(&[("AUTHZ_RATE_LIMIT", "3,3")]).await;
    let user = server.user();
    let machine = server.machine();
    let expired = server.issuer.token().expires_in(-600).sign();
    let malformed = format!("Bearer {user} {user}");
    let health = |service: &str| {
        HealthCheckRequest {
            service: service.to_owned(),
        }
        .encode_to_vec()
    };
    let calls = [
        (WHO_AM_I, vec![], None),
        (WHO_AM_I, vec![], Some(malformed)),
        (WHO_AM_I, vec![], Some(bearer(&expired))),
        (ADMIN, vec![], Some(bearer(&user))),
        (MACHINE_ONLY, vec![], Some(bearer(&machine))),
        (HEALTH_CHECK, health(""), None),
        (HEALTH_CHECK, health("principal.v1.Principal"), None),
        (WHO_AM_I, vec![], Some(bearer(&user))),
        (WHO_AM_I, vec![], Some(bearer(&user))),
        // alice's fourth call of the service (Admin counted): over the quota of 3.
        (WHO_AM_I, vec![], Some(bearer(&user))),
    ];
    let out = grpcio_calls(&server, &calls).await;

    out[0].assert_refused(16, "missing_token", "");
    assert_eq!(
        out[0].trailing("www-authenticate")[0],
        "Bearer realm=\"api\""
    );
    assert!(out[0].trailing("www-authenticate")[1].starts_with("DPoP algs="));
    out[1].assert_refused(16, "invalid_request", &user);
    assert!(out[1].trailing("www-authenticate")[0].contains("error=\"invalid_request\""));
    out[2].assert_refused(16, "invalid_token", &expired);
    assert!(out[2].trailing("www-authenticate")[0].contains("error=\"invalid_token\""));
    out[3].assert_refused(7, "insufficient_scope", &user);
    assert!(out[3].trailing("www-authenticate")[0].contains("error=\"insufficient_scope\""));

    assert_eq!(
        out[4].code, 0,
        "a machine may call MachineOnly: {}",
        out[4].details
    );
    let me = out[4].response.as_deref().expect("a Me");
    let me = axum_principal_grpc::proto::Me::decode(me).expect("a Me message");
    assert!(
        me.json.contains("\"subject\":\"reporting-service\""),
        "{}",
        me.json
    );
    for health in &out[5..7] {
        assert_eq!(health.code, 0, "health needs no token: {}", health.details);
        let answer = HealthCheckResponse::decode(health.response.as_deref().expect("a response"))
            .expect("a HealthCheckResponse");
        assert_eq!(answer.status(), ServingStatus::Serving);
    }
    assert_eq!((out[7].code, out[8].code), (0, 0), "within the quota");
    out[9].assert_refused(8, "rate_limited", &user);
    let retry_after: u64 = out[9].trailing("retry-after")[0]
        .parse()
        .expect("whole seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn keys_that_cannot_be_had_are_unavailable_to_grpcio() {
    let server = Server::start(&[]).await;
    server.issuer.set_fault(Fault::Down);
    let token = server.issuer.token().alg(KeyAlg::Es256).sign();
    let out = grpcio_calls(&server, &[(WHO_AM_I, vec![], Some(bearer(&token)))]).await;
    out[0].assert_refused(14, "temporarily_unavailable", &token);
    assert!(out[0].trailing("www-authenticate").is_empty());
}
