//! A running gRPC example: a mock issuer, the example's settings → configuration path, the
//! server on a free loopback port, and a tonic channel to it.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::net::SocketAddr;

use axum_principal::AuthLayer;
use axum_principal_example::{auth_config_at, rate_limit_layer, redis_connection, settings_from};
use axum_principal_grpc::proto::principal_client::PrincipalClient;
use axum_principal_grpc::{app_with_rate_limit, health_service};
use axum_principal_testkit::MockIssuer;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// The server and the issuer it trusts; the server stops when this is dropped.
pub struct Server {
    pub issuer: MockIssuer,
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// With `extra` variables on top of `AUTHZ_ISSUER`/`AUTHZ_AUDIENCE` (the mock issuer's).
    pub async fn start(extra: &[(&str, &str)]) -> Self {
        let issuer = MockIssuer::start().await.expect("the mock issuer starts");
        let mut vars: HashMap<String, String> = HashMap::from([
            ("AUTHZ_ISSUER".to_owned(), issuer.issuer().to_owned()),
            ("AUTHZ_AUDIENCE".to_owned(), issuer.audience().to_owned()),
            ("BIND".to_owned(), "127.0.0.1:0".to_owned()),
        ]);
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let settings = settings_from(|name| vars.get(name).cloned()).expect("valid settings");
        // As the example's start-up (run_with) does: listen first, the DPoP origin is the
        // address bound.
        let listener = tokio::net::TcpListener::bind(settings.bind)
            .await
            .expect("a free loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let config = auth_config_at(&settings, None, addr).expect("a valid configuration");
        let redis = redis_connection(&settings).expect("no Redis URL");
        let limits = rate_limit_layer(&settings, redis.as_ref());
        let app = app_with_rate_limit(AuthLayer::new(config), limits, health_service().await);
        let serve = axum::serve(listener, app).into_future();
        let task = tokio::spawn(async move {
            let _ = serve.await;
        });
        Self { issuer, addr, task }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A channel (HTTP/2 without TLS) to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.origin())
            .expect("a valid URI")
            .connect()
            .await
            .expect("the server accepts connections")
    }

    pub async fn client(&self) -> PrincipalClient<Channel> {
        PrincipalClient::new(self.channel().await)
    }

    pub fn user(&self) -> String {
        self.issuer.user_token("alice")
    }

    pub fn admin(&self) -> String {
        self.issuer.user_token_with_roles("admin-alice", &["admin"])
    }

    pub fn machine(&self) -> String {
        self.issuer.machine_token("reporting-service")
    }
}

/// A request carrying `authorization` (when given) as metadata.
pub fn request<T>(message: T, authorization: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(value) = authorization {
        let value: MetadataValue<_> = value.parse().expect("an ASCII header value");
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// `Bearer {token}`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
