//! Walking a document as JSON: the one form aide's and utoipa's models both turn into and
//! back from, so the schemes and the recorded requirements are written once for both.

use serde_json::{Map, Value};

use axum_principal::openapi::{refusal_responses, Access, ROLES_EXTENSION};

/// The HTTP methods an OpenAPI path item can hold, in the specification's order.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation of `document` (`paths.*.{get,put,…}`), with its path and method.
pub fn operations_mut(
    document: &mut Value,
) -> impl Iterator<Item = (&str, &'static str, &mut Map<String, Value>)> {
    document
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .filter_map(|(path, item)| Some((path.as_str(), item.as_object_mut()?)))
        .flat_map(|(path, item)| {
            item.iter_mut().filter_map(move |(method, operation)| {
                let method = METHODS.into_iter().find(|m| m == method)?;
                Some((path, method, operation.as_object_mut()?))
            })
        })
}

/// `operation`'s `security` as a list of requirement objects (others skipped).
pub(crate) fn security_of(operation: &Map<String, Value>) -> Vec<Map<String, Value>> {
    operation
        .get("security")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e.as_object().cloned())
                .collect()
        })
        .unwrap_or_default()
}

/// Combines `access` with what `operation` states, writes `security` and the roles
/// extension back, and adds the refusals it does not document yet.
pub(crate) fn require(operation: &mut Map<String, Value>, access: Access) {
    let guarded = operation
        .get("responses")
        .and_then(|r| r.get("403"))
        .is_some();
    let stated = Access::from_document(
        &security_of(operation),
        operation.get(ROLES_EXTENSION),
        guarded,
    );
    let access = match stated {
        Some(stated) => stated.and(access),
        None => access,
    };
    operation.insert(
        "security".to_owned(),
        Value::Array(access.security().into_iter().map(Value::Object).collect()),
    );
    match access.roles_extension() {
        Some(roles) => {
            operation.insert(ROLES_EXTENSION.to_owned(), roles);
        }
        None => {
            operation.remove(ROLES_EXTENSION);
        }
    }
    let responses = operation
        .entry("responses")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(responses) = responses.as_object_mut() {
        for (status, response) in refusal_responses(&access) {
            responses.entry(status.to_string()).or_insert(response);
        }
    }
}
