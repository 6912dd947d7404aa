//! Golden vectors: the exact bytes and hashes of a transaction, a header, Merkle roots,
//! a receipts root and an app hash. They pin the consensus-critical formats: if one of
//! these tests fails, the format changed and every node must change with it. Update a
//! vector only together with docs/encoding.md, never to make a test pass.

use crate::support::genesis_state;
use jeon_runtime::block::{validators_hash, Header, ValidatorInfo};
use jeon_runtime::crypto::sha256;
use jeon_runtime::merkle::{leaf_node, receipt_hash, receipts_root, root};
use jeon_runtime::{calls, events};
use jeon_runtime::{
    codec, Address, AssetId, AssetKind, Call, CallError, Event, Hash, Keypair, MemoryState,
    Outcome, Params, Partner, Receipt, Role, StateExt, TxBody, TxError,
};

const GOLDEN_CHAIN: Hash = Hash([0xc1; 32]);

const ALICE: &str = "jeon1p4jpk9autwnzng2n34snjr7l3uc3unfapjyjwjjl0kqpq2ae578s5wte63";
const ALICE_KEY: &str = "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f";
const BOB: &str = "jeon1j9lmw9wm6w99txgknhh9mkayrvzmkk0zal7ncw002u63s6n4k0wsxeslpw";
const BOB_KEY: &str = "917fb715dbd38a5599169dee5ddba41b05bb59e2effd3c39ef5735186a75b3dd";

/// `encode(TxBody)` of alice paying bob 500 units of asset 0, field by field.
const TRANSFER_BODY: &str = concat!(
    "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1", // chain_id
    "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f", // sender
    "0700000000000000",                                                 // nonce 7
    "0a00000000000000",                                                 // fee_limit 10
    "e803000000000000",                                                 // expiry 1000
    "00000000",                                                         // Call::Transfer
    "917fb715dbd38a5599169dee5ddba41b05bb59e2effd3c39ef5735186a75b3dd", // to
    "00000000",                                                         // asset 0
    "f401000000000000",                                                 // amount 500
    "00",                                                               // fee_payer: None
);
/// alice's ed25519 signature over `"jeon/tx/v1" || TRANSFER_BODY` (ed25519 is deterministic).
const TRANSFER_SIGNATURE: &str = concat!(
    "e01365017e8d86830cf44818a01cc5858ab7ad51e4821ec2557f11082a9b16f0",
    "7e4cf3998ee26a231c895ce1d9d6d3a52922fa9edb36b2a7dcdc3f33952b3707",
);
const TRANSFER_HASH: &str = "1c1cc7c641194698ebd835d68e25874a6716f643932ed201646a184ddbc73969";

const MERKLE_ROOT_1: &str = "d9de27625445003d8a9739a851e3ff8d41c0683630b4d63a88327a6aaa37c409";
const MERKLE_ROOT_2: &str = "604d540f09268b91672ab011394d5266ccd7d4484d0d109411a55848126a1b2c";
const MERKLE_ROOT_3: &str = "d1f13800048f5909d4043fc0c152f6643280cba608b672715e56ce159a20629f";
const MERKLE_ROOT_5: &str = "6b313b611b40676b9e1dfd70c4503f2379f88f0f1c2740fb7e1cacc32c113465";

/// `encode(Receipt)` of an invalid transaction, field by field.
const INVALID_RECEIPT: &str = concat!(
    "0303030303030303030303030303030303030303030303030303030303030303", // tx
    "02000000",                                                         // Outcome::Invalid
    "03000000",                                                         // TxError::StaleNonce
    "0800000000000000",                                                 // expected 8
    "0700000000000000",                                                 // got 7
    "0000000000000000",                                                 // fee 0
    "0000000000000000",                                                 // no events
);
const RECEIPTS_ROOT: &str = "adf5fbb832fb0974441b9dfee0e6b45cbb59e1913e9732e50ebf668d7823f1d8";

