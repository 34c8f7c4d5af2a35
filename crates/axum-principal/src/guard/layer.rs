//! The `route_layer` form of any [`Guard`]: the check runs before the inner service, so
//! before the handler's own extractors.

use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use http::Request;
use tower::{Layer, Service};

use super::{authorize, Guard};

/// Runs `guard` in front of a route: `.route_layer(guard_layer(RequireRole::new("ops")))`.
/// Works for the built-in guards and your own alike.
pub fn guard_layer<G: Guard>(guard: G) -> GuardLayer<G> {
    GuardLayer::new(guard)
}

/// A [`Layer`] that runs a [`Guard`] before the inner service; made by [`guard_layer`].
#[derive(Clone, Debug)]
pub struct GuardLayer<G> {
    guard: G,
}

impl<G: Guard> GuardLayer<G> {
    /// The layer running `guard`.
    pub fn new(guard: G) -> Self {
        Self { guard }
    }

    /// The guard this layer runs.
    pub fn guard(&self) -> &G {
        &self.guard
    }
}

impl<G: Guard, S> Layer<S> for GuardLayer<G> {
    type Service = GuardService<G, S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            guard: self.guard.clone(),
            inner,
        }
    }
}

/// The service made by [`GuardLayer`]: refuses, or calls the inner service unchanged.
#[derive(Clone, Debug)]
pub struct GuardService<G, S> {
    guard: G,
    inner: S,
}

impl<G, S, B> Service<Request<B>> for GuardService<G, S>
where
    G: Guard,
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = GuardFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The check is synchronous, so the service polled ready is the one called.
        match authorize(&self.guard, request.headers(), request.extensions()) {
            Ok(()) => GuardFuture::called(self.inner.call(request)),
            Err(rejection) => GuardFuture::refused(rejection),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`GuardService`]: the refusal, ready at once, or the inner
    /// service's own future.
    pub struct GuardFuture<F, E> {
        #[pin]
        inner: Either<Ready<Result<Response, E>>, F>,
    }
}

impl<F, E> GuardFuture<F, E> {
    /// The inner service's answer.
    pub(super) fn called(future: F) -> Self {
        Self {
            inner: Either::Right(future),
        }
    }

    /// The refusal, rendered now.
    pub(super) fn refused(rejection: crate::AuthRejection) -> Self {
        Self {
            inner: Either::Left(std::future::ready(Ok(rejection.into_response()))),
        }
    }
}

impl<F, E> Future for GuardFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}
