//! The report of `rotation drive`: latency by window, fetches, unknown-`kid` arrivals.

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

/// Which samples a row of the report takes.
type Keep<'a> = Box<dyn Fn(&Sample) -> bool + 'a>;

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
    let rows: [(&str, Keep<'_>); 4] = [
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
            line(measured().filter(|x| usize::from(x.key) == r && (s..s + 0.5).contains(&at(x))))
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
