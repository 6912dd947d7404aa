//! Golden vectors shared with the TypeScript SDK: `sdk/vectors/*.json`.
//!
//! The Rust code is the reference: this test computes every vector (keys, addresses,
//! transactions with their signing bytes, signatures and hashes, a payment link, proofs
//! and each way of tampering with one) and compares it with the committed file, so a
//! change of format or of a verdict fails here and in `sdk/ts` (`npm test` reads the
//! same files and asserts byte identity). `JEON_BLESS=1 cargo test -p jeon-runtime
//! --test it sdk_vectors` rewrites the files; do that only together with
//! docs/encoding.md or docs/proofs.md, never to make a test pass.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::support::{certify, precommit, validator_keys, validator_set};

use jeon_runtime::block::{validators_hash, Block, CommittedBlock, Header, ValidatorInfo};
use jeon_runtime::economy::rewards::RewardKind;
use jeon_runtime::economy::RedeemKind;
use jeon_runtime::fees::Beneficiary;
use jeon_runtime::goods::ProductKind;
use jeon_runtime::invoice::{Invoice, Link};
use jeon_runtime::merkle::{self, receipt_hash};
use jeon_runtime::proof::{self, ProofError, TxProof, ValidatorSetChange};
use jeon_runtime::{calls, events};
use jeon_runtime::{
    Address, AssetId, AssetKind, Call, CallError, Event, Hash, Keypair, Outcome, Receipt,
    Signature, SignedTx, TxBody,
};

/// The chain id of every vector: 32 × 0xc1, as in docs/encoding.md §9.
const CHAIN: Hash = Hash([0xc1; 32]);
/// Labels of the keys the vectors use (`Keypair::from_seed_label`).
const LABELS: [&str; 9] = [
    "alice",
    "bob",
    "cafe",
    "sponsor",
    "validator-0",
    "validator-1",
    "validator-2",
    "validator-3",
    "outsider",
];
fn key(label: &str) -> Keypair {
    Keypair::from_seed_label(label)
}

fn addr(label: &str) -> Address {
    key(label).address()
}

fn hexs(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sdk/vectors")
}

/// Writes the file under `JEON_BLESS=1`; otherwise asserts the committed file holds
/// exactly this JSON.
fn check_or_bless(name: &str, value: &Value) {
    let text = format!("{}\n", serde_json::to_string_pretty(value).unwrap());
    let path = vectors_dir().join(name);
    if std::env::var("JEON_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(vectors_dir()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate with JEON_BLESS=1 cargo test -p jeon-runtime --test it sdk_vectors",
            path.display()
        )
    });
    let parsed: Value = serde_json::from_str(&committed).unwrap();
    assert!(
        parsed == *value,
        "{} differs from what the Rust code produces: the encoding or a verdict changed \
         (regenerate with JEON_BLESS=1 only if docs/encoding.md changed with it)",
        path.display()
    );
    assert_eq!(
        committed,
        text,
        "{} is not in canonical form",
        path.display()
    );
}

// ------------------------------------------------------------------ keys and addresses

fn keys_vectors() -> Value {
    let keys: Vec<Value> = LABELS
        .iter()
        .map(|label| {
            let k = key(label);
            json!({
                "label": label,
                "seed": hexs(&k.secret()),
                "public_key": hexs(&k.address().0),
                "address": k.address().to_string(),
            })
        })
        .collect();
    let alice = addr("alice").to_string();
    let mut typo: Vec<char> = alice.chars().collect();
    let i = typo.len() - 3;
    typo[i] = if typo[i] == 'q' { 'p' } else { 'q' };
    let typo: String = typo.into_iter().collect();
    let other_hrp =
        bech32::encode::<bech32::Bech32m>(bech32::Hrp::parse("cosmos").unwrap(), &[1; 32]).unwrap();
    let short =
        bech32::encode::<bech32::Bech32m>(bech32::Hrp::parse("jeon").unwrap(), &[1; 20]).unwrap();
    let long =
        bech32::encode::<bech32::Bech32m>(bech32::Hrp::parse("jeon").unwrap(), &[2; 40]).unwrap();
    let bech32_not_m =
        bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("jeon").unwrap(), &[3; 32]).unwrap();
    let inputs = [
        alice.clone(),
        alice.to_uppercase(),
        format!("{}{}", &alice[..10], alice[10..].to_uppercase()),
        typo,
        other_hrp,
        short,
        long,
        bech32_not_m,
        String::new(),
        "jeon1".to_owned(),
        // alice's key with non-zero padding bits in the last 5-bit group and a valid
        // checksum (made with BIP-350's reference algorithm): refused as not canonical,
        // so that each account has one address text.
        "jeon1p4jpk9autwnzng2n34snjr7l3uc3unfapjyjwjjl0kqpq2ae5784xja2ge".to_owned(),
    ];
    let parses: Vec<Value> = inputs
        .iter()
        .map(|input| match input.parse::<Address>() {
            Ok(a) => json!({"input": input, "ok": hexs(&a.0)}),
            Err(e) => {
                let kind = format!("{e:?}");
                let kind = kind
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                json!({"input": input, "error": kind})
            }
        })
        .collect();
    json!({
        "seed_rule": "seed = SHA-256(\"jeon/insecure-seed/v1\" || label); tests only",
        "keys": keys,
        "address_parsing": parses,
    })
}

// ------------------------------------------------------------------------ transactions

fn invoice(memo: Option<&[u8]>, id: u64) -> Invoice {
    Invoice {
        merchant: addr("cafe"),
        asset: AssetId(0),
        amount: 50_000,
        expires_at: 5_000,
        invoice_id: id,
        memo: memo.map(<[u8]>::to_vec),
    }
}

fn body(sender: &str, nonce: u64, call: Call, fee_payer: Option<&str>) -> TxBody {
    TxBody {
        chain_id: CHAIN,
        sender: addr(sender),
        nonce,
        fee_limit: 20,
        expiry: 1_000,
        call,
        fee_payer: fee_payer.map(addr),
    }
}

/// A named transaction: who signs it, and whether the fee payer co-signs.
struct Case {
    name: &'static str,
    sender: &'static str,
    body: TxBody,
    payer: Option<&'static str>,
}

fn case(name: &'static str, sender: &'static str, nonce: u64, call: Call) -> Case {
    Case {
        name,
        sender,
        body: body(sender, nonce, call, None),
        payer: None,
    }
}

