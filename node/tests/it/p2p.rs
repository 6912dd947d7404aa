//! The network layer over real TCP on 127.0.0.1: gossip through a line of validators,
//! block sync, refusal of unlisted peers, penalties, and redial after a restart.

use std::time::Duration;

use jeon_node::p2p::{
    self, Multiaddr, P2pCommand, P2pConfig, P2pEvent, P2pHandle, P2pMetrics, PeerId, Topic,
    PENALTY_DISCONNECT, SYNC_REQUEST_BYTES_MAX, SYNC_RESPONSE_BYTES_MAX,
};
use libp2p::multiaddr::Protocol;
use tokio::time::{sleep, timeout, Instant};

/// Longest wait for any one expected event.
const WAIT: Duration = Duration::from_secs(15);

fn secret(n: u8) -> [u8; 32] {
    [n; 32]
}

fn id(n: u8) -> PeerId {
    p2p::peer_id(&secret(n)).unwrap()
}

fn any_port() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

/// The node's bound address with its peer id, as a genesis peer list would give it.
fn addr_of(node: &P2pHandle) -> Multiaddr {
    node.listen_addrs[0]
        .clone()
        .with(Protocol::P2p(node.local_peer_id))
}

/// Validator `n` listening on `listen`, dialing `peers`, admitting `allowed`.
async fn validator_on(
    n: u8,
    listen: Multiaddr,
    peers: Vec<Multiaddr>,
    allowed: &[u8],
) -> (P2pHandle, P2pMetrics) {
    let metrics = P2pMetrics::default();
    let config = P2pConfig {
        secret: zeroize::Zeroizing::new(secret(n)),
        listen: vec![listen],
        peers,
        allowed: allowed.iter().map(|&k| id(k)).collect(),
        budgets: p2p::GossipBudgetConfig::default(),
    };
    let node = p2p::start(config, metrics.clone()).await.unwrap();
    assert_eq!(node.local_peer_id, id(n));
    (node, metrics)
}

async fn validator(n: u8, peers: Vec<Multiaddr>, allowed: &[u8]) -> (P2pHandle, P2pMetrics) {
    validator_on(n, any_port(), peers, allowed).await
}

/// Waits for the first event `pick` accepts, skipping the others.
async fn expect<T>(
    node: &mut P2pHandle,
    what: &str,
    mut pick: impl FnMut(P2pEvent) -> Option<T>,
) -> T {
    let wait = async {
        while let Some(event) = node.events.recv().await {
            if let Some(found) = pick(event) {
                return Some(found);
            }
        }
        None
    };
    match timeout(WAIT, wait).await {
        Ok(Some(found)) => found,
        Ok(None) => panic!("events closed while waiting for {what}"),
        Err(_) => panic!("no {what} within {WAIT:?}"),
    }
}

async fn connected(node: &mut P2pHandle, peer: PeerId) {
    let what = format!("connection to {peer}");
    expect(node, &what, |e| {
        matches!(e, P2pEvent::Connected(p) if p == peer).then_some(())
    })
    .await
}

async fn disconnected(node: &mut P2pHandle, peer: PeerId) {
    let what = format!("disconnection from {peer}");
    expect(node, &what, |e| {
        matches!(e, P2pEvent::Disconnected(p) if p == peer).then_some(())
    })
    .await
}

async fn send(node: &P2pHandle, command: P2pCommand) {
    node.commands.send(command).await.unwrap();
}

/// Publishes small fresh messages from `from` until each of `to` has received one:
/// gossipsub learns subscriptions and builds its mesh a moment after connecting.
async fn until_gossip_flows(from: &P2pHandle, to: &mut [&mut P2pHandle]) {
    let deadline = Instant::now() + WAIT;
    let mut reached = vec![false; to.len()];
    for round in 0u32.. {
        assert!(
            Instant::now() < deadline,
            "gossip never flowed: {reached:?}"
        );
        let data = format!("warm-up {round}").into_bytes();
        send(
            from,
            P2pCommand::Publish {
                topic: Topic::Consensus,
                data,
            },
        )
        .await;
        sleep(Duration::from_millis(200)).await;
        for (node, reached) in to.iter_mut().zip(reached.iter_mut()) {
            while let Ok(event) = node.events.try_recv() {
                if let P2pEvent::Message { data, .. } = event {
                    *reached |= data.starts_with(b"warm-up");
                }
            }
        }
        if reached.iter().all(|r| *r) {
            return;
        }
    }
}

/// Waits until `condition` holds, polling.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "never: {what}");
        sleep(Duration::from_millis(50)).await;
    }
}

fn pattern(bytes: usize) -> Vec<u8> {
    (0..bytes).map(|i| (i % 251) as u8).collect()
}