const EMPTY_APP_HASH: &str = "151592954007b2c4ab704b3d03b08126cce87a12efff2ada0bf8bb0c6da3af22";
const SMALL_STATE_APP_HASH: &str =
    "4c64d64c02bbf33bfb796ef01ec5e6ac9f3a79c3f99e71a619b55ab37e9a9442";

const VALIDATORS_HASH: &str = "1dc7b6d8990295afe5d954822930449bb190a00e93135054072f414da01151db";
/// `encode(Header)` of a first block holding the transfer, field by field.
const HEADER: &str = concat!(
    "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1", // chain_id
    "0100000000000000",                                                 // height 1
    "0000000000000000000000000000000000000000000000000000000000000000", // prev_hash
    "0068e5cf8b010000",                                                 // time_ms
    "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f", // proposer
    "b803781238a6946d8fc73b9b8e2c1a734c292d07bff7c735955db95f9f1e86b4", // tx_root
    "adf5fbb832fb0974441b9dfee0e6b45cbb59e1913e9732e50ebf668d7823f1d8", // receipts_root
    "4c64d64c02bbf33bfb796ef01ec5e6ac9f3a79c3f99e71a619b55ab37e9a9442", // app_hash
    "1dc7b6d8990295afe5d954822930449bb190a00e93135054072f414da01151db", // validators_hash
    "1dc7b6d8990295afe5d954822930449bb190a00e93135054072f414da01151db", // next_validators_hash
);
const HEADER_HASH: &str = "40f705683be513417747032fd877575ea1084ba1940039f9e25d16f3e8e99b1e";

fn alice() -> Keypair {
    Keypair::from_seed_label("alice")
}

fn bob() -> Address {
    Keypair::from_seed_label("bob").address()
}

fn h(hex: &str) -> Hash {
    hex.parse().expect("64 hex digits")
}

fn transfer_body() -> TxBody {
    TxBody {
        chain_id: GOLDEN_CHAIN,
        sender: alice().address(),
        nonce: 7,
        fee_limit: 10,
        expiry: 1_000,
        call: Call::Transfer(calls::Transfer {
            to: bob(),
            asset: AssetId(0),
            amount: 500,
        }),
        fee_payer: None,
    }
}

/// Leaf i is SHA-256 of the single byte i.
fn leaves() -> Vec<Hash> {
    (0u8..5).map(|i| sha256(&[&[i]])).collect()
}

/// A Merkle leaf node, computed by hand.
fn leaf(l: Hash) -> Hash {
    sha256(&[&[0x00], &l.0])
}

/// An inner Merkle node, computed by hand.
fn node(left: Hash, right: Hash) -> Hash {
    sha256(&[&[0x01], &left.0, &right.0])
}

fn known_receipts() -> Vec<Receipt> {
    let (a, b) = (alice().address(), bob());
    vec![
        Receipt {
            tx: h(TRANSFER_HASH),
            outcome: Outcome::Success,
            fee: 10,
            events: vec![
                Event::FeeCharged(events::FeeCharged {
                    payer: a,
                    asset: AssetId(0),
                    amount: 10,
                }),
                Event::Transferred(events::Transferred {
                    from: a,
                    to: b,
                    asset: AssetId(0),
                    amount: 500,
                }),
            ],
        },
        Receipt {
            tx: Hash([2; 32]),
            outcome: Outcome::Failed(CallError::InsufficientBalance {
                asset: AssetId(1),
                needed: 9,
                available: 3,
            }),
            fee: 10,
            events: vec![Event::FeeCharged(events::FeeCharged {
                payer: b,
                asset: AssetId(0),
                amount: 10,
            })],
        },
        Receipt {
            tx: Hash([3; 32]),
            outcome: Outcome::Invalid(TxError::StaleNonce {
                expected: 8,
                got: 7,
            }),
            fee: 0,
            events: vec![],
        },
    ]
}

