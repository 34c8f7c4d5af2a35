//! Tools the tests install themselves on first use (the Node packages of the real-provider
//! test, a `redis-server` when there is none on PATH), so that a plain `cargo test` runs on
//! a machine with only Rust, Node.js and Python: each is installed into a fresh directory
//! beside its destination and renamed into place, so test processes running at the same
//! time never see half an install, and whichever finishes second keeps the first's.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// The directory for tools under the build's target directory (`target/test-tools`):
/// `cargo clean` removes them, and every checkout has its own.
pub fn tools_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("test-tools")
}

/// Makes sure `dest` holds a complete, current install: `ready(dir)` says whether `dir`
/// holds one; if `dest` does not, `build(staging)` installs into `staging` (a new, empty
/// directory beside `dest`) and returns the directory to move to `dest`. A stale `dest` is
/// moved aside and removed. Errors say what failed, for the test's panic message.
pub fn install_atomically(
    dest: &Path,
    ready: impl Fn(&Path) -> bool,
    build: impl FnOnce(&Path) -> Result<PathBuf, String>,
) -> Result<(), String> {
    if ready(dest) {
        return Ok(());
    }
    let parent = dest
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", dest.display()))?;
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let staging = sibling(dest, "staging");
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir(&staging).map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let outcome = build(&staging).and_then(|built| {
        if !ready(&built) {
            return Err(format!(
                "the install in {} is incomplete after it succeeded",
                built.display()
            ));
        }
        move_into_place(&built, dest, &ready)
    });
    let _ = fs::remove_dir_all(&staging);
    outcome
}

/// Renames `built` to `dest`; another process's complete install already there wins, a
/// stale one is moved aside first. Bounded: a few rounds against other processes.
fn move_into_place(
    built: &Path,
    dest: &Path,
    ready: &impl Fn(&Path) -> bool,
) -> Result<(), String> {
    let mut last_error = String::new();
    for _ in 0..5 {
        match fs::rename(built, dest) {
            Ok(()) => return Ok(()),
            Err(e) => last_error = e.to_string(),
        }
        if ready(dest) {
            return Ok(());
        }
        if dest.exists() {
            let old = sibling(dest, "old");
            // Another process may have moved it already: then the next rename may succeed.
            if fs::rename(dest, &old).is_ok() {
                let _ = fs::remove_dir_all(&old);
            }
        }
    }
    Err(format!(
        "cannot move {} to {}: {last_error}",
        built.display(),
        dest.display()
    ))
}

/// A name beside `dest` that no other process or call uses: `.{name}.{what}-{pid}-{n}`.
fn sibling(dest: &Path, what: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = dest
        .file_name()
        .map_or_else(|| "tool".into(), |n| n.to_string_lossy().into_owned());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dest.with_file_name(format!(".{name}.{what}-{}-{n}", std::process::id()))
}

/// Runs `command` to completion; an error (with the end of its output) unless it succeeds.
pub fn run(command: &mut Command, what: &str) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        return Ok(output);
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        tail(&output.stdout),
        tail(&output.stderr)
    ))
}

/// The last lines of a command's output, for an error message.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(20);
    lines[from..].iter().map(|l| format!("  {l}\n")).collect()
}
