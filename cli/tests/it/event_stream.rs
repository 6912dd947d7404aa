//! `GET /v1/events` as a browser's `EventSource` uses it, against a real `jeon dev`:
//! default-type messages with an `id:`, and a dropped connection resumed with
//! `Last-Event-ID` that misses no event and repeats none.

use std::io::{BufRead, BufReader, Lines};
use std::time::Duration;

use jeon_runtime::{Hash, SignedTx};
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

use crate::common::{chain_id, get, post, transfer, tx_hex, tx_status, wait_until, DevNode};

/// One SSE message as a browser sees it: its id and its data.
#[derive(Debug, Clone)]
struct Message {
    id: Option<String>,
    data: Value,
}

/// An open event stream, read message by message.
struct EventStream {
    lines: Lines<BufReader<Response>>,
}

impl EventStream {
    fn open(api: &str, last_event_id: Option<&str>) -> EventStream {
        let client = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let mut request = client.get(format!("{api}/v1/events"));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().expect("the stream opens");
        assert_eq!(response.status().as_u16(), 200);
        EventStream {
            lines: BufReader::new(response).lines(),
        }
    }

    /// The next message; every one must be of the default type (no `event:` line),
    /// or `EventSource.onmessage` would not see it.
    fn next(&mut self) -> Message {
        let mut id = None;
        let mut data = String::new();
        loop {
            let line = self
                .lines
                .next()
                .expect("the stream stays open")
                .expect("the stream reads");
            if line.is_empty() {
                if data.is_empty() {
                    continue; // after a keep-alive comment
                }
                let data = serde_json::from_str(&data).expect("data is JSON");
                return Message { id, data };
            }
            assert!(
                !line.starts_with("event:"),
                "a named event EventSource.onmessage would miss: {line}"
            );
            if let Some(v) = line.strip_prefix("id:") {
                id = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    }
}

/// `HEIGHT-N` as a pair that orders like the stream.
fn id_pair(id: &str) -> (u64, u64) {
    let (h, n) = id.split_once('-').expect("id is HEIGHT-N");
    (h.parse().expect("height"), n.parse().expect("index"))
}

/// Submits `count` transfers from alice with nonces from `nonce` and waits until all
/// are final; their hashes.
fn transfers(node: &DevNode, nonce: u64, count: u64) -> Vec<Hash> {
    let chain = chain_id(&node.api);
    let alice = node.key("alice");
    let bob = node.key("bob").address();
    let txs: Vec<SignedTx> = (nonce..nonce + count)
        .map(|n| transfer(chain, &alice, n, bob, 1 + n))
        .collect();
    for tx in &txs {
        let (code, body) = post(&node.api, "/v1/txs", &json!({"tx": tx_hex(tx)}));
        assert_eq!(code, 202, "{body}");
    }
    let hashes: Vec<Hash> = txs.iter().map(SignedTx::hash).collect();
    let all_final = wait_until(Duration::from_secs(30), || {
        hashes
            .iter()
            .all(|h| tx_status(&node.api, h).is_some_and(|s| s["status"] == "final"))
    });
    assert!(all_final, "the transfers become final");
    hashes
}

/// Each transaction's events as its receipt lists them.
fn receipt_events(node: &DevNode, hashes: &[Hash]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for h in hashes {
        let status = tx_status(&node.api, h).expect("status");
        for e in status["receipt"]["events"].as_array().expect("events") {
            out.push((h.to_string(), e.clone()));
        }
    }
    out
}

/// Reads messages until `want` events of the given transactions are seen (others are
/// kept too); the messages read.
fn read_until(stream: &mut EventStream, hashes: &[Hash], want: usize) -> Vec<Message> {
    let names: Vec<String> = hashes.iter().map(ToString::to_string).collect();
    let mut seen = 0;
    let mut out = Vec::new();
    while seen < want {
        let m = stream.next();
        if m.data["tx"]
            .as_str()
            .is_some_and(|t| names.iter().any(|n| n == t))
        {
            seen += 1;
        }
        out.push(m);
    }
    out
}

#[test]
fn a_dropped_stream_resumed_with_last_event_id_misses_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);

    let mut first = EventStream::open(&node.api, None);
    let before = transfers(&node, 0, 4);
    let before_events = receipt_events(&node, &before);
    let got_before = read_until(&mut first, &before, before_events.len());
    drop(first); // the connection drops