/// One partner, one asset, two balances (one of them ₩3).
fn small_state() -> MemoryState {
    let (a, b) = (alice().address(), bob());
    let params = Params {
        fee_asset: AssetId(0),
        fee_flat: 10,
        fee_collector: b,
        block_txs_max: 1_000,
        block_bytes_max: 1 << 20,
    };
    let partners = [Partner {
        name: "Golden Bank".into(),
        account: a,
        roles: vec![Role::Validator, Role::Issuer],
        jurisdiction: "KR".into(),
    }];
    genesis_state(
        &params,
        &partners,
        &[(AssetId(0), "KRW", 0, a, AssetKind::Money)],
        &[(a, AssetId(0), 1_000_000), (b, AssetId(0), 3)],
    )
}

#[test]
fn seed_labels_derive_fixed_keys_and_bech32m_addresses() {
    assert_eq!(alice().address().to_string(), ALICE);
    assert_eq!(hex::encode(alice().address().0), ALICE_KEY);
    assert_eq!(bob().to_string(), BOB);
    assert_eq!(hex::encode(bob().0), BOB_KEY);
}

#[test]
fn a_transfer_body_encodes_to_fixed_bytes() {
    assert_eq!(hex::encode(codec::encode(&transfer_body())), TRANSFER_BODY);
    let mut signing = b"jeon/tx/v1".to_vec();
    signing.extend(hex::decode(TRANSFER_BODY).expect("hex"));
    assert_eq!(transfer_body().signing_bytes(), signing);
}

#[test]
fn a_signed_transfer_encodes_to_the_body_then_the_raw_signature_and_has_a_fixed_hash() {
    let tx = transfer_body().sign(&alice());
    assert_eq!(hex::encode(tx.signature.0), TRANSFER_SIGNATURE);
    let encoded = tx.encode();
    assert_eq!(
        hex::encode(&encoded),
        format!("{TRANSFER_BODY}{TRANSFER_SIGNATURE}00") // payer_signature: None
    );
    assert_eq!(tx.hash(), h(TRANSFER_HASH));
    assert_eq!(tx.hash(), sha256(&[&encoded]));
    assert_eq!(
        jeon_runtime::SignedTx::decode(&encoded).map(|t| t.hash()),
        Ok(tx.hash())
    );
    assert!(tx.verify(&GOLDEN_CHAIN).is_ok());
}

#[test]
fn merkle_roots_of_zero_one_two_three_and_five_leaves_are_fixed() {
    let l = leaves();
    assert_eq!(root(&[]), Hash::ZERO);
    assert_eq!(root(&l[..1]), h(MERKLE_ROOT_1));
    assert_eq!(root(&l[..2]), h(MERKLE_ROOT_2));
    assert_eq!(root(&l[..3]), h(MERKLE_ROOT_3));
    assert_eq!(root(&l[..5]), h(MERKLE_ROOT_5));
}

#[test]
fn merkle_roots_match_a_hand_computation() {
    let l = leaves();
    // A leaf enters the tree as SHA-256(0x00 || leaf): one leaf's root is its node.
    assert_eq!(root(&l[..1]), leaf(l[0]));
    assert_eq!(leaf_node(&l[0]), leaf(l[0]));
    // An inner node is SHA-256(0x01 || left || right).
    assert_eq!(root(&l[..2]), node(leaf(l[0]), leaf(l[1])));
    // A node without a right sibling moves up unchanged (rs_merkle's rule).
    let (n01, n23) = (node(leaf(l[0]), leaf(l[1])), node(leaf(l[2]), leaf(l[3])));
    assert_eq!(root(&l[..3]), node(n01, leaf(l[2])));
    assert_eq!(root(&l[..5]), node(node(n01, n23), leaf(l[4])));
}

