//! The library through its public API: the contract's errors, verification, the key store,
//! the verified-token cache, tenants, introspection (RFC 7662), DPoP and mTLS, protected
//! resource metadata, the refusals of gRPC calls, step-up and scope matching, and property
//! tests. One test binary; each module is one family.

#[path = "../common/mod.rs"]
mod common;

mod contract_errors;
mod dpop;
mod first_look;
mod grpc_refusals;
mod introspection;
mod introspection_cost;
mod introspection_enrich;
mod introspection_jwt_response;
mod introspection_private_key_jwt;
mod key_store;
mod mtls_handshake;
mod properties;
mod properties_dpop;
mod resource_metadata;
mod step_up;
mod tenants;
mod token_cache;
mod verification;
