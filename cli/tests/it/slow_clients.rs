//! Slow and many clients cannot hold the API of a real `jeon dev`: a half-sent head, a
//! body shorter than its `Content-Length` and an idle keep-alive connection are cut
//! off within their timeouts; a thousand slow connections neither stop `/v1/status`
//! nor outlive the header timeout; connections beyond the cap are not even accepted;
//! an oversized body gets 413 and a client submitting too fast 429, both as JSON; an
//! event subscriber that never reads is cut off by its queue bound while one that reads
//! gets every event.
//!
//! No latency is asserted: "closed within" bounds are the timeout plus a wide margin
//! for a loaded machine.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{get, wait_until, DevNode};

/// The timeouts the tests configure: short, so the tests are quick.
const TIMEOUT_MS: &str = "1000";
/// How long after its timeout a connection may still be open: scheduling slack.
const CLOSE_MARGIN: Duration = Duration::from_secs(8);
/// A head cut in the middle of a header line.
const HALF_HEAD: &[u8] = b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

fn dev(dir: &tempfile::TempDir, flags: &[&str]) -> DevNode {
    DevNode::start_with(&dir.path().join("dev"), flags, &[], None)
}

fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).expect("connect to the API")
}

/// Reads until the node closes the connection; the bytes it sent. Panics if it is
/// still open after `within`.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the node kept the connection open for {within:?} (got {:?})",
            String::from_utf8_lossy(&got)
        );
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("reading from the node: {e}"),
        }
    }
}

/// The status code and JSON body of a raw HTTP/1.1 answer.
fn parse_answer(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: body {body:?}"));
    (status, json)
}

#[test]
fn a_half_sent_head_and_an_idle_keep_alive_connection_are_closed_within_the_header_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = dev(&dir, &["--api-header-read-timeout-ms", TIMEOUT_MS]);
    let mut slow = connect(node.api_addr);
    slow.write_all(HALF_HEAD).expect("send half a head");
    let mut idle = connect(node.api_addr);
    idle.write_all(b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("send a whole request");
    // Others are served meanwhile.
    assert!(get(&node.api, "/v1/status").is_some(), "status answers");

    let within = Duration::from_millis(1_000) + CLOSE_MARGIN;
    let cut = read_until_closed(&mut slow, within);
    assert!(cut.is_empty(), "{:?}", String::from_utf8_lossy(&cut));
    let answered = read_until_closed(&mut idle, within);
    assert_eq!(
        parse_answer(&answered).0,
        200,
        "the request itself was served"
    );
    assert!(
        get(&node.api, "/v1/status").is_some(),
        "status still answers"
    );
}

#[test]
fn a_short_body_gets_408_and_an_oversized_one_413_as_json_with_a_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = dev(&dir, &["--api-body-read-timeout-ms", TIMEOUT_MS]);

    // 100 bytes announced, 7 sent.
    let mut short = connect(node.api_addr);
    short
        .write_all(
            b"POST /v1/txs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"tx\":\"",
        )
        .expect("send a short body");
    let answer = read_until_closed(&mut short, Duration::from_millis(1_000) + CLOSE_MARGIN);
    let (status, body) = parse_answer(&answer);
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");

    // 100 MiB announced: more than the node drains, so refused before a byte is sent.
    let mut huge = connect(node.api_addr);
    huge.write_all(
        b"POST /v1/txs/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 104857600\r\n\r\n",
    )
    .expect("send the head");
    let answer = read_until_closed(&mut huge, CLOSE_MARGIN);
    let (status, body) = parse_answer(&answer);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "body_too_large", "{body}");
    assert!(
        get(&node.api, "/v1/status").is_some(),
        "status still answers"
    );
}

#[test]
fn a_thousand_slow_connections_do_not_stop_status_and_are_all_closed_by_the_header_timeout() {
    const SLOW: usize = 1_000;
    let dir = tempfile::tempdir().expect("tempdir");
    // Under the default cap of 1 024 connections, so each one is accepted and held.
    let node = dev(&dir, &["--api-header-read-timeout-ms", "3000"]);
    let started = Instant::now();
    let mut slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| {
            let mut s = connect(node.api_addr);
            s.write_all(HALF_HEAD).expect("send half a head");
            s
        })
        .collect();
    assert!(
        get(&node.api, "/v1/status").is_some(),
        "status answers while {SLOW} slow connections are open"
    );
    let within = Duration::from_millis(3_000) + CLOSE_MARGIN;
    for (i, s) in slow.iter_mut().enumerate() {
        let left = within.saturating_sub(started.elapsed());
        let cut = read_until_closed(s, left.max(Duration::from_millis(1)));
        assert!(cut.is_empty(), "connection {i} got {cut:?}");
    }
    assert!(
        get(&node.api, "/v1/status").is_some(),
        "status still answers"
    );
}

