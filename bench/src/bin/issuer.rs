//! `issuer`: the mock issuer of `bench/load.sh` and `bench/callgrind.sh`, with its tokens
//! written to files.
//!
//! ```text
//! cargo run --release -p axum-principal-bench --bin issuer -- OUT_DIR [POOL_SIZE] [real|small]
//! ```
//!
//! Starts a `MockIssuer` (RS256, ES256 and EdDSA keys) on an ephemeral `127.0.0.1` port and
//! writes into `OUT_DIR`:
//!
//! | file | content |
//! |---|---|
//! | `issuer`, `audience` | the values for `AUTHZ_ISSUER` / `AUTHZ_AUDIENCE` (and the lean server's `ISSUER` / `AUDIENCE`) |
//! | `jwks.json` | the issuer's JWKS (for `floor` and `lean`) |
//! | `token_rs256.txt`, `token_es256.txt` | one token each (the repeated token) |
//! | `pool_rs256.txt`, `pool_es256.txt` | `POOL_SIZE` distinct tokens each (default 10 000), one per line |
//! | `claims` | the claim shape: `real` or `small` |
//! | `ready` | written last; the scripts wait for it |
//!
//! The claim shapes (every token valid for 6 hours, distinct `sub` and `jti`):
//!
//! * `real` (the default): an Auth0 user access token, 16 claims, ~1 150 bytes with RS256:
//!   `iss`, `sub` (`auth0|user-00000001`), `aud` (the API and the tenant's `userinfo`),
//!   `exp`, `nbf`, `iat`, `jti` (a UUID), `azp`, `scope` (six scopes), `roles` (three),
//!   `email`, `email_verified`, `name`, `preferred_username`, `sid`, `auth_time`. With `sid`
//!   and `auth_time` it is a user under every classification preset.
//! * `small`: the earlier bench tokens, 7 claims (`iss`, `aud`, `iat`, `exp`, `sub`, `jti`,
//!   `scope` `openid profile`), ~600 bytes with RS256.
//!
//! Then it keeps serving discovery and the JWKS until killed. Minting uses every core this
//! process may run on (RS256 signing is the slow part, roughly 1 ms a token on one core).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use axum_principal_testkit::{KeyAlg, MockIssuer};
use serde_json::json;

const LIFETIME_SECS: i64 = 6 * 3600;
/// The tenant's second audience, as Auth0 adds when `openid` is asked for.
const USERINFO: &str = "https://tenant.eu.auth0.com/userinfo";
/// The client the tokens were issued to (an Auth0 client id has 32 characters).
const CLIENT_ID: &str = "k3Jq9XbV2mTz7LpR4wNc8HfY6dGs1AeU";

/// Which claims the tokens carry (see the module doc).
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Real,
    Small,
}

/// 64 well-mixed bits from a seed (splitmix64): the tokens' UUIDs and session ids.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A version-4-shaped UUID, distinct per seed.
fn uuid(seed: u64) -> String {
    let (a, b) = (mix(seed), mix(seed ^ 0x5555_5555_5555_5555));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 | (b >> 62),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

fn mint(issuer: &MockIssuer, shape: Shape, alg: KeyAlg, label: &str, i: usize) -> String {
    let token = issuer.token().alg(alg).expires_in(LIFETIME_SECS);
    match shape {
        Shape::Small => token
            .claim("sub", format!("{label}-user-{i:06}"))
            .claim("jti", format!("{label}-{alg}-{i:06}"))
            .claim("scope", "openid profile"),
        Shape::Real => {
            let seed =
                (i as u64) << 8 | u64::from(alg == KeyAlg::Es256) << 1 | u64::from(label == "pool");
            let user = format!("user-{i:08}");
            let sid = format!("{:016x}{:016x}", mix(seed ^ 0xa5a5), mix(seed ^ 0x5a5a));
            let iat = token.claims_json()["iat"].as_i64().unwrap_or_default();
            token
                .claims(json!({
                    "sub": format!("auth0|{user}"),
                    "aud": [issuer.audience(), USERINFO],
                    "jti": uuid(seed),
                    "azp": CLIENT_ID,
                    "scope": "openid profile email read:orders write:orders offline_access",
                    "roles": ["reader", "writer", "support"],
                    "email": format!("{user}@example.com"),
                    "email_verified": true,
                    "name": format!("User {i:08}"),
                    "preferred_username": user,
                    "sid": sid,
                    "auth_time": iat - 120,
                }))
                .not_before_in(0)
        }
    }
    .sign()
}

/// `n` distinct tokens, minted on all available cores, in order.
fn pool(issuer: &MockIssuer, shape: Shape, alg: KeyAlg, n: usize) -> Vec<String> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, 8);
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                let issuer = issuer.clone();
                s.spawn(move || {
                    (start..(start + chunk).min(n))
                        .map(|i| mint(&issuer, shape, alg, "pool", i + 1))
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

fn write(dir: &Path, name: &str, lines: &[String]) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
    for line in lines {
        writeln!(file, "{line}")?;
    }
    file.flush()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    const USAGE: &str = "usage: issuer OUT_DIR [POOL_SIZE] [real|small]";
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or(USAGE)?);
    let pool_size: usize = match args.next() {
        Some(n) => n
            .parse()
            .map_err(|_| format!("POOL_SIZE {n:?} is not a number"))?,
        None => 10_000,
    };
    let (shape, shape_name) = match args.next().as_deref() {
        None | Some("real") => (Shape::Real, "real"),
        Some("small") => (Shape::Small, "small"),
        Some(other) => return Err(format!("claims {other:?}: {USAGE}").into()),
    };
    std::fs::create_dir_all(&dir)?;
    let _ = std::fs::remove_file(dir.join("ready"));

    let issuer = MockIssuer::builder()
        .audience("https://api.bench.test")
        .start()
        .await?;
    write(&dir, "issuer", &[issuer.issuer().to_owned()])?;
    write(&dir, "audience", &[issuer.audience().to_owned()])?;
    write(&dir, "jwks.json", &[issuer.jwks().to_string()])?;
    write(&dir, "claims", &[shape_name.to_owned()])?;

    for (alg, name) in [(KeyAlg::Rs256, "rs256"), (KeyAlg::Es256, "es256")] {
        let one = mint(&issuer, shape, alg, "one", 0);
        write(
            &dir,
            &format!("token_{name}.txt"),
            std::slice::from_ref(&one),
        )?;
        let started = Instant::now();
        let tokens = pool(&issuer, shape, alg, pool_size);
        write(&dir, &format!("pool_{name}.txt"), &tokens)?;
        let mean = tokens.iter().map(String::len).sum::<usize>() / tokens.len().max(1);
        eprintln!(
            "issuer: {pool_size} {alg} tokens ({shape_name} claims, {} bytes the repeated one, {mean} on average) minted in {:.1} s",
            one.len(),
            started.elapsed().as_secs_f64()
        );
    }
    write(&dir, "ready", &[issuer.issuer().to_owned()])?;
    eprintln!("issuer: serving {} until killed", issuer.issuer());

    std::future::pending::<()>().await;
    Ok(())
}
