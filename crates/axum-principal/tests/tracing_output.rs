//! What the crate's `tracing` output looks like to a service that prints it with
//! `tracing-subscriber`'s formatter: captured into a buffer and read back.

// Its own binary: tracing caches which call sites are of interest process-wide, so a test
// that reads the log lines must not share its process with tests that run unobserved.
mod common;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal::AuthLayer;
use common::{build, config, get_with, issuer, router};

/// A `tracing-subscriber` writer that appends to a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The names of the fields a formatted line shows for `span` (`span{a=1 b=2}: …`).
fn span_field_names<'a>(line: &'a str, span: &str) -> Vec<&'a str> {
    let open = format!("{span}{{");
    let start = line
        .find(&open)
        .map(|i| i + open.len())
        .unwrap_or_else(|| panic!("no `{span}` span in: {line}"));
    let end = line[start..]
        .find("}:")
        .map(|i| start + i)
        .unwrap_or_else(|| panic!("the `{span}` span's fields do not end in: {line}"));
    line[start..end]
        .split_whitespace()
        .filter_map(|field| field.split_once('=').map(|(name, _)| name))
        .collect()
}

/// A key fetch through discovery makes two requests (discovery, then the JWKS). Its span
/// used to record `status` three times (each response's HTTP status, then `"ok"`), and the
/// formatter printed all three: `status=200 status=200 status="ok"`. Each field is now
/// printed once, the HTTP status and the outcome under names of their own.
#[tokio::test]
async fn a_key_fetch_span_shows_each_field_once() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let capture = capture.clone();
            move || capture.clone()
        })
        .with_ansi(false)
        .without_time()
        .with_max_level(tracing::Level::INFO)
        .finish();
    // This thread's subscriber: the test's runtime is single-threaded, so the fetch task
    // the layer spawns runs (and logs) here too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let issuer = issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    let reply = get_with(&app, "/me", &issuer.token().sign()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 1, "one key fetch");

    let output = capture.text();
    let fetched: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("keys fetched"))
        .collect();
    assert_eq!(fetched.len(), 1, "one `keys fetched` line in:\n{output}");
    let line = fetched[0];
    let mut names = span_field_names(line, "jwks_fetch");
    let statuses = names.iter().filter(|n| n.contains("status")).count();
    assert_eq!(statuses, 1, "one status field in: {line}");
    assert!(
        line.contains("http.status=200"),
        "the JWKS's status in: {line}"
    );
    assert!(line.contains("outcome=\"ok\""), "the outcome in: {line}");
    let shown = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), shown, "a field shown twice in: {line}");
}