#[test]
fn the_peer_id_of_a_validator_key_is_the_one_genesis_lists() {
    for n in [0u8, 1, 7, 255] {
        let keypair = libp2p::identity::Keypair::ed25519_from_bytes(secret(n)).unwrap();
        let ours = PeerId::from(keypair.public()).to_string();
        let address = jeon_runtime::Keypair::from_secret(secret(n)).address();
        assert_eq!(ours, jeon_genesis::peer_id_of(&address));
        assert_eq!(p2p::peer_id(&secret(n)).unwrap().to_string(), ours);
        assert!(ours.starts_with("12D3KooW"), "{ours}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2_mib_proposal_from_a_reaches_b_and_c_down_a_line_of_validators() {
    let all = [1, 2, 3];
    let (mut b, _) = validator(2, vec![], &all).await;
    let (mut a, _) = validator(1, vec![addr_of(&b)], &all).await;
    // C's address for B has no peer id: it is learnt on connecting.
    let (mut c, _) = validator(3, vec![b.listen_addrs[0].clone()], &all).await;
    connected(&mut a, id(2)).await;
    connected(&mut c, id(2)).await;
    until_gossip_flows(&a, &mut [&mut b, &mut c]).await;

    // 32 times gossipsub's default frame limit of 64 KiB.
    let proposal = pattern(2 << 20);
    let data = proposal.clone();
    send(
        &a,
        P2pCommand::Publish {
            topic: Topic::Consensus,
            data,
        },
    )
    .await;
    for node in [&mut b, &mut c] {
        let (from, data) = expect(node, "the 2 MiB proposal", |e| match e {
            P2pEvent::Message {
                topic: Topic::Consensus,
                from,
                data,
            } if data.len() > 1024 => Some((from, data)),
            _ => None,
        })
        .await;
        assert_eq!(from, id(1), "the author, even when relayed by B");
        assert!(data == proposal, "the proposal arrived altered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_validator_drops_its_gossip_and_fails_requests_with_their_id() {
    let (mut a, metrics) = validator(1, vec![], &[1, 2]).await;
    let data = b"nobody to tell".to_vec();
    send(
        &a,
        P2pCommand::Publish {
            topic: Topic::Txs,
            data,
        },
    )
    .await;
    send(
        &a,
        P2pCommand::Request {
            peer: id(2),
            id: 5,
            data: b"blocks".to_vec(),
        },
    )
    .await;
    let (id5, peer) = expect(&mut a, "the failed request", |e| match e {
        P2pEvent::RequestFailed { id, peer, .. } => Some((id, peer)),
        _ => None,
    })
    .await;
    assert_eq!((id5, peer), (5, id(2)));
    assert_eq!(metrics.messages_published.get(), 0);
    assert_eq!(
        metrics.publish_failed.get(),
        0,
        "a lone node's silence is no failure"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_request_gets_its_10_mib_answer_under_the_same_id() {
    let (mut b, _) = validator(2, vec![], &[1, 2]).await;
    let (mut a, _) = validator(1, vec![addr_of(&b)], &[1, 2]).await;
    connected(&mut a, id(2)).await;

    let data = b"blocks 1..=32".to_vec();
    send(
        &a,
        P2pCommand::Request {
            peer: id(2),
            id: 42,
            data,
        },
    )
    .await;
    let (from, channel, asked) = expect(&mut b, "the request", |e| match e {
        P2pEvent::Request {
            from,
            channel,
            data,
        } => Some((from, channel, data)),
        _ => None,
    })
    .await;
    assert_eq!((from, asked.as_slice()), (id(1), &b"blocks 1..=32"[..]));
    let blocks = pattern(10 << 20);
    send(
        &b,
        P2pCommand::Respond {
            channel,
            data: blocks.clone(),
        },
    )
    .await;
    let (answer_id, from, data) = expect(&mut a, "the response", |e| match e {
        P2pEvent::Response { id, from, data } => Some((id, from, data)),
        P2pEvent::RequestFailed { error, .. } => panic!("request failed: {error}"),
        _ => None,
    })
    .await;
    assert_eq!((answer_id, from), (42, id(2)));
    assert!(data == blocks, "the response arrived altered");

    // A request over 1 KiB is never sent.
    let data = vec![0; SYNC_REQUEST_BYTES_MAX as usize + 1];
    send(
        &a,
        P2pCommand::Request {
            peer: id(2),
            id: 43,
            data,
        },
    )
    .await;
    let failed = expect(&mut a, "the oversized request's failure", |e| match e {
        P2pEvent::RequestFailed { id, .. } => Some(id),
        _ => None,
    })
    .await;
    assert_eq!(failed, 43);

    // A response over 64 MiB is not sent either: the asker sees a failure, not silence.
    send(
        &a,
        P2pCommand::Request {
            peer: id(2),
            id: 44,
            data: b"all".to_vec(),
        },
    )
    .await;
    let channel = expect(&mut b, "the second request", |e| match e {
        P2pEvent::Request { channel, .. } => Some(channel),
        _ => None,
    })
    .await;
    let data = vec![0; SYNC_RESPONSE_BYTES_MAX as usize + 1];
    send(&b, P2pCommand::Respond { channel, data }).await;
    let failed = expect(&mut a, "the unanswered request's failure", |e| match e {
        P2pEvent::RequestFailed { id, .. } => Some(id),
        P2pEvent::Response { id, data, .. } => {
            panic!("request {id} answered with {} bytes", data.len())
        }
        _ => None,
    })
    .await;
    assert_eq!(failed, 44);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_node_is_refused_and_its_gossip_never_reaches_the_validators() {
    let (mut a, a_metrics) = validator(1, vec![], &[1, 2]).await;
    // U is not in genesis; it admits A and dials it.
    let (u, _) = validator(9, vec![addr_of(&a)], &[1, 9]).await;
    eventually("A refuses U", || a_metrics.connections_refused.get() >= 1).await;
    for round in 0..5 {
        let data = format!("intruder {round}").into_bytes();
        send(
            &u,
            P2pCommand::Publish {
                topic: Topic::Consensus,
                data,
            },
        )
        .await;
        sleep(Duration::from_millis(100)).await;
    }
    sleep(Duration::from_millis(500)).await;
    while let Ok(event) = a.events.try_recv() {
        match event {
            P2pEvent::Message { from, .. } => panic!("A got a message from {from}"),
            P2pEvent::Connected(peer) => panic!("A connected to unlisted {peer}"),
            _ => {}
        }
    }
    assert_eq!(a_metrics.peers_connected.get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_does_not_dial_an_unlisted_node_in_a_stale_peer_list() {
    let (mut w, _) = validator(8, vec![], &[1, 8]).await;
    let (_a, a_metrics) = validator(1, vec![addr_of(&w)], &[1, 2]).await;
    assert!(a_metrics.connections_refused.get() >= 1, "refused at start");
    sleep(Duration::from_millis(1500)).await;
    assert!(
        a_metrics.connections_refused.get() >= 2,
        "refused again on redial"
    );
    while let Ok(event) = w.events.try_recv() {
        assert!(
            !matches!(event, P2pEvent::Connected(_)),
            "A dialed unlisted W"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_penalized_ten_times_is_disconnected_and_refused_while_banned() {
    let (mut a, a_metrics) = validator(1, vec![], &[1, 2]).await;
    let (_b, _) = validator(2, vec![addr_of(&a)], &[1, 2]).await;
    connected(&mut a, id(2)).await;
    for n in 0..PENALTY_DISCONNECT {
        let reason = format!("bad vote {n}");
        send(
            &a,
            P2pCommand::Penalize {
                peer: id(2),
                reason,
            },
        )
        .await;
    }
    disconnected(&mut a, id(2)).await;
    assert_eq!(a_metrics.peers_banned.get(), 1);
    assert_eq!(
        a_metrics.messages_invalid.get(),
        u64::from(PENALTY_DISCONNECT)
    );
    // B redials at once (it is still in its peer list); A refuses it for the ban.
    eventually("A refuses banned B", || {
        a_metrics.connections_refused.get() >= 1
    })
    .await;
    while let Ok(event) = a.events.try_recv() {
        assert!(
            !matches!(event, P2pEvent::Connected(_)),
            "banned B got back in"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_validator_is_redialed_and_gossip_flows_again() {
    let (b, _) = validator(2, vec![], &[1, 2]).await;
    let b_listen = b.listen_addrs[0].clone();
    let (mut a, _) = validator(1, vec![addr_of(&b)], &[1, 2]).await;
    connected(&mut a, id(2)).await;

    b.shutdown().await;
    disconnected(&mut a, id(2)).await;
    let (mut b, _) = validator_on(2, b_listen, vec![], &[1, 2]).await;
    connected(&mut a, id(2)).await;
    until_gossip_flows(&a, &mut [&mut b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_that_stops_reading_loses_gossip_but_not_its_peer_events() {
    let (mut a, a_metrics) = validator(1, vec![], &[1, 2]).await;
    let (b, _) = validator(2, vec![addr_of(&a)], &[1, 2]).await;
    connected(&mut a, id(2)).await;
    until_gossip_flows(&b, &mut [&mut a]).await;

    // A reads nothing while B gossips more than its event queue holds.
    let mut round = 0u32;
    while a_metrics.messages_dropped.get() == 0 {
        assert!(
            round < 20 * p2p::EVENTS_MAX as u32,
            "A's event queue never filled"
        );
        let data = format!("tx batch {round}").into_bytes();
        send(
            &b,
            P2pCommand::Publish {
                topic: Topic::Txs,
                data,
            },
        )
        .await;
        round += 1;
        if round.is_multiple_of(256) {
            sleep(Duration::from_millis(20)).await;
        }
    }
    // B leaves while A's queue is still full: that news must wait, not vanish.
    b.shutdown().await;
    sleep(Duration::from_millis(300)).await;
    disconnected(&mut a, id(2)).await;
    assert_eq!(a_metrics.events_dropped.get(), 0);
}
