//! Generates the `principal.v1` messages and service from `proto/` at build time, without
//! `protoc`: protox (a protobuf compiler in Rust) parses the file into a descriptor set,
//! and tonic-prost-build generates the code from that. A fresh machine needs nothing but
//! Cargo.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const PROTO: &str = "proto/principal/v1/principal.proto";
    println!("cargo:rerun-if-changed={PROTO}");
    let descriptors = protox::compile([PROTO], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
