//! `axum-principal-cli inspect`: explains a token.
//!
//! ```text
//! axum-principal-cli inspect <token>|-  [--issuer URL]... [--audience AUD]... [--jwks-uri URL]
//!                                       [--provider NAME] [--m2m-claim NAME] [--roles-claim PATH]
//! ```
//!
//! Without `--issuer` it decodes the header and claims (nothing is verified) and shows the
//! expiry in human terms. With `--issuer` and `--audience` it verifies the token through
//! axum-principal exactly as a service configured the same way would, and prints the
//! principal (kind, `classified_by`, …) or the exact rejection and why.
//!
//! The token comes from the argument, or from standard input when the argument is `-` or
//! absent. It is never printed.
//!
//! Exit codes: 0 decoded (and, when asked, verified); 1 verification refused the token;
//! 2 usage or configuration error; 3 the token cannot be decoded at all; 4 the issuer's keys
//! could not be fetched.
#![forbid(unsafe_code)]

use std::io::Read as _;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_principal::{AuthConfig, Authenticator, Classifier, Issuer, Preset, RejectionKind};
use serde_json::Value;

const USAGE: &str =
    "usage: axum-principal-cli inspect <token>|- [--issuer URL]... [--audience AUD]... \
[--jwks-uri URL] [--provider auth0|hydra|keycloak|okta|entra|cognito|duende|generic] \
[--m2m-claim NAME] [--roles-claim PATH]";

#[derive(Debug, Default)]
struct Options {
    token: Option<String>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    jwks_uri: Option<String>,
    provider: Option<String>,
    m2m_claim: Option<String>,
    roles_claim: Option<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    match args.next().as_deref() {
        Some("inspect") => {}
        Some("-h" | "--help") | None => return Err(USAGE.to_owned()),
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
    }
    let mut o = Options::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--issuer" => o.issuers.push(value("--issuer")?),
            "--audience" => o.audiences.push(value("--audience")?),
            "--jwks-uri" => o.jwks_uri = Some(value("--jwks-uri")?),
            "--provider" => o.provider = Some(value("--provider")?),
            "--m2m-claim" => o.m2m_claim = Some(value("--m2m-claim")?),
            "--roles-claim" => o.roles_claim = Some(value("--roles-claim")?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            "-" if o.token.is_none() => o.token = Some("-".to_owned()),
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}\n{USAGE}"))
            }
            _ if o.token.is_none() => o.token = Some(arg),
            _ => return Err(format!("more than one token given\n{USAGE}")),
        }
    }
    if o.issuers.is_empty() && (!o.audiences.is_empty() || o.jwks_uri.is_some()) {
        return Err("--audience and --jwks-uri need --issuer".to_owned());
    }
    if !o.issuers.is_empty() && o.audiences.is_empty() {
        return Err("verifying needs --audience as well as --issuer".to_owned());
    }
    if o.jwks_uri.is_some() && o.issuers.len() > 1 {
        return Err("--jwks-uri works with a single --issuer".to_owned());
    }
    Ok(o)
}

fn read_token(arg: Option<&str>) -> Result<String, String> {
    let raw = match arg {
        Some("-") | None => {
            let mut s = String::new();
            std::io::stdin()
                .take(1024 * 1024)
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read the token from standard input: {e}"))?;
            s
        }
        Some(t) => t.to_owned(),
    };
    let token = raw.trim();
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token)
        .trim();
    if token.is_empty() {
        return Err("no token given".to_owned());
    }
    Ok(token.to_owned())
}

/// "in 4 minutes", "2 hours ago".
fn relative(secs: i64, now: i64) -> String {
    let delta = secs - now;
    let abs = delta.unsigned_abs();
    let amount = match abs {
        0..=89 => format!("{abs} seconds"),
        90..=5399 => format!("{} minutes", (abs + 30) / 60),
        5400..=129_599 => format!("{} hours", (abs + 1800) / 3600),
        _ => format!("{} days", (abs + 43_200) / 86_400),
    };
    if delta >= 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

fn describe_times(claims: &Value, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, label) in [("iat", "issued"), ("nbf", "not before"), ("exp", "expires")] {
        match claims.get(name) {
            Some(Value::Number(n)) => match n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)) {
                Some(t) => lines.push(format!("{label:<11} {t} ({})", relative(t, now))),
                None => lines.push(format!("{label:<11} {n} (not a usable time)")),
            },
            Some(other) => lines.push(format!("{label:<11} {other} (not a number)")),
            None if name == "exp" => {
                lines.push("expires     never (no exp: refused by axum-principal)".to_owned())
            }
            None => {}
        }
    }
    lines
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