fn tx_cases() -> Vec<Case> {
    let cafe_sig = invoice(Some(b"table 4"), 7).sign(&key("cafe"), &CHAIN);
    let plain_sig = invoice(None, 8).sign(&key("cafe"), &CHAIN);
    let transfer = |amount| {
        Call::Transfer(calls::Transfer {
            to: addr("bob"),
            asset: AssetId(0),
            amount,
        })
    };
    let mut golden = case("transfer (docs/encoding.md §9)", "alice", 7, transfer(500));
    golden.body.fee_limit = 10;
    let cosigned = Case {
        name: "transfer, fee co-signed by the sponsor",
        sender: "alice",
        body: body("alice", 8, transfer(1), Some("sponsor")),
        payer: Some("sponsor"),
    };
    let sponsored = Case {
        name: "transfer, fee paid by a sponsorship (no payer signature)",
        sender: "alice",
        body: body("alice", 9, transfer(2), Some("sponsor")),
        payer: None,
    };
    vec![
        golden,
        case(
            "transfer with asset u32::MAX, nonce 2^32 - 1 and amount 2^52 (JSON-safe)",
            "bob",
            u64::from(u32::MAX),
            Call::Transfer(calls::Transfer {
                to: addr("alice"),
                asset: AssetId(u32::MAX),
                amount: 1 << 52,
            }),
        ),
        case(
            "transfer of u64::MAX units at nonce u64::MAX (beyond JSON numbers: use the hex)",
            "bob",
            u64::MAX,
            Call::Transfer(calls::Transfer {
                to: addr("alice"),
                asset: AssetId(1),
                amount: u64::MAX,
            }),
        ),
        case(
            "pay ₩500 at a merchant",
            "alice",
            1,
            Call::Pay(calls::Pay {
                merchant: addr("cafe"),
                asset: AssetId(0),
                amount: 50_000,
                reference: "order 42".to_owned(),
            }),
        ),
        case(
            "pay with a UTF-8 reference",
            "alice",
            2,
            Call::Pay(calls::Pay {
                merchant: addr("cafe"),
                asset: AssetId(0),
                amount: 500,
                reference: "아메리카노 ☕".to_owned(),
            }),
        ),
        case(
            "pay invoice with a memo",
            "alice",
            3,
            Call::PayInvoice(calls::PayInvoice {
                invoice: invoice(Some(b"table 4"), 7),
                signature: cafe_sig,
            }),
        ),
        case(
            "pay invoice without a memo",
            "alice",
            4,
            Call::PayInvoice(calls::PayInvoice {
                invoice: invoice(None, 8),
                signature: plain_sig,
            }),
        ),
        case(
            "redeem credits for goods",
            "alice",
            5,
            Call::Redeem(calls::Redeem {
                asset: AssetId(1),
                amount: 30,
                kind: RedeemKind::Goods {
                    merchant: addr("cafe"),
                },
            }),
        ),
        case(
            "redeem credits for cash",
            "alice",
            6,
            Call::Redeem(calls::Redeem {
                asset: AssetId(1),
                amount: 40,
                kind: RedeemKind::CashOut {
                    destination: addr("bob"),
                },
            }),
        ),
        cosigned,
        sponsored,
        case(
            "sponsor one account's fees",
            "sponsor",
            0,
            Call::SponsorFees(calls::SponsorFees {
                beneficiary: Beneficiary::Account(addr("alice")),
                asset: AssetId(0),
                budget_per_period: 500,
                period_ms: 3_600_000,
            }),
        ),
        case(
            "sponsor all customers' fees",
            "sponsor",
            1,
            Call::SponsorFees(calls::SponsorFees {
                beneficiary: Beneficiary::AllCustomers,
                asset: AssetId(0),
                budget_per_period: 1_000,
                period_ms: 86_400_000,
            }),
        ),
        case(
            "create an asset with a supply cap",
            "cafe",
            0,
            Call::CreateAsset(calls::CreateAsset {
                symbol: "BEAN".to_owned(),
                decimals: 0,
                kind: AssetKind::Credit,
                supply_max: Some(1_000_000),
            }),
        ),
        case(
            "mint",
            "cafe",
            1,
            Call::Mint(calls::Mint {
                asset: AssetId(1),
                to: addr("alice"),
                amount: 10,
            }),
        ),
        case(
            "burn",
            "alice",
            10,
            Call::Burn(calls::Burn {
                asset: AssetId(1),
                amount: 3,
            }),
        ),
        case(
            "add a cashback rule",
            "cafe",
            2,
            Call::AddRewardRule(calls::AddRewardRule {
                merchants: vec![addr("cafe"), addr("bob")],
                pay_asset: AssetId(0),
                kind: RewardKind::Cashback {
                    rate_bps: 150,
                    asset: AssetId(1),
                },
                cap_per_user_per_period: 10_000,
                period_ms: 86_400_000,
            }),
        ),
        case(
            "grant a mandate",
            "alice",
            11,
            Call::GrantMandate(calls::GrantMandate {
                spender: addr("cafe"),
                asset: AssetId(0),
                limit_per_period: 9_900,
                period_ms: 2_592_000_000,
                expires_at: 1_000_000,
            }),
        ),
        case(
            "charge a mandate",
            "cafe",
            3,
            Call::Charge(calls::Charge {
                mandate_id: 0,
                amount: 9_900,
                reference: "lesson 1".to_owned(),
            }),
        ),
        case(
            "convert credits",
            "alice",
            12,
            Call::Convert(calls::Convert {
                from_asset: AssetId(1),
                amount: 100,
                to_asset: AssetId(2),
                min_out: 45,
            }),
        ),
        case(
            "repay a credit line",
            "alice",
            13,
            Call::Repay(calls::Repay {
                line_id: 4,
                amount: 250,
            }),
        ),
        case(
            "create a capped, transferable sticker pack",
            "cafe",
            5,
            Call::CreateProduct(calls::CreateProduct {
                name: "Sticker pack".to_owned(),
                kind: ProductKind::Item {
                    supply_max: Some(10_000),
                },
                asset: AssetId(0),
                price: 50_000,
                royalty_bps: Some(500),
            }),
        ),
        case(
            "create a bound 30-day pass",
            "cafe",
            6,
            Call::CreateProduct(calls::CreateProduct {
                name: "30-day pass".to_owned(),
                kind: ProductKind::Pass {
                    duration_ms: 2_592_000_000,
                },
                asset: AssetId(0),
                price: 330_000,
                royalty_bps: None,
            }),
        ),
        case(
            "create a bundle",
            "cafe",
            7,
            Call::CreateProduct(calls::CreateProduct {
                name: "Starter bundle".to_owned(),
                kind: ProductKind::Bundle {
                    products: vec![0, 1],
                },
                asset: AssetId(0),
                price: 350_000,
                royalty_bps: None,
            }),
        ),
        case(
            "buy a product",
            "alice",
            14,
            Call::Buy(calls::Buy { product: 0 }),
        ),
        case(
            "give an entitlement",
            "alice",
            15,
            Call::TransferEntitlement(calls::TransferEntitlement {
                entitlement: 3,
                to: addr("bob"),
                price: 0,
            }),
        ),
        case(
            "offer an entitlement for sale",
            "alice",
            16,
            Call::TransferEntitlement(calls::TransferEntitlement {
                entitlement: 3,
                to: addr("bob"),
                price: 40_000,
            }),
        ),
        case(
            "accept an entitlement offer",
            "bob",
            2,
            Call::AcceptEntitlement(calls::AcceptEntitlement {
                entitlement: 3,
                price: 40_000,
            }),
        ),
        case(
            "subscribe through a mandate",
            "bob",
            3,
            Call::Subscribe(calls::Subscribe {
                product: 3,
                mandate_id: 1,
            }),
        ),
        case(
            "renew a subscription",
            "cafe",
            9,
            Call::Renew(calls::Renew { entitlement: 4 }),
        ),
        case(
            "open a metered lesson session",
            "alice",
            8,
            Call::OpenMeter(calls::OpenMeter {
                merchant: key("cafe").address(),
                asset: AssetId(0),
                unit_price: 5_000,
                budget: 500_000,
                duration_ms: 86_400_000,
            }),
        ),
        case(
            "claim a metered session's last receipt and close it",
            "cafe",
            10,
            Call::ClaimMeter(calls::ClaimMeter {
                session: 0,
                units: 60,
                signature: jeon_runtime::goods::MeterReceipt {
                    session: 0,
                    units: 60,
                }
                .sign(&key("alice"), &CHAIN),
                close: true,
            }),
        ),
        case(
            "close a metered session",
            "alice",
            9,
            Call::CloseMeter(calls::CloseMeter { session: 0 }),
        ),
        case(
            "attest that an account is over 19",
            "bank",
            12,
            Call::Attest(calls::Attest {
                subject: key("alice").address(),
                claim: jeon_runtime::identity::Claim::AgeOver { years: 19 },
                expires_at_ms: 1_800_000_000_000,
                commitment: Hash([0x5a; 32]),
            }),
        ),
        case(
            "revoke an attestation",
            "bank",
            13,
            Call::RevokeAttestation(calls::RevokeAttestation { id: 2 }),
        ),
        case(
            "require residency KR to buy a product",
            "cafe",
            11,
            Call::RequireClaim(calls::RequireClaim {
                product: 3,
                claim: Some(jeon_runtime::identity::Claim::Residency {
                    jurisdiction: "KR".into(),
                }),
            }),
        ),
        case(
            "revoke an entitlement with a refund",
            "cafe",
            8,
            Call::RevokeEntitlement(calls::RevokeEntitlement {
                entitlement: 3,
                refund: 50_000,
            }),
        ),
        case(
            "open a carrier line billed per calendar month",
            "cafe",
            14,
            Call::OpenCarrierLine(calls::OpenCarrierLine {
                user: addr("alice"),
                asset: AssetId(0),
                cap: 5_000_000,
                period_ms: jeon_runtime::goods::carrier::LINE_PERIOD_CALENDAR_MONTH,
                cashback: None,
            }),
        ),
    ]
}

