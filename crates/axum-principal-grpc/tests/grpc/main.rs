//! The gRPC example end to end, on a real socket: each refusal of CONTRACT.md's table as
//! tonic's client sees it (`tonic_client`), as the wire carries it (`wire`: Trailers-Only,
//! and `GET /healthz` over HTTP/1.1 on the same port), and as a client that is not tonic
//! sees it (`grpcio`: Python's gRPC, on the C core).

#[path = "../../../axum-principal/tests/common/provision.rs"]
#[allow(dead_code)]
mod provision;

mod grpcio;
mod support;
mod tonic_client;
mod wire;
