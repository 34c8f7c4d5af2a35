//! What the pipeline reads of a request besides its credentials.

use http::{HeaderMap, Method, Request, Uri};

use crate::binding::ClientCertificate;

/// What the pipeline reads of a request: the method and path a DPoP proof is checked
/// against, the headers, and the client certificate of a mutual-TLS connection. The layer
/// builds it with [`AuthRequest::from_request`].
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) client_certificate: Option<&'a ClientCertificate>,
}

impl<'a> AuthRequest<'a> {
    /// A request's method, URI (only its path is read) and headers, without a client
    /// certificate.
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        Self {
            method,
            uri,
            headers,
            client_certificate: None,
        }
    }

    /// The client certificate of the connection (RFC 8705), if it presented one.
    #[must_use]
    pub fn client_certificate(mut self, certificate: Option<&'a ClientCertificate>) -> Self {
        self.client_certificate = certificate;
        self
    }

    /// Everything from a request, the [`ClientCertificate`] from its extensions.
    pub fn from_request<B>(request: &'a Request<B>) -> Self {
        // Under `Router::nest` the request's URI has lost the prefix; DPoP's `htu` names the
        // URL the client called.
        let uri = request
            .extensions()
            .get::<axum::extract::OriginalUri>()
            .map_or(request.uri(), |original| &original.0);
        Self::new(request.method(), uri, request.headers())
            .client_certificate(request.extensions().get::<ClientCertificate>())
    }
}