fn tx_vector(c: &Case) -> Value {
    let mut tx = c.body.clone().sign(&key(c.sender));
    if let Some(payer) = c.payer {
        tx = tx.sign_as_payer(&key(payer));
    }
    assert_eq!(SignedTx::decode(&tx.encode()).unwrap(), tx);
    assert!(tx.clone().verify(&CHAIN).is_ok(), "{}", c.name);
    json!({
        "name": c.name,
        "sender_seed": hexs(&key(c.sender).secret()),
        "payer_seed": c.payer.map(|p| hexs(&key(p).secret())),
        "body": serde_json::to_value(&c.body).unwrap(),
        "body_hex": hexs(&jeon_runtime::codec::encode(&c.body)),
        "signing_bytes_hex": hexs(&c.body.signing_bytes()),
        "payer_signing_bytes_hex": hexs(&c.body.payer_signing_bytes()),
        "signature": hexs(&tx.signature.0),
        "payer_signature": tx.payer_signature.map(|s| hexs(&s.0)),
        "tx_hex": hexs(&tx.encode()),
        "tx_hash": tx.hash().to_string(),
        "sender": addr(c.sender).to_string(),
        "summary": c.body.call.summary(),
    })
}

fn txs_vectors() -> Value {
    let cases: Vec<Value> = tx_cases().iter().map(tx_vector).collect();
    json!({ "chain_id": CHAIN.to_string(), "txs": cases })
}

// --------------------------------------------------------------------- sealed memos

/// A `MemoError`'s variant name, the verdict the TS SDK must give.
fn memo_error(e: &jeon_runtime::memo::MemoError) -> &'static str {
    use jeon_runtime::memo::MemoError;
    match e {
        MemoError::TooLong { .. } => "TooLong",
        MemoError::NotSealed => "NotSealed",
        MemoError::BadPublicKey => "BadPublicKey",
        MemoError::Undecryptable => "Undecryptable",
    }
}