#[test]
fn receipts_encode_to_fixed_bytes_and_have_a_fixed_root() {
    let receipts = known_receipts();
    assert_eq!(hex::encode(codec::encode(&receipts[2])), INVALID_RECEIPT);
    assert_eq!(receipts_root(&receipts), h(RECEIPTS_ROOT));
    let r: Vec<Hash> = receipts.iter().map(receipt_hash).collect();
    assert_eq!(receipts_root(&receipts), root(&r));
    assert_eq!(
        receipts_root(&receipts),
        node(node(leaf(r[0]), leaf(r[1])), leaf(r[2]))
    );
}

#[test]
fn the_app_hash_of_a_fixed_small_state_is_fixed() {
    assert_eq!(
        MemoryState::new().app_hash().expect("hash"),
        h(EMPTY_APP_HASH)
    );
    let state = small_state();
    assert_eq!(state.app_hash().expect("hash"), h(SMALL_STATE_APP_HASH));
    assert_eq!(
        crate::support::app_hash_from_scratch(&state),
        h(SMALL_STATE_APP_HASH)
    );
}

#[test]
fn a_header_encodes_to_fixed_bytes_and_has_a_fixed_hash() {
    let validators = [ValidatorInfo {
        key: alice().address(),
        power: 10,
    }];
    assert_eq!(validators_hash(&validators), h(VALIDATORS_HASH));
    let tx = transfer_body().sign(&alice());
    let header = Header {
        chain_id: GOLDEN_CHAIN,
        height: 1,
        prev_hash: Hash::ZERO,
        time_ms: 1_700_000_000_000,
        proposer: alice().address(),
        tx_root: root(&[tx.hash()]),
        receipts_root: receipts_root(&known_receipts()),
        app_hash: small_state().app_hash().expect("hash"),
        validators_hash: validators_hash(&validators),
        next_validators_hash: validators_hash(&validators),
    };
    assert_eq!(header.tx_root, leaf(tx.hash()));
    assert_eq!(hex::encode(codec::encode(&header)), HEADER);
    assert_eq!(header.hash(), h(HEADER_HASH));
    assert_eq!(
        header.hash(),
        sha256(&[b"jeon/header/v1", &codec::encode(&header)])
    );
}

/// `encode(Call::Pay)`: alice's wallet paying bob's shop ₩500 (50 000 units), "latte".
const PAY_CALL: &str = concat!(
    "04000000",                                                         // Call::Pay
    "917fb715dbd38a5599169dee5ddba41b05bb59e2effd3c39ef5735186a75b3dd", // merchant (bob)
    "00000000",                                                         // asset 0
    "50c3000000000000",                                                 // amount 50 000
    "0500000000000000",                                                 // reference: 5 bytes
    "6c61747465",                                                       // "latte"
);

/// `encode(Call::Redeem)` of 300 units of asset 1 for cash-out to alice.
const REDEEM_CALL: &str = concat!(
    "09000000",                                                         // Call::Redeem
    "01000000",                                                         // asset 1
    "2c01000000000000",                                                 // amount 300
    "01000000",                                                         // RedeemKind::CashOut
    "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f", // destination
);

/// `encode(Event::RewardSkipped)` of rule 2 for alice, issuer bob, asset 1, cap 1 200.
const REWARD_SKIPPED_EVENT: &str = concat!(
    "0a000000",                                                         // Event::RewardSkipped
    "0200000000000000",                                                 // rule 2
    "917fb715dbd38a5599169dee5ddba41b05bb59e2effd3c39ef5735186a75b3dd", // issuer (bob)
    "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f", // to (alice)
    "01000000",                                                         // asset 1
    "00000000",                                                         // SkipReason::CapReached
    "b004000000000000",                                                 // cap 1 200
);

