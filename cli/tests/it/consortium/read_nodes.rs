//! A partner's read node in the four-partner consortium, then a validator removed by
//! vote: real `jeon node` processes on loopback (the harness is the parent module's).
//!
//! The read node (a fresh key in no set) is refused until a partner registers it; then
//! it connects with no restart, reaches the head, serves `/v1/status` (role `read`)
//! and a proof that `jeon verify` accepts from the genesis file, forwards a transaction
//! submitted to it until it is final everywhere, and streams its events. Then validator 3 is
//! removed by a vote of 0, 1 and 2: every node refuses its connections from then on,
//! the three keep finalizing, the read node keeps following, all agree on block and
//! app hashes, and the read node's key never signs a certificate. Last the partner
//! unregisters the read node, and it is cut off too.

use super::*;
use jeon_runtime::calls;
use jeon_runtime::governance::Change;

/// The validators' keys, in genesis order.
fn validator_keys(net: &Testnet) -> Vec<jeon_runtime::Keypair> {
    let genesis: Value = serde_json::from_str(
        &std::fs::read_to_string(net.root().join("genesis.json")).expect("read genesis"),
    )
    .expect("genesis is JSON");
    genesis["validators"]
        .as_array()
        .expect("validators")
        .iter()
        .map(|v| net.key(v["name"].as_str().expect("name")))
        .collect()
}

fn role(net: &Testnet, i: usize) -> Value {
    get(net.api(i), "/v1/status").map_or(Value::Null, |s| s["role"].clone())
}

