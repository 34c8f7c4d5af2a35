//! `axum-principal-cli inspect`: explains a token.
//!
//! ```text
//! axum-principal-cli inspect -|<token>  [--issuer URL]... [--audience AUD]... [--jwks-uri URL]
//!                                       [--provider NAME] [--m2m-claim NAME] [--roles-claim PATH]
//!                                       [--introspect]
//! ```
//!
//! Without `--issuer` it decodes the header and claims (nothing is verified) and shows the
//! expiry in human terms. With `--issuer` and `--audience` it verifies the token through
//! axum-principal exactly as a service configured the same way would, and prints the
//! principal (kind, `classified_by`, …) or the exact rejection and why.
//!
//! Pass the token on standard input (`-`, or no token argument at all):
//!
//! ```text
//! axum-principal-cli inspect - <<<"$TOKEN"
//! printf %s "$TOKEN" | axum-principal-cli inspect - --issuer https://issuer.example.com/ --audience api
//! ```
//!
//! A token given as an argument is accepted too, but the command line is visible to other
//! users of the machine (`ps`) and is kept in shell history. The token is never printed.
//!
//! Whatever came from the token (header and claim names and values, and the principal's
//! fields) is printed with control characters and other invisible or reordering characters
//! (ANSI escapes, CR, DEL, C1 controls, bidi overrides, zero-width characters) written as
//! `\uXXXX` escapes, so a token cannot rewrite the terminal or disguise what it says.
//! Times that no date can represent (`exp: 1e300`, `iat: -9223372036854775808`) are shown
//! as out of range, never as a panic.
//!
//! An opaque token (not a JWT) cannot be decoded; with `--introspect` (and `--issuer`,
//! `--audience`) it is introspected (RFC 7662) at the first issuer's discovered
//! `introspection_endpoint`, as the service would, with the client credentials in the
//! environment variable `AUTHZ_INTROSPECTION_CLIENT` (`client_id:client_secret`; never on the
//! command line, where other users see it), and the answer is printed with the principal.
//!
//! Exit codes: 0 decoded (and, when asked, verified); 1 verification refused the token;
//! 2 usage or configuration error; 3 the token cannot be decoded at all; 4 the issuer's keys
//! could not be fetched, or the token could not be introspected.
#![forbid(unsafe_code)]

use std::io::Read as _;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_principal::{
    AuthConfig, Authenticator, Classifier, Introspection, Issuer, Preset, RejectionKind,
};
use serde_json::Value;

const USAGE: &str =
    "usage: axum-principal-cli inspect -|<token> [--issuer URL]... [--audience AUD]... \
[--jwks-uri URL] [--provider auto|auth0|hydra|keycloak|okta|entra|cognito|duende|rfc9068|generic] \
[--m2m-claim NAME] [--roles-claim PATH] [--introspect]
--introspect: an opaque token is introspected at the first issuer, as the client named by \
AUTHZ_INTROSPECTION_CLIENT=client_id:client_secret (an environment variable, never an argument).
Pass the token on standard input with `-`, e.g. `axum-principal-cli inspect - <<<\"$TOKEN\"` \
or `printf %s \"$TOKEN\" | axum-principal-cli inspect -`: a token in the arguments is \
visible to other users (ps) and kept in shell history.";

/// Printed to standard error when the token was given as an argument.
const ARGV_NOTE: &str = "note: a token given as an argument is visible to other users (ps) \
and kept in shell history; pass it on standard input instead: inspect - <<<\"$TOKEN\"";

#[derive(Debug, Default)]
struct Options {
    token: Option<String>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    jwks_uri: Option<String>,
    provider: Option<String>,
    m2m_claim: Option<String>,
    roles_claim: Option<String>,
    /// `--introspect`: with the credentials of `AUTHZ_INTROSPECTION_CLIENT`.
    introspect: bool,
}

