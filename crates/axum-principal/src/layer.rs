//! The middleware: [`AuthLayer`] → [`AuthService`] → [`AuthServiceFuture`], in tower-http's
//! shape. The work is done by the [`Authenticator`]; this module is only the adapter.

use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use http::Request;
use tower::{Layer, Service};

use crate::authenticator::{AuthRequest, Authenticator, FirstLook};
use crate::config::AuthConfig;
use crate::rejection::RejectionKind;

/// Verifies bearer tokens on every request: `.layer(AuthLayer::new(config))`.
///
/// For each request the service reads the bearer token, verifies it with the
/// [`Authenticator`], and either refuses the request (RFC 6750 response) or puts the
/// [`Principal`](crate::Principal) into the request's extensions for extractors and guards.
///
/// Where every route needs it, the layer can also wrap the whole router
/// (`AuthLayer::new(config).layer(router)`, as `ServiceBuilder` does), which spares axum's
/// per-route boxing of a `Router::layer` (about 1,300 instructions and two allocations per
/// request in `bench/`). It then also runs for requests no route matches (a 401 before the
/// 404); tokens are checked the same way in both placements.
///
/// By default a request without a token is refused with 401. With
/// [`allow_anonymous`](AuthLayer::allow_anonymous) it passes through without a principal, so
/// one router can mix public and private routes; a token that is present but bad is still
/// refused.
///
/// ```
/// use axum::{routing::get, Router};
/// use axum_principal::{AuthConfig, AuthLayer, Principal};
///
/// async fn hello(principal: Option<Principal>) -> String {
///     match principal {
///         Some(p) => format!("hello, {}", p.subject()),
///         None => "hello, stranger".to_owned(),
///     }
/// }
///
/// # fn main() -> Result<(), axum_principal::ConfigError> {
/// let config = AuthConfig::builder()
///     .issuer("https://issuer.example.com/")
///     .audience("https://api.example.com")
///     .build()?;
/// let app: Router = Router::new()
///     .route("/", get(hello))
///     .layer(AuthLayer::new(config).allow_anonymous());
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AuthLayer {
    auth: Authenticator,
    allow_anonymous: bool,
}

impl AuthLayer {
    /// A layer that refuses requests without a valid token.
    pub fn new(config: AuthConfig) -> Self {
        Self::from_authenticator(Authenticator::new(config))
    }

    /// A layer sharing an existing authenticator (and its key cache).
    pub fn from_authenticator(auth: Authenticator) -> Self {
        Self {
            auth,
            allow_anonymous: false,
        }
    }

    /// Lets requests without a token through without a principal (bad tokens are still
    /// refused): the one way to make authentication optional. Handlers take
    /// `Option<Principal>`; extractors and guards that need a principal refuse with 401.
    pub fn allow_anonymous(mut self) -> Self {
        self.allow_anonymous = true;
        self
    }

    /// The authenticator behind this layer.
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            auth: self.auth.clone(),
            allow_anonymous: self.allow_anonymous,
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    auth: Authenticator,
    allow_anonymous: bool,
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = AuthServiceFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // A request decided without waiting (a repeated token the cache holds, or a new one
        // whose issuer's keys are at hand: nearly all) is answered here: the inner service
        // (the one polled ready) is called at once, nothing is boxed.
        let pending = match self
            .auth
            .first_look(request.headers(), request.extensions())
        {
            FirstLook::Admitted(principal) => {
                // The principal carries the layer's renderer: no `AuthContext` beside it.
                request.extensions_mut().insert(principal);
                return AuthServiceFuture {
                    inner: Either::Left(self.inner.call(request)),
                };
            }
            FirstLook::Refused(rejection) => {
                let response = rejection.in_reply_to(request.headers()).into_response();
                return AuthServiceFuture {
                    inner: Either::Right(Either::Right(std::future::ready(Ok(response)))),
                };
            }
            FirstLook::Pending(pending) => pending,
        };
        // The service that was polled ready is `self.inner`; take it and leave a clone in its
        // place (tower's "be careful when cloning inner services").
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        let allow_anonymous = self.allow_anonymous;
        let pipeline = Box::pin(async move {
            match auth
                .finish(pending, Some(AuthRequest::from_request(&request)))
                .await
            {
                Ok(Some(principal)) => {
                    request.extensions_mut().insert(principal);
                }
                Ok(None) if allow_anonymous => {
                    request.extensions_mut().insert(auth.context());
                }
                Ok(None) => {
                    return Ok(auth
                        .reject(RejectionKind::MissingCredentials)
                        .in_reply_to(request.headers())
                        .into_response())
                }
                Err(rejection) => {
                    return Ok(rejection.in_reply_to(request.headers()).into_response())
                }
            }
            inner.call(request).await
        });
        AuthServiceFuture {
            inner: Either::Right(Either::Left(pipeline)),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AuthService`]: the inner service's own future when the
    /// request was admitted without waiting, the refusal when it was refused so, else the
    /// whole pipeline, boxed.
    pub struct AuthServiceFuture<F, E> {
        #[pin]
        inner: Either<F, Either<BoxFuture<'static, Result<Response, E>>, Ready<Result<Response, E>>>>,
    }
}

impl<F, E> Future for AuthServiceFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}
