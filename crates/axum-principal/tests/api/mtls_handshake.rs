//! mTLS-bound tokens (RFC 8705 §3) through a real TLS handshake: a tokio-rustls acceptor
//! that asks for client certificates puts the certificate the client presented into the
//! request extensions as [`ClientCertificate`], the way an application's acceptor (or
//! axum-server's) would; the layer compares it with the token's `cnf.x5t#S256`.
//!
//! Certificates: `tests/fixtures/mtls/` (a test CA, `server` for localhost and 127.0.0.1,
//! `client` and `other` client certificates; EC P-256, made with openssl, valid for 100
//! years).

use crate::common;

use std::sync::Arc;

use axum::Extension;
use axum_principal::binding::ClientCertificate;
use axum_principal::clock::ManualClock;
use axum_principal::AuthLayer;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mtls");

fn cert(name: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(format!("{FIXTURES}/{name}.pem")).expect("a PEM certificate")
}

fn key(name: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_file(format!("{FIXTURES}/{name}.key")).expect("a PEM private key")
}

fn roots() -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(cert("ca")).expect("the test CA is a valid root");
    Arc::new(roots)
}

/// A TLS server on 127.0.0.1 that accepts clients with or without a certificate (signed by
/// the test CA) and serves `app` with the presented certificate in the extensions.
async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let verifier = WebPkiClientVerifier::builder(roots())
        .allow_unauthenticated()
        .build()
        .expect("a client verifier");
    let config = ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert("server")], key("server"))
        .expect("the server certificate and key match");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // What the acceptor saw: the client's certificate, if it sent one.
                let presented = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|der| ClientCertificate::new(der.to_vec()));
                let app = match presented {
                    Some(certificate) => app.layer(Extension(certificate)),
                    None => app,
                };
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    addr
}

/// GET /me over TLS with `token`, presenting the client certificate `identity` (if any);
/// the response's status code.
async fn get_me(addr: std::net::SocketAddr, identity: Option<&str>, token: &str) -> u16 {
    let builder = ClientConfig::builder().with_root_certificates(roots());
    let config = match identity {
        Some(name) => builder
            .with_client_auth_cert(vec![cert(name)], key(name))
            .expect("the client certificate and key match"),
        None => builder.with_no_client_auth(),
    };
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let server = ServerName::try_from("localhost").expect("a server name");
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(server, tcp)
        .await
        .expect("the TLS handshake succeeds");
    let request = format!(
        "GET /me HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    // The server closes the connection after the response (`Connection: close`).
    let _ = tls.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("an HTTP status line")
}

#[tokio::test]
async fn a_token_bound_to_the_client_certificate_passes_only_over_that_certificate() {
    let issuer = common::issuer().await;
    let config = common::build(common::config(&issuer, &ManualClock::new()));
    let app = common::router(AuthLayer::new(config));
    let addr = serve(app).await;

    let bound = issuer
        .token()
        .claim("sub", "svc")
        .mtls_bound(cert("client").as_ref())
        .sign();
    assert_eq!(get_me(addr, Some("client"), &bound).await, 200);
    // Another certificate of the same CA, or none at all: the binding does not hold.
    assert_eq!(get_me(addr, Some("other"), &bound).await, 401);
    assert_eq!(get_me(addr, None, &bound).await, 401);
    // A token bound to no certificate passes with or without one.
    let plain = issuer.user_token("alice");
    assert_eq!(get_me(addr, Some("client"), &plain).await, 200);
    assert_eq!(get_me(addr, None, &plain).await, 200);
}