    // While the wallet is away, more payments become final.
    let during = transfers(&node, 4, 4);
    let during_events = receipt_events(&node, &during);
    let last_id = got_before
        .last()
        .and_then(|m| m.id.clone())
        .expect("every event has an id");
    let mut resumed = EventStream::open(&node.api, Some(&last_id));
    let got_during = read_until(&mut resumed, &during, during_events.len());

    let all: Vec<&Message> = got_before.iter().chain(&got_during).collect();
    // Ids increase along the stream, across the reconnection: nothing repeated.
    let ids: Vec<(u64, u64)> = all
        .iter()
        .map(|m| id_pair(m.id.as_deref().expect("an id")))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    // Exactly the receipts' events, in order: nothing missed.
    let streamed: Vec<(String, Value)> = all
        .iter()
        .map(|m| {
            let tx = m.data["tx"].as_str().expect("tx").to_string();
            (tx, m.data["event"].clone())
        })
        .collect();
    let expected: Vec<(String, Value)> = before_events.into_iter().chain(during_events).collect();
    assert_eq!(streamed, expected);
    // The data names its kind and repeats its id, for clients that read data only.
    for m in &all {
        let kind = m.data["kind"].as_str().expect("kind");
        assert!(m.data["event"].get(kind).is_some(), "{:?}", m.data);
        assert_eq!(m.data["id"].as_str(), m.id.as_deref());
    }
}

#[test]
fn a_stream_from_the_start_replays_stored_blocks_and_a_bad_id_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let hashes = transfers(&node, 0, 3);
    let expected = receipt_events(&node, &hashes);
    // `0-0`: from before block 1, everything the node replays.
    let mut replay = EventStream::open(&node.api, Some("0-0"));
    let got = read_until(&mut replay, &hashes, expected.len());
    let streamed: Vec<(String, Value)> = got
        .iter()
        .filter(|m| !m.data["tx"].is_null())
        .map(|m| {
            (
                m.data["tx"].as_str().unwrap_or_default().to_string(),
                m.data["event"].clone(),
            )
        })
        .collect();
    assert_eq!(streamed, expected);

    let client = Client::new();
    let bad = client
        .get(format!("{}/v1/events", node.api))
        .header("last-event-id", "yesterday")
        .send()
        .expect("the node answers");
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().expect("a JSON error");
    assert_eq!(body["error"]["code"], "bad_event_id", "{body}");
}

#[test]
fn resuming_from_before_what_a_pruned_node_keeps_says_so_with_a_gap_then_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let dev = DevNode::start(&data, &[]);
    let alice = dev.key("alice");
    let bob = dev.key("bob").address();
    let chain = chain_id(&dev.api);
    drop(dev);
    let node = DevNode::start_as_node(
        &data,
        &["--prune-keep-blocks", "16", "--segment-bytes", "4096"],
    );
    let api = node.api.clone();
    let mut last = None;
    for n in 0..40 {
        let tx = transfer(chain, &alice, n, bob, 1 + n);
        let (code, body) = post(&api, "/v1/txs", &json!({"tx": tx_hex(&tx)}));
        assert_eq!(code, 202, "{body}");
        assert!(wait_until(Duration::from_secs(20), || {
            tx_status(&api, &tx.hash()).is_some_and(|s| s["status"] == "final")
        }));
        last = Some(tx.hash());
    }
    let last = last.expect("a transfer");
    // Pruning runs every 10 s.
    assert!(wait_until(Duration::from_secs(30), || {
        get(&api, "/v1/blocks/1").is_some_and(|b| b["error"]["code"] == "pruned")
    }));

    let mut stream = EventStream::open(&api, Some("1-0"));
    let gap = stream.next();
    assert_eq!(gap.data["kind"], "gap", "{:?}", gap.data);
    assert!(gap.id.is_none(), "a gap message carries no id");
    assert_eq!(gap.data["missed_from_height"], 1);
    let resume = gap.data["resume_height"].as_u64().expect("resume_height");
    assert!(resume > 1, "{:?}", gap.data);
    // Then the events the node still keeps, up to the last transfer's.
    let got = read_until(&mut stream, &[last], 2);
    let first = id_pair(got[0].id.as_deref().expect("an id"));
    assert!(first.0 >= resume, "{first:?} from {resume}");
}
