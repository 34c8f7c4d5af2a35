//! `rotation`: latency while the issuer rotates its keys under load (issue 20, item 5), for
//! `bench/rotation.sh`.
//!
//! ```text
//! rotation drive OUT_DIR     # the issuer, the load and the report; starts `rotation server`
//! rotation server            # AuthLayer, keys by discovery (started by `drive`)
//! ```
//!
//! `drive` starts a `MockIssuer` serving discovery and a JWKS with `Cache-Control: max-age=
//! MAX_AGE` (one RS256 key), makes one more key per rotation (unpublished) and mints `POOL`
//! distinct real-sized RS256 tokens per key, then starts `rotation server` (pinned with
//! `taskset -c SERVER_CPU` when set, one Tokio worker), which finds the keys by OIDC
//! discovery with the key TTL range starting at 1 s, and opens `CONNS` keep-alive
//! connections (hyper), each sending `GET /me` with the next token of the current key's pool
//! as soon as the last answer came, for `DURATION` s. Every answer's latency is recorded.
//!
//! Rotation `r` (`ROTATIONS` of them, every `ROTATE_EVERY` s from `FIRST_PUBLISH` s):
//! publish the new key in the JWKS; `SWITCH_AFTER` s later the clients sign with it (the
//! issuers' way: more than one max-age later; `SWITCH_AFTER=0` is the adversarial case,
//! tokens of a key no cache has seen); `RETIRE_AFTER` s after that the old key leaves the
//! JWKS. The issuer runs on the client's single-threaded runtime, so a JWKS answer never
//! interleaves with a change of the set; a watcher notes the time of every JWKS fetch.
//!
//! The server counts the requests whose `kid` its key store did not hold when they arrived
//! (`KeyStore::key_ids` read just before `AuthLayer`): each of those either waited for a
//! fetch or was refused. `GET /stats` (outside the layer) reports it.
//!
//! The report (stdout and `OUT_DIR/summary.txt`): p50/p99/p99.9/max latency and non-200
//! answers in the steady windows and around each rotation, the JWKS and discovery fetches,
//! the unknown-`kid` arrivals; `OUT_DIR/series.csv` has the same per 100 ms.
//!
//! Settings (environment, defaults): `DURATION=36 CONNS=64 POOL=2000 MAX_AGE=2 ROTATIONS=3
//! FIRST_PUBLISH=6 ROTATE_EVERY=10 SWITCH_AFTER=2.5 RETIRE_AFTER=3 WARMUP=2
//! TOKEN_CACHE=off REFRESH_COOLDOWN_MS=100 FAILURE_BACKOFF_MS=500 SERVER_CPU=` (empty: not
//! pinned). The library's defaults (cooldown 30 s, backoff 5 s) suit a max-age of minutes:
//! the backoff also spaces refreshes ahead of expiry (from the start of the last attempt),
//! so with a 2 s max-age and a 5 s backoff the keys are refreshed every 5 s, served past
//! their max-age in between; the bench scales both down with the max-age.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderValue};
use axum_principal_testkit::{KeyAlg, MockIssuer};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

mod report;
mod server;

use report::{Event, Sample};

pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// A setting from the environment, or its default.
pub(crate) fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

// The driver: issuer, tokens, load, rotations.

/// The server process, killed when dropped (also on a panic or an early return).
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `n` distinct real-sized RS256 tokens signed by `kid` (the shape of `issuer`'s `real`
/// tokens, 16 claims), minted on every core this process may use.
fn pool(issuer: &MockIssuer, kid: &str, n: usize, key_index: usize) -> Vec<HeaderValue> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, 8);
    let chunk = n.div_ceil(threads).max(1);
    let mint = |i: usize| {
        let user = format!("user-{key_index}-{i:07}");
        let token = issuer.token().key(kid).expires_in(3600);
        let iat = token.claims_json()["iat"].as_i64().unwrap_or_default();
        let token = token
            .claims(json!({
                "sub": format!("auth0|{user}"),
                "aud": [issuer.audience(), "https://tenant.eu.auth0.com/userinfo"],
                "jti": format!("{key_index:08x}-{i:04x}-4000-8000-{:012x}", i * 7919),
                "azp": "k3Jq9XbV2mTz7LpR4wNc8HfY6dGs1AeU",
                "scope": "openid profile email read:orders write:orders offline_access",
                "roles": ["reader", "writer", "support"],
                "email": format!("{user}@example.com"),
                "email_verified": true,
                "name": format!("User {i:08}"),
                "preferred_username": user,
                "sid": format!("{:032x}", (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15),
                "auth_time": iat - 120,
            }))
            .not_before_in(0)
            .sign();
        HeaderValue::try_from(format!("Bearer {token}")).expect("a token is a header value")
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                s.spawn(move || {
                    (start..(start + chunk).min(n))
                        .map(mint)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("minting thread"))
            .collect()
    })
}

