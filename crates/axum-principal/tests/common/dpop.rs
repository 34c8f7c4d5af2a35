//! DPoP set-up shared by `dpop.rs`, `hostile_dpop.rs`, the property tests and the
//! real-provider test: an app behind a DPoP-accepting layer, requests with a `DPoP` proof,
//! and every `WWW-Authenticate` value of a reply.

use axum::body::Body;
use axum::http::{header, Method, Request};
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::binding::ClientCertificate;
use axum_principal::dpop::DpopConfig;
use axum_principal::{AuthConfigBuilder, AuthLayer, Principal};

use super::{build, send_request, with_reason_header, Reply};

/// The external origin the test apps are configured with (proofs' `htu` start with it).
pub const ORIGIN: &str = "https://api.example.test";

async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}

/// `/me` (GET and POST) and `/reports/{id}` behind a layer with `dpop`, refusals carrying
/// their reason code.
pub fn app(config: AuthConfigBuilder, dpop: DpopConfig) -> Router {
    Router::new()
        .route("/me", get(me).post(me))
        .route("/reports/{id}", get(me))
        .layer(AuthLayer::new(build(with_reason_header(config.dpop(dpop)))))
}

/// `ORIGIN` + `path`.
pub fn url(path: &str) -> String {
    format!("{ORIGIN}{path}")
}

/// A request to `path` with `Authorization: {authorization}` and one `DPoP` header per proof.
pub struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub authorization: Option<String>,
    pub proofs: Vec<String>,
    pub certificate: Option<ClientCertificate>,
}

impl<'a> Call<'a> {
    pub fn dpop(path: &'a str, token: &str, proof: String) -> Self {
        Self {
            method: Method::GET,
            path,
            authorization: Some(format!("DPoP {token}")),
            proofs: vec![proof],
            certificate: None,
        }
    }

    pub fn bearer(path: &'a str, token: &str) -> Self {
        Self {
            method: Method::GET,
            path,
            authorization: Some(format!("Bearer {token}")),
            proofs: Vec::new(),
            certificate: None,
        }
    }

    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    pub async fn send(self, app: &Router) -> Reply {
        let mut request = Request::builder().method(self.method).uri(self.path);
        if let Some(value) = &self.authorization {
            request = request.header(header::AUTHORIZATION, value.as_str());
        }
        for proof in &self.proofs {
            request = request.header("dpop", proof.as_str());
        }
        let mut request = request.body(Body::empty()).expect("a valid request");
        if let Some(cert) = self.certificate {
            request.extensions_mut().insert(cert);
        }
        send_request(app, request).await
    }
}

/// Every `WWW-Authenticate` value, in order.
pub fn challenges(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .collect()
}
