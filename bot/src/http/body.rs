//! A request body with a deadline: a client that sends its body too slowly — or is still sending
//! when shutdown begins — gets an error from the body instead of holding a handler and a connection.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::sync::watch;

/// Why a body was cut off before it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyCut {
    /// The body did not arrive within `http.body_read_timeout`.
    Timeout(Duration),
    /// The server began shutting down while the body was still arriving.
    ShuttingDown,
}

impl fmt::Display for BodyCut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyCut::Timeout(limit) => write!(
                f,
                "the body did not arrive within {}",
                humantime::format_duration(*limit)
            ),
            BodyCut::ShuttingDown => f.write_str("the server is shutting down"),
        }
    }
}

impl StdError for BodyCut {}

impl BodyCut {
    /// The cut behind a body-reading error, however deeply the error wraps it.
    pub fn of(err: &(dyn StdError + 'static)) -> Option<BodyCut> {
        let mut next = Some(err);
        while let Some(err) = next {
            if let Some(cut) = err.downcast_ref::<BodyCut>() {
                return Some(*cut);
            }
            next = err.source();
        }
        None
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

/// `hyper`'s body, ended with a [`BodyCut`] error when its deadline passes or shutdown begins.
pub struct DeadlineBody {
    inner: Incoming,
    cut: Option<Pin<Box<dyn Future<Output = BodyCut> + Send>>>,
    ended: Option<BodyCut>,
}

impl DeadlineBody {
    /// `inner`, which must end within `limit` from now and before `stop` turns true.
    pub fn new(inner: Incoming, limit: Duration, stop: &watch::Receiver<bool>) -> Self {
        // A request without a body (every GET) needs no timer.
        let cut = (!inner.is_end_stream()).then(|| {
            let deadline = tokio::time::Instant::now() + limit;
            let mut stop = stop.clone();
            Box::pin(async move {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => BodyCut::Timeout(limit),
                    _ = stop.wait_for(|stopping| *stopping) => BodyCut::ShuttingDown,
                }
            }) as Pin<Box<dyn Future<Output = BodyCut> + Send>>
        });
        Self {
            inner,
            cut,
            ended: None,
        }
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(cut) = this.ended {
            return Poll::Ready(Some(Err(Box::new(cut))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.cut = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => Poll::Ready(Some(frame.map_err(Into::into))),
            Poll::Pending => match this.cut.as_mut().map(|cut| cut.as_mut().poll(cx)) {
                Some(Poll::Ready(cut)) => {
                    this.cut = None;
                    this.ended = Some(cut);
                    Poll::Ready(Some(Err(Box::new(cut))))
                }
                _ => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_is_found_inside_wrapping_errors() {
        let cut = BodyCut::Timeout(Duration::from_secs(3));
        // How axum reports a body error: its own error around the boxed one.
        let wrapped = axum::Error::new(axum::Error::new(Box::new(cut) as BoxError));
        assert_eq!(BodyCut::of(&wrapped), Some(cut));
        let other = axum::Error::new(std::io::Error::other("reset"));
        assert_eq!(BodyCut::of(&other), None);
        assert_eq!(cut.to_string(), "the body did not arrive within 3s");
    }
}