/// Where `--introspect` finds the client credentials (as the example service does).
const INTROSPECTION_CLIENT: &str = "AUTHZ_INTROSPECTION_CLIENT";

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
            "--introspect" => o.introspect = true,
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
    if o.introspect && o.issuers.is_empty() {
        return Err("--introspect needs --issuer and --audience".to_owned());
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

/// The dates shown in words: 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z. A time outside
/// (say `exp: 9223372036854775807`) is shown as out of range instead.
const EARLIEST_DATE: i64 = -62_135_596_800;
const LATEST_DATE: i64 = 253_402_300_799;

/// "in 4 minutes", "2 hours ago". Saturating throughout, so no pair of `i64` can overflow.
fn relative(secs: i64, now: i64) -> String {
    let delta = secs.saturating_sub(now);
    let abs = delta.unsigned_abs();
    let amount = match abs {
        0..=89 => format!("{abs} seconds"),
        90..=5399 => format!("{} minutes", abs.saturating_add(30) / 60),
        5400..=129_599 => format!("{} hours", abs.saturating_add(1800) / 3600),
        _ => format!("{} days", abs.saturating_add(43_200) / 86_400),
    };
    if delta >= 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// A NumericDate as axum-principal reads it: an integer, or a fractional number of seconds
/// rounded down; `None` when no `i64` of seconds can hold it (axum-principal refuses such
/// a token as `invalid_claim`).
fn numeric_date(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    #[allow(clippy::cast_precision_loss)]
    let (min, max) = (i64::MIN as f64, i64::MAX as f64);
    let f = n
        .as_f64()
        .filter(|f| f.is_finite() && *f >= min && *f < max)?;
    #[allow(clippy::cast_possible_truncation)]
    Some(f.floor() as i64)
}

/// One line per time claim: the value as the token has it, then what it means. `auth_time`
/// is when the user signed in (what a step-up route's `max_age` is judged against).
fn describe_times(claims: &Value, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, label) in [
        ("auth_time", "signed in"),
        ("iat", "issued"),
        ("nbf", "not before"),
        ("exp", "expires"),
    ] {
        match claims.get(name) {
            Some(Value::Number(n)) => match numeric_date(n) {
                Some(t) if (EARLIEST_DATE..=LATEST_DATE).contains(&t) => {
                    lines.push(format!("{label:<11} {n} ({})", relative(t, now)));
                }
                Some(_) => lines.push(format!(
                    "{label:<11} {n} (out of range: not a date between the years 1 and 9999)"
                )),
                None if name == "auth_time" => lines.push(format!(
                    "{label:<11} {n} (out of range: beyond 64-bit seconds, read as absent by \
                     axum-principal)"
                )),
                None => lines.push(format!(
                    "{label:<11} {n} (out of range: beyond 64-bit seconds, refused by \
                     axum-principal as invalid_claim)"
                )),
            },
            Some(other) if name == "auth_time" => lines.push(format!(
                "{label:<11} {} (not a number: read as absent, so no step-up route admits it)",
                json(other)
            )),
            Some(other) => lines.push(format!("{label:<11} {} (not a number)", json(other))),
            None if name == "exp" => {
                lines.push("expires     never (no exp: refused by axum-principal)".to_owned());
            }
            None => {}
        }
    }
    lines
}

/// Characters that must not reach a terminal raw: controls (C0 including ESC and CR, DEL,
/// C1 including the one-byte CSI U+009B) and the invisible or reordering format characters
/// (bidi embeddings, overrides and isolates, zero-width characters, line and paragraph
/// separators, the BOM, interlinear annotation marks, tag characters).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `c` as JSON writes it: `\uXXXX`, a surrogate pair above U+FFFF.
fn push_escaped(out: &mut String, c: char) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        out.push_str(&format!("\\u{unit:04x}"));
    }
}

/// Serialized JSON made safe for a terminal: every unsafe character is escaped as `\uXXXX`.
/// serde_json already escapes C0 controls inside strings, so a raw newline left in `s` is
/// the pretty printer's own and is kept; whatever else is escaped here can only sit inside
/// a string (the JSON structure is ASCII), where `\uXXXX` means the same character, so the
/// result is still JSON with the same value.
fn terminal_safe_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c != '\n' && is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// A value from the token shown as plain text (a subject, a role): unsafe characters and
/// the backslash are escaped, so the text stays on its line and reads unambiguously.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

fn json(v: &Value) -> String {
    terminal_safe_json(&v.to_string())
}

fn pretty(v: &Value) -> String {
    terminal_safe_json(&serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()))
}

/// Every line the tool prints goes through here: escaped parts stay as they are, and a
/// character that slipped through unescaped anyway is escaped now.
fn say(line: &str) {
    println!("{}", terminal_safe_json(line));
}

fn say_err(line: &str) {
    eprintln!("{}", terminal_safe_json(line));
}

