//! Calls in flight, one per token: requests presenting a token that is being introspected
//! wait for that call instead of making their own. Keyed exactly like the answer cache
//! (per issuer, per authenticator, the whole token compared byte for byte), so a call made
//! under one configuration never answers a request under another.
//!
//! Each call runs on its own task: a caller that goes away (a client hanging up) only stops
//! waiting, the call completes and its answer is cached for the others. The map holds at
//! most `max_calls` tokens; a request for another token beyond that is refused (503), which
//! also caps the calls in flight to the issuer.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::token::TokenBytes;
use super::Introspected;
use crate::rejection::{IntrospectionFailure, RejectionKind};

/// What a call ends with, for every request waiting on it.
pub(crate) type Outcome = Result<Introspected, RejectionKind>;

type Waiting = watch::Receiver<Option<Outcome>>;

/// One issuer's calls in flight.
pub(crate) struct Flights {
    map: Mutex<HashMap<TokenBytes, Waiting>>,
    max_calls: usize,
}

/// Removes a finished call from the map even if its task ends early.
struct Landed {
    flights: Arc<Flights>,
    token: Arc<TokenBytes>,
}

impl Drop for Landed {
    fn drop(&mut self) {
        self.flights.lock().remove(self.token.as_bytes());
    }
}

impl Flights {
    pub(crate) fn new(max_calls: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            max_calls: max_calls.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TokenBytes, Waiting>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The outcome of the call for `token`: the one in flight, or one `start` makes now (on
    /// its own task). `start` is given the token's bytes, owned.
    pub(crate) async fn run<F, Fut>(self: &Arc<Self>, token: &[u8], start: F) -> Outcome
    where
        F: FnOnce(Arc<TokenBytes>) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let (mut waiting, call) = {
            let mut map = self.lock();
            if let Some(waiting) = map.get(token) {
                (waiting.clone(), None)
            } else if map.len() >= self.max_calls {
                return Err(RejectionKind::IntrospectionUnavailable(
                    IntrospectionFailure::Busy,
                ));
            } else {
                let (tx, rx) = watch::channel(None);
                map.insert(TokenBytes::new(token), rx.clone());
                (rx, Some(tx))
            }
        };
        if let Some(tx) = call {
            let owned = Arc::new(TokenBytes::new(token));
            let landed = Landed {
                flights: Arc::clone(self),
                token: Arc::clone(&owned),
            };
            let call = start(owned);
            let task = async move {
                let outcome = call.await;
                // Out of the map first: a request arriving after finds the cache.
                drop(landed);
                let _ = tx.send(Some(outcome));
            };
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(task)),
                Err(_) => task.await,
            }
        }
        let unavailable = || {
            Err(RejectionKind::IntrospectionUnavailable(
                IntrospectionFailure::Unreachable,
            ))
        };
        let outcome = waiting
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|outcome| outcome.clone());
        // No outcome: the task ended without an answer (a panic), never an admission.
        outcome.unwrap_or_else(unavailable)
    }

    /// Calls in flight now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    fn refused() -> Outcome {
        Err(RejectionKind::InvalidToken(
            crate::rejection::InvalidToken::Inactive,
        ))
    }

    #[tokio::test]
    async fn requests_for_one_token_share_one_call_and_a_gone_caller_does_not_cancel_it() {
        let flights = Arc::new(Flights::new(8));
        let calls = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Notify::new());
        let start = |calls: Arc<AtomicUsize>, release: Arc<Notify>| {
            move |_token: Arc<TokenBytes>| async move {
                calls.fetch_add(1, Ordering::SeqCst);
                release.notified().await;
                refused()
            }
        };
        // The first caller starts the call, then goes away.
        let first = {
            let flights = Arc::clone(&flights);
            let start = start(Arc::clone(&calls), Arc::clone(&release));
            tokio::spawn(async move { flights.run(b"tok", start).await })
        };
        while flights.len() == 0 {
            tokio::task::yield_now().await;
        }
        first.abort();
        let second = {
            let flights = Arc::clone(&flights);
            let start = start(Arc::clone(&calls), Arc::clone(&release));
            tokio::spawn(async move { flights.run(b"tok", start).await })
        };
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        release.notify_one();
        let outcome = second.await.expect("the second caller ends");
        assert_eq!(outcome.map(|_| ()), refused().map(|_| ()));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one call for both callers");
        assert_eq!(flights.len(), 0, "the landed call left the map");
    }

    #[tokio::test]
    async fn the_map_is_bounded() {
        let flights = Arc::new(Flights::new(1));
        let release = Arc::new(Notify::new());
        let hold = {
            let flights = Arc::clone(&flights);
            let release = Arc::clone(&release);
            tokio::spawn(async move {
                flights
                    .run(b"one", move |_| async move {
                        release.notified().await;
                        refused()
                    })
                    .await
            })
        };
        while flights.len() == 0 {
            tokio::task::yield_now().await;
        }
        let other = flights.run(b"two", |_| async { refused() }).await;
        assert_eq!(
            other.map(|_| ()),
            Err(RejectionKind::IntrospectionUnavailable(
                IntrospectionFailure::Busy
            ))
        );
        release.notify_one();
        assert!(hold.await.is_ok());
    }
}
