//! Every JSON answer of a live `jeon dev`, on every route that answers JSON, validates
//! against the schema the node's own OpenAPI document (`GET /v1/openapi.json`, equal
//! to docs/openapi.json) gives for that route and status: success answers and errors
//! alike. `api_types.rs` checks the same answers against the Rust types; this checks
//! the document a wallet developer generates a client from, so a `#[schema(...)]`
//! annotation that says something other than what the node sends fails here.
//!
//! The validator covers the part of JSON Schema (2020-12, as OpenAPI 3.1 uses it)
//! that utoipa writes: `$ref` to `#/components/schemas/…`, `type` (one or a list),
//! `properties`, `required`, `additionalProperties`, `items`, `oneOf`/`anyOf`/`allOf`,
//! `enum`, `minimum`. It is stricter than JSON Schema in one way, on purpose: an
//! object with `properties` and no `additionalProperties` may not carry a property the
//! document does not list, since an undocumented field is a documentation gap.

use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{json, Value};

use crate::common::{chain_id, post, transfer, tx_hex, tx_status, wait_until, DevNode};

/// What is wrong with `v` under `schema`, at `path`; empty if it validates.
pub(crate) fn violations(doc: &Value, schema: &Value, v: &Value, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    check(doc, schema, v, path, &mut out);
    out
}

fn check(doc: &Value, schema: &Value, v: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        match r
            .strip_prefix("#/components/schemas/")
            .and_then(|name| doc["components"]["schemas"].get(name))
        {
            Some(target) => check(doc, target, v, path, out),
            None => out.push(format!("{path}: unresolvable $ref {r}")),
        }
        return;
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.iter().any(|t| is_type(v, t)) {
            out.push(format!("{path}: {v} is not of type {types}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            out.push(format!(
                "{path}: {v} is not one of {}",
                Value::from(options.clone())
            ));
        }
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            out.push(format!("{path}: {n} is below the minimum {min}"));
        }
    }
    for (key, need) in [("oneOf", Some(1)), ("anyOf", None), ("allOf", None)] {
        let Some(subs) = schema.get(key).and_then(Value::as_array) else {
            continue;
        };
        let ok = subs
            .iter()
            .filter(|s| violations(doc, s, v, path).is_empty())
            .count();
        let fine = match (key, need) {
            ("allOf", _) => ok == subs.len(),
            (_, Some(n)) => ok == n,
            _ => ok > 0,
        };
        if !fine {
            out.push(format!(
                "{path}: {v} matches {ok} of the {} {key} schemas",
                subs.len()
            ));
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), v.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(doc, items, item, &format!("{path}[{i}]"), out);
        }
    }
    let Some(obj) = v.as_object() else {
        return;
    };
    for name in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !obj.contains_key(name) {
            out.push(format!("{path}: required property {name:?} is missing"));
        }
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let extra = schema.get("additionalProperties");
    for (name, value) in obj {
        let here = format!("{path}.{name}");
        match (props.and_then(|p| p.get(name)), extra) {
            (Some(s), _) => check(doc, s, value, &here, out),
            (None, Some(Value::Bool(false))) => out.push(format!("{here}: not allowed")),
            (None, Some(s @ Value::Object(_))) => check(doc, s, value, &here, out),
            (None, Some(_)) => {}
            (None, None) if props.is_some() => {
                out.push(format!("{here}: not in the document (undocumented field)"));
            }
            (None, None) => {}
        }
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        _ => false,
    }
}

/// The schema of `method path`'s answer with `status` (`200`, else `4XX`/`5XX`).
fn response_schema<'a>(doc: &'a Value, method: &str, template: &str, status: u16) -> &'a Value {
    let responses = &doc["paths"][template][method]["responses"];
    assert!(
        responses.is_object(),
        "{method} {template} is not in the document"
    );
    let class = format!("{}XX", status / 100);
    let response = responses
        .get(status.to_string())
        .or_else(|| responses.get(&class))
        .unwrap_or_else(|| panic!("{method} {template}: no response documented for {status}"));
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {template} {status}: no JSON schema documented"
    );
    schema
}