/// Memos sealed to a merchant's address (`runtime::memo`): seal is deterministic in
/// the ephemeral secret, so the SDK must produce these bytes exactly; then every way
/// a memo fails to seal or open, with the Rust verdict.
fn memos_vectors() -> Value {
    use jeon_runtime::invoice::MEMO_BYTES_MAX;
    use jeon_runtime::memo::{self, SEALED_MEMO_OVERHEAD, SEALED_PLAINTEXT_MAX};
    let longest = vec![b'x'; SEALED_PLAINTEXT_MAX];
    let plain: [(&str, [u8; 32], &[u8]); 5] = [
        ("cafe", [7; 32], b"table 4"),
        ("cafe", [9; 32], b"order 42 for table 7"),
        ("cafe", [8; 32], b""),
        ("alice", [0x42; 32], "주문 7번, 포장".as_bytes()),
        ("bob", [0xff; 32], &longest),
    ];
    let sealed: Vec<Value> = plain
        .iter()
        .map(|(label, eph, text)| {
            let out = memo::seal(&addr(label), *eph, text).unwrap();
            assert_eq!(memo::open(&key(label), &out).unwrap(), *text);
            json!({
                "merchant": addr(label).to_string(),
                "merchant_key": label,
                "ephemeral_secret": hexs(eph),
                "plaintext_hex": hexs(text),
                "sealed_hex": hexs(&out),
            })
        })
        .collect();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    let too_long = vec![b'x'; SEALED_PLAINTEXT_MAX + 1];
    let refused_seals: Vec<Value> = [
        ("a small-order merchant key", Address(identity), &b"x"[..]),
        (
            "a merchant key that is not a point",
            Address(not_a_point),
            b"x",
        ),
        (
            "a plaintext too long to fit sealed",
            addr("cafe"),
            &too_long,
        ),
    ]
    .iter()
    .map(|(what, merchant, text)| {
        let e = memo::seal(merchant, [7; 32], text).unwrap_err();
        json!({
            "what": what,
            "merchant_hex": hexs(&merchant.0),
            "plaintext_len": text.len(),
            "error": memo_error(&e),
        })
    })
    .collect();
    let good = memo::seal(&addr("cafe"), [7; 32], b"order 42 for table 7").unwrap();
    let flip = |i: usize| {
        let mut m = good.clone();
        m[i] ^= 0x01;
        m
    };
    let mut zero_ephemeral = good.clone();
    zero_ephemeral[1..33].fill(0);
    let mut oversized = vec![memo::SEALED_MEMO_VERSION; MEMO_BYTES_MAX + 1];
    oversized[1..33].copy_from_slice(&good[1..33]);
    let opens: Vec<(&str, &str, Vec<u8>)> = vec![
        ("the merchant opens it", "cafe", good.clone()),
        ("another key", "bob", good.clone()),
        ("the version byte changed", "cafe", flip(0)),
        ("the ephemeral key changed", "cafe", flip(1)),
        ("the ciphertext changed", "cafe", flip(33)),
        ("the tag changed", "cafe", flip(good.len() - 1)),
        ("one byte cut off", "cafe", good[..good.len() - 1].to_vec()),
        (
            "shorter than a sealed memo",
            "cafe",
            good[..SEALED_MEMO_OVERHEAD - 1].to_vec(),
        ),
        ("a clear memo", "cafe", b"table 4".to_vec()),
        ("a small-order ephemeral key", "cafe", zero_ephemeral),
        ("longer than a memo", "cafe", oversized),
    ];
    let opens: Vec<Value> = opens
        .iter()
        .map(|(what, label, bytes)| {
            let verdict = match memo::open(&key(label), bytes) {
                Ok(p) => json!({"ok": hexs(&p)}),
                Err(e) => json!({"error": memo_error(&e)}),
            };
            json!({
                "what": what,
                "key": label,
                "sealed_hex": hexs(bytes),
                "is_sealed": memo::is_sealed(bytes),
                "verdict": verdict,
            })
        })
        .collect();
    json!({
        "format": "runtime/src/memo.rs (version 1)",
        "overhead": SEALED_MEMO_OVERHEAD,
        "plaintext_max": SEALED_PLAINTEXT_MAX,
        "sealed": sealed,
        "refused_seals": refused_seals,
        "opens": opens,
    })
}

// --------------------------------------------------------------------- payment links

fn links_vectors() -> Value {
    let cafe = key("cafe");
    let links: Vec<Value> = [invoice(Some(b"table 4"), 7), invoice(None, 8)]
        .iter()
        .map(|inv| {
            let sig = inv.sign(&cafe, &CHAIN);
            let uri = inv.to_uri(&sig);
            let (back, back_sig) = Invoice::from_uri(&uri).unwrap();
            assert_eq!((&back, back_sig), (inv, sig));
            json!({
                "invoice": serde_json::to_value(inv).unwrap(),
                "invoice_hex": hexs(&jeon_runtime::codec::encode(inv)),
                "signing_bytes_hex": hexs(&inv.signing_bytes(&CHAIN)),
                "signature": hexs(&sig.0),
                "link": uri,
                "readable_link": inv.to_link(&sig, "KRW", 2),
                "verifies_on_chain": inv.verify(&CHAIN, &sig).is_ok(),
                "verifies_on_another_chain": inv.verify(&Hash([0x99; 32]), &sig).is_ok(),
            })
        })
        .collect();
    let good = links[0]["link"].as_str().unwrap().to_owned();
    let sig_hex = links[0]["signature"].as_str().unwrap().to_owned();
    let bad_inputs = [
        "https://x".to_owned(),
        "jeon:pay?i=00".to_owned(),
        "jeon:pay?i=zz&s=00".to_owned(),
        "jeon:pay?i=00&s=00".to_owned(),
        format!("jeon:pay?i=00&s={sig_hex}"),
        format!("{good}&s={sig_hex}"),
        format!("{good}&x=1"),
        format!("{good}&novalue"),
        format!(
            "  {}  ",
            good.to_uppercase()
                .replace("JEON:PAY?I=", "jeon:pay?i=")
                .replace("&S=", "&s=")
        ),
    ];
    let parses: Vec<Value> = bad_inputs
        .iter()
        .map(|input| match Invoice::from_uri(input) {
            Ok((inv, sig)) => json!({
                "input": input,
                "ok": {"invoice_hex": hexs(&jeon_runtime::codec::encode(&inv)), "signature": hexs(&sig.0)}
            }),
            Err(e) => {
                let kind = format!("{e:?}");
                let kind = kind.split([' ', '{', '(']).next().unwrap_or_default().to_owned();
                json!({"input": input, "error": kind, "message": e.to_string()})
            }
        })
        .collect();
    let readable = links[0]["readable_link"].as_str().unwrap().to_owned();
    let (head, sig_part) = readable.split_once("&sig=").unwrap();
    let readable_inputs = [
        readable.clone(),
        links[1]["readable_link"].as_str().unwrap().to_owned(),
        readable.replace("amount=500.00", "amount=500"),
        readable.replace("memo=table%204", "memo=table%2"),
        readable.replace("memo=table%204", "memo=table%+2"),
        readable.replace("memo=table%204", "memo=t%c3%a9"),
        readable.replace("&id=7", "&id=18446744073709551616"),
        readable.replace("jeon:pay?to=", "jeon:pay?amount=1&to="),
        readable.replace("amount=500.00", "amount=5x"),
        readable.replace("asset=KRW", "asset=k-rw"),
        readable.replace("&id=7", "&id=-7"),
        readable.replace("to=jeon1", "to=jeon2"),
        format!("{head}&sig={}", &sig_part[2..]),
        format!("{readable}&id=8"),
        readable.replace("&exp=", "&expiry="),
    ];
    let readable_parses: Vec<Value> = readable_inputs
        .iter()
        .map(|input| match Link::parse(input) {
            Ok(Link::Readable(r)) => json!({
                "input": input,
                "ok": {
                    "merchant": r.merchant.to_string(),
                    "amount": r.amount,
                    "asset": r.asset,
                    "invoice_id": r.invoice_id,
                    "expires_at": r.expires_at,
                    "memo_hex": r.memo.as_deref().map(hexs),
                    "signature": hexs(&r.signature.0),
                    "invoice_hex_krw": r.invoice(AssetId(0), 2).ok().map(|i| hexs(&jeon_runtime::codec::encode(&i))),
                }
            }),
            Ok(Link::Encoded(..)) => json!({"input": input, "error": "Encoded"}),
            Err(e) => {
                let kind = format!("{e:?}");
                let kind = kind.split([' ', '{', '(']).next().unwrap_or_default().to_owned();
                json!({"input": input, "error": kind, "message": e.to_string()})
            }
        })
        .collect();
    json!({
        "chain_id": CHAIN.to_string(),
        "links": links,
        "parsing": parses,
        "readable_parsing": readable_parses,
    })
}

