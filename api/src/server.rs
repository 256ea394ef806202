//! Serving the API on a socket, with the limits a server facing untrusted clients needs (`journey serve`
//! uses [`serve`]; tests drive [`crate::router`] without sockets).
//!
//! * **A cap on connections** ([`Config::max_connections`]): at the cap the server stops accepting (new
//!   connections wait in the kernel's queue) and closes the connections that do nothing (nothing sent for a
//!   quarter of a second, or a request head arriving for more than a second), so that idle or slow clients
//!   cannot hold every file descriptor while others are refused.
//! * **A header-read timeout** ([`Config::header_read_timeout`]): a connection that has begun a request
//!   must send its whole head within it (a slowloris client trickling a header a byte at a time is closed).
//! * **An idle timeout** ([`Config::idle_timeout`]): a connection with no request in flight is closed after
//!   it. A request in flight (a slow handler, a live change feed) is never cut by either timeout; the
//!   request timeout bounds handlers.
//! * **Accept errors** (running out of file descriptors) are logged at most once per
//!   [`ACCEPT_ERROR_LOG_EVERY`], with the number suppressed, and the loop backs off instead of spinning.
//! * **Refusals from the HTTP layer itself** (a malformed request line, headers too large, a URI too long:
//!   hyper answers 400, 431 or 414 with an empty body before any handler runs) go out as problem details
//!   like every other refusal (the connection's socket wrapper, `ProblemIo`, rewrites them).
//!
//! [`Config::max_connections`]: crate::Config::max_connections
//! [`Config::header_read_timeout`]: crate::Config::header_read_timeout
//! [`Config::idle_timeout`]: crate::Config::idle_timeout

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::AppState;
use crate::error::problem_for_status;

/// At most one log line about failing accepts per this long.
pub const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// At the connection cap, a connection that has sent nothing for this long (since it was accepted, or since
/// its last response) may be closed to make room: a client about to send its request has done so by then.
const IDLE_AT_CAP: Duration = Duration::from_millis(250);

/// At the connection cap, a request head that has been arriving for this long is a slow client's, and its
/// connection may be closed to make room.
const SLOW_HEAD_AT_CAP: Duration = Duration::from_secs(1);

/// While at the cap, how often the connections are asked again to make room.
const MAKE_ROOM_EVERY: Duration = Duration::from_millis(100);

