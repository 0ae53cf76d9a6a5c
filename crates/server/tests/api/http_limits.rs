//! What a slow or greedy client can hold: the header, body and write
//! timeouts, the connection cap, and a declared body over the limit refused
//! before it is read (connections.rs, extract.rs). Raw TCP, so the tests
//! control every byte and see exactly when the server lets go.

use std::time::{Duration, Instant};

use rebound_server::ServerConfig;
use rebound_server::connections::HttpLimits;
use rebound_testkit::{Backend, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn limits(f: impl FnOnce(&mut HttpLimits)) -> ServerConfig {
    let mut config = rebound_testkit::test_config();
    f(&mut config.http);
    config
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://")).await.unwrap()
}

fn basic_auth(s: &TestServer) -> String {
    let pair = format!("{}:{}", rebound_testkit::ADMIN_USER, s.admin_password);
    format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pair))
}

/// Reads until the server closes the connection (or `limit` passes); returns
/// what was read and whether it closed.
async fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

/// 300 clients that send a header line every 200 ms and never finish the
/// head: each is cut off once the header timeout has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_secs(1);
    let s = TestServer::start_with(Backend::Sqlite, limits(|l| l.header_timeout = timeout)).await;
    const CLIENTS: usize = 300;
    let started = Instant::now();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let mut tcp = connect(&s).await;
        clients.push(tokio::spawn(async move {
            let _ = tcp.write_all(b"GET /health HTTP/1.1\r\nHost: rebound.test\r\n").await;
            let mut buf = [0u8; 1024];
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                tokio::select! {
                    r = tcp.read(&mut buf) => match r {
                        Ok(0) | Err(_) => return Some(Instant::now()),
                        Ok(_) => {}
                    },
                    () = tokio::time::sleep(Duration::from_millis(200)) => {
                        if tcp.write_all(format!("X-Slow-{i}: a\r\n").as_bytes()).await.is_err() {
                            return Some(Instant::now());
                        }
                    }
                }
            }
            None
        }));
    }
    let mut held = 0;
    let mut last_closed = started;
    for c in clients {
        match c.await.unwrap() {
            Some(at) => last_closed = last_closed.max(at),
            None => held += 1,
        }
    }
    let after = last_closed - started;
    println!("slowloris: {CLIENTS} opened, {held} held after {after:?} (header timeout {timeout:?})");
    assert_eq!(held, 0, "{held} of {CLIENTS} slow clients were still connected after 10 s");
    assert!(after < Duration::from_secs(5), "the last one was closed after {after:?}");
    // The server still answers.
    assert_eq!(s.client.get(s.url("/health")).send().await.unwrap().status(), 200);
}

/// A kept-alive connection that sends nothing after its response is closed
/// after the same timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let s =
        TestServer::start_with(Backend::Sqlite, limits(|l| l.header_timeout = Duration::from_secs(1))).await;
    let mut tcp = connect(&s).await;
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: rebound.test\r\n\r\n").await.unwrap();
    let started = Instant::now();
    let (text, closed) = read_until_closed(&mut tcp, Duration::from_secs(10)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(closed, "the idle connection stayed open");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the timeout: {:?}",
        started.elapsed()
    );
}

/// A body trickled a byte at a time is cut off at the body timeout (408),
/// and its webhook place is given back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_408() {
    let s =
        TestServer::start_with(Backend::Sqlite, limits(|l| l.body_timeout = Duration::from_secs(1))).await;
    let mut tcp = connect(&s).await;
    let head = format!(
        "POST /webhooks/bounce HTTP/1.1\r\nHost: rebound.test\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        basic_auth(&s)
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = tcp.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..50 {
            if writer.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(8), reader.read(&mut buf))
        .await
        .expect("no answer while the body trickled in")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("did not arrive within 1 s"), "{text}");
    trickle.abort();
}

/// A declared body over 1 MiB is refused from its head: 413 without a byte
/// of the body sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_content_length_is_413_before_the_body() {
    let s = TestServer::start(Backend::Sqlite).await;
    for path in ["/webhooks/service/postmark", "/api/users", "/admin/login"] {
        let mut tcp = connect(&s).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: rebound.test\r\nAuthorization: {}\r\n\
             Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n",
            basic_auth(&s)
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{path}: no answer before the body was sent"))
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 413"), "{path}: {text}");
        assert!(text.contains("larger than the limit"), "{path}: {text}");
    }
}

/// At the cap, a new connection waits until one of the open ones closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_wait_for_a_free_place() {
    let s = TestServer::start_with(Backend::Sqlite, limits(|l| l.max_connections = 2)).await;
    // Connections are counted from accept: give the server a moment to take both.
    let (first, _second) = (connect(&s).await, connect(&s).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(700)).build().unwrap();
    let over = client.get(s.url("/health")).send().await;
    assert!(over.is_err_and(|e| e.is_timeout()), "a third connection was served at a cap of 2");
    drop(first);
    let res = reqwest::Client::new().get(s.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200, "once one closed, the next was served");
}

/// A client that asks and stops reading is disconnected once its response
/// has waited the write timeout, instead of holding the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected() {
    let s =
        TestServer::start_with(Backend::Sqlite, limits(|l| l.write_timeout = Duration::from_secs(1))).await;
    let size = s.client.get(s.url("/api/openapi.json")).send().await.unwrap().bytes().await.unwrap().len();
    // Far more than the socket buffers hold.
    let asked = (64 * 1024 * 1024 / size).max(200);
    let mut tcp = connect(&s).await;
    let one = "GET /api/openapi.json HTTP/1.1\r\nHost: rebound.test\r\n\r\n";
    tcp.write_all(one.repeat(asked).as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (text, closed) = read_until_closed(&mut tcp, Duration::from_secs(20)).await;
    let answered = text.matches("HTTP/1.1 200").count();
    assert!(closed, "the connection was still open");
    assert!(
        answered < asked,
        "every one of {asked} responses was delivered to a client that stopped reading"
    );
}