// ---------------------------------------------------------------------------- proofs

fn fee(payer: &str) -> Event {
    Event::FeeCharged(events::FeeCharged {
        payer: addr(payer),
        asset: AssetId(0),
        amount: 10,
    })
}

/// Block 7 of the test chain: a transfer, a failed co-signed transfer and a paid
/// invoice, with their receipts, certified by three of the four validators.
fn block() -> (CommittedBlock, Vec<Receipt>) {
    let cases = tx_cases();
    let pick = |name: &str| {
        let c = cases.iter().find(|c| c.name == name).unwrap();
        let mut tx = c.body.clone().sign(&key(c.sender));
        if let Some(p) = c.payer {
            tx = tx.sign_as_payer(&key(p));
        }
        tx
    };
    let txs = vec![
        pick("transfer (docs/encoding.md §9)"),
        pick("transfer, fee co-signed by the sponsor"),
        pick("pay invoice with a memo"),
    ];
    let receipts = vec![
        Receipt {
            tx: txs[0].hash(),
            outcome: Outcome::Success,
            fee: 10,
            events: vec![
                fee("alice"),
                Event::Transferred(events::Transferred {
                    from: addr("alice"),
                    to: addr("bob"),
                    asset: AssetId(0),
                    amount: 500,
                }),
            ],
        },
        Receipt {
            tx: txs[1].hash(),
            outcome: Outcome::Failed(CallError::InsufficientBalance {
                asset: AssetId(0),
                needed: 1,
                available: 0,
            }),
            fee: 10,
            events: vec![fee("sponsor")],
        },
        Receipt {
            tx: txs[2].hash(),
            outcome: Outcome::Success,
            fee: 10,
            events: vec![
                fee("alice"),
                Event::Paid(events::Paid {
                    payer: addr("alice"),
                    merchant: addr("cafe"),
                    asset: AssetId(0),
                    amount: 50_000,
                    tax: 4_545,
                    reference: "invoice 7".to_owned(),
                }),
                Event::TaxWithheld(events::TaxWithheld {
                    payer: addr("alice"),
                    merchant: addr("cafe"),
                    jurisdiction: "KR".to_owned(),
                    authority: addr("bob"),
                    asset: AssetId(0),
                    amount: 4_545,
                    period: 20_000,
                }),
                Event::InvoicePaid(events::InvoicePaid {
                    payer: addr("alice"),
                    merchant: addr("cafe"),
                    asset: AssetId(0),
                    amount: 50_000,
                    invoice_id: 7,
                }),
            ],
        },
    ];
    let header = Header {
        chain_id: CHAIN,
        height: 7,
        prev_hash: Hash([0x0b; 32]),
        time_ms: 1_700_000_000_000,
        proposer: addr("validator-0"),
        tx_root: merkle::root(&txs.iter().map(SignedTx::hash).collect::<Vec<_>>()),
        receipts_root: merkle::root(&receipts.iter().map(receipt_hash).collect::<Vec<_>>()),
        app_hash: Hash([0x0a; 32]),
        validators_hash: validators_hash(&validator_set()),
        next_validators_hash: validators_hash(&validator_set()),
    };
    let certificate = certify(&header, &validator_keys()[..3]);
    let block = CommittedBlock {
        block: Block { header, txs },
        certificate,
    };
    (block, receipts)
}

fn error_kind(e: &ProofError) -> String {
    let debug = format!("{e:?}");
    let outer = debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned();
    let inner = match e {
        ProofError::Certificate { source, .. } => Some(format!("{source:?}")),
        ProofError::SetChange { source, .. } => Some(format!("{source:?}")),
        ProofError::TxPath(p) | ProofError::ReceiptPath(p) => Some(format!("{p:?}")),
        ProofError::TxSignature(s) => Some(format!("{s:?}")),
        _ => None,
    };
    match inner {
        Some(i) => format!(
            "{outer}/{}",
            i.split([' ', '{', '(']).next().unwrap_or_default()
        ),
        None => outer,
    }
}

/// One way of tampering: the proof's bytes, the genesis it is checked against, and the
/// verdict.
fn tamper(name: &str, p: &TxProof, chain: Hash, set: &[ValidatorInfo]) -> Value {
    let bytes = p.encode();
    let decoded = TxProof::decode(&bytes).unwrap();
    let e = proof::verify(&decoded, &chain, set).unwrap_err();
    json!({
        "name": name,
        "proof_hex": hexs(&bytes),
        "chain_id": chain.to_string(),
        "validators": set_json(set),
        "error": error_kind(&e),
        "message": e.to_string(),
    })
}

