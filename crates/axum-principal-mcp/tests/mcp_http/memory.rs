//! A measurement, ignored by default: the release example under an `initialize` flood from
//! one token, its resident memory (`VmRSS`) before and after.
//!
//! ```text
//! cargo build --release -p axum-principal-mcp --example mcp_server
//! cargo test -p axum-principal-mcp --test mcp_http memory -- --ignored --nocapture
//! ```
//!
//! `MCP_SERVER_BIN` names another build of the example (to measure an older version).
//!
//! Measured (20,000 requests, 32 in flight): without the session limits (d808bfc) 12.5 MB
//! before, 998 MB after (+962 MB); with them 12.8 MB before, 33.7 MB after (+20 MB).

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;

use crate::support::initialize_request;

/// How many `initialize` requests, and how many in flight at once.
const REQUESTS: usize = 20_000;
const IN_FLIGHT: usize = 32;

/// What the contract promises the flood grows the server by, at most.
const BOUND_KB: u64 = 100 * 1024;

/// The example's process, killed when dropped.
struct Example(Child);

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

fn example_binary() -> PathBuf {
    std::env::var_os("MCP_SERVER_BIN").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/release/examples/mcp_server")
        },
        PathBuf::from,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: needs the release build of the example"]
async fn an_initialize_flood_from_one_token_keeps_memory_bounded() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut command = Command::new(example_binary());
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("AUTHZ_")) {
        command.env_remove(name);
    }
    let mut child = command
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the example starts (build it with --release first)");
    let stdout = child.stdout.take().expect("its stdout");
    let example = Example(child);
    let pid = example.0.id();

    // The development banner names a user token; the rest of stdout is drained.
    let mut lines = BufReader::new(stdout).lines();
    let token = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("USER_TOKEN=").map(str::to_owned))
        .expect("the banner prints USER_TOKEN");
    std::thread::spawn(move || lines.for_each(drop));

    let endpoint = Arc::new(format!("http://127.0.0.1:{port}/mcp"));
    let http = reqwest::Client::new();
    let body = Arc::new(initialize_request().to_string());
    let send = {
        let (http, endpoint, token, body) = (http.clone(), endpoint.clone(), token, body);
        move || {
            let (http, endpoint, token, body) =
                (http.clone(), endpoint.clone(), token.clone(), body.clone());
            async move {
                let response = http
                    .post(endpoint.as_str())
                    .header(AUTHORIZATION, format!("Bearer {token}"))
                    .header(CONTENT_TYPE, "application/json")
                    .header(ACCEPT, "application/json, text/event-stream")
                    .body(body.as_str().to_owned())
                    .send()
                    .await
                    .expect("the server answers");
                let status = response.status();
                response.bytes().await.expect("a body");
                status
            }
        }
    };
    // The banner is printed once the server listens. One session (and the signing keys'
    // fetch) before the baseline.
    assert_eq!(
        send().await,
        StatusCode::OK,
        "the example answers initialize"
    );
    let before = rss_kb(pid);

    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..IN_FLIGHT {
        let send = send.clone();
        workers.spawn(async move {
            let mut ok = 0usize;
            for _ in (worker..REQUESTS).step_by(IN_FLIGHT) {
                ok += usize::from(send().await == StatusCode::OK);
            }
            ok
        });
    }
    let mut ok = 0;
    while let Some(done) = workers.join_next().await {
        ok += done.expect("a worker");
    }
    let after = rss_kb(pid);
    let grown = after.saturating_sub(before);
    println!(
        "{REQUESTS} initialize ({ok} answered 200), {IN_FLIGHT} in flight: VmRSS {before} kB \
         before, {after} kB after, +{} MB",
        grown / 1024
    );
    assert_eq!(ok, REQUESTS, "every initialize answered 200");
    assert!(grown < BOUND_KB, "grew by {grown} kB");
}
