# syntax=docker/dockerfile:1
#
# The example service `protected_api` (examples/protected_api.rs, a thin main over
# crates/axum-principal-example), packaged for docker-compose.yml. Configuration is by
# environment variables only (see the README and the top of examples/protected_api.rs).
#
#   docker build -t axum-principal/protected-api .
#
# The builder is pinned to the same Debian release as the runtime image (bookworm):
# `rust:1` alone may move to a newer Debian whose glibc is newer than bookworm's, and a
# binary linked against it would not start on bookworm-slim.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# aws-lc-sys (the default crypto backend) needs only the C compiler the image already has.
# The cache mounts keep the registry and target directory between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --example protected_api \
 && install -m 0755 target/release/examples/protected_api /usr/local/bin/protected_api

FROM debian:bookworm-slim
# ca-certificates: the service fetches discovery documents and JWKS over https in any
# real deployment. curl: only for the HEALTHCHECK below.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /usr/local/bin/protected_api /usr/local/bin/protected_api
USER app
# Listen on every interface inside the container (the service's own default is loopback).
# The service refuses development mode (no AUTHZ_ISSUER) on a non-loopback BIND unless
# AUTHZ_DEV=1; this image never sets AUTHZ_DEV.
ENV BIND=0.0.0.0:3000 \
    RUST_LOG=info
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS http://127.0.0.1:3000/healthz >/dev/null || exit 1
# The image is for a real issuer only: without AUTHZ_ISSUER it stops at once (status 2)
# instead of falling into development mode, whatever BIND or AUTHZ_DEV say; the embedded
# development issuer hands out tokens to whoever reads the console. (Arguments after the
# image name still reach the service.)
ENTRYPOINT ["/bin/sh", "-c", "case \"${AUTHZ_ISSUER-}\" in *[![:space:]]*) exec /usr/local/bin/protected_api \"$@\" ;; esac; echo 'configuration error: AUTHZ_ISSUER: not set: this image needs a real issuer (AUTHZ_ISSUER and AUTHZ_AUDIENCE); the development issuer runs only with cargo run --example protected_api' >&2; exit 2", "protected_api"]