/// One keep-alive connection sending requests back to back until `end`.
async fn connection(
    addr: SocketAddr,
    pools: Arc<Vec<Vec<HeaderValue>>>,
    epoch: Arc<AtomicUsize>,
    next: Arc<AtomicUsize>,
    t0: Instant,
    end: Instant,
) -> Result<Vec<Sample>, Error> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut samples = Vec::with_capacity(1 << 16);
    while Instant::now() < end && samples.len() < 4_000_000 {
        let key = epoch.load(Ordering::Relaxed);
        let tokens = &pools[key];
        let token = tokens[next.fetch_add(1, Ordering::Relaxed) % tokens.len()].clone();
        let request = axum::http::Request::get("/me")
            .header(header::HOST, "127.0.0.1")
            .header(header::AUTHORIZATION, token)
            .body(Empty::<Bytes>::new())?;
        sender.ready().await?;
        let start = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(10), async {
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            response.into_body().collect().await?;
            Ok::<_, Error>(status)
        })
        .await;
        let status = match answer {
            Ok(Ok(status)) => status,
            Ok(Err(_)) | Err(_) => 0,
        };
        samples.push(Sample {
            at_us: u32::try_from(start.duration_since(t0).as_micros()).unwrap_or(u32::MAX),
            latency_us: u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX),
            status,
            key: u8::try_from(key).unwrap_or(u8::MAX),
        });
        if status == 0 {
            break;
        }
    }
    Ok(samples)
}

/// A plain GET of `path` on the server (its `/stats`).
async fn get_text(addr: SocketAddr, path: &str) -> Result<String, Error> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = axum::http::Request::get(path)
        .header(header::HOST, "127.0.0.1")
        .body(Empty::<Bytes>::new())?;
    let body = sender
        .send_request(request)
        .await?
        .into_body()
        .collect()
        .await?;
    Ok(String::from_utf8_lossy(&body.to_bytes()).into_owned())
}

