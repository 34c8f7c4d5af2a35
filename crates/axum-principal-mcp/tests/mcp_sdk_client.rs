//! An MCP client this project did not write — the official MCP TypeScript SDK
//! (`@modelcontextprotocol/sdk`, pinned in `tests/mcp-sdk/package.json`) with its stock
//! client-credentials provider — against the MCP example and an authorization server this
//! project did not write either (panva's `oidc-provider`): it connects through the whole
//! discovery chain (401 → `resource_metadata` → the RFC 9728 document → the issuer's
//! metadata → a token for the resource), is refused the `reports` tool with HTTP 403
//! `insufficient_scope`, re-authorizes with the scopes the challenge names, and succeeds.
//!
//! The test installs its own npm packages when `tests/mcp-sdk/node_modules` is missing or
//! differs from the pinned lock file (`npm ci`, into a fresh directory renamed into place,
//! as the real-provider test does: the library's `tests/common/provision.rs`); it needs
//! Node.js ≥ 20.12 and npm, and without them it fails and says so. Everything listens on
//! 127.0.0.1.

#[allow(dead_code)]
#[path = "../../axum-principal/tests/common/provision.rs"]
mod provision;

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use axum_principal::AuthLayer;
use axum_principal_example::auth_config;
use axum_principal_mcp::{app, mcp_settings};
use serde::Deserialize;
use serde_json::Value;

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp-sdk")
}

/// Runs `command` to its end within `timeout`, killing it otherwise; its output.
fn run(mut command: Command, timeout: Duration, what: &str) -> std::process::Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{what}: cannot start ({e}); Node.js >= 20.12 and npm are needed")
        });
    let id = child.id();
    let (done, waited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match waited.recv_timeout(timeout) {
        Ok(output) => output.unwrap_or_else(|e| panic!("{what}: {e}")),
        Err(_) => {
            // The process by its own id: nothing else is touched.
            let _ = Command::new("kill").arg(id.to_string()).status();
            panic!("{what}: no answer within {timeout:?}");
        }
    }
}

/// The pinned packages, installed by `npm ci` unless `node_modules` already holds exactly
/// what the lock file lists.
fn install() {
    let dir = harness_dir();
    let wanted = locked_packages(&dir.join("package-lock.json")).expect("a v2/v3 package lock");
    let ready = |node_modules: &Path| {
        ["@modelcontextprotocol/sdk", "oidc-provider"]
            .iter()
            .all(|p| node_modules.join(p).join("package.json").is_file())
            && locked_packages(&node_modules.join(".package-lock.json")).as_ref() == Some(&wanted)
    };
    provision::install_atomically(&dir.join("node_modules"), ready, |staging| {
        for file in ["package.json", "package-lock.json"] {
            fs::copy(dir.join(file), staging.join(file))
                .map_err(|e| format!("cannot copy {file}: {e}"))?;
        }
        provision::run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(staging),
            "`npm ci --no-audit --no-fund` in tests/mcp-sdk (Node.js >= 20.12 and npm, and \
             the npm registry, are needed)",
        )?;
        Ok(staging.join("node_modules"))
    })
    .unwrap_or_else(|e| panic!("installing tests/mcp-sdk/node_modules: {e}"));
}

/// Each package of a lock file's `packages` (path, version, integrity), without the
/// project's own entry.
fn locked_packages(file: &Path) -> Option<BTreeSet<(String, String, String)>> {
    let lock: Value = serde_json::from_slice(&fs::read(file).ok()?).ok()?;
    let field = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
    let packages = lock.get("packages")?.as_object()?;
    Some(
        packages
            .iter()
            .filter(|(path, _)| !path.is_empty())
            .map(|(path, p)| {
                (
                    path.clone(),
                    field(p, "version").unwrap_or_default(),
                    field(p, "integrity").unwrap_or_default(),
                )
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
struct Ready {
    issuer: String,
    client_id: String,
    client_secret: String,
}

/// The provider process, stopped (by its own handle) when dropped.
struct Provider {
    child: Child,
    ready: Ready,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider(resource: &str) -> Provider {
    let mut child = Command::new("node")
        .arg(harness_dir().join("provider.mjs"))
        .args(["--resource", resource])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("node provider.mjs: cannot start ({e}); Node.js is needed"));
    let stdout = child.stdout.take().expect("a piped stdout");
    let (line, read) = mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let _ = BufReader::new(stdout).read_line(&mut first);
        let _ = line.send(first);
    });
    let first = match read.recv_timeout(READY_TIMEOUT) {
        Ok(first) => first,
        Err(_) => {
            let _ = child.kill();
            panic!("the provider did not say it was ready within {READY_TIMEOUT:?}");
        }
    };
    let ready: Ready = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("the provider's ready line ({e}): {first:?}"));
    Provider { child, ready }
}

/// What the SDK client reports (see `client.mjs`).
#[derive(Debug, Deserialize)]
struct Outcome {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default, rename = "isError")]
    is_error: bool,
    #[serde(default)]
    result: Option<String>,
    exchanges: Vec<Value>,
}

fn str_of<'a>(exchange: &'a Value, key: &str) -> Option<&'a str> {
    exchange.get(key).and_then(Value::as_str)
}

