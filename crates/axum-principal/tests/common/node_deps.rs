//! The npm packages of the real-provider test's harness (`tests/oidc-provider`, panva's
//! oidc-provider pinned in its `package-lock.json`): the first test that needs them checks
//! Node.js and, when `node_modules` is missing or differs from the lock file, runs
//! `npm ci --no-audit --no-fund` itself (once per process, into a fresh directory renamed
//! into place). Needs Node.js >= 20.12 with npm, and the npm registry once.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use super::provision::{install_atomically, run};

/// oidc-provider 9 calls `crypto.hash()`, which Node.js has since 20.12.
const MIN_NODE: (u32, u32) = (20, 12);

/// The harness belongs to the workspace's system tests (`tests/oidc-provider` at the root);
/// these helpers are compiled into the library's tests too, so it is looked for upwards.
pub fn harness_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|dir| dir.join("tests/oidc-provider"))
        .find(|dir| dir.join("package.json").is_file())
        .unwrap_or_else(|| here.join("tests/oidc-provider"))
}

/// Node.js is recent enough and the harness's packages are installed as locked; the error
/// says what is missing. Installs at most once per process; later calls return the first
/// call's outcome.
pub fn ensure() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(install).clone()
}

fn install() -> Result<(), String> {
    check_node()?;
    let dir = harness_dir();
    let lock = dir.join("package-lock.json");
    let wanted = locked_packages(&lock)
        .ok_or_else(|| format!("{} is not a package lock (v2 or v3)", lock.display()))?;
    install_atomically(
        &dir.join("node_modules"),
        |node_modules| installed_as_locked(node_modules, &wanted),
        |staging| {
            for file in ["package.json", "package-lock.json"] {
                fs::copy(dir.join(file), staging.join(file))
                    .map_err(|e| format!("cannot copy {file} to {}: {e}", staging.display()))?;
            }
            check_npm()?;
            run(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(staging),
                "`npm ci --no-audit --no-fund` (it needs the npm registry)",
            )?;
            Ok(staging.join("node_modules"))
        },
    )
    .map_err(|e| format!("installing {}/node_modules: {e}", dir.display()))
}

fn check_node() -> Result<(), String> {
    let need = format!(
        "the real-provider test runs a real OpenID provider (oidc-provider) on Node.js >= {}.{} \
         with npm",
        MIN_NODE.0, MIN_NODE.1
    );
    let output = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("Node.js (`node`) was not found on PATH ({e}): {need}"))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let mut parts = version.trim_start_matches('v').split('.');
    let mut number = || parts.next().and_then(|p| p.parse::<u32>().ok());
    match (output.status.success(), number(), number()) {
        (true, Some(major), Some(minor)) if (major, minor) >= MIN_NODE => Ok(()),
        (true, Some(_), Some(_)) => Err(format!("Node.js {version} is too old: {need}")),
        _ => Err(format!(
            "`node --version` failed or printed no version ({}, {version:?}): {need}",
            output.status
        )),
    }
}

fn check_npm() -> Result<(), String> {
    run(Command::new("npm").arg("--version"), "`npm --version`")
        .map(drop)
        .map_err(|e| format!("npm is needed to install the harness's packages: {e}"))
}

/// Each installed package (its path under the project, version and integrity) in a lock
/// file's `packages`, without the project's own entry (`""`).
fn locked_packages(file: &Path) -> Option<BTreeSet<(String, String, String)>> {
    let text = fs::read(file).ok()?;
    let lock: Value = serde_json::from_slice(&text).ok()?;
    let field = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
    let packages = lock.get("packages")?.as_object()?;
    Some(
        packages
            .iter()
            .filter(|(path, _)| !path.is_empty())
            .map(|(path, p)| {
                let version = field(p, "version").unwrap_or_default();
                (
                    path.clone(),
                    version,
                    field(p, "integrity").unwrap_or_default(),
                )
            })
            .collect(),
    )
}

/// npm's record of what it installed (`node_modules/.package-lock.json`) lists the same
/// packages as the lock file: an install by `npm ci`, by this module or by hand, of this
/// lock file and not an older one.
fn installed_as_locked(node_modules: &Path, wanted: &BTreeSet<(String, String, String)>) -> bool {
    node_modules.join("oidc-provider/package.json").is_file()
        && locked_packages(&node_modules.join(".package-lock.json")).as_ref() == Some(wanted)
}