fn set_json(set: &[ValidatorInfo]) -> Value {
    Value::Array(
        set.iter()
            .map(|v| json!({"key": v.key.to_string(), "power": v.power}))
            .collect(),
    )
}

fn badly_signed_proof() -> TxProof {
    let (good, _) = block();
    let mut tx = good.block.txs[0].clone();
    tx.body.nonce += 1; // no longer what alice signed
    let receipt = Receipt {
        tx: tx.hash(),
        outcome: Outcome::Success,
        fee: 10,
        events: vec![],
    };
    let header = Header {
        tx_root: merkle::root(&[tx.hash()]),
        receipts_root: merkle::root(&[receipt_hash(&receipt)]),
        ..good.block.header
    };
    let block = CommittedBlock {
        certificate: certify(&header, &validator_keys()),
        block: Block {
            header,
            txs: vec![tx],
        },
    };
    proof::build(&block, &[receipt], 0).unwrap()
}

/// The proof across a set change, verified from the genesis set, as the SDK checks it.
fn after_set_change_json() -> Value {
    let p = proof_after_set_change();
    let v = proof::verify(&p, &CHAIN, &validator_set()).unwrap();
    json!({
        "proof_hex": hexs(&p.encode()),
        "proof_sha256": jeon_runtime::crypto::sha256(&[&p.encode()]).to_string(),
        "verified": serde_json::to_value(&v).unwrap(),
        "succeeded": v.succeeded(),
    })
}

/// The keys of the set after the vectors' set change: validators 1–3 and a joiner.
fn changed_keys() -> Vec<Keypair> {
    validator_keys()
        .into_iter()
        .skip(1)
        .chain([key("joiner")])
        .collect()
}

/// The proof of the block's first transaction after a set change: the change header
/// at height 5, signed by three of the genesis four, names the set of validators 1–3
/// and a joiner (power 30), which signs block 7.
fn proof_after_set_change() -> TxProof {
    let (good, receipts) = block();
    let genesis = validator_set();
    let next: Vec<ValidatorInfo> = changed_keys()
        .iter()
        .enumerate()
        .map(|(i, k)| ValidatorInfo {
            key: k.address(),
            power: if i == 3 { 30 } else { genesis[i + 1].power },
        })
        .collect();
    let change_header = Header {
        height: 5,
        prev_hash: Hash([0x05; 32]),
        tx_root: merkle::root(&[]),
        receipts_root: merkle::root(&[]),
        next_validators_hash: validators_hash(&next),
        ..good.block.header.clone()
    };
    let header = Header {
        validators_hash: validators_hash(&next),
        next_validators_hash: validators_hash(&next),
        ..good.block.header.clone()
    };
    let block = CommittedBlock {
        certificate: certify(&header, &changed_keys()),
        block: Block {
            header,
            txs: good.block.txs.clone(),
        },
    };
    let mut p = proof::build(&block, &receipts, 0).unwrap();
    p.validator_changes.push(ValidatorSetChange {
        certificate: certify(&change_header, &validator_keys()[..3]),
        header: change_header,
        validators: next,
    });
    p
}

fn tampered(good: &[TxProof], receipts: &[Receipt]) -> Vec<Value> {
    let set = validator_set();
    let t = |name: &str, p: &TxProof| tamper(name, p, CHAIN, &set);
    let mut out = Vec::new();
    let mut p = good[0].clone();
    if let Call::Transfer(calls::Transfer { amount, .. }) = &mut p.tx.body.call {
        *amount += 1_000_000;
    }
    out.push(t("changed amount", &p));
    let mut p = good[0].clone();
    p.receipt.fee = 0;
    out.push(t("changed receipt", &p));
    let mut p = good[0].clone();
    p.certificate.signatures.pop();
    out.push(t("removed signature", &p));
    let mut p = good[0].clone();
    p.certificate.signatures[0] = precommit(&key("outsider"), CHAIN, &p.header);
    out.push(t("non-validator signature", &p));
    out.push(tamper(
        "proof for another chain",
        &good[0],
        Hash([0x99; 32]),
        &set,
    ));
    let changed = proof_after_set_change();
    let mut p = changed.clone();
    p.validator_changes[0].certificate.signatures[1].signature.0[3] ^= 1;
    out.push(t("tampered set-change certificate", &p));
    let mut p = changed.clone();
    p.validator_changes[0].certificate.signatures.truncate(2);
    out.push(t("set change signed by too few", &p));
    let mut p = changed.clone();
    p.validator_changes[0].validators[3].power += 1;
    out.push(t("set change carrying another set", &p));
    let mut p = changed.clone();
    p.validator_changes[0].header.validators_hash = Hash([0x0d; 32]);
    out.push(t("set change naming another signing set", &p));
    let mut p = changed.clone();
    p.validator_changes.push(p.validator_changes[0].clone());
    out.push(t("set change not above the previous", &p));
    let mut p = changed.clone();
    p.validator_changes.clear();
    out.push(t("set change left out", &p));
    let mut p = changed;
    p.validator_changes[0].header.chain_id = Hash([0x99; 32]);
    out.push(t("set change of another chain", &p));
    let mut others = set.clone();
    others[0].power += 1;
    out.push(tamper("another validator set", &good[0], CHAIN, &others));
    let mut p = good[0].clone();
    p.receipt = receipts[1].clone();
    out.push(t("receipt of another transaction", &p));
    let mut p = good[2].clone();
    p.receipt_path.insert(0, None);
    out.push(t("paths of different shapes", &p));
    let mut p = good[2].clone();
    p.tx_path.push(None);
    out.push(t("lone top node", &p));
    let mut p = good[2].clone();
    p.index = 3;
    out.push(t("lone right node", &p));
    let mut p = good[0].clone();
    p.index = 4;
    out.push(t("index beyond the path", &p));
    let mut p = good[0].clone();
    p.tx_path = vec![Some(Hash([5; 32])); 33];
    p.receipt_path = p.tx_path.clone();
    out.push(t("path too long", &p));
    let mut p = good[0].clone();
    p.certificate.height = 8;
    out.push(t("certificate for another height", &p));
    let mut p = good[0].clone();
    p.certificate.block = Hash([0x0c; 32]);
    out.push(t("certificate for another block", &p));
    let mut p = good[0].clone();
    p.header.time_ms += 1;
    out.push(t("changed header", &p));
    let mut p = good[0].clone();
    p.certificate.signatures[1] = p.certificate.signatures[0].clone();
    out.push(t("duplicate signer", &p));
    let mut p = good[0].clone();
    p.certificate.signatures[2].signature.0[0] ^= 1;
    out.push(t("forged signature", &p));
    out.push(t("badly signed transaction", &badly_signed_proof()));
    out
}

