//! The accept loop and the connections: HTTP/1.1 (and HTTP/2 with prior knowledge) through hyper,
//! with the limits a server facing the internet needs.
//!
//! - At most `http.max_connections` connections are open; further clients wait in the backlog.
//! - A new connection must deliver a request's headers within `http.header_read_timeout`, and so
//!   must a kept-alive one from the first byte of its next request (slow headers, half-sent
//!   requests); a kept-alive connection with no request on it is closed after `http.idle_timeout`.
//! - A request body must arrive within `http.body_read_timeout` ([`super::body`]).
//! - At shutdown the listener closes, connections with no request in flight close at once, bodies
//!   still arriving are cut, and requests being handled finish; [`crate::Bot::shutdown`] drops
//!   whatever is left when `http.shutdown_grace` runs out.
//!
//! The timers are kept here rather than by hyper's `header_read_timeout`, which also runs while a
//! kept-alive connection waits between requests and so would close it long before `idle_timeout`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use super::body::DeadlineBody;
use crate::config::HttpConfig;

/// The connection limits, from `[http]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a request's first byte to its complete headers.
    pub header_read_timeout: Duration,
    /// From complete headers to the end of the body.
    pub body_read_timeout: Duration,
    /// With no request in flight and none arriving.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Limits {
    /// The limits `[http]` sets.
    pub fn from_config(http: &HttpConfig) -> Self {
        Self {
            header_read_timeout: http.header_read_timeout.std(),
            body_read_timeout: http.body_read_timeout.std(),
            idle_timeout: http.idle_timeout.std(),
            max_connections: http.max_connections.max(1),
        }
    }
}

/// Serves `router` on `listener` until `stop` turns true, then drains (see the module doc).
pub async fn run(listener: TcpListener, router: Router, limits: Limits, mut stop: watch::Receiver<bool>) {
    let builder = Arc::new(Builder::new(TokioExecutor::new()));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let mut last_full_warning: Option<Instant> = None;
    loop {
        while connections.try_join_next().is_some() {}
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if last_full_warning.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(
                        max = limits.max_connections,
                        "http.max_connections reached; new clients wait until a connection closes"
                    );
                    last_full_warning = Some(Instant::now());
                }
                tokio::select! {
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    _ = stop.wait_for(|stopping| *stopping) => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stopping| *stopping) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(cause = %err, "cannot accept a connection");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    _ = stop.wait_for(|stopping| *stopping) => break,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(
            builder.clone(),
            stream,
            peer,
            router.clone(),
            limits,
            stop.clone(),
            permit,
        ));
    }
    // New connections are refused from here on; the open ones end as the module doc says.
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Drives one connection and its timers.
async fn connection(
    builder: Arc<Builder<TokioExecutor>>,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service = ConnectionService {
        router,
        peer,
        activity: activity.clone(),
        body_read_timeout: limits.body_read_timeout,
        stop: stop.clone(),
    };
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut draining = false;
    loop {
        let deadline = activity.deadline(&limits);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%peer, cause = %err, "connection ended with an error");
                }
                return;
            }
            () = activity.changed.notified() => {}
            () = sleep_until(deadline), if !draining => {
                tracing::debug!(%peer, "closing a connection: idle, or a request not sent in time");
                return;
            }
            _ = stop.wait_for(|stopping| *stopping), if !draining => {
                if !activity.busy() {
                    return;
                }
                // Let the requests being handled finish, then close.
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// What a connection is doing, for its timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing in flight, nothing received, since the last response.
    Idle(Instant),
    /// Since then a request is due — the connection is new, or bytes came after an idle spell —
    /// and has not reached a handler yet.
    Arriving(Instant),
    /// This many requests are with their handlers (reading their bodies or being answered).
    Busy(usize),
}

struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            // A client connects to send a request: until one arrives, the header timer runs.
            phase: Mutex::new(Phase::Arriving(Instant::now())),
            changed: Notify::new(),
        }
    }

    fn update(&self, change: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        let next = change(*phase);
        if next != *phase {
            *phase = next;
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// Bytes arrived.
    fn received(&self) {
        self.update(|phase| match phase {
            Phase::Idle(_) => Phase::Arriving(Instant::now()),
            other => other,
        });
    }

    /// A request reached its handler; it counts until the guard drops.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.update(|phase| match phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
        InFlight(self.clone())
    }

    fn busy(&self) -> bool {
        matches!(
            *self.phase.lock().unwrap_or_else(PoisonError::into_inner),
            Phase::Busy(_)
        )
    }

    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match *self.phase.lock().unwrap_or_else(PoisonError::into_inner) {
            Phase::Idle(since) => Some(since + limits.idle_timeout),
            Phase::Arriving(since) => Some(since + limits.header_read_timeout),
            Phase::Busy(_) => None,
        }
    }
}

/// A request with its handler.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|phase| match phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }
}

/// The socket, telling the connection's [`Activity`] when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.received();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The router as hyper sees it on one connection: each request gets the peer address, a body with
/// a deadline, and counts as in flight until its response is ready.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
    body_read_timeout: Duration,
    stop: watch::Receiver<bool>,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.begin();
        let mut request = request.map(|body| Body::new(DeadlineBody::new(body, self.body_read_timeout, &self.stop)));
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(request).await;
            drop(in_flight);
            response
        })
    }
}