/// The parameter `name` of a challenge.
fn param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = challenge.get(start..)?;
    rest.get(..rest.find('"')?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_typescript_sdk_discovers_is_refused_steps_up_and_succeeds() {
    tokio::task::spawn_blocking(install)
        .await
        .expect("the install ran");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().expect("a bound address");
    let resource = format!("http://{addr}/mcp");
    let provider = start_provider(&resource);

    // The MCP example as `run` configures it: this issuer, the resource as the audience,
    // and `mcp:tools` as the scope every call needs (so the first token, asked for with the
    // 401's scope, lacks `read:reports`).
    let bind = addr.to_string();
    let issuer = provider.ready.issuer.clone();
    let settings = mcp_settings(|name| match name {
        "BIND" => Some(bind.clone()),
        "AUTHZ_ISSUER" => Some(issuer.clone()),
        "AUTHZ_MCP_SCOPE" => Some("mcp:tools".to_owned()),
        _ => None,
    })
    .expect("valid settings");
    let config = auth_config(&settings, None).expect("a valid configuration");
    let router = app(AuthLayer::new(config));
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the server runs");
    });

    let mut client = Command::new("node");
    client
        .arg(harness_dir().join("client.mjs"))
        .args(["--url", &resource])
        .args(["--client-id", &provider.ready.client_id])
        .args(["--client-secret", &provider.ready.client_secret]);
    let output =
        tokio::task::spawn_blocking(move || run(client, CLIENT_TIMEOUT, "node client.mjs"))
            .await
            .expect("the client ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let outcome: Outcome = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| {
            panic!(
                "the client's report ({e}): {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let trail = serde_json::to_string_pretty(&outcome.exchanges).unwrap_or_default();
    assert!(outcome.ok, "{:?}\n{trail}", outcome.error);
    assert!(output.status.success());
    assert_eq!(
        outcome.result.as_deref(),
        Some(format!("reports for {}", provider.ready.client_id).as_str()),
        "{trail}"
    );
    assert!(!outcome.is_error);
    assert!(
        outcome.tools.iter().any(|t| t == "reports"),
        "{:?}",
        outcome.tools
    );

    let ex = &outcome.exchanges;
    let metadata = format!("http://{addr}/.well-known/oauth-protected-resource/mcp");
    // 1. The first request has no token: 401, naming the every-call scope and the document.
    let first = ex.first().expect("the client made requests");
    assert_eq!(first["status"], 401, "{trail}");
    let challenge = str_of(first, "challenge").expect("a 401 challenge");
    assert_eq!(param(challenge, "scope"), Some("mcp:tools"), "{challenge}");
    assert_eq!(
        param(challenge, "resource_metadata"),
        Some(metadata.as_str())
    );
    // 2. Discovery: the RFC 9728 document, then the issuer's metadata.
    let position = |pred: &dyn Fn(&Value) -> bool| ex.iter().position(pred);
    let document = position(&|e| {
        str_of(e, "path") == Some("/.well-known/oauth-protected-resource/mcp") && e["status"] == 200
    })
    .expect("the SDK fetched the RFC 9728 document");
    let issuer_metadata = position(&|e| {
        str_of(e, "path").is_some_and(|p| p.starts_with("/.well-known/"))
            && e["status"] == 200
            && str_of(e, "path") != Some("/.well-known/oauth-protected-resource/mcp")
    })
    .expect("the SDK fetched the issuer's metadata");
    assert!(document < issuer_metadata, "{trail}");
    // 3. Tokens: first with the 401's scope, then with every scope the 403 named, each for
    //    the resource (RFC 8707).
    let tokens: Vec<(usize, &Value)> = ex
        .iter()
        .enumerate()
        .filter(|(_, e)| str_of(e, "grant_type") == Some("client_credentials"))
        .collect();
    assert_eq!(tokens.len(), 2, "{trail}");
    assert_eq!(str_of(tokens[0].1, "scope"), Some("mcp:tools"), "{trail}");
    assert_eq!(
        str_of(tokens[1].1, "scope"),
        Some("mcp:tools read:reports"),
        "{trail}"
    );
    for (_, token) in &tokens {
        assert_eq!(
            str_of(token, "resource"),
            Some(resource.as_str()),
            "{trail}"
        );
        assert_eq!(token["status"], 200, "{trail}");
    }
    // 4. The call of `reports` with the first token: 403 before the tool ran, naming every
    //    scope the call needs; then the same call with the new token: 200.
    let calls: Vec<(usize, &Value)> = ex
        .iter()
        .enumerate()
        .filter(|(_, e)| str_of(e, "rpc") == Some("tools/call"))
        .collect();
    assert_eq!(calls.len(), 2, "{trail}");
    let (refused_at, refused) = calls[0];
    assert_eq!(refused["status"], 403, "{trail}");
    let challenge = str_of(refused, "challenge").expect("a 403 challenge");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert_eq!(
        param(challenge, "scope"),
        Some("mcp:tools read:reports"),
        "{challenge}"
    );
    assert_eq!(
        param(challenge, "resource_metadata"),
        Some(metadata.as_str())
    );
    assert!(
        tokens[0].0 < refused_at && refused_at < tokens[1].0,
        "{trail}"
    );
    let (retried_at, retried) = calls[1];
    assert_eq!(retried["status"], 200, "{trail}");
    assert!(tokens[1].0 < retried_at, "{trail}");
    drop(provider);
}
