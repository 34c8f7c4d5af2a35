//! What the workspace's system tests share beyond the library's test helpers: starting the
//! `oidc-provider` harness (`tests/oidc-provider/harness.mjs`) and waiting for its ready line.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::common::node_deps;

/// Waiting for the harness's ready line (Node start-up and an RSA key generation).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What the harness wrote on stderr, and the stdout lines that were not its ready line.
pub type Log = Arc<Mutex<String>>;

/// The `node` process; killed (and reaped) on drop. The harness also exits by itself when its
/// stdin closes, so a test process that dies does not leave it behind.
pub struct Process {
    child: Child,
    _stdin: Option<ChildStdin>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The log so far.
pub fn output(log: &Log) -> String {
    log.lock().map(|l| l.clone()).unwrap_or_default()
}

/// Starts `node harness.mjs <args>` (installing its npm packages first when needed) and
/// waits for its ready line, the first stdout line that parses as `R`. Blocking: call it from
/// `spawn_blocking`. Panics with the harness's output when it exits or stays silent twice.
pub fn start_harness<R: DeserializeOwned + Send + 'static>(args: &[&str]) -> (Process, Log, R) {
    node_deps::ensure()
        .expect("Node.js and the harness's node_modules (the real-provider tests need them)");
    // A second attempt when the first never says it is ready: once, on a freshly set-up
    // machine, a harness stayed silent for the whole minute while its siblings started in
    // two seconds. Both attempts' output goes into the failure.
    match try_start(args) {
        Ok(started) => started,
        Err(first) => try_start(args)
            .unwrap_or_else(|second| panic!("{second}\n(an earlier attempt: {first})")),
    }
}

/// One attempt of [`start_harness`]: the running harness, or why it did not start.
fn try_start<R: DeserializeOwned + Send + 'static>(
    args: &[&str],
) -> Result<(Process, Log, R), String> {
    let dir = node_deps::harness_dir();
    let mut child = Command::new("node")
        .arg(dir.join("harness.mjs"))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `node harness.mjs {}`: {e}", args.join(" ")));
    let log: Log = Arc::new(Mutex::new(String::new()));
    if let Some(mut stderr) = child.stderr.take() {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut log) = log.lock() {
                    log.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
    }
    let (tx, rx) = mpsc::channel::<R>();
    if let Some(stdout) = child.stdout.take() {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str::<R>(&line) {
                    Ok(ready) => {
                        let _ = tx.send(ready);
                    }
                    Err(_) => {
                        if let Ok(mut log) = log.lock() {
                            log.push_str(&line);
                            log.push('\n');
                        }
                    }
                }
            }
        });
    }
    let stdin = child.stdin.take();
    // From here on a panic kills the child through Drop.
    let mut process = Process {
        child,
        _stdin: stdin,
    };
    match rx.recv_timeout(READY_TIMEOUT) {
        Ok(ready) => Ok((process, log, ready)),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "the oidc-provider harness printed no ready line within {READY_TIMEOUT:?}; its output:\n{}",
            output(&log)
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let status = process.child.wait().map(|s| s.to_string());
            Err(format!(
                "the oidc-provider harness exited before it was ready ({status:?}); its output:\n{}",
                output(&log)
            ))
        }
    }
}

/// `(token_type, access_token)` of a token endpoint's JSON answer; `None` without an
/// access token.
pub fn issued_token(body: &serde_json::Value) -> Option<(String, String)> {
    let token_type = body["token_type"].as_str().unwrap_or_default().to_owned();
    Some((token_type, body["access_token"].as_str()?.to_owned()))
}
