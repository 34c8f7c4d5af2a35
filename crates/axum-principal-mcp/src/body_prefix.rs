//! A request body read in part and handed on whole: [`read_prefix`] reads frames until a
//! decision can be made from the bytes so far (or a cap or a deadline is reached), and
//! [`Prefixed`] replays those bytes before the rest of the body, so the service behind
//! reads exactly what the client sent.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt as _;

/// How reading the prefix ended.
#[derive(Debug)]
pub(crate) enum Read<T> {
    /// `decide` answered.
    Decided(T),
    /// `cap` bytes came and `decide` still wanted more.
    TooLarge,
    /// The deadline passed first.
    TimedOut,
    /// The body failed (the connection broke).
    Failed,
}

/// Reads `body` until `decide(bytes, complete)` answers, at most `cap` bytes are looked at
/// (a frame may carry the bytes a little past it), and for at most `deadline`. `decide`
/// sees the bytes so far each time they have doubled, so the work stays linear in the
/// prefix however the client splits it. Returns the decision and the body to hand on.
pub(crate) async fn read_prefix<T>(
    mut body: Body,
    cap: usize,
    deadline: Duration,
    mut decide: impl FnMut(&[u8], bool) -> Option<T>,
) -> (Read<T>, Body) {
    let mut held = BytesMut::new();
    let mut trailers = None;
    let mut ended = false;
    let mut looked_at = 0usize;
    let outcome = tokio::time::timeout(deadline, async {
        loop {
            let len = held.len();
            if ended || len >= cap || (len > 0 && len >= looked_at.saturating_mul(2)) {
                looked_at = len;
                let seen = held.get(..len.min(cap)).unwrap_or_default();
                if let Some(decision) = decide(seen, ended && len <= cap) {
                    return Read::Decided(decision);
                }
                if ended || len >= cap {
                    return Read::TooLarge;
                }
            }
            match body.frame().await {
                None => ended = true,
                Some(Err(_)) => return Read::Failed,
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => held.extend_from_slice(&data),
                    Err(frame) => {
                        trailers = frame.into_trailers().ok();
                        ended = true;
                    }
                },
            }
        }
    })
    .await
    .unwrap_or(Read::TimedOut);
    let whole = Prefixed {
        prefix: held.freeze(),
        trailers,
        ended,
        rest: body,
    };
    (outcome, Body::new(whole))
}

/// The bytes already read, then whatever is left of the body.
struct Prefixed {
    prefix: Bytes,
    trailers: Option<HeaderMap>,
    /// The original body has already ended (its end was read with the prefix).
    ended: bool,
    rest: Body,
}

impl HttpBody for Prefixed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if !self.prefix.is_empty() {
            let prefix = std::mem::take(&mut self.prefix);
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        if let Some(trailers) = self.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_empty()
            && self.trailers.is_none()
            && (self.ended || self.rest.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let prefix = u64::try_from(self.prefix.len()).unwrap_or(u64::MAX);
        if self.ended {
            return SizeHint::with_exact(prefix);
        }
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower().saturating_add(prefix));
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(prefix));
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn chunked(chunks: &[&'static [u8]]) -> Body {
        let frames: Vec<Result<Bytes, std::io::Error>> =
            chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        Body::from_stream(stream::iter(frames))
    }

    async fn all(body: Body) -> Vec<u8> {
        body.collect()
            .await
            .expect("the body reads to its end")
            .to_bytes()
            .to_vec()
    }

    #[tokio::test]
    async fn the_body_handed_on_is_the_body_sent() {
        let body = chunked(&[b"ab", b"cd", b"ef", b"gh"]);
        let (read, whole) = read_prefix(body, 100, Duration::from_secs(5), |seen, _| {
            (seen.len() >= 4).then(|| seen.to_vec())
        })
        .await;
        assert!(
            matches!(read, Read::Decided(ref seen) if seen == b"abcd"),
            "{read:?}"
        );
        assert_eq!(all(whole).await, b"abcdefgh");
    }

    #[tokio::test]
    async fn at_most_the_cap_is_looked_at() {
        let body = chunked(&[b"0123", b"4567", b"89ab"]);
        let mut longest = 0;
        let (read, whole) = read_prefix(body, 6, Duration::from_secs(5), |seen, _| {
            longest = longest.max(seen.len());
            None::<()>
        })
        .await;
        assert!(matches!(read, Read::TooLarge), "{read:?}");
        assert_eq!(longest, 6);
        assert_eq!(all(whole).await, b"0123456789ab");
    }

    #[tokio::test]
    async fn the_end_is_told_to_the_decision() {
        let (read, whole) = read_prefix(
            chunked(&[b"{}"]),
            100,
            Duration::from_secs(5),
            |seen, complete| complete.then_some(seen.len()),
        )
        .await;
        assert!(matches!(read, Read::Decided(2)), "{read:?}");
        assert_eq!(all(whole).await, b"{}");
    }

    #[tokio::test]
    async fn a_body_that_never_comes_times_out() {
        let (sender, body) = {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            (tx, Body::from_stream(stream))
        };
        let (read, _) = read_prefix(body, 100, Duration::from_millis(20), |_, _| None::<()>).await;
        assert!(matches!(read, Read::TimedOut), "{read:?}");
        drop(sender);
    }
}