/// The read node joins once registered: it connects, catches up, answers as a read
/// node, serves a verifiable proof and forwards a transaction until it is final.
fn read_node_joins(net: &Testnet, reader: usize, keys: &[jeon_runtime::Keypair]) {
    let four = ids(0..VALIDATORS);
    let api = net.api(0).to_owned();
    let chain = chain_id(&api);
    // Refused while unregistered: it stays at genesis.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        net.nodes[reader].height(),
        Some(0),
        "an unregistered node synced"
    );
    let node_key = key_from_file(&net.root().join("keys").join("outsider.json")).address();
    let register = jeon_runtime::Call::RegisterNode(calls::RegisterNode { key: node_key });
    let registered = submit_call(&api, chain, &keys[1], 0, register);
    let status = final_status(&api, &registered);
    assert!(
        status["receipt"]["outcome"] == "success",
        "registration failed: {status}"
    );
    let listed = get(&api, "/v1/nodes").expect("nodes");
    assert_eq!(
        listed["nodes"][0]["key"],
        node_key.to_string().as_str(),
        "{listed}"
    );
    let joined = Instant::now();
    let target = net.known_heights(&four)[&0];
    net.wait_heights(
        &[reader],
        |_| target,
        CATCH_UP_TIMEOUT,
        "the read node catches up",
    );
    eprintln!(
        "registered read node at the head {:?} after its registration was final",
        joined.elapsed()
    );
    for i in four {
        assert_eq!(role(net, i), "validator", "node {i}");
    }
    assert_eq!(role(net, reader), "read");
    let status = get(net.api(reader), "/v1/status").expect("status");
    assert_eq!(status["signing"]["state"], "not_validator", "{status}");

    // A transfer submitted to the read node reaches the validators and is final; the
    // read node's event stream, opened before, shows its events.
    let events = reqwest::blocking::Client::builder()
        .timeout(PROGRESS_TIMEOUT)
        .build()
        .expect("http client")
        .get(format!("{}/v1/events", net.api(reader)))
        .send()
        .expect("the read node's event stream opens");
    assert_eq!(events.status().as_u16(), 200);
    let alice = net.key("alice");
    let tx = transfer(chain, &alice, 0, net.key("bob").address(), 100);
    let (code, body) = post(net.api(reader), "/v1/txs", &json!({"tx": tx_hex(&tx)}));
    assert_eq!(code, 202, "the read node refused a transfer: {body}");
    wait_final(net, &ids(0..VALIDATORS + 1), &[tx.hash()]);
    let hash = tx.hash().to_string();
    let streamed = std::io::BufRead::lines(std::io::BufReader::new(events))
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<Value>(line.strip_prefix("data:")?.trim()).ok())
        .find(|data| data["tx"] == hash.as_str());
    assert!(
        streamed.is_some(),
        "the read node's event stream never showed {hash}"
    );
    let proof = get(net.api(reader), &format!("/v1/txs/{}/proof", tx.hash())).expect("proof");
    let out = verify_offline(net, "read-proof.json", &proof.to_string());
    assert!(
        out.status.success(),
        "jeon verify of the read node's proof: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Validators 0, 1 and 2 remove validator 3 (3 of 4 votes); returns once the set of
/// three is in effect on node 0.
fn remove_validator_3(net: &Testnet, keys: &[jeon_runtime::Keypair]) {
    let api = net.api(0).to_owned();
    let chain = chain_id(&api);
    let propose = jeon_runtime::Call::Propose(calls::Propose {
        change: Change::RemoveValidator {
            key: keys[3].address(),
        },
        deadline: 1_000_000,
        activation: 0,
    });
    final_status(&api, &submit_call(&api, chain, &keys[0], 0, propose));
    let vote = jeon_runtime::Call::Vote(calls::Vote {
        proposal: 0,
        yes: true,
    });
    let votes: Vec<Hash> = [(0usize, 1u64), (1, 1), (2, 0)]
        .into_iter()
        .map(|(who, nonce)| submit_call(&api, chain, &keys[who], nonce, vote.clone()))
        .collect();
    for v in &votes {
        final_status(&api, v);
    }
    let three = crate::common::wait_until(PROGRESS_TIMEOUT, || {
        get(&api, "/v1/status").is_some_and(|s| s["validators"] == 3)
    });
    assert!(
        three,
        "the set of three never took effect: {:?}",
        get(&api, "/v1/status")
    );
}

/// The partner unregisters the read node: the validators close its connections with
/// no restart, and the three keep finalizing without it.
fn read_node_leaves(net: &Testnet, reader: usize, keys: &[jeon_runtime::Keypair]) {
    let api = net.api(0).to_owned();
    let chain = chain_id(&api);
    let node_key = key_from_file(&net.root().join("keys").join("outsider.json")).address();
    let unregister = jeon_runtime::Call::UnregisterNode(calls::UnregisterNode { key: node_key });
    let status = final_status(&api, &submit_call(&api, chain, &keys[1], 2, unregister));
    assert!(
        status["receipt"]["outcome"] == "success",
        "unregistration failed: {status}"
    );
    let left = Instant::now();
    let cut_off = crate::common::wait_until(CATCH_UP_TIMEOUT, || {
        net.nodes[reader].metric("p2p_peers_connected") == Some(0.0)
    });
    assert!(
        cut_off,
        "the unregistered read node still has peers: {:?}",
        net.nodes[reader].metric("p2p_peers_connected")
    );
    eprintln!(
        "the unregistered read node was cut off {:?} after its unregistration was final",
        left.elapsed()
    );
    let three = vec![0, 1, 2];
    let from = net.known_heights(&three);
    net.wait_growth(
        &three,
        &from,
        PROGRESS_BLOCKS,
        "three validators without the read node",
    );
    net.wait_peers(&three, 2.0, "the three, without the read node");
    let behind = net.known_heights(&[reader])[&reader];
    assert!(
        behind < net.known_heights(&[0])[&0],
        "the unregistered read node kept receiving blocks"
    );
}

#[test]
fn a_registered_read_node_follows_and_serves_a_removed_validator_and_an_unregistered_node_are_refused(
) {
    let started = Instant::now();
    let mut net = Testnet::new(Links::Direct);
    net.start_validators();
    net.wait_finalizing();
    let keys = validator_keys(&net);
    let reader = net.add_outsider();
    net.start_node(reader);
    read_node_joins(&net, reader, &keys);

    let stayers = vec![0, 1, 2, reader];
    let refused_before: BTreeMap<usize, f64> = stayers
        .iter()
        .map(|&i| {
            (
                i,
                net.nodes[i]
                    .metric("p2p_connections_refused")
                    .unwrap_or(0.0),
            )
        })
        .collect();
    remove_validator_3(&net, &keys);
    let removed_at = Instant::now();
    // Node 3 is cut off: it ends with no peer, and the others count refusals of its
    // redials (it keeps dialing them).
    let cut_off = crate::common::wait_until(CATCH_UP_TIMEOUT, || {
        net.nodes[3].metric("p2p_peers_connected") == Some(0.0)
            && [0usize, 1, 2].iter().all(|&i| {
                net.nodes[i]
                    .metric("p2p_connections_refused")
                    .unwrap_or(0.0)
                    > refused_before[&i]
            })
    });
    let refused_after: BTreeMap<usize, Option<f64>> = stayers
        .iter()
        .map(|&i| (i, net.nodes[i].metric("p2p_connections_refused")))
        .collect();
    assert!(
        cut_off,
        "the removed validator is not refused: its peers {:?}, refusals {refused_before:?} -> {refused_after:?}",
        net.nodes[3].metric("p2p_peers_connected")
    );
    eprintln!(
        "the removed validator was cut off {:?} after the set of three took effect",
        removed_at.elapsed()
    );
    // The three keep finalizing, the read node follows, and 3 stays where it was cut.
    let from = net.known_heights(&stayers);
    net.wait_growth(
        &stayers,
        &from,
        PROGRESS_BLOCKS,
        "three validators and the read node after the removal",
    );
    net.wait_peers(
        &[0, 1, 2],
        3.0,
        "the three and the read node stay connected",
    );
    let head_3 = net.nodes[3].height().expect("node 3 answers");
    assert!(
        head_3 < net.known_heights(&[0])[&0],
        "the removed validator kept receiving blocks"
    );
    // Whether node 3 saw the block that took it out (it may be cut off just before its
    // last precommits arrive) is timing; what it says must be consistent either way.
    let status_3 = get(net.api(3), "/v1/status").expect("node 3 status");
    eprintln!(
        "the removed validator at its head {head_3}: role {}, signing {}",
        status_3["role"], status_3["signing"]
    );
    if status_3["role"] == "read" {
        assert_eq!(status_3["signing"]["state"], "not_validator", "{status_3}");
    }
    net.assert_same_chain(&ids(0..VALIDATORS + 1));

    // The read node's key signed nothing; the removed validator signs nothing above
    // the set's `since` (its change was written by block `since - 1`; consensus lags
    // the runtime by one block, so the old set still signs block `since`).
    let since = get(net.api(0), "/v1/validators").expect("validators")["since"]
        .as_u64()
        .expect("since");
    let me = key_from_file(&net.root().join("keys").join("outsider.json"))
        .address()
        .to_string();
    let gone = keys[3].address().to_string();
    let head = net.known_heights(&[reader])[&reader];
    assert!(head > since, "no block under the set of three yet");
    for h in 1..=head {
        let b = get(net.api(reader), &format!("/v1/blocks/{h}")).expect("block");
        let signers: Vec<&str> = b["certificate"]["signatures"]
            .as_array()
            .expect("signatures")
            .iter()
            .filter_map(|s| s["validator"].as_str())
            .collect();
        assert!(!signers.is_empty(), "block {h} has no signer");
        assert!(
            !signers.contains(&me.as_str()),
            "the read node signed block {h}"
        );
        if h > since {
            assert!(
                !signers.contains(&gone.as_str()),
                "the removed validator signed block {h}, above the set's since {since}"
            );
        }
    }
    read_node_leaves(&net, reader, &keys);
    eprintln!("read node and validator removal: {:?}", started.elapsed());
}
