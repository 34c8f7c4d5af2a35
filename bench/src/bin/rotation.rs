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

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_principal::{AuthConfig, AuthLayer, Authenticator, Issuer, TokenCacheLimits};
use axum_principal_testkit::{KeyAlg, MockIssuer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A setting from the environment, or its default.
fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------------------------------
// The server.

/// At most this many unknown-`kid` arrival times are kept (8 MB; the count is exact).
const MAX_TIMES: usize = 1_000_000;

struct Probe {
    auth: Authenticator,
    issuer: String,
    /// Token header segment → its `kid` (the few headers of the run's keys).
    kids: RwLock<HashMap<Box<str>, Option<String>>>,
    requests: AtomicU64,
    unknown: AtomicU64,
    unknown_at_ms: Mutex<Vec<u64>>,
}

impl Probe {
    fn kid(&self, request: &Request) -> Option<String> {
        let token = request
            .headers()
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        let segment = token.split('.').next()?;
        if let Some(kid) = self.kids.read().ok()?.get(segment) {
            return kid.clone();
        }
        let json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()?;
        let kid = json.get("kid").and_then(Value::as_str).map(str::to_owned);
        let mut kids = self.kids.write().ok()?;
        if kids.len() < 64 {
            kids.insert(segment.into(), kid.clone());
        }
        kid
    }
}

/// Counts the requests whose `kid` the key store did not hold on arrival.
async fn count_unknown_kid(State(p): State<Arc<Probe>>, request: Request, next: Next) -> Response {
    p.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(kid) = p.kid(&request) {
        let held = p.auth.key_store().key_ids(&p.issuer).await;
        if !held.is_some_and(|kids| kids.contains(&kid)) {
            p.unknown.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut times) = p.unknown_at_ms.lock() {
                if times.len() < MAX_TIMES {
                    times.push(unix_ms());
                }
            }
        }
    }
    next.run(request).await
}

async fn stats(State(p): State<Arc<Probe>>) -> String {
    let times = p
        .unknown_at_ms
        .lock()
        .map(|t| t.clone())
        .unwrap_or_default();
    json!({
        "requests": p.requests.load(Ordering::Relaxed),
        "unknown_kid": p.unknown.load(Ordering::Relaxed),
        "unknown_kid_at_ms": times,
    })
    .to_string()
}