async fn run(o: Options) -> Result<ExitCode, (u8, String)> {
    if !matches!(o.token.as_deref(), Some("-") | None) {
        say_err(ARGV_NOTE);
    }
    let token = read_token(o.token.as_deref()).map_err(|e| (2, e))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let decoded = axum_principal::internals::decode_unverified(&token, 64 * 1024);
    let opaque = match decoded {
        Ok((header, claims)) => {
            say(&format!("header:\n{}", pretty(&header)));
            say(&format!("claims:\n{}", pretty(&claims)));
            for line in describe_times(&claims, now) {
                say(&line);
            }
            false
        }
        Err(_) if o.introspect => {
            say("an opaque token (not a JWT): introspected at the issuer");
            true
        }
        Err(e) => {
            let hint = "(an opaque token? give --issuer, --audience and --introspect)";
            return Err((
                3,
                format!("the token cannot be decoded: {} {hint}", e.reason()),
            ));
        }
    };
    if o.issuers.is_empty() {
        say("not verified (give --issuer and --audience to verify)");
        return Ok(ExitCode::SUCCESS);
    }
    let config = config(&o).map_err(|e| (2, e))?;
    let auth = Authenticator::new(config);
    let list =
        |items: axum_principal::ClaimStrings<'_>| items.map(text).collect::<Vec<_>>().join(" ");
    match auth.verify(&token).await {
        Ok(p) => {
            say("verified: yes");
            say(&format!("kind:          {}", p.kind()));
            say(&format!(
                "classified_by: {}",
                text(&p.classified_by().to_string())
            ));
            say(&format!("issuer:        {}", text(p.issuer())));
            say(&format!("subject:       {}", text(p.subject())));
            say(&format!(
                "client_id:     {}",
                p.client_id().map_or_else(|| "-".to_owned(), text)
            ));
            say(&format!("roles:         {}", list(p.roles())));
            say(&format!("scopes:        {}", list(p.scopes())));
            if opaque {
                let answer = Value::Object(p.claims().clone());
                say(&format!("introspection answer:\n{}", pretty(&answer)));
                for line in describe_times(&answer, now) {
                    say(&line);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(r) => {
            say("verified: no");
            say(&format!("status:      {}", r.status().as_u16()));
            say(&format!("error:       {}", text(r.error_code())));
            say(&format!("reason:      {}", text(r.reason())));
            say(&format!("description: {}", text(r.description())));
            if matches!(
                r.kind(),
                RejectionKind::Unavailable | RejectionKind::IntrospectionUnavailable(_)
            ) {
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
        None => Preset::Auto,
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
    for (n, issuer) in o.issuers.iter().enumerate() {
        let mut i = Issuer::new(issuer.clone());
        if let Some(jwks) = &o.jwks_uri {
            i = i.jwks_uri(jwks.clone());
        }
        if o.introspect && n == 0 {
            i = i.introspection(introspection_client()?);
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

/// The client credentials of `--introspect`, from the environment; an error never repeats
/// the value.
fn introspection_client() -> Result<Introspection, String> {
    let value = std::env::var(INTROSPECTION_CLIENT).unwrap_or_default();
    match value.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
            Ok(Introspection::new(id, secret))
        }
        _ => Err(format!(
            "--introspect needs {INTROSPECTION_CLIENT}=client_id:client_secret in the environment"
        )),
    }
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(message) => {
            say_err(&message);
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            say_err(&format!("cannot start the runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(options)) {
        Ok(code) => code,
        Err((code, message)) => {
            say_err(&message);
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
    fn relative_times_saturate_at_the_ends_of_i64() {
        assert_eq!(relative(i64::MIN, i64::MAX), "106751991167301 days ago");
        assert_eq!(relative(i64::MAX, i64::MIN), "in 106751991167301 days");
        assert_eq!(relative(i64::MIN, 0), "106751991167301 days ago");
    }

    #[test]
    fn auth_time_is_shown_in_words_first() {
        let now = 1_700_000_000;
        let lines = describe_times(
            &serde_json::json!({"exp": now + 300, "auth_time": now - 600}),
            now,
        );
        assert_eq!(
            lines,
            [
                "signed in   1699999400 (10 minutes ago)",
                "expires     1700000300 (in 5 minutes)"
            ]
        );
        let lines = describe_times(&serde_json::json!({"exp": now, "auth_time": "x"}), now);
        assert!(lines[0].starts_with("signed in   \"x\" (not a number: read as absent"));
    }

    #[test]
    fn times_outside_the_dates_are_out_of_range() {
        let now = 1_700_000_000;
        for claims in [
            serde_json::json!({"exp": i64::MIN, "iat": i64::MAX, "nbf": u64::MAX}),
            serde_json::json!({"exp": 1e300, "iat": -1e300, "nbf": -9.3e18}),
            serde_json::json!({"exp": LATEST_DATE + 1, "iat": EARLIEST_DATE - 1}),
        ] {
            let lines = describe_times(&claims, now);
            assert!(!lines.is_empty(), "{claims}");
            for line in lines {
                assert!(line.contains("(out of range: "), "{claims}: {line}");
            }
        }
        let lines = describe_times(&serde_json::json!({"exp": LATEST_DATE}), now);
        assert!(lines[0].ends_with(" days)"), "{lines:?}");
    }

    #[test]
    fn unsafe_characters_are_escaped_and_json_keeps_its_value() {
        assert_eq!(text("a\u{1b}[2J\r\n\\b"), "a\\u001b[2J\\u000d\\u000a\\\\b");
        assert_eq!(
            text("\u{202e}\u{9b}\u{7f}\u{200b}\u{e0041}"),
            "\\u202e\\u009b\\u007f\\u200b\\udb40\\udc41"
        );
        assert_eq!(text("caf\u{e9} \u{1f600}"), "caf\u{e9} \u{1f600}");
        let value = serde_json::json!({"k\u{1b}\u{202e}": ["\r\u{9b}\u{e0041}\\", 1]});
        let printed = pretty(&value);
        assert!(
            printed.chars().all(|c| c == '\n' || !is_unsafe(c)),
            "{printed}"
        );
        let back: Value = serde_json::from_str(&printed).expect("still JSON");
        assert_eq!(back, value);
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
