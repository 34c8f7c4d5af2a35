//! `dpop_mint`: DPoP-bound tokens and a fresh proof for each, for `bench/dpop_callgrind.sh`.
//!
//! ```text
//! cargo run --release -p axum-principal-bench --bin dpop_mint -- OUT_DIR COUNT RS256|ES256 [CLIENT_KEYS]
//! ```
//!
//! Starts a `MockIssuer` (RS256 and ES256 keys), makes `CLIENT_KEYS` (default 4) ES256 DPoP
//! client keys, and writes into `OUT_DIR`: `issuer`, `audience`, `jwks.json` (the issuer's
//! keys, for `dpop_floor` and `lean_dpop`) and `dpop_<alg>.txt`, `COUNT` lines of
//! `<access token> <proof>`, then exits (the servers read the keys from the file).
//!
//! Each access token has `bench/src/bin/issuer.rs`'s real-sized shape (16 claims, an Auth0
//! user access token) plus `cnf.jkt`, bound to client key `i % CLIENT_KEYS`, distinct `sub`
//! and `jti`. Each proof is fresh: its own random `jti`, `htm` `GET`, `htu` [`ORIGIN`]`/me`,
//! `ath` the token's hash, `iat` now. So mint right before a run: a proof is accepted for
//! the DPoP window (60 s by default) after it was minted, and once only.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use axum_principal_testkit::{DpopKey, KeyAlg, MockIssuer};
use serde_json::json;

/// The origin the servers are configured with; the proofs' `htu` is this plus `/me`.
const ORIGIN: &str = "https://api.bench.test";
const LIFETIME_SECS: i64 = 6 * 3600;
/// As `issuer.rs`: the tenant's second audience and the client the tokens were issued to.
const USERINFO: &str = "https://tenant.eu.auth0.com/userinfo";
const CLIENT_ID: &str = "k3Jq9XbV2mTz7LpR4wNc8HfY6dGs1AeU";

/// A version-4-shaped UUID, distinct per `i` (the token's `jti`; the proofs' are random).
fn uuid(i: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        i.wrapping_mul(0x9e37_79b9) & 0xffff_ffff,
        i & 0xffff,
        (i >> 16) & 0xfff,
        (i >> 28) & 0xfff,
        i.wrapping_mul(0x94d0_49bb_1331) & 0xffff_ffff_ffff
    )
}

/// Token `i` bound to `key`, and a fresh proof for it.
fn mint(issuer: &MockIssuer, alg: KeyAlg, key: &DpopKey, i: usize) -> String {
    let token = issuer.token().alg(alg).expires_in(LIFETIME_SECS);
    let iat = token.claims_json()["iat"].as_i64().unwrap_or_default();
    let user = format!("user-{i:08}");
    let token = token
        .claims(json!({
            "sub": format!("auth0|{user}"),
            "aud": [issuer.audience(), USERINFO],
            "jti": uuid(i as u64),
            "azp": CLIENT_ID,
            "scope": "openid profile email read:orders write:orders offline_access",
            "roles": ["reader", "writer", "support"],
            "email": format!("{user}@example.com"),
            "email_verified": true,
            "name": format!("User {i:08}"),
            "preferred_username": user,
            "sid": format!("{:032x}", (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)),
            "auth_time": iat - 120,
        }))
        .not_before_in(0)
        .dpop_bound(key)
        .sign();
    let proof = key
        .proof("GET", &format!("{ORIGIN}/me"))
        .access_token(&token)
        .sign();
    format!("{token} {proof}")
}

fn write(dir: &Path, name: &str, lines: &[String]) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
    for line in lines {
        writeln!(file, "{line}")?;
    }
    file.flush()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: dpop_mint OUT_DIR COUNT RS256|ES256 [CLIENT_KEYS]";
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let count: usize = args.next().ok_or(usage)?.parse()?;
    let (alg, name) = match args.next().ok_or(usage)?.as_str() {
        "RS256" => (KeyAlg::Rs256, "rs256"),
        "ES256" => (KeyAlg::Es256, "es256"),
        other => return Err(format!("alg must be RS256 or ES256, not {other}").into()),
    };
    let client_keys: usize = args.next().map_or(Ok(4), |k| k.parse())?;
    std::fs::create_dir_all(&dir)?;

    let issuer = MockIssuer::builder()
        .audience("https://api.bench.test")
        .keys([KeyAlg::Rs256, KeyAlg::Es256])
        .start()
        .await?;
    let keys = (0..client_keys.max(1))
        .map(|_| DpopKey::generate(KeyAlg::Es256))
        .collect::<Result<Vec<_>, _>>()?;
    // RS256 signing is ~1 ms a token: spread over the cores this process may use.
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, 8);
    let chunk = count.div_ceil(threads).max(1);
    let lines: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                let (issuer, keys) = (&issuer, &keys);
                s.spawn(move || {
                    (start..(start + chunk).min(count))
                        .map(|i| mint(issuer, alg, &keys[i % keys.len()], i + 1))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("minting thread"))
            .collect()
    });
    write(&dir, "issuer", &[issuer.issuer().to_owned()])?;
    write(&dir, "audience", &[issuer.audience().to_owned()])?;
    write(&dir, "jwks.json", &[issuer.jwks().to_string()])?;
    write(&dir, &format!("dpop_{name}.txt"), &lines)?;
    let (token, proof) = lines
        .first()
        .and_then(|l| l.split_once(' '))
        .unwrap_or_default();
    eprintln!(
        "dpop_mint: {count} {alg} tokens ({} bytes) with ES256 proofs ({} bytes), {} client keys",
        token.len(),
        proof.len(),
        keys.len()
    );
    Ok(())
}