/// A live node, its OpenAPI document and what was checked against it.
struct Checker {
    http: Client,
    api: String,
    doc: Value,
    checked: Vec<String>,
}

impl Checker {
    fn new(api: &str) -> Checker {
        let http = Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let doc: Value = http
            .get(format!("{api}/v1/openapi.json"))
            .send()
            .and_then(|r| r.json())
            .expect("GET /v1/openapi.json");
        Checker {
            http,
            api: api.to_owned(),
            doc,
            checked: Vec::new(),
        }
    }

    /// Asserts that `answer`, answered with `status` to `method path` (whose route is
    /// `template`), validates against the document's schema for it.
    fn conforms(&mut self, method: &str, template: &str, status: u16, answer: &Value) {
        let schema = response_schema(&self.doc, method, template, status);
        let wrong = violations(&self.doc, schema, answer, "$");
        assert!(
            wrong.is_empty(),
            "{} {template} ({status}) does not validate against its OpenAPI schema:\n  {}\n{answer}",
            method.to_uppercase(),
            wrong.join("\n  ")
        );
        self.checked.push(format!(
            "{} {template} {}",
            method.to_uppercase(),
            status / 100
        ));
    }

    /// GETs `path` and checks the answer against `template`'s schema; the answer and
    /// its status.
    fn get(&mut self, template: &str, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.api))
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status().as_u16();
        let answer: Value = resp
            .json()
            .unwrap_or_else(|e| panic!("GET {path} ({status}): not JSON: {e}"));
        self.conforms("get", template, status, &answer);
        (status, answer)
    }
}

#[test]
fn the_validator_refuses_what_does_not_match() {
    let doc = json!({"components": {"schemas": {
        "Item": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "integer", "minimum": 0},
            "name": {"type": ["string", "null"]},
            "kind": {"type": "string", "enum": ["a", "b"]},
        }},
    }}});
    let item = json!({"$ref": "#/components/schemas/Item"});
    let list = json!({"type": "array", "items": {"$ref": "#/components/schemas/Item"}});
    assert!(violations(
        &doc,
        &item,
        &json!({"id": 1, "name": null, "kind": "a"}),
        "$"
    )
    .is_empty());
    for (bad, why) in [
        (json!({"name": "x"}), "required property \"id\""),
        (json!({"id": -1}), "below the minimum"),
        (json!({"id": "1"}), "is not of type"),
        (json!({"id": 1, "kind": "c"}), "is not one of"),
        (json!({"id": 1, "extra": true}), "undocumented field"),
    ] {
        let wrong = violations(&doc, &item, &bad, "$");
        assert!(wrong.iter().any(|w| w.contains(why)), "{bad}: {wrong:?}");
    }
    let wrong = violations(&doc, &list, &json!([{"id": 1}, {"id": true}]), "$");
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].starts_with("$[1].id"), "{wrong:?}");
    let either = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
    assert!(violations(&doc, &either, &json!(3), "$").is_empty());
    assert!(!violations(&doc, &either, &json!(null), "$").is_empty());
}