async fn server() -> Result<(), Error> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let bind: SocketAddr = var("BIND")?.parse()?;
    let issuer = var("ISSUER")?;
    let builder = AuthConfig::builder()
        .issuer(Issuer::new(issuer.clone()))
        .audience(var("AUDIENCE")?)
        .key_ttl_range(Duration::from_secs(1), Duration::from_secs(3600))
        .refresh_cooldown(Duration::from_millis(env("REFRESH_COOLDOWN_MS", 100)))
        .failure_backoff(Duration::from_millis(env("FAILURE_BACKOFF_MS", 500)));
    let builder = match var("TOKEN_CACHE")?.as_str() {
        "on" => builder.token_cache(TokenCacheLimits::default()),
        _ => builder.without_token_cache(),
    };
    let layer = AuthLayer::new(builder.build()?);
    let auth = layer.authenticator().clone();
    // The first fetch is not part of the measurement.
    auth.key_store().warm().await?;
    let probe = Arc::new(Probe {
        auth,
        issuer,
        kids: RwLock::default(),
        requests: AtomicU64::new(0),
        unknown: AtomicU64::new(0),
        unknown_at_ms: Mutex::default(),
    });
    let app = Router::new()
        .route("/me", get(|| async { "ok" }))
        .layer(layer)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&probe),
            count_unknown_kid,
        ))
        .merge(Router::new().route("/stats", get(stats)).with_state(probe));
    let listener = tokio::net::TcpListener::bind(bind).await?;
    eprintln!("rotation server listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The driver: issuer, tokens, load, rotations.

use report::{Event, Sample};

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
            .block_on(server()),
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

// ---------------------------------------------------------------------------------------
// The report.

mod report {
    use std::fmt::Write as _;

    use serde_json::Value;

    /// One answer: when it was sent (µs from the start), how long it took, its status (0:
    /// no answer) and the index of the key its token was signed with.
    pub struct Sample {
        pub at_us: u32,
        pub latency_us: u32,
        pub status: u16,
        pub key: u8,
    }

    /// Something the driver did or saw, in seconds from the start.
    pub struct Event {
        pub at: f64,
        pub what: &'static str,
        pub rotation: usize,
    }

    impl Event {
        pub fn new(at: f64, what: &'static str, rotation: usize) -> Self {
            Self { at, what, rotation }
        }
    }

    pub struct Run<'a> {
        pub settings: String,
        pub samples: &'a [Sample],
        pub events: &'a [Event],
        pub warmup: f64,
        pub jwks_fetches: usize,
        pub discovery_fetches: usize,
        pub stats: &'a Value,
        pub t0_ms: u64,
        pub failed_connections: usize,
    }

    fn at(s: &Sample) -> f64 {
        f64::from(s.at_us) / 1e6
    }

    /// `n p50 p99 p99.9 max non-200` of the samples `keep` selects, in ms.
    fn line<'a>(samples: impl Iterator<Item = &'a Sample>) -> String {
        let mut lat = Vec::new();
        let mut bad = 0;
        for s in samples {
            lat.push(s.latency_us);
            bad += usize::from(s.status != 200);
        }
        if lat.is_empty() {
            return format!(
                "{:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
                0, "-", "-", "-", "-", 0
            );
        }
        lat.sort_unstable();
        let q = |p: f64| {
            let i = ((p * lat.len() as f64) as usize).min(lat.len() - 1);
            f64::from(lat[i]) / 1000.0
        };
        format!(
            "{:>8} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7}",
            lat.len(),
            q(0.5),
            q(0.99),
            q(0.999),
            q(1.0),
            bad
        )
    }

    const HEAD: &str = "requests  p50 ms   p99 ms p99.9 ms   max ms non-200";

    pub fn summary(run: &Run<'_>) -> String {
        let ev = |what: &str, r: usize| {
            run.events
                .iter()
                .find(|e| e.what == what && e.rotation == r)
                .map(|e| e.at)
        };
        let rotations = run.events.iter().map(|e| e.rotation).max().unwrap_or(0);
        // Around rotation r: from just before publishing to 1.5 s after the switch, and the
        // second around the retirement.
        let windows: Vec<(usize, f64, f64, f64, f64)> = (1..=rotations)
            .filter_map(|r| {
                let (p, s) = (ev("publish", r)?, ev("switch", r)?);
                let retire = ev("retire", r).unwrap_or(f64::MAX - 10.0);
                Some((r, p - 0.25, s + 1.5, retire - 0.25, retire + 1.0))
            })
            .collect();
        let in_rotation = |t: f64| {
            windows
                .iter()
                .any(|&(_, a, b, c, d)| (a..b).contains(&t) || (c..d).contains(&t))
        };
        let fetches: Vec<f64> = run
            .events
            .iter()
            .filter(|e| e.what == "jwks fetch")
            .map(|e| e.at)
            .collect();
        let measured = || run.samples.iter().filter(|s| at(s) >= run.warmup);
        let unknown_at: Vec<f64> = run
            .stats
            .get("unknown_kid_at_ms")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .map(|ms| (ms as f64 - run.t0_ms as f64) / 1000.0)
            .collect();
        let mut out = String::new();
        let _ = writeln!(out, "settings: {}", run.settings);
        let _ = writeln!(
            out,
            "requests: {} ({} in the first {} s, left out), failed connections: {}",
            run.samples.len(),
            run.samples.len() - measured().count(),
            run.warmup,
            run.failed_connections
        );
        let _ = writeln!(out, "\nlatency by window (from {} s on)", run.warmup);
        let _ = writeln!(out, "{:<46} {HEAD}", "window");
        let rows: [(&str, Box<dyn Fn(&Sample) -> bool>); 4] = [
            ("all", Box::new(|_| true)),
            (
                "steady (outside every rotation window)",
                Box::new(|s| !in_rotation(at(s))),
            ),
            (
                "around rotations (publish-0.25 .. switch+1.5 s, retire-0.25 .. +1 s)",
                Box::new(|s| in_rotation(at(s))),
            ),
            (
                "within 50 ms after a JWKS fetch began",
                Box::new(|s| fetches.iter().any(|f| (*f..f + 0.05).contains(&at(s)))),
            ),
        ];
        for (label, keep) in &rows {
            let _ = writeln!(out, "{label:<46} {}", line(measured().filter(|s| keep(s))));
        }
        for &(r, a, b, c, d) in &windows {
            let s = ev("switch", r).unwrap_or_default();
            let p = ev("publish", r).unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<46} {}",
                format!("rotation {r}: publish {p:.2} s .. switch {s:.2} s +1.5"),
                line(measured().filter(|x| (a..b).contains(&at(x))))
            );
            let _ = writeln!(
                out,
                "{:<46} {}",
                format!("  first 0.5 s signed with the new key"),
                line(
                    measured().filter(|x| usize::from(x.key) == r && (s..s + 0.5).contains(&at(x)))
                )
            );
            let _ = writeln!(
                out,
                "{:<46} {}",
                format!("  around the retirement ({:.2} s)", c + 0.25),
                line(measured().filter(|x| (c..d).contains(&at(x))))
            );
            let seen: Vec<String> = fetches
                .iter()
                .filter(|f| (p - 2.0..s + 2.0).contains(*f))
                .map(|f| format!("{:+.2}", f - p))
                .collect();
            let _ = writeln!(
                out,
                "  JWKS fetches from publish-2 s to switch+2 s, s after publishing: {}",
                seen.join(" ")
            );
            let late: Vec<&f64> = unknown_at.iter().filter(|t| (a..b).contains(*t)).collect();
            let _ = writeln!(
                out,
                "  requests whose kid the store did not hold on arrival: {}{}",
                late.len(),
                match (late.first(), late.last()) {
                    (Some(f), Some(l)) =>
                        format!(" ({:+.3} .. {:+.3} s after the switch)", *f - s, *l - s),
                    _ => String::new(),
                }
            );
        }
        let unknown = run
            .stats
            .get("unknown_kid")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let times = &unknown_at;
        let _ = writeln!(
            out,
            "\nJWKS fetches during the run: {} (discovery: {}); the server saw {} requests",
            run.jwks_fetches,
            run.discovery_fetches,
            run.stats
                .get("requests")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "requests whose kid the key store did not hold on arrival (each waited for a fetch or was refused): {unknown}"
        );
        if let (Some(first), Some(last)) = (times.first(), times.last()) {
            let _ = writeln!(out, "  first at {first:.3} s, last at {last:.3} s");
        }
        let mut statuses = std::collections::BTreeMap::new();
        for x in run.samples {
            *statuses.entry(x.status).or_insert(0usize) += 1;
        }
        let _ = writeln!(
            out,
            "answers by status (whole run; 0: none): {}",
            statuses
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut log = String::from("events (s from the start):");
        for e in run.events.iter().filter(|e| e.what != "jwks fetch") {
            let _ = write!(log, " {}#{} {:.2};", e.what, e.rotation, e.at);
        }
        let _ = writeln!(out, "{log}");
        let _ = writeln!(
            out,
            "jwks fetches at (s): {}",
            fetches
                .iter()
                .map(|f| format!("{f:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        out
    }

    /// One CSV row per `bucket` seconds: start, requests, p50, p99, max (µs), non-200.
    pub fn series(samples: &[Sample], bucket: f64) -> Vec<String> {
        let mut buckets: Vec<(Vec<u32>, usize)> = Vec::new();
        for s in samples {
            let i = (at(s) / bucket) as usize;
            if i >= 100_000 {
                continue;
            }
            if buckets.len() <= i {
                buckets.resize_with(i + 1, || (Vec::new(), 0));
            }
            buckets[i].0.push(s.latency_us);
            buckets[i].1 += usize::from(s.status != 200);
        }
        buckets
            .into_iter()
            .enumerate()
            .map(|(i, (mut lat, bad))| {
                lat.sort_unstable();
                let q = |p: f64| {
                    lat.get(((p * lat.len() as f64) as usize).min(lat.len().saturating_sub(1)))
                        .copied()
                        .unwrap_or(0)
                };
                format!(
                    "{:.1},{},{},{},{},{bad}",
                    i as f64 * bucket,
                    lat.len(),
                    q(0.5),
                    q(0.99),
                    lat.last().copied().unwrap_or(0)
                )
            })
            .collect()
    }
}
