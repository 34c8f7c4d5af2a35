//! aide's `OperationInput` for this crate's extractors: each one states its [`Access`] on
//! the operation (`security`, [`ROLES_EXTENSION`]) and the refusals it can answer.
//!
//! `Option<Principal>` goes through aide's own `Option<T>` input, which runs the inner
//! type's `operation_input` but not its `inferred_early_responses`. So `Principal` states
//! an optional token in the first and makes it required in the second: with aide's
//! response inference (on by default) `Principal` documents `[{bearer: []}]` and
//! `Option<Principal>` `[{}, {bearer: []}]`; with inference off, both document the latter.

use ::aide::generate::GenContext;
use ::aide::openapi::{Operation, Response, StatusCode};
use ::aide::operation::OperationInput;
use serde_json::{Map, Value};

use super::{refusal_responses, Access, ROLES_EXTENSION};
use crate::guard::{Guard, Guarded, Requirements};
use crate::principal::{Claims, Machine, Principal, User};
use crate::Kind;

/// Combines `access` with what `operation` already states (`security`,
/// [`ROLES_EXTENSION`], a 403), and writes the result back: what `route_guarded` in
/// `axum-principal-openapi` does for a guard no extractor shows.
pub fn require(operation: &mut Operation, access: Access) {
    let security: Vec<Map<String, Value>> = operation
        .security
        .iter()
        .map(|entry| {
            entry
                .iter()
                .map(|(scheme, scopes)| (scheme.clone(), Value::from(scopes.clone())))
                .collect()
        })
        .collect();
    let guarded = operation
        .responses
        .as_ref()
        .is_some_and(|r| r.responses.contains_key(&StatusCode::Code(403)));
    let access = match Access::from_document(
        &security,
        operation.extensions.get(ROLES_EXTENSION),
        guarded,
    ) {
        Some(stated) => stated.and(access),
        None => access,
    };
    operation.security = access
        .security()
        .into_iter()
        .map(|entry| {
            entry
                .into_iter()
                .map(|(scheme, scopes)| {
                    let scopes = scopes
                        .as_array()
                        .map(|s| {
                            s.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    (scheme, scopes)
                })
                .collect()
        })
        .collect();
    match access.roles_extension() {
        Some(roles) => {
            operation
                .extensions
                .insert(ROLES_EXTENSION.to_owned(), roles);
        }
        None => {
            operation.extensions.shift_remove(ROLES_EXTENSION);
        }
    }
}

/// The refusals of `access` ([`refusal_responses`]) as aide's inferred responses.
pub fn responses(access: &Access) -> Vec<(Option<u16>, Response)> {
    refusal_responses(access)
        .into_iter()
        .filter_map(|(status, response)| {
            serde_json::from_value::<Response>(response)
                .ok()
                .map(|r| (Some(status), r))
        })
        .collect()
}

impl OperationInput for Principal {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        require(operation, Access::optional_token());
    }

    fn inferred_early_responses(
        _: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<u16>, Response)> {
        require(operation, Access::token());
        responses(&Access::token())
    }
}

fn kind_input(operation: &mut Operation, kind: Kind) {
    require(operation, Access::guarded(Requirements::kind(kind)));
}

impl OperationInput for User {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        kind_input(operation, Kind::User);
    }

    fn inferred_early_responses(
        _: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<u16>, Response)> {
        responses(&Access::guarded(Requirements::kind(Kind::User)))
    }
}

impl OperationInput for Machine {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        kind_input(operation, Kind::Machine);
    }

    fn inferred_early_responses(
        _: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<u16>, Response)> {
        responses(&Access::guarded(Requirements::kind(Kind::Machine)))
    }
}

impl<T> OperationInput for Claims<T> {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        require(operation, Access::token());
    }

    fn inferred_early_responses(
        _: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<u16>, Response)> {
        responses(&Access::token())
    }
}

impl<G: Guard + Default> OperationInput for Guarded<G> {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        require(operation, Access::guarded(G::default().requirements()));
    }

    fn inferred_early_responses(
        _: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<u16>, Response)> {
        responses(&Access::guarded(Requirements::any_principal()))
    }
}