#[test]
fn every_json_answer_validates_against_the_nodes_openapi_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let api = node.api.as_str();
    let mut c = Checker::new(api);
    let chain = chain_id(api);
    let alice = node.key("alice");
    let bob = node.key("bob").address();
    let cafe = node.key("dalbit-cafe").address();
    let studio = node.key("pixel-forge-games").address();
    let a = alice.address();

    // Writes: dry run, submit, batch (one good, one malformed), and their errors.
    let tx = transfer(chain, &alice, 0, bob, 700);
    let body = json!({"tx": tx_hex(&tx)});
    let (status, answer) = post(api, "/v1/txs/simulate", &body);
    c.conforms("post", "/v1/txs/simulate", status, &answer);
    let (status, answer) = post(api, "/v1/txs", &body);
    assert_eq!(status, 202, "{answer}");
    c.conforms("post", "/v1/txs", status, &answer);
    let second = transfer(chain, &alice, 1, bob, 1);
    let (status, answer) = post(
        api,
        "/v1/txs/batch",
        &json!({"txs": [tx_hex(&second), "zz"]}),
    );
    c.conforms("post", "/v1/txs/batch", status, &answer);
    let (status, answer) = post(api, "/v1/txs", &json!({"tx": "00"}));
    assert!(status >= 400, "{answer}");
    c.conforms("post", "/v1/txs", status, &answer);
    let (status, answer) = post(api, "/v1/txs/simulate", &json!({"nope": 1}));
    c.conforms("post", "/v1/txs/simulate", status, &answer);
    assert!(wait_until(Duration::from_secs(30), || {
        tx_status(api, &second.hash()).is_some_and(|s| s["status"] == "final")
    }));
    let hash = tx.hash();

    // Reads, with answers and with errors.
    let reads: Vec<(&str, String)> = vec![
        ("/v1/txs/{hash}", format!("/v1/txs/{hash}")),
        ("/v1/txs/{hash}", format!("/v1/txs/{}", "ab".repeat(32))),
        ("/v1/txs/{hash}", "/v1/txs/zz".to_owned()),
        ("/v1/txs/{hash}/proof", format!("/v1/txs/{hash}/proof")),
        ("/v1/accounts/{addr}", format!("/v1/accounts/{a}")),
        ("/v1/accounts/{addr}", "/v1/accounts/nope".to_owned()),
        (
            "/v1/accounts/{addr}/events",
            format!("/v1/accounts/{a}/events"),
        ),
        (
            "/v1/accounts/{addr}/txs",
            format!("/v1/accounts/{a}/txs?limit=2"),
        ),
        (
            "/v1/accounts/{addr}/txs",
            format!("/v1/accounts/{a}/txs?bogus=1"),
        ),
        (
            "/v1/accounts/{addr}/mandates",
            format!("/v1/accounts/{a}/mandates"),
        ),
        (
            "/v1/accounts/{addr}/credit",
            format!("/v1/accounts/{a}/credit"),
        ),
        (
            "/v1/accounts/{addr}/entitlements",
            format!("/v1/accounts/{a}/entitlements"),
        ),
        ("/v1/assets", "/v1/assets".to_owned()),
        ("/v1/assets/{id}", "/v1/assets/KRW".to_owned()),
        ("/v1/assets/{id}", "/v1/assets/NOPE".to_owned()),
        ("/v1/blocks", "/v1/blocks?limit=3".to_owned()),
        ("/v1/blocks/latest", "/v1/blocks/latest".to_owned()),
        ("/v1/blocks/{height}", "/v1/blocks/1".to_owned()),
        ("/v1/blocks/{height}", "/v1/blocks/999999999".to_owned()),
        (
            "/v1/blocks/{height}/events",
            "/v1/blocks/2/events".to_owned(),
        ),
        (
            "/v1/blocks/{height}/events",
            "/v1/blocks/999999999/events".to_owned(),
        ),
        (
            "/v1/merchants/{addr}/insights",
            format!("/v1/merchants/{a}/insights?period=month"),
        ),
        (
            "/v1/merchants/{addr}/insights",
            format!("/v1/merchants/{a}/insights?period=year"),
        ),
        ("/v1/status", "/v1/status".to_owned()),
        ("/v1/health", "/v1/health".to_owned()),
        ("/v1/ready", "/v1/ready".to_owned()),
        ("/v1/fees", format!("/v1/fees?account={a}")),
        ("/v1/fees", "/v1/fees".to_owned()),
        ("/v1/params", "/v1/params".to_owned()),
        ("/v1/validators", "/v1/validators".to_owned()),
        ("/v1/nodes", "/v1/nodes".to_owned()),
        (
            "/v1/partners/{addr}/nodes",
            format!("/v1/partners/{cafe}/nodes"),
        ),
        (
            "/v1/partners/{addr}/nodes",
            "/v1/partners/nope/nodes".to_owned(),
        ),
        ("/v1/proposals", "/v1/proposals".to_owned()),
        ("/v1/evidence", "/v1/evidence".to_owned()),
        ("/v1/proposals/{id}", "/v1/proposals/0".to_owned()),
        ("/v1/tax/{jurisdiction}", "/v1/tax/KR".to_owned()),
        ("/v1/settlement", "/v1/settlement".to_owned()),
        ("/v1/redemptions", format!("/v1/redemptions?issuer={cafe}")),
        ("/v1/exchanges", "/v1/exchanges".to_owned()),
        ("/v1/rules", format!("/v1/rules?merchant={cafe}")),
        ("/v1/sponsors/{addr}", format!("/v1/sponsors/{cafe}")),
        (
            "/v1/accounts/{addr}/sponsorships",
            format!("/v1/accounts/{a}/sponsorships"),
        ),
        (
            "/v1/invoices/{merchant}/{id}",
            format!("/v1/invoices/{cafe}/1"),
        ),
        (
            "/v1/merchants/{addr}/products",
            format!("/v1/merchants/{studio}/products"),
        ),
        ("/v1/products/{id}", "/v1/products/0".to_owned()),
        ("/v1/products/{id}", "/v1/products/999999".to_owned()),
        (
            "/v1/entitlements/{id}",
            "/v1/entitlements/999999".to_owned(),
        ),
        (
            "/v1/partners/{addr}/daily",
            format!("/v1/partners/{cafe}/daily"),
        ),
        (
            "/v1/partners/{addr}/daily",
            "/v1/partners/nope/daily".to_owned(),
        ),
        (
            "/v1/accounts/{addr}/meters",
            format!("/v1/accounts/{a}/meters"),
        ),
        ("/v1/meters/{id}", "/v1/meters/999999".to_owned()),
        (
            "/v1/accounts/{addr}/attestations",
            format!("/v1/accounts/{a}/attestations"),
        ),
        (
            "/v1/attestations/{id}",
            "/v1/attestations/999999".to_owned(),
        ),
        (
            "/v1/attestations/{id}/proof",
            "/v1/attestations/999999/proof".to_owned(),
        ),
        (
            "/v1/attestations/{id}/proof",
            "/v1/attestations/nope/proof".to_owned(),
        ),
        (
            "/v1/entitlements/{id}/proof",
            "/v1/entitlements/0/proof".to_owned(),
        ),
        (
            "/v1/accounts/{addr}/lines",
            format!("/v1/accounts/{a}/lines"),
        ),
        ("/v1/lines/{id}", "/v1/lines/999999".to_owned()),
        ("/v1/openapi.json", "/v1/openapi.json".to_owned()),
    ];
    for (template, path) in &reads {
        c.get(template, path);
    }

    // Every route that answers JSON was checked (`/metrics` is Prometheus text and
    // `/v1/events` a stream; browser_api.rs and event_stream.rs check those).
    let doc = c.doc.clone();
    let mut missing = Vec::new();
    for (template, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            let prefix = format!("{} {template} ", method.to_uppercase());
            let json_route = !matches!(template.as_str(), "/metrics" | "/v1/events");
            if json_route && !c.checked.iter().any(|k| k.starts_with(&prefix)) {
                missing.push(prefix);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes whose answers were not validated: {missing:?}"
    );
    // Errors were validated too, on reads and on writes.
    assert!(c
        .checked
        .iter()
        .any(|k| k.starts_with("GET") && k.ends_with(" 4")));
    assert!(c
        .checked
        .iter()
        .any(|k| k.starts_with("POST") && k.ends_with(" 4")));
}