async fn run(o: Options) -> Result<ExitCode, (u8, String)> {
    let token = read_token(o.token.as_deref()).map_err(|e| (2, e))?;
    let (header, claims) = axum_principal::verify::decode_unverified(&token, 64 * 1024)
        .map_err(|e| (3, format!("the token cannot be decoded: {}", e.reason())))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    println!("header:\n{}", pretty(&header));
    println!("claims:\n{}", pretty(&claims));
    for line in describe_times(&claims, now) {
        println!("{line}");
    }
    if o.issuers.is_empty() {
        println!("not verified (give --issuer and --audience to verify)");
        return Ok(ExitCode::SUCCESS);
    }
    let config = config(&o).map_err(|e| (2, e))?;
    let auth = Authenticator::new(config);
    match auth.verify(&token).await {
        Ok(p) => {
            println!("verified: yes");
            println!("kind:          {}", p.kind());
            println!("classified_by: {}", p.classified_by());
            println!("issuer:        {}", p.issuer());
            println!("subject:       {}", p.subject());
            println!("client_id:     {}", p.client_id().unwrap_or("-"));
            println!("roles:         {}", p.roles().join(" "));
            println!("scopes:        {}", p.scopes().join(" "));
            Ok(ExitCode::SUCCESS)
        }
        Err(r) => {
            println!("verified: no");
            println!("status:      {}", r.status().as_u16());
            println!("error:       {}", r.error_code());
            println!("reason:      {}", r.reason());
            println!("description: {}", r.description());
            if matches!(r.kind(), RejectionKind::Unavailable) {
                Ok(ExitCode::from(4))
            } else {
                Ok(ExitCode::from(1))
            }
        }
    }
}

fn config(o: &Options) -> Result<AuthConfig, String> {
    let preset = match &o.provider {
        Some(p) => p.parse::<Preset>().map_err(|e| e.to_string())?,
        None => Preset::Generic,
    };
    let mut classifier = Classifier::new(preset);
    if let Some(claim) = &o.m2m_claim {
        classifier = classifier.machine_claim(claim.clone());
    }
    let mut builder = AuthConfig::builder()
        .classifier(classifier)
        .connect_timeout(Duration::from_secs(3))
        .fetch_timeout(Duration::from_secs(5))
        .without_token_cache();
    for issuer in &o.issuers {
        let mut i = Issuer::new(issuer.clone());
        if let Some(jwks) = &o.jwks_uri {
            i = i.jwks_uri(jwks.clone());
        }
        builder = builder.issuer(i);
    }
    for audience in &o.audiences {
        builder = builder.audience(audience.clone());
    }
    if let Some(roles) = &o.roles_claim {
        builder = builder.roles_claim(roles.clone());
    }
    builder
        .build()
        .map_err(|e| format!("configuration error: {e}"))
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(options)) {
        Ok(code) => code,
        Err((code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> impl Iterator<Item = String> {
        s.iter()
            .map(|a| (*a).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn usage_errors() {
        assert!(parse_args(args(&[])).is_err());
        assert!(parse_args(args(&["decode", "x"])).is_err());
        assert!(parse_args(args(&["inspect", "a", "b"])).is_err());
        assert!(parse_args(args(&["inspect", "a", "--issuer"])).is_err());
        assert!(parse_args(args(&["inspect", "a", "--issuer", "https://i"])).is_err());
        assert!(parse_args(args(&["inspect", "a", "--audience", "x"])).is_err());
        assert!(parse_args(args(&["inspect", "a", "--bogus"])).is_err());
        let o = parse_args(args(&[
            "inspect",
            "-",
            "--issuer",
            "https://i",
            "--audience",
            "x",
        ]));
        assert!(o.is_ok_and(|o| o.token.as_deref() == Some("-") && o.issuers == ["https://i"]));
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(1030, 1000), "in 30 seconds");
        assert_eq!(relative(1000 - 600, 1000), "10 minutes ago");
        assert_eq!(relative(1000 + 7200, 1000), "in 2 hours");
        assert_eq!(relative(1000 - 3 * 86_400, 1000), "3 days ago");
    }

    #[test]
    fn bearer_prefix_and_whitespace_are_removed() {
        assert_eq!(
            read_token(Some("  Bearer abc.def.ghi \n")),
            Ok("abc.def.ghi".to_owned())
        );
        assert!(read_token(Some("   ")).is_err());
    }
}