async fn start_server(
    out: &Path,
    issuer: &MockIssuer,
) -> Result<(ServerProcess, SocketAddr), Error> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let exe = std::env::current_exe()?;
    let cpu = std::env::var("SERVER_CPU").unwrap_or_default();
    let mut command = if cpu.is_empty() {
        Command::new(&exe)
    } else {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(&cpu).arg(&exe);
        c
    };
    let log = std::fs::File::create(out.join("server.log"))?;
    let child = command
        .arg("server")
        .env("BIND", addr.to_string())
        .env("ISSUER", issuer.issuer())
        .env("AUDIENCE", issuer.audience())
        .env(
            "TOKEN_CACHE",
            std::env::var("TOKEN_CACHE").unwrap_or_else(|_| "off".into()),
        )
        .env("TOKIO_WORKER_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    std::fs::write(out.join("server.pid"), child.id().to_string())?;
    let server = ServerProcess(child);
    for _ in 0..300 {
        let text = std::fs::read_to_string(out.join("server.log")).unwrap_or_default();
        if text.contains("listening on") {
            return Ok((server, addr));
        }
        // Asynchronously: the issuer answers the server's discovery on this thread.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the server did not start (see server.log)".into())
}

async fn drive(out: PathBuf) -> Result<(), Error> {
    std::fs::create_dir_all(&out)?;
    let duration: f64 = env("DURATION", 36.0);
    let conns: usize = env("CONNS", 64);
    let pool_size: usize = env("POOL", 2000);
    let max_age: u64 = env("MAX_AGE", 2);
    let rotations: usize = env("ROTATIONS", 3);
    let first_publish: f64 = env("FIRST_PUBLISH", 6.0);
    let every: f64 = env("ROTATE_EVERY", 10.0);
    let switch_after: f64 = env("SWITCH_AFTER", 2.5);
    let retire_after: f64 = env("RETIRE_AFTER", 3.0);

    let issuer = MockIssuer::builder()
        .keys([KeyAlg::Rs256])
        .cache_control(Some(format!("max-age={max_age}")))
        .start()
        .await?;
    let mut kids = vec![issuer.signing_kid(KeyAlg::Rs256).ok_or("no RS256 key")?];
    for _ in 0..rotations {
        // Made now (so its tokens can be minted before the run), published at its rotation.
        let kid = issuer.add_key(KeyAlg::Rs256);
        issuer.remove_key(&kid);
        kids.push(kid);
    }
    let minting = Instant::now();
    let pools: Vec<Vec<HeaderValue>> = kids
        .iter()
        .enumerate()
        .map(|(i, kid)| pool(&issuer, kid, pool_size, i))
        .collect();
    eprintln!(
        "rotation: {} keys x {pool_size} tokens minted in {:.1} s",
        kids.len(),
        minting.elapsed().as_secs_f64()
    );
    let (server, addr) = start_server(&out, &issuer).await?;
    issuer.reset_counters();

    let pools = Arc::new(pools);
    let epoch = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let t0_ms = unix_ms();
    let end = t0 + Duration::from_secs_f64(duration);
    let clients: Vec<_> = (0..conns)
        .map(|_| {
            tokio::spawn(connection(
                addr,
                Arc::clone(&pools),
                Arc::clone(&epoch),
                Arc::clone(&next),
                t0,
                end,
            ))
        })
        .collect();

    // The rotations and the fetch watcher, on this (the clients' and the issuer's) thread.
    let mut plan: Vec<(f64, usize, &str)> = Vec::new();
    for r in 1..=rotations {
        let publish = first_publish + every * (r - 1) as f64;
        plan.push((publish, r, "publish"));
        plan.push((publish + switch_after, r, "switch"));
        plan.push((publish + switch_after + retire_after, r, "retire"));
    }
    plan.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut events = Vec::new();
    let mut fetches = issuer.jwks_requests();
    let mut plan = plan.into_iter().peekable();
    while Instant::now() < end {
        let now = t0.elapsed().as_secs_f64();
        let seen = issuer.jwks_requests();
        if seen != fetches {
            fetches = seen;
            events.push(Event::new(now, "jwks fetch", 0));
        }
        while let Some(&(at, r, what)) = plan.peek() {
            if at > now {
                break;
            }
            plan.next();
            match what {
                "publish" => {
                    let jwk = issuer.public_jwk(&kids[r]).ok_or("no such key")?;
                    issuer.add_raw_jwk(jwk);
                }
                "switch" => epoch.store(r, Ordering::Relaxed),
                _ => {
                    // The old key leaves the JWKS; the current one stays.
                    if r == 1 {
                        issuer.remove_key(&kids[0]);
                    } else {
                        issuer.clear_raw_jwks();
                        let jwk = issuer.public_jwk(&kids[r]).ok_or("no such key")?;
                        issuer.add_raw_jwk(jwk);
                    }
                }
            }
            events.push(Event::new(now, what, r));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut samples = Vec::new();
    let mut failed = 0;
    for client in clients {
        match client.await? {
            Ok(mut s) => samples.append(&mut s),
            Err(e) => {
                failed += 1;
                eprintln!("rotation: a connection failed: {e}");
            }
        }
    }
    let stats: Value = serde_json::from_str(&get_text(addr, "/stats").await?)?;
    drop(server);

    let settings = format!(
        "duration {duration} s, {conns} connections, {pool_size} tokens per key, max-age {max_age} s, \
         {rotations} rotations every {every} s from {first_publish} s, switch {switch_after} s after \
         publishing, retire {retire_after} s after the switch, token cache {}, refresh cooldown {} ms, \
         failure backoff {} ms, server core {:?}",
        std::env::var("TOKEN_CACHE").unwrap_or_else(|_| "off".into()),
        env("REFRESH_COOLDOWN_MS", 100u64),
        env("FAILURE_BACKOFF_MS", 500u64),
        std::env::var("SERVER_CPU").unwrap_or_default(),
    );
    let text = report::summary(&report::Run {
        settings,
        samples: &samples,
        events: &events,
        warmup: env("WARMUP", 2.0),
        jwks_fetches: issuer.jwks_requests(),
        discovery_fetches: issuer.discovery_requests(),
        stats: &stats,
        t0_ms,
        failed_connections: failed,
    });
    print!("{text}");
    std::fs::write(out.join("summary.txt"), &text)?;
    let mut csv = String::from("t_s,requests,p50_us,p99_us,max_us,non_200\n");
    for row in report::series(&samples, 0.1) {
        let _ = writeln!(csv, "{row}");
    }
    std::fs::write(out.join("series.csv"), csv)?;
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("server") => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(server::server()),
        Some("drive") => {
            let out = PathBuf::from(args.next().ok_or("usage: rotation drive OUT_DIR")?);
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(drive(out))
        }
        _ => Err("usage: rotation drive OUT_DIR | rotation server".into()),
    }
}
