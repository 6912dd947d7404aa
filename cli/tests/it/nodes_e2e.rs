//! Read nodes end to end through the CLI only, on `jeon dev`: Dalbit Cafe registers a
//! read node's key (made with `jeon keys new`, its address from `jeon keys show`);
//! `jeon query nodes` lists it with its peer id; another partner can neither take it
//! over nor unregister it, a user and a validator's key are refused by name; the cafe
//! unregisters it.

use crate::common::{failure, has_event, run, DevNode, Town};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {err}");
    serde_json::from_slice(&o.stdout).expect("json")
}

#[test]
fn a_partner_registers_a_read_node_others_are_refused_by_name_and_it_unregisters_it() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let api = town.node.api.clone();
    let file = dir.path().join("read-node.json");
    let file = file.to_str().expect("utf-8 path");
    let made = run(&["keys", "new", "--out", file]);
    assert!(made.status.success(), "{made:?}");
    let shown = json(&["keys", "show", file, "--json"]);
    let node = shown["address"].as_str().expect("address").to_owned();
    let peer_id = shown["peer_id"].as_str().expect("peer_id").to_owned();

    let registered = town.tx("dalbit-cafe", &["register-node", "--node", &node]);
    assert!(has_event(&registered, "node_registered"), "{registered}");
    let cafe = town.address("dalbit-cafe");
    let listed = json(&["query", "nodes", "--api", &api]);
    let nodes = listed["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 1, "{listed}");
    assert_eq!(nodes[0]["key"], node.as_str());
    assert_eq!(nodes[0]["peer_id"], peer_id.as_str());
    assert_eq!(nodes[0]["partner"], cafe.as_str());
    assert_eq!(listed["nodes_per_partner_max"], 8);
    let mine = json(&["query", "nodes", "--partner", &cafe, "--api", &api]);
    assert_eq!(mine["nodes"], listed["nodes"], "{mine}");
    let games = town.address("pixel-forge-games");
    let theirs = json(&["query", "nodes", "--partner", &games, "--api", &api]);
    assert_eq!(theirs["nodes"], serde_json::json!([]), "{theirs}");

    // The dry run refuses another partner's registration, naming who holds it.
    let key = town.key("pixel-forge-games");
    let refused = run(&[
        "tx",
        "register-node",
        "--node",
        &node,
        "--key",
        &key,
        "--api",
        &api,
    ]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("node_already_registered") && said.contains(&cafe),
        "{said}"
    );
    let forced = town.tx("pixel-forge-games", &["unregister-node", "--node", &node]);
    assert_eq!(
        failure(&forced)["not_node_owner"]["partner"],
        cafe.as_str(),
        "{forced}"
    );
    let alice = town.address("alice");
    let forced = town.tx("alice", &["register-node", "--node", &alice]);
    assert_eq!(
        failure(&forced)["not_a_partner"]["account"],
        alice.as_str(),
        "{forced}"
    );
    let bank = town.address("hanbit-bank");
    let forced = town.tx("dalbit-cafe", &["register-node", "--node", &bank]);
    assert_eq!(
        failure(&forced)["node_key_is_validator"]["key"],
        bank.as_str(),
        "{forced}"
    );

    let gone = town.tx("dalbit-cafe", &["unregister-node", "--node", &node]);
    assert!(has_event(&gone, "node_unregistered"), "{gone}");
    let listed = json(&["query", "nodes", "--api", &api]);
    assert_eq!(listed["nodes"], serde_json::json!([]), "{listed}");
}