/// The node's open file descriptors (Linux `/proc`).
#[cfg(target_os = "linux")]
fn descriptors(node: &DevNode) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", node.child.id()))
        .expect("read the node's /proc fd directory")
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn connections_beyond_the_cap_wait_unaccepted_and_hold_no_descriptor_of_the_node() {
    const CAP: usize = 50;
    const SLOW: usize = 150;
    /// Descriptors the node may open meanwhile for its own work (store, segments).
    const SLACK: usize = 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = dev(
        &dir,
        &[
            "--api-connections-max",
            &CAP.to_string(),
            "--api-header-read-timeout-ms",
            TIMEOUT_MS,
        ],
    );
    let before = descriptors(&node);
    let _slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| {
            let mut s = connect(node.api_addr);
            s.write_all(HALF_HEAD).expect("send half a head");
            s
        })
        .collect();
    // Sample while the waves of slow connections are accepted and cut off.
    let mut most = before;
    let deadline = Instant::now() + Duration::from_millis(2_500);
    while Instant::now() < deadline {
        most = most.max(descriptors(&node));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        most <= before + CAP + SLACK,
        "{SLOW} slow connections took the node from {before} to {most} descriptors \
         with a cap of {CAP}"
    );
    // Once the waves have been cut off, everyone is served again.
    assert!(
        wait_until(Duration::from_secs(30), || get(&node.api, "/v1/status")
            .is_some()),
        "status answers once the slow connections are cut off"
    );
}

#[test]
fn submitting_faster_than_the_per_client_rate_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One transaction per second with a 2 s burst: the fourth quick submission is over.
    let node = dev(&dir, &["--api-submit-txs-per-sec", "1"]);
    let http = reqwest::blocking::Client::new();
    let url = format!("{}/v1/txs", node.api);
    let mut passed = 0;
    let limited = (0..20).find_map(|_| {
        // Undecodable on purpose: the limit counts submissions before decoding them.
        let answer = http
            .post(&url)
            .body(r#"{"tx":"zz"}"#)
            .send()
            .expect("the node answers");
        if answer.status().as_u16() == 429 {
            return Some(answer);
        }
        assert_eq!(answer.status().as_u16(), 400, "bad_hex until the limit");
        passed += 1;
        None
    });
    let limited = limited.expect("20 quick submissions at 1 tx/s reach the limit");
    assert!(
        passed >= 3,
        "the 2 s burst lets 3 through at once, got {passed}"
    );
    let retry_after: u64 = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds");
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    let body: Value = limited.json().expect("a JSON error");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    // Reads are not limited.
    assert!(get(&node.api, "/v1/status").is_some(), "status answers");
}

/// Opens `/v1/events` on a raw connection (the answer is left unread).
fn subscribe(addr: SocketAddr) -> TcpStream {
    let mut s = connect(addr);
    s.write_all(b"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("send the request");
    s
}

#[test]
fn an_event_subscriber_that_never_reads_is_cut_off_by_its_queue_bound_and_a_reader_is_not() {
    use crate::common::{chain_id, post, transfer, tx_hex};
    use serde_json::json;
    // A small queue bound and a write-stall timeout far beyond the test: only the
    // bound can cut the silent subscriber off.
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = ["--api-sse-queue-bytes-max", "262144"];
    let node = dev(
        &dir,
        &[&flags[..], &["--api-write-stall-timeout-ms", "600000"]].concat(),
    );
    let mut silent = subscribe(node.api_addr);
    let mut reader = subscribe(node.api_addr);
    reader
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_reading = stop.clone();
    let read = std::thread::spawn(move || {
        // Reads everything until told to stop: (bytes, whether the node closed it).
        let (mut got, mut buf) = (0usize, [0u8; 65536]);
        while !stop_reading.load(std::sync::atomic::Ordering::SeqCst) {
            match reader.read(&mut buf) {
                Ok(0) => return (got, true),
                Ok(n) => got += n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return (got, true),
            }
        }
        (got, false)
    });
    let (alice, bob) = (node.key("alice"), node.key("bob"));
    let chain = chain_id(&node.api);
    const TXS: u64 = 3_000;
    // Small batches, paced: blocks of a hundred or so transfers, whose events are far
    // below the bound, so a reader that keeps up never holds near it.
    for start in (0..TXS).step_by(100) {
        let txs: Vec<String> = (start..start + 100)
            .map(|n| tx_hex(&transfer(chain, &alice, n, bob.address(), 1)))
            .collect();
        let (status, body) = post(&node.api, "/v1/txs/batch", &json!({ "txs": txs }));
        assert_eq!(status, 202, "{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let nonce = |api: &str| {
        get(api, &format!("/v1/accounts/{}", alice.address()))
            .and_then(|a| a["nonce"].as_u64())
            .unwrap_or(0)
    };
    assert!(
        wait_until(Duration::from_secs(120), || nonce(&node.api) >= TXS),
        "all transfers final"
    );
    let silent_got = read_until_closed(&mut silent, Duration::from_secs(30));
    // The reader has had the last block's events for the 30 s above at most.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (reader_got, reader_closed) = read.join().expect("reader thread");
    assert!(
        !reader_closed,
        "the subscriber that reads is not cut off (it got {reader_got} bytes; the silent one {})",
        silent_got.len()
    );
    assert!(
        reader_got > 2 * silent_got.len() && reader_got > 1 << 20,
        "the reader got every event ({reader_got} bytes); the silent one was cut off \
         after {} bytes, its queue bound and the socket buffers",
        silent_got.len()
    );
}