/// Bytes that are not a proof at all: the decoder refuses them.
fn undecodable(good: &TxProof) -> Vec<Value> {
    let bytes = good.encode();
    let mut trailing = bytes.clone();
    trailing.push(0);
    let mut bad_tag = bytes.clone();
    bad_tag[32 * 2 + 8 * 3] = 0x63; // the call's tag: 99 is no call
    let cases = [
        ("truncated", bytes[..bytes.len() - 1].to_vec()),
        ("trailing byte", trailing),
        ("unknown call tag", bad_tag),
        ("empty", Vec::new()),
    ];
    cases
        .iter()
        .map(|(name, b)| {
            let e = TxProof::decode(b).unwrap_err();
            let kind = format!("{e:?}");
            let kind = kind
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned();
            json!({"name": name, "proof_hex": hexs(b), "error": format!("Decode/{kind}")})
        })
        .collect()
}

fn proofs_vectors() -> Value {
    let (committed, receipts) = block();
    let good: Vec<TxProof> = (0..3)
        .map(|i| proof::build(&committed, &receipts, i).unwrap())
        .collect();
    let set = validator_set();
    let good_json: Vec<Value> = good
        .iter()
        .map(|p| {
            let v = proof::verify(p, &CHAIN, &set).unwrap();
            json!({
                "proof_hex": hexs(&p.encode()),
                "proof_sha256": jeon_runtime::crypto::sha256(&[&p.encode()]).to_string(),
                "verified": serde_json::to_value(&v).unwrap(),
                "succeeded": v.succeeded(),
                "failure": v.failure(),
            })
        })
        .collect();
    json!({
        "chain_id": CHAIN.to_string(),
        "validators": set_json(&set),
        "validators_hash": validators_hash(&set).to_string(),
        "block_hash": committed.block.header.hash().to_string(),
        "good": good_json,
        "after_set_change": after_set_change_json(),
        "tampered": tampered(&good, &receipts),
        "undecodable": undecodable(&good[0]),
    })
}

// ------------------------------------------------------------------ signature rule

/// The 8 canonical and 6 non-canonical encodings of small-order points (ZIP-215's list,
/// as in tests/it/signatures.rs).
const SMALL_ORDER: [&str; 14] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

/// ed25519-speccheck's cases ("Taming the many EdDSAs"): message, key, signature.
const SPECCHECK: [(&str, &str, &str); 12] = [
    ("8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000"),
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"),
    ("aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e"),
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79", "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d", "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009"),
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c", "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d", "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09"),
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c", "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d", "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405"),
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40", "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623", "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514"),
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40", "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623", "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22"),
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f"),
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908"),
    ("e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"),
    ("39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"),
];

fn signature_case(message: &[u8], key: [u8; 32], sig: [u8; 64]) -> Value {
    let verdict = match jeon_runtime::crypto::verify(&Address(key), message, &Signature(sig)) {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("{e:?}"),
    };
    json!({
        "message": hexs(message),
        "key": hexs(&key),
        "signature": hexs(&sig),
        "verdict": verdict,
    })
}

fn signatures_vectors() -> Value {
    let h = |s: &str| hex::decode(s).unwrap();
    let mut cases = Vec::new();
    for a in SMALL_ORDER {
        for r in SMALL_ORDER {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&h(r));
            cases.push(signature_case(b"Zcash", h(a).try_into().unwrap(), sig));
        }
    }
    for (m, a, s) in SPECCHECK {
        cases.push(signature_case(
            &h(m),
            h(a).try_into().unwrap(),
            h(s).try_into().unwrap(),
        ));
    }
    // A key that is not a curve point (y = 2 has no x): BadPublicKey, whatever the rest.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    let alice = key("alice");
    cases.push(signature_case(
        b"hello",
        not_a_point,
        alice.sign(b"hello").0,
    ));
    cases.push(signature_case(
        b"hello",
        alice.address().0,
        alice.sign(b"hello").0,
    ));
    cases.push(signature_case(
        b"hellO",
        alice.address().0,
        alice.sign(b"hello").0,
    ));
    json!({ "rule": "ZIP-215 (docs/encoding.md, signature validation rule)", "cases": cases })
}

// ------------------------------------------------------------------ every variant

/// Every `Event`, `CallError`, `TxError` and `Call` variant: samples written by
/// `sdk/ts/scripts/variant-samples.ts` from the SDK's schemas (a field the Rust type
/// does not have, or lacks, fails here), encoded by the Rust code.
fn variants_vectors() -> Value {
    let path = vectors_dir().join("variants.input.json");
    let input: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let receipts: Vec<Value> = input["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let r: Receipt = serde_json::from_value(j.clone()).unwrap();
            assert_eq!(serde_json::to_value(&r).unwrap(), *j, "receipt round trip");
            json!({"json": j, "hex": hexs(&jeon_runtime::codec::encode(&r))})
        })
        .collect();
    let calls: Vec<Value> = input["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let c: Call = serde_json::from_value(j.clone()).unwrap();
            assert_eq!(serde_json::to_value(&c).unwrap(), *j, "call round trip");
            json!({"json": j, "hex": hexs(&jeon_runtime::codec::encode(&c)), "summary": c.summary()})
        })
        .collect();
    json!({"receipts": receipts, "calls": calls, "proposals": proposal_vectors()})
}

