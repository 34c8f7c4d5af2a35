//! What every generated document must satisfy: the OpenAPI 3.1 schema, checked by
//! `openapi-spec-validator` (Python, from PyPI: the one on the machine, or installed into
//! `target/test-tools` on first use), and every `security` name a scheme of the document.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

#[path = "../../../axum-principal/tests/common/provision.rs"]
mod provision;

use provision::{install_atomically, run, tools_dir};

/// The validator's version when it has to be installed.
const VALIDATOR: &str = "openapi-spec-validator==0.9.0";

const SCRIPT: &str = "import json, sys
from openapi_spec_validator import validate, OpenAPIV31SpecValidator
validate(json.load(sys.stdin), cls=OpenAPIV31SpecValidator)
";

fn imports(pythonpath: Option<&Path>) -> bool {
    let mut command = Command::new("python3");
    command.args(["-c", "import openapi_spec_validator"]);
    if let Some(path) = pythonpath {
        command.env("PYTHONPATH", path);
    }
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The `PYTHONPATH` under which `openapi_spec_validator` imports (`None`: the system's).
fn validator_path() -> Option<PathBuf> {
    if imports(None) {
        return None;
    }
    let dest = tools_dir().join("openapi-spec-validator");
    install_atomically(
        &dest,
        |dir| dir.join("openapi_spec_validator").is_dir() && imports(Some(dir)),
        |staging| {
            run(
                Command::new("python3")
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                    ])
                    .args(["--no-compile", "--target"])
                    .arg(staging)
                    .arg(VALIDATOR),
                &format!("`python3 -m pip install {VALIDATOR}` (it needs PyPI)"),
            )?;
            Ok(staging.to_path_buf())
        },
    )
    .expect("the OpenAPI validator installs");
    Some(dest)
}

/// `Ok` when `document` is a valid OpenAPI 3.1 document, else the validator's complaint.
pub fn validate(document: &Value) -> Result<(), String> {
    let mut command = Command::new("python3");
    command
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = validator_path() {
        command.env("PYTHONPATH", path);
    }
    let mut child = command.spawn().expect("python3 runs");
    child
        .stdin
        .take()
        .expect("a stdin pipe")
        .write_all(document.to_string().as_bytes())
        .expect("the document is written to the validator");
    let output = child.wait_with_output().expect("the validator finishes");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Every name in a `security` list (document-level or an operation's) that is not a key of
/// `components.securitySchemes`.
pub fn unresolved_security_names(document: &Value) -> Vec<String> {
    let schemes = &document["components"]["securitySchemes"];
    let mut lists = vec![document["security"].clone()];
    for item in document["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in item.as_object().into_iter().flat_map(|i| i.values()) {
            lists.push(operation["security"].clone());
        }
    }
    lists
        .iter()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|entry| entry.keys())
        .filter(|name| schemes.get(name.as_str()).is_none())
        .cloned()
        .collect()
}

/// The checks every generated document passes.
pub fn assert_valid(document: &Value) {
    if let Err(complaint) = validate(document) {
        panic!("not a valid OpenAPI 3.1 document: {complaint}\n{document:#}");
    }
    assert_eq!(
        unresolved_security_names(document),
        Vec::<String>::new(),
        "security names without a scheme"
    );
}

/// A document the validator must refuse: the check is live, not a no-op.
pub fn invalid_document() -> Value {
    json!({ "openapi": "3.1.0", "info": { "title": "no version" }, "paths": {} })
}