#[test]
fn the_economys_calls_and_events_encode_field_by_field() {
    use jeon_runtime::economy::{RedeemKind, RewardKind, SkipReason};
    let (a, b) = (alice().address(), bob());
    let pay = Call::Pay(calls::Pay {
        merchant: b,
        asset: AssetId(0),
        amount: 50_000,
        reference: "latte".into(),
    });
    assert_eq!(hex::encode(codec::encode(&pay)), PAY_CALL);
    let redeem = Call::Redeem(calls::Redeem {
        asset: AssetId(1),
        amount: 300,
        kind: RedeemKind::CashOut { destination: a },
    });
    assert_eq!(hex::encode(codec::encode(&redeem)), REDEEM_CALL);
    let skipped = Event::RewardSkipped(events::RewardSkipped {
        rule: 2,
        issuer: b,
        to: a,
        asset: AssetId(1),
        reason: SkipReason::CapReached { cap: 1_200 },
    });
    assert_eq!(hex::encode(codec::encode(&skipped)), REWARD_SKIPPED_EVENT);
    // The sizes after the tag that docs/encoding.md §3 lists.
    let after_tag = |c: &Call| codec::encode(c).len() - 4;
    let cashback = Call::AddRewardRule(calls::AddRewardRule {
        merchants: vec![a, b],
        pay_asset: AssetId(0),
        kind: RewardKind::Cashback {
            rate_bps: 100,
            asset: AssetId(1),
        },
        cap_per_user_per_period: 1,
        period_ms: 1,
    });
    assert_eq!(after_tag(&cashback), 8 + 64 + 4 + 10 + 16);
    let propose = Call::ProposeExchange(calls::ProposeExchange {
        from_asset: AssetId(1),
        to_asset: AssetId(2),
        rate_num: 2,
        rate_den: 1,
        spread_bps: 250,
        daily_cap: 5_000,
        settlement_asset: AssetId(0),
        settlement_price: 3,
    });
    assert_eq!(after_tag(&propose), 46);
    let convert = Call::Convert(calls::Convert {
        from_asset: AssetId(1),
        amount: 1,
        to_asset: AssetId(2),
        min_out: 0,
    });
    assert_eq!(after_tag(&convert), 24);
    let stamps = Call::SetStampReward(calls::SetStampReward {
        stamp_asset: AssetId(1),
        stamps: 10,
        reward_asset: AssetId(2),
        reward_amount: 1,
    });
    assert_eq!(after_tag(&stamps), 24);
    let create = |supply_max| {
        Call::CreateAsset(calls::CreateAsset {
            symbol: "GEM".into(),
            decimals: 0,
            kind: AssetKind::Credit,
            supply_max,
        })
    };
    assert_eq!(after_tag(&create(None)), 14 + 3);
    assert_eq!(after_tag(&create(Some(7))), 22 + 3);
    let grant = Call::GrantMandate(calls::GrantMandate {
        spender: b,
        asset: AssetId(0),
        limit_per_period: 990_000,
        period_ms: 1,
        expires_at: 9,
    });
    assert_eq!(after_tag(&grant), 60);
    let charge = Call::Charge(calls::Charge {
        mandate_id: 0,
        amount: 1,
        reference: "nov".into(),
    });
    assert_eq!(after_tag(&charge), 24 + 3);
    assert_eq!(
        after_tag(&Call::RevokeMandate(calls::RevokeMandate { mandate_id: 0 })),
        8
    );
    let invoice = |memo| jeon_runtime::invoice::Invoice {
        merchant: b,
        asset: AssetId(0),
        amount: 50_000,
        expires_at: 9,
        invoice_id: 1,
        memo,
    };
    let pay_invoice = |memo| {
        Call::PayInvoice(calls::PayInvoice {
            invoice: invoice(memo),
            signature: jeon_runtime::Signature([0; 64]),
        })
    };
    assert_eq!(after_tag(&pay_invoice(None)), 60 + 1 + 64);
    assert_eq!(after_tag(&pay_invoice(Some(vec![1; 7]))), 60 + 9 + 7 + 64);
    let signed = transfer_body();
    let pay_tx = TxBody {
        call: pay,
        ..signed
    }
    .sign(&alice());
    // ... plus one byte each for the absent fee payer and payer signature.
    assert_eq!(pay_tx.encode().len(), 208 + 5 + 2);
}