/// A `Propose` of every governance `Change` (and both votes), as a wallet or a
/// validator's tool builds them: JSON, bytes and summary.
fn proposal_vectors() -> Vec<Value> {
    use jeon_runtime::economy::Jurisdiction;
    use jeon_runtime::fees::{FeeMarket, FeeTier};
    use jeon_runtime::governance::Change;
    use jeon_runtime::Role;
    let tiers = vec![
        FeeTier {
            min_txs: 100,
            fee_bps: 9_000,
        },
        FeeTier {
            min_txs: 1_000,
            fee_bps: 5_000,
        },
    ];
    let changes = vec![
        Change::AddValidator {
            name: "dalbit-cafe".into(),
            key: addr("cafe"),
            peer_id: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
            power: 10,
        },
        Change::RemoveValidator { key: addr("bank") },
        Change::SetValidatorPower {
            key: addr("bank"),
            power: 20,
        },
        Change::AddPartner {
            name: "Ttukttak Games".into(),
            account: addr("games"),
            roles: vec![Role::Issuer, Role::Merchant],
            jurisdiction: "KR".into(),
        },
        Change::RemovePartner {
            account: addr("games"),
        },
        Change::SetPartnerRoles {
            account: addr("games"),
            roles: vec![Role::Lender],
        },
        Change::SetJurisdiction(Jurisdiction {
            code: "KR".into(),
            tax_bps: 900,
            authority: addr("nts"),
        }),
        Change::SetFeeMarket(Some(FeeMarket {
            base_fee_min: 1,
            base_fee_max: 1_000,
            target_txs_per_block: 500,
            change_denominator: 8,
            volume_window_blocks: 86_400,
            tiers: tiers.clone(),
        })),
        Change::SetFeeMarket(None),
        Change::SetVolumeTiers(tiers),
        Change::SetRedemptionWindow { blocks: 5_000 },
    ];
    let mut calls: Vec<Call> = changes
        .into_iter()
        .map(|change| {
            Call::Propose(jeon_runtime::governance::Propose {
                change,
                deadline: 1_200,
                activation: 1_300,
            })
        })
        .collect();
    calls.push(Call::Vote(jeon_runtime::governance::Vote {
        proposal: 3,
        yes: true,
    }));
    calls.push(Call::Vote(jeon_runtime::governance::Vote {
        proposal: 4,
        yes: false,
    }));
    calls
        .iter()
        .map(|c| {
            json!({
                "json": serde_json::to_value(c).unwrap(),
                "hex": hexs(&jeon_runtime::codec::encode(c)),
                "summary": c.summary(),
            })
        })
        .collect()
}

#[test]
fn keys_and_addresses_match_the_committed_vectors() {
    check_or_bless("keys.json", &keys_vectors());
}

#[test]
fn transactions_match_the_committed_vectors_byte_for_byte() {
    let v = txs_vectors();
    // The first case is the worked example of docs/encoding.md §9.
    assert_eq!(
        v["txs"][0]["tx_hash"],
        "1c1cc7c641194698ebd835d68e25874a6716f643932ed201646a184ddbc73969"
    );
    check_or_bless("txs.json", &v);
}

#[test]
fn sealed_memos_and_their_verdicts_match_the_committed_vectors() {
    let v = memos_vectors();
    // The first vector is the one runtime/src/memo.rs pins.
    assert_eq!(
        v["sealed"][0]["sealed_hex"],
        "0113be4feaeaf204c7fd3358fc9c00721881d174278128227ec674f37f7fe97b6d\
         0da10c588cd24adf8ec23bcf20f31c0d72a134b48d3866"
    );
    let verdicts: std::collections::BTreeSet<String> = v["opens"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["verdict"]["error"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        verdicts.len(),
        3,
        "NotSealed, TooLong, Undecryptable: {verdicts:?}"
    );
    check_or_bless("memos.json", &v);
}

#[test]
fn payment_links_match_the_committed_vectors() {
    check_or_bless("links.json", &links_vectors());
}

#[test]
fn proofs_and_every_tamper_verdict_match_the_committed_vectors() {
    let v = proofs_vectors();
    let tampered = v["tampered"].as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> = tampered
        .iter()
        .map(|t| t["error"].as_str().unwrap())
        .collect();
    // "changed header" and "certificate for another block" share WrongBlock; a tampered
    // and a too-weak set-change certificate share SetChange/Certificate; a set change
    // left out and another validator set share ValidatorSetMismatch.
    assert_eq!(kinds.len(), tampered.len() - 3, "{kinds:?}");
    check_or_bless("proofs.json", &v);
}

#[test]
fn signature_verdicts_under_zip215_match_the_committed_vectors() {
    let v = signatures_vectors();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.iter().any(|c| c["verdict"] == "BadPublicKey"));
    assert!(cases.iter().any(|c| c["verdict"] == "BadSignature"));
    check_or_bless("signatures.json", &v);
}

/// `TransferEntitlement` -> `transfer_entitlement`: a variant's JSON tag.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The JSON tags of externally tagged values (`{"transfer": {...}}`).
fn tags<'a>(values: impl Iterator<Item = &'a Value>) -> std::collections::BTreeSet<String> {
    values
        .filter_map(|v| v.as_object()?.keys().next().cloned())
        .collect()
}

#[test]
fn every_event_error_and_call_variant_matches_the_committed_vectors() {
    let v = variants_vectors();
    // The samples come from the SDK's schemas: a call or event the Rust enum has and
    // the schemas lack (or the reverse) is a gap in the SDK, whatever the count.
    let want_calls: std::collections::BTreeSet<String> =
        Call::KINDS.iter().map(|k| snake_case(k)).collect();
    let calls = v["calls"].as_array().unwrap();
    let got_calls = tags(calls.iter().map(|c| &c["json"]));
    assert_eq!(
        got_calls, want_calls,
        "the SDK's call samples (sdk/ts/src/schemas.ts) and Rust's Call::KINDS differ"
    );
    assert_eq!(calls.len(), Call::KINDS.len(), "one sample per call");
    let want_events: std::collections::BTreeSet<String> =
        Event::KINDS.iter().map(|k| snake_case(k)).collect();
    let receipts = v["receipts"].as_array().unwrap();
    let got_events = tags(
        receipts
            .iter()
            .filter_map(|r| r["json"]["events"].as_array())
            .flatten(),
    );
    assert_eq!(
        got_events, want_events,
        "the SDK's event samples (sdk/ts/src/schemas.ts) and Rust's Event::KINDS differ"
    );
    check_or_bless("variants.json", &v);
}

#[test]
fn a_call_kind_is_its_variant_and_its_json_tag() {
    let call = Call::Transfer(calls::Transfer {
        to: addr("bob"),
        asset: AssetId(0),
        amount: 1,
    });
    assert_eq!(call.kind(), "Transfer");
    assert_eq!(Call::KINDS.first(), Some(&"Transfer"));
    let json = serde_json::to_value(&call).unwrap();
    assert!(json.get(snake_case(call.kind())).is_some(), "{json}");
    assert_eq!(snake_case("TransferEntitlement"), "transfer_entitlement");
}
