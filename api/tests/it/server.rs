//! The server on a real socket (`journey_api::serve`): idle and slow clients are closed and cannot lock a
//! normal client out, a request in flight is never cut, and what the HTTP layer refuses by itself is a
//! problem document like everything else.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use journey_api::{Config, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::Harness;

/// A server on an ephemeral port, stopped when the handle is dropped.
struct Server {
    addr: SocketAddr,
    harness: Harness,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(config: Config) -> Server {
    let harness = Harness::with_config(config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = harness.state.clone();
    tokio::spawn(async move {
        journey_api::serve(listener, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Server {
        addr,
        harness,
        _stop: stop,
    }
}

/// One request on a new connection, read to the end: (status, head, body, how long it took).
async fn fetch(addr: SocketAddr, request: &[u8]) -> (u16, String, String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut bytes)).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_owned(), body.to_owned(), started.elapsed())
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: journey.test\r\nConnection: close\r\n\r\n").into_bytes()
}

/// Waits until the server closes `stream` (a read returns nothing, or fails); how long that took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_slowloris_clients_are_closed_and_do_not_lock_out_a_normal_client() {
    const CAP: usize = 16;
    let server = start(Config {
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        max_connections: CAP,
        ..Config::default()
    })
    .await;
    let addr = server.addr;

    // Slowloris: a request head trickled a byte every 100 ms, for far longer than the header timeout.
    let slowloris: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(async move {
                let started = Instant::now();
                let mut stream = TcpStream::connect(addr).await.unwrap();
                stream
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
                    .await
                    .unwrap();
                for _ in 0..150 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if stream.write_all(b"X").await.is_err() {
                        return Some(started.elapsed());
                    }
                }
                closed_within(&mut stream, Duration::from_millis(10))
                    .await
                    .map(|_| started.elapsed())
            })
        })
        .collect();
    // An idle flood: three times the cap, connected and silent.
    let mut idle = Vec::new();
    for _ in 0..3 * CAP {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }

    // A normal client keeps being served, with a bounded wait, while all of that is open.
    let mut latencies = Vec::new();
    for _ in 0..10 {
        let (status, head, _, took) = fetch(addr, &get("/healthz")).await;
        assert_eq!(status, 200, "{head}");
        latencies.push(took);
    }
    latencies.sort();
    assert!(
        latencies[latencies.len() - 1] < Duration::from_secs(3),
        "a normal client waited {latencies:?}"
    );
    assert!(
        latencies[latencies.len() / 2] < Duration::from_millis(500),
        "a normal client waited {latencies:?}"
    );

    // Every idle connection is closed by the server (after the idle timeout, or sooner to make room).
    for stream in &mut idle {
        let took = closed_within(stream, Duration::from_secs(5)).await;
        assert!(took.is_some(), "an idle connection was still open after 5 s");
    }
    // Every slowloris connection is cut off though it keeps sending, well before it would finish.
    for client in slowloris {
        let closed_after = client.await.unwrap();
        assert!(
            closed_after.is_some_and(|t| t < Duration::from_secs(4)),
            "a slowloris connection stayed open: {closed_after:?}"
        );
    }
    let (_, _, metrics, _) = fetch(addr, &get("/metrics")).await;
    assert!(
        metric(&metrics, "journey_http_connections ") <= CAP as f64,
        "{metrics}"
    );
    let closed = metric(&metrics, "journey_http_connections_closed_total");
    assert!(closed >= (3 * CAP + 4) as f64, "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_but_a_live_feed_is_not() {
    let server = start(Config {
        idle_timeout: Duration::from_millis(500),
        feed_keep_alive: Duration::from_millis(100),
        ..Config::default()
    })
    .await;
    // A keep-alive connection, one request answered, then silence: closed after the idle timeout.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: journey.test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t >= Duration::from_millis(400) && t < Duration::from_secs(3)),
        "{took:?}"
    );

    // A change feed is a request in flight for as long as it streams: never cut as idle.
    let token = server.harness.token(Role::Admin).to_owned();
    let mut feed = TcpStream::connect(server.addr).await.unwrap();
    feed.write_all(
        format!(
            "GET /v1/feed HTTP/1.1\r\nHost: journey.test\r\nAuthorization: Bearer {token}\r\n\
             X-Journey-Purpose: server test\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    while started.elapsed() < Duration::from_secs(2) {
        match tokio::time::timeout(Duration::from_millis(500), feed.read(&mut buf)).await {
            Ok(Ok(0)) => panic!("the feed was closed after {:?}", started.elapsed()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => panic!("the feed failed: {e}"),
            Err(_) => {}
        }
    }
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("event: record"), "{text}");
}

#[tokio::test]
async fn what_the_http_layer_refuses_by_itself_is_a_problem_document() {
    let server = start(Config::default()).await;
    let long_uri = format!("/{}", "a".repeat(70_000));
    // More headers than the server takes (a whole request, so that nothing is left unread when it closes).
    let headers: String = (0..150).map(|i| format!("X-Header-{i}: {i}\r\n")).collect();
    let big_header = format!("GET /healthz HTTP/1.1\r\nHost: journey.test\r\n{headers}\r\n");
    for (request, status) in [
        (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), 400),
        (
            b"GET /healthz HTTP/1.1\r\nHost journey.test\r\n\r\n".to_vec(),
            400,
        ),
        (get(&long_uri), 414),
        (big_header.into_bytes(), 431),
    ] {
        let (got, head, body, _) = fetch(server.addr, &request).await;
        assert_eq!(got, status, "{head}\n{body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{head}"
        );
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["status"], status);
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:journey:problem:")
        );
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{problem}");
    }
    // The server still serves.
    let (status, _, _, _) = fetch(server.addr, &get("/healthz")).await;
    assert_eq!(status, 200);
}
