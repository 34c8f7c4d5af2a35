//! `bench_issuer`: the mock issuer of `bench/load.sh`, with its tokens written to files.
//!
//! ```text
//! cargo run --release --example bench_issuer -- OUT_DIR [POOL_SIZE]
//! ```
//!
//! Starts a `MockIssuer` (RS256, ES256 and EdDSA keys) on an ephemeral `127.0.0.1` port and
//! writes into `OUT_DIR`:
//!
//! | file | content |
//! |---|---|
//! | `issuer`, `audience` | the values for `AUTHZ_ISSUER` / `AUTHZ_AUDIENCE` |
//! | `jwks.json` | the issuer's JWKS (for `bench_floor`) |
//! | `token_rs256.txt`, `token_es256.txt` | one user token each |
//! | `pool_rs256.txt`, `pool_es256.txt` | `POOL_SIZE` distinct user tokens each (default 10 000), one per line, distinct `sub` and `jti` |
//! | `ready` | written last; the script waits for it |
//!
//! Every token is valid for 6 hours. Then it keeps serving discovery and the JWKS until
//! killed. Minting uses every core this process may run on (RS256 signing is the slow part,
//! roughly 1 ms a token on one core).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use axum_principal_testkit::{KeyAlg, MockIssuer};

const LIFETIME_SECS: i64 = 6 * 3600;

fn mint(issuer: &MockIssuer, alg: KeyAlg, label: &str, i: usize) -> String {
    issuer
        .token()
        .alg(alg)
        .claim("sub", format!("{label}-user-{i:06}"))
        .claim("jti", format!("{label}-{alg}-{i:06}"))
        .claim("scope", "openid profile")
        .expires_in(LIFETIME_SECS)
        .sign()
}

/// `n` distinct tokens, minted on all available cores, in order.
fn pool(issuer: &MockIssuer, alg: KeyAlg, n: usize) -> Vec<String> {
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
                        .map(|i| mint(&issuer, alg, "pool", i))
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
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: bench_issuer OUT_DIR [POOL_SIZE]")?,
    );
    let pool_size: usize = match args.next() {
        Some(n) => n
            .parse()
            .map_err(|_| format!("POOL_SIZE {n:?} is not a number"))?,
        None => 10_000,
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

    for (alg, name) in [(KeyAlg::Rs256, "rs256"), (KeyAlg::Es256, "es256")] {
        write(
            &dir,
            &format!("token_{name}.txt"),
            &[mint(&issuer, alg, "one", 0)],
        )?;
        let started = Instant::now();
        let tokens = pool(&issuer, alg, pool_size);
        write(&dir, &format!("pool_{name}.txt"), &tokens)?;
        eprintln!(
            "bench_issuer: {pool_size} {alg} tokens minted in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    write(&dir, "ready", &[issuer.issuer().to_owned()])?;
    eprintln!("bench_issuer: serving {} until killed", issuer.issuer());

    std::future::pending::<()>().await;
    Ok(())
}
