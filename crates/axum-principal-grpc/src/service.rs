//! The `principal.v1.Principal` service: each method answers the caller's principal, as
//! the HTTP example's `/me` does. Who may call which method is not decided here but by
//! the table of [`method_guards`](crate::serve::method_guards), in front of the service.

use axum_principal::Principal;
use tonic::{Request, Response, Status};

use crate::proto::principal_server::Principal as PrincipalMethods;
use crate::proto::{Empty, Me};

/// The service's methods.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrincipalService;

/// The `Me` of the call: the principal the auth layer put into the request's extensions.
fn me<T>(request: &Request<T>) -> Result<Response<Me>, Status> {
    // The table in front refuses every call of this service without a principal; without
    // it (a mistake in the stack), answer as the library does for a missing layer.
    let principal = request
        .extensions()
        .get::<Principal>()
        .ok_or_else(|| Status::internal("server_error"))?;
    let json = serde_json::to_string(principal).map_err(|_| Status::internal("server_error"))?;
    Ok(Response::new(Me { json }))
}

#[tonic::async_trait]
impl PrincipalMethods for PrincipalService {
    async fn who_am_i(&self, request: Request<Empty>) -> Result<Response<Me>, Status> {
        me(&request)
    }

    async fn admin(&self, request: Request<Empty>) -> Result<Response<Me>, Status> {
        me(&request)
    }

    async fn machine_only(&self, request: Request<Empty>) -> Result<Response<Me>, Status> {
        me(&request)
    }
}
