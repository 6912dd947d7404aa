//! The API as a browser wallet on another origin meets it: CORS preflights and allow
//! headers (`--cors-origin`), against real `jeon dev` and `jeon node` processes.

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::Method;

use crate::common::{jeon, DevNode};

const WALLET: &str = "https://wallet.example";

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// A browser's preflight for a JSON POST to `/v1/txs` from `origin`.
fn preflight(api: &str, origin: &str) -> Response {
    client()
        .request(Method::OPTIONS, format!("{api}/v1/txs"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .expect("the preflight reaches the node")
}

/// A plain cross-origin GET of `/v1/status` from `origin`.
fn get_from(api: &str, origin: &str) -> Response {
    client()
        .get(format!("{api}/v1/status"))
        .header("origin", origin)
        .send()
        .expect("the GET reaches the node")
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_string())
}

#[test]
fn a_listed_origin_passes_the_preflight_and_others_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start_with(
        &dir.path().join("dev"),
        &["--cors-origin", &format!("{WALLET},http://localhost:5173")],
        &[],
        None,
    );

    let ok = preflight(&node.api, WALLET);
    assert_eq!(ok.status().as_u16(), 204, "an allowed preflight is 204");
    assert_eq!(
        header(&ok, "access-control-allow-origin").as_deref(),
        Some(WALLET)
    );
    let methods = header(&ok, "access-control-allow-methods").expect("allow-methods");
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    assert_eq!(
        header(&ok, "access-control-allow-headers").as_deref(),
        Some("content-type")
    );
    assert!(header(&ok, "access-control-max-age").is_some());

    // The real request from the wallet carries the allow header too.
    let status = get_from(&node.api, WALLET);
    assert_eq!(status.status().as_u16(), 200);
    assert_eq!(
        header(&status, "access-control-allow-origin").as_deref(),
        Some(WALLET)
    );

    let refused = preflight(&node.api, "https://evil.example");
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    let body: serde_json::Value = refused.json().expect("a JSON error");
    assert_eq!(body["error"]["code"], "origin_not_allowed", "{body}");
    // Its reads are served (a non-browser client may send any Origin) but a browser
    // keeps them from the page: no allow header.
    let other = get_from(&node.api, "https://evil.example");
    assert_eq!(other.status().as_u16(), 200);
    assert_eq!(header(&other, "access-control-allow-origin"), None);
}

#[test]
fn jeon_dev_allows_any_origin_and_jeon_node_none_by_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let dev = DevNode::start(&data, &[]);
    let any = preflight(&dev.api, WALLET);
    assert_eq!(any.status().as_u16(), 204);
    assert_eq!(
        header(&any, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    drop(dev);

    // The same chain as `jeon node` without --cors-origin: no origin is allowed.
    let node = DevNode::start_as_node(&data, &[]);
    let api = node.api.clone();
    let off = preflight(&api, WALLET);
    assert_eq!(off.status().as_u16(), 403);
    assert_eq!(header(&off, "access-control-allow-origin"), None);
    let body: serde_json::Value = off.json().expect("a JSON error");
    assert_eq!(body["error"]["code"], "origin_not_allowed", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--cors-origin")),
        "the refusal names the flag: {body}"
    );
    let read = get_from(&api, WALLET);
    assert_eq!(read.status().as_u16(), 200);
    assert_eq!(header(&read, "access-control-allow-origin"), None);
}

#[test]
fn a_malformed_origin_stops_the_start_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = jeon()
        .args(["dev", "--data"])
        .arg(dir.path().join("dev"))
        .args([
            "--api",
            "127.0.0.1:0",
            "--cors-origin",
            "wallet.example/pay",
        ])
        .output()
        .expect("run jeon dev");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wallet.example/pay"), "{stderr}");
}

#[test]
fn the_served_openapi_document_is_the_checked_in_one_and_unknown_parameters_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let served = client()
        .get(format!("{}/v1/openapi.json", node.api))
        .send()
        .expect("the document is served");
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(
        header(&served, "content-type").as_deref(),
        Some("application/json")
    );
    let served = served.text().expect("text");
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
            .expect("docs/openapi.json");
    assert!(
        served == checked_in,
        "GET /v1/openapi.json differs from docs/openapi.json"
    );
    let doc: serde_json::Value = serde_json::from_str(&served).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");

    // Typed query parameters: an unknown one is refused, by name.
    let refused = client()
        .get(format!("{}/v1/exchanges?limit=5&colour=red", node.api))
        .send()
        .expect("the node answers");
    assert_eq!(refused.status().as_u16(), 400);
    let body: serde_json::Value = refused.json().expect("a JSON error");
    assert_eq!(body["error"]["code"], "bad_query", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("colour")),
        "the message names the parameter: {body}"
    );
}