/// Serves `state`'s router on `listener` until `signal` completes, then shuts down gracefully: stops
/// accepting, marks the state as shutting down (readiness fails, change feeds end), lets requests in flight
/// finish and closes idle connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    signal: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let config = Arc::clone(&state.config);
    warn_if_descriptors_are_short(config.max_connections);
    let app = crate::router(state.clone());
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let open = Arc::new(OpenConnections::default());
    let (stop, stopping) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut accept_errors = AcceptErrors::default();
    tokio::pin!(signal);
    'serving: loop {
        // At the cap: close connections that do nothing, and wait for a free place.
        let permit = loop {
            if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                break permit;
            }
            open.make_room();
            tokio::select! {
                permit = Arc::clone(&permits).acquire_owned() => {
                    break permit.expect("the semaphore is never closed");
                }
                () = tokio::time::sleep(MAKE_ROOM_EVERY) => {}
                () = &mut signal => break 'serving,
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    state.metrics.record_accept_error();
                    accept_errors.record(&e);
                    // A connection reset before it was accepted is its client's business; anything else
                    // (out of file descriptors) lasts a while: back off rather than spin.
                    if !is_connection_error(&e) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
            () = &mut signal => break 'serving,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            app: app.clone(),
            metrics: Arc::clone(&state.metrics),
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            open: Arc::clone(&open),
            stopping: stopping.clone(),
        };
        connections.spawn(async move {
            connection.serve(stream).await;
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    state.begin_shutdown();
    stop.send_replace(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Failing accepts, logged at most once per [`ACCEPT_ERROR_LOG_EVERY`].
#[derive(Debug, Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl AcceptErrors {
    fn record(&mut self, e: &io::Error) {
        let now = Instant::now();
        if self
            .last_logged
            .is_some_and(|at| now.duration_since(at) < ACCEPT_ERROR_LOG_EVERY)
        {
            self.suppressed += 1;
            return;
        }
        tracing::error!(
            error = %e,
            suppressed = self.suppressed,
            "accepting a connection failed (the same error is logged at most every {} s; `suppressed` counts \
             those not logged since the last line)",
            ACCEPT_ERROR_LOG_EVERY.as_secs()
        );
        self.last_logged = Some(now);
        self.suppressed = 0;
    }
}

/// Warns when the process may run out of file descriptors before it reaches the connection cap (Linux:
/// the soft limit in `/proc/self/limits`). Each connection holds one; the store, the journal and the log
/// segments hold some more.
fn warn_if_descriptors_are_short(max_connections: usize) {
    const OTHER_FILES: usize = 128;
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<usize>().ok());
    if let Some(soft) = soft
        && max_connections.saturating_add(OTHER_FILES) > soft
    {
        tracing::warn!(
            max_connections,
            open_files_limit = soft,
            "the connection cap is close to the limit on open files: lower max_connections or raise the \
             limit (ulimit -n, LimitNOFILE=)"
        );
    }
}

/// The connections being served, so that at the cap the idle ones can be asked to close.
#[derive(Debug, Default)]
struct OpenConnections {
    next: AtomicU64,
    by_id: Mutex<HashMap<u64, Arc<Activity>>>,
}

impl OpenConnections {
    fn add(&self, activity: Arc<Activity>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, activity);
        id
    }

    fn remove(&self, id: u64) {
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    /// Asks every connection that is doing nothing to close.
    fn make_room(&self) {
        for activity in self.by_id.lock().unwrap_or_else(PoisonError::into_inner).values() {
            activity.make_room.notify_one();
        }
    }
}

/// What one connection is doing, for its timeouts.
#[derive(Debug)]
struct Activity {
    state: Mutex<Phase>,
    /// Wakes the connection's watchdog when the phase changes.
    changed: Notify,
    /// Set when the server is at its connection cap.
    make_room: Notify,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// No request in flight and no byte of the next one received, since the instant given.
    Idle(Instant),
    /// The first byte of a request head arrived at the instant given; the head is not complete yet.
    ReadingHead(Instant),
    /// This many requests are in flight (their responses not yet fully sent).
    Busy(usize),
}

impl Activity {
    fn new() -> Activity {
        Activity {
            state: Mutex::new(Phase::Idle(Instant::now())),
            changed: Notify::new(),
            make_room: Notify::new(),
        }
    }

    fn phase(&self) -> Phase {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *state = f(*state);
        drop(state);
        self.changed.notify_one();
    }

    /// Bytes arrived from the client.
    fn received(&self) {
        if matches!(self.phase(), Phase::Idle(_)) {
            self.set(|phase| match phase {
                Phase::Idle(_) => Phase::ReadingHead(Instant::now()),
                other => other,
            });
        }
    }

    /// A request's head is complete and it is handed to the router.
    fn request_started(self: &Arc<Activity>) -> InFlight {
        self.set(|phase| match phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
        InFlight(Arc::clone(self))
    }

    /// Whether any request is in flight (or was dispatched since the connection last became idle).
    fn busy(&self) -> bool {
        matches!(self.phase(), Phase::Busy(_))
    }

    /// Whether the connection may be closed to make room at the cap.
    fn may_make_room(&self) -> bool {
        match self.phase() {
            Phase::Idle(since) => since.elapsed() >= IDLE_AT_CAP,
            Phase::ReadingHead(since) => since.elapsed() >= SLOW_HEAD_AT_CAP,
            Phase::Busy(_) => false,
        }
    }

    /// Completes when the connection has been idle for `idle`, or has taken longer than `head` to send a
    /// request head. Never while a request is in flight.
    async fn expired(&self, head: Duration, idle: Duration) {
        loop {
            let deadline = match self.phase() {
                Phase::Idle(since) => Some(since + idle),
                Phase::ReadingHead(since) => Some(since + head),
                Phase::Busy(_) => None,
            };
            match deadline {
                Some(deadline) if Instant::now() >= deadline => return,
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}

/// A request in flight on a connection, until its response has been sent (or dropped).
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.set(|phase| match phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }
}

struct Connection {
    app: axum::Router,
    metrics: Arc<crate::Metrics>,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    open: Arc<OpenConnections>,
    stopping: watch::Receiver<bool>,
}

impl Connection {
    async fn serve(mut self, stream: TcpStream) {
        let activity = Arc::new(Activity::new());
        let id = self.open.add(Arc::clone(&activity));
        self.metrics.record_connection(true);
        let io = ProblemIo::new(stream, Arc::clone(&activity));
        let app = self.app.clone();
        let service = hyper::service::service_fn({
            let activity = Arc::clone(&activity);
            move |request: Request<Incoming>| {
                let in_flight = activity.request_started();
                let app = app.clone();
                async move {
                    let response = app.oneshot(request.map(Body::new)).await;
                    // The request is in flight until its body has been sent: a live feed stays busy.
                    response.map(|r| {
                        r.map(move |body| {
                            Body::new(body.map_frame(move |frame| {
                                let _ = &in_flight;
                                frame
                            }))
                        })
                    })
                }
            }
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        // The timeouts are the watchdog's below, which knows whether a request is in flight.
        http.header_read_timeout(None);
        let connection = http.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let mut closing = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    break;
                }
                // Nothing in flight: dropping the connection loses nothing.
                () = activity.expired(self.header_read_timeout, self.idle_timeout) => {
                    let why = if matches!(activity.phase(), Phase::ReadingHead(_)) { "slow_head" } else { "idle" };
                    tracing::debug!(why, "closed a connection");
                    self.metrics.record_connection_closed(why);
                    break;
                }
                () = activity.make_room.notified() => {
                    if activity.may_make_room() {
                        tracing::debug!("closed a connection that was doing nothing, to make room at the cap");
                        self.metrics.record_connection_closed("make_room");
                        break;
                    }
                }
                changed = self.stopping.changed(), if !closing => {
                    if changed.is_err() || *self.stopping.borrow() {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
        self.open.remove(id);
        self.metrics.record_connection(false);
    }
}

/// The connection's socket, as hyper reads and writes it: notes when request bytes arrive (for the
/// timeouts) and turns hyper's own refusals into problem details.
///
/// hyper answers a request it cannot parse (400), whose headers are too large (431) or whose URI is too
/// long (414) by itself, with a head and no body (`content-length: 0`, no content type), before anything
/// is handed to the router; then it closes the connection. Every response the router gives carries a body
/// (bodiless refusals become problem documents in `crate::middleware`), so a head written while no request
/// is in flight, with one of those statuses and no content, is hyper's: it is held back and a problem
/// document with the same status is written instead.
struct ProblemIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    /// A response head being held back to see whether it is hyper's refusal.
    held: Vec<u8>,
    /// What to write in its place (the problem, or the head itself after all), and how much is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl ProblemIo {
    fn new(stream: TcpStream, activity: Arc<Activity>) -> ProblemIo {
        ProblemIo {
            stream,
            activity,
            held: Vec::new(),
            replacement: None,
        }
    }

    /// Writes what is left of the replacement, if any; then writing goes straight through again.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some((bytes, written)) = &mut self.replacement {
            while *written < bytes.len() {
                let n = std::task::ready!(Pin::new(&mut self.stream).poll_write(cx, &bytes[*written..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                *written += n;
            }
            self.replacement = None;
            self.held.clear();
        }
        Poll::Ready(Ok(()))
    }
}

/// The status of hyper's own refusal, if `head` (a response head, up to its blank line) is one.
fn hyper_refusal(head: &[u8]) -> Option<StatusCode> {
    let head = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    let status = head
        .strip_prefix("http/1.1 ")?
        .split(' ')
        .next()?
        .parse::<u16>()
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())?;
    let refused = matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::URI_TOO_LONG | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let empty = head.contains("\r\ncontent-length: 0\r\n") && !head.contains("\r\ncontent-type:");
    (refused && empty).then_some(status)
}

/// The problem response in place of hyper's refusal with `status`.
fn problem_for_refusal(status: StatusCode) -> Vec<u8> {
    let detail = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            "the request's headers are too large (too many, or too long)"
        }
        StatusCode::URI_TOO_LONG => "the request's URI is too long",
        _ => "the request is not valid HTTP/1.1: its request line or a header could not be read",
    };
    let body = serde_json::to_vec(&problem_for_status(status, Some(detail.to_owned())))
        .expect("a problem serialises");
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        crate::error::PROBLEM_JSON,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl AsyncRead for ProblemIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.received();
        }
        result
    }
}

impl AsyncWrite for ProblemIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_replacement(cx))?;
        let holding = !this.held.is_empty() || (!this.activity.busy() && data.starts_with(b"HTTP/1.1 4"));
        if !holding {
            return Pin::new(&mut this.stream).poll_write(cx, data);
        }
        this.held.extend_from_slice(data);
        if let Some(end) = this.held.windows(4).position(|w| w == b"\r\n\r\n") {
            let head_end = end + 4;
            let bytes = match hyper_refusal(&this.held[..head_end]) {
                Some(status) => problem_for_refusal(status),
                // Not a refusal after all: written as it was.
                None => std::mem::take(&mut this.held),
            };
            this.replacement = Some((bytes, 0));
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}
