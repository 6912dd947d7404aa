//! Every JSON answer of a live `jeon dev` has exactly the shape of its type in
//! `jeon_node::api::types` (the types the OpenAPI document is derived from): read into
//! the type and written back, it is the same JSON, so no field is missing, extra or of
//! another type.

use std::time::Duration;

use jeon_node::api::types::{
    AccountEventsView, AccountSponsorshipsView, AccountTxsView, AccountView, AssetView, AssetsView,
    BlockView, BlocksView, CreditView, ErrorBody, ExchangesView, FeesView, HealthView,
    InvoiceStatus, MandatesView, PartnerDailyView, ReadyView, RedemptionsView, RulesView,
    SimulateAnswer, SponsorshipsView, StatusView, SubmitAnswer, TxProofAnswer, TxStatus,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::common::{chain_id, get, post, transfer, tx_hex, tx_status, wait_until, DevNode};

/// Reads `answer` as `T` and checks it writes back unchanged.
fn same_shape<T: DeserializeOwned + Serialize>(what: &str, answer: &Value) {
    let typed: T = serde_json::from_value(answer.clone())
        .unwrap_or_else(|e| panic!("{what}: does not read as its type: {e}\n{answer}"));
    let back = serde_json::to_value(&typed).expect("serializes");
    assert_eq!(&back, answer, "{what}: the type drops or changes fields");
}

fn get_ok(api: &str, path: &str) -> Value {
    get(api, path).unwrap_or_else(|| panic!("{path}: no JSON answer"))
}

#[test]
fn every_json_answer_has_the_shape_of_its_documented_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let api = node.api.as_str();
    let chain = chain_id(api);
    let alice = node.key("alice");
    let bob = node.key("bob").address();
    let cafe = node.key("dalbit-cafe").address();

    let tx = transfer(chain, &alice, 0, bob, 700);
    let (code, submitted) = post(api, "/v1/txs/simulate", &json!({"tx": tx_hex(&tx)}));
    assert_eq!(code, 200);
    same_shape::<SimulateAnswer>("POST /v1/txs/simulate", &submitted);
    let (code, submitted) = post(api, "/v1/txs", &json!({"tx": tx_hex(&tx)}));
    assert_eq!(code, 202);
    same_shape::<SubmitAnswer>("POST /v1/txs", &submitted);
    assert!(wait_until(Duration::from_secs(30), || {
        tx_status(api, &tx.hash()).is_some_and(|s| s["status"] == "final")
    }));
    let hash = tx.hash();
    let a = alice.address();

    same_shape::<TxStatus>("tx status", &get_ok(api, &format!("/v1/txs/{hash}")));
    same_shape::<TxProofAnswer>("tx proof", &get_ok(api, &format!("/v1/txs/{hash}/proof")));
    same_shape::<AccountView>("account", &get_ok(api, &format!("/v1/accounts/{a}")));
    same_shape::<AccountEventsView>("events", &get_ok(api, &format!("/v1/accounts/{a}/events")));
    same_shape::<AccountTxsView>("txs", &get_ok(api, &format!("/v1/accounts/{a}/txs")));
    same_shape::<MandatesView>(
        "mandates",
        &get_ok(api, &format!("/v1/accounts/{a}/mandates")),
    );
    same_shape::<CreditView>("credit", &get_ok(api, &format!("/v1/accounts/{a}/credit")));
    same_shape::<AssetsView>("assets", &get_ok(api, "/v1/assets"));
    same_shape::<AssetView>("asset", &get_ok(api, "/v1/assets/KRW"));
    same_shape::<BlockView>("latest block", &get_ok(api, "/v1/blocks/latest"));
    same_shape::<BlocksView>("blocks", &get_ok(api, "/v1/blocks?limit=5"));
    same_shape::<StatusView>("status", &get_ok(api, "/v1/status"));
    same_shape::<ReadyView>("ready", &get_ok(api, "/v1/ready"));
    same_shape::<HealthView>("health", &get_ok(api, "/v1/health"));
    same_shape::<FeesView>("fees", &get_ok(api, &format!("/v1/fees?account={a}")));
    same_shape::<RedemptionsView>(
        "redemptions",
        &get_ok(api, &format!("/v1/redemptions?issuer={cafe}")),
    );
    same_shape::<ExchangesView>("exchanges", &get_ok(api, "/v1/exchanges"));
    same_shape::<RulesView>("rules", &get_ok(api, &format!("/v1/rules?merchant={cafe}")));
    same_shape::<PartnerDailyView>(
        "partner daily",
        &get_ok(api, &format!("/v1/partners/{cafe}/daily")),
    );
    same_shape::<SponsorshipsView>("sponsors", &get_ok(api, &format!("/v1/sponsors/{cafe}")));
    same_shape::<AccountSponsorshipsView>(
        "account sponsorships",
        &get_ok(api, &format!("/v1/accounts/{a}/sponsorships")),
    );
    same_shape::<InvoiceStatus>("invoice", &get_ok(api, &format!("/v1/invoices/{cafe}/1")));
    same_shape::<ErrorBody>("an error", &get_ok(api, "/v1/accounts/nope"));
    same_shape::<ErrorBody>("a 404", &get_ok(api, "/v1/nothing-here"));
}
