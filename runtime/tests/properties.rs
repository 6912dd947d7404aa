//! Properties of execution over random blocks of transfers, mints, burns and asset
//! creations: supply is conserved, a failed call changes only the fee and the nonce,
//! an invalid transaction changes nothing, and the app hash is a function of the
//! final state alone.

mod support;

use jeon_runtime::execute::execute_block;
use jeon_runtime::state::keys;
use jeon_runtime::{
    Address, Amount, AssetId, AssetKind, Call, Keypair, MemoryState, Outcome, StateExt, TxBody,
    VerifiedTx,
};
use proptest::prelude::*;
use support::*;

/// Assets a random call may name: the genesis ones, the id the next created asset
/// gets, and one that never exists.
const ASSETS: [AssetId; 5] = [KRW, PTS, STAMP, AssetId(3), UNKNOWN];
/// Symbols a random `CreateAsset` may ask for: new, taken and invalid ones.
const SYMBOLS: [&str; 6] = ["GEM", "NEW2", "KRW", "STAMP", "bad", ""];

#[derive(Clone, Debug)]
enum Op {
    Transfer {
        to: usize,
        asset: usize,
        amount: Amount,
    },
    Mint {
        to: usize,
        asset: usize,
        amount: Amount,
    },
    Burn {
        asset: usize,
        amount: Amount,
    },
    Create {
        symbol: usize,
        decimals: u8,
    },
}

#[derive(Clone, Copy, Debug)]
enum NonceChoice {
    Next,
    Stale,
    Future,
}

#[derive(Clone, Debug)]
struct Step {
    from: usize,
    op: Op,
    nonce: NonceChoice,
    fee_too_low: bool,
    expired: bool,
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        1 => Just(0u64),
        4 => 1..100u64,
        3 => 1..2_000_000u64,
        2 => (u64::MAX - 20)..=u64::MAX,
        1 => any::<u64>(),
    ]
}

/// Recipients: every sender, the fee collector, and an account that holds nothing.
const RECIPIENTS: usize = 3 + USERS + 2;

fn asset() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(0), 4 => Just(1), 2 => Just(2), 1 => Just(3), 1 => Just(4)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..RECIPIENTS, asset(), amount())
            .prop_map(|(to, asset, amount)| Op::Transfer { to, asset, amount }),
        2 => (0..RECIPIENTS, asset(), amount())
            .prop_map(|(to, asset, amount)| Op::Mint { to, asset, amount }),
        2 => (asset(), amount()).prop_map(|(asset, amount)| Op::Burn { asset, amount }),
        1 => (0..SYMBOLS.len(), 0..=20u8)
            .prop_map(|(symbol, decimals)| Op::Create { symbol, decimals }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let nonce = prop_oneof![
        18 => Just(NonceChoice::Next),
        1 => Just(NonceChoice::Stale),
        1 => Just(NonceChoice::Future),
    ];
    (
        0..3 + USERS,
        op(),
        nonce,
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(from, op, nonce, fee_too_low, expired)| Step {
            from,
            op,
            nonce,
            fee_too_low,
            expired,
        })
}

fn blocks() -> impl Strategy<Value = Vec<Vec<Step>>> {
    prop::collection::vec(prop::collection::vec(step(), 0..12), 1..6)
}

fn recipient(c: &Consortium, i: usize) -> Address {
    let senders = c.senders();
    match i.checked_sub(senders.len()) {
        None => senders[i].address(),
        Some(0) => c.collector,
        Some(_) => Keypair::from_seed_label("stranger").address(),
    }
}

fn call(c: &Consortium, op: &Op) -> Call {
    match *op {
        Op::Transfer { to, asset, amount } => transfer(&recipient(c, to), ASSETS[asset], amount),
        Op::Mint { to, asset, amount } => Call::Mint {
            asset: ASSETS[asset],
            to: recipient(c, to),
            amount,
        },
        Op::Burn { asset, amount } => Call::Burn {
            asset: ASSETS[asset],
            amount,
        },
        Op::Create { symbol, decimals } => Call::CreateAsset {
            symbol: SYMBOLS[symbol].into(),
            decimals,
            kind: AssetKind::Credit,
        },
    }
}

/// Signs a block's steps; `next` tracks the nonce each sender will have if all its
/// transactions so far are valid (an invalid one desynchronises it, which only
/// produces more invalid transactions: also worth testing).
fn sign_block(c: &Consortium, steps: &[Step]) -> Vec<VerifiedTx> {
    let senders = c.senders();
    let mut next: Vec<u64> = senders
        .iter()
        .map(|k| c.state.nonce(&k.address()).expect("nonce"))
        .collect();
    let height = c.height + 1;
    steps
        .iter()
        .map(|s| {
            let key = senders[s.from];
            let n = &mut next[s.from];
            let nonce = match s.nonce {
                NonceChoice::Stale if *n > 0 => *n - 1,
                NonceChoice::Future => *n + 1,
                _ => {
                    *n += 1;
                    *n - 1
                }
            };
            let body = TxBody {
                chain_id: CHAIN,
                sender: key.address(),
                nonce,
                fee_limit: if s.fee_too_low { FEE - 1 } else { FEE },
                expiry: if s.expired { height - 1 } else { FAR_EXPIRY },
                call: call(c, &s.op),
            };
            // Signatures are tested elsewhere; execution takes verified transactions.
            VerifiedTx::new_unchecked(body.sign(key))
        })
        .collect()
}

/// Runs each transaction of a block alone, as its own block, from the state the
/// previous ones left, and checks what each may change. Returns the final state.
fn replay_one_by_one(c: &Consortium, pre: &MemoryState, block: &[VerifiedTx]) -> MemoryState {
    let ctx = c.next_ctx();
    let whole = execute_block(pre, &ctx, block).expect("memory");
    let mut state = pre.clone();
    for (tx, in_block) in block.iter().zip(&whole.receipts) {
        let out = execute_block(&state, &ctx, std::slice::from_ref(tx)).expect("memory");
        // The collector never sends, so crediting fees per block instead of at the end
        // of the whole block changes no outcome.
        assert_eq!(
            &out.receipts[0], in_block,
            "same receipt alone as in the block"
        );
        let mut after = state.clone();
        after.apply(&out.changes);
        assert_eq!(after.app_hash().expect("hash"), out.app_hash);
        match &in_block.outcome {
            Outcome::Invalid(e) => assert_eq!(after, state, "invalid ({e}) changed state"),
            Outcome::Failed(_) => only_fee_and_nonce_changed(c, &state, &after, tx.body()),
            Outcome::Success => {}
        }
        state = after;
    }
    state
}

fn only_fee_and_nonce_changed(
    c: &Consortium,
    before: &MemoryState,
    after: &MemoryState,
    body: &TxBody,
) {
    let who = body.sender;
    let mut expected_keys = vec![
        keys::nonce(&who),
        keys::balance(&who, KRW),
        keys::balance(&c.collector, KRW),
    ];
    expected_keys.sort();
    let changed: Vec<Vec<u8>> = diff(before, after).into_keys().collect();
    assert_eq!(
        changed, expected_keys,
        "a failed call changed more than fee and nonce"
    );
    let read = |s: &MemoryState| {
        (
            s.nonce(&who).expect("nonce"),
            s.balance(&who, KRW).expect("balance"),
            s.balance(&c.collector, KRW).expect("balance"),
        )
    };
    let (nonce, paid, collected) = read(before);
    assert_eq!(read(after), (nonce + 1, paid - FEE, collected + FEE));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_blocks_conserve_supply_and_failed_calls_change_only_fee_and_nonce(
        blocks in blocks()
    ) {
        let mut c = Consortium::new();
        for steps in &blocks {
            let txs = sign_block(&c, steps);
            let pre = c.state.clone();
            // Commits and checks: app hash announced == recomputed == from scratch,
            // and every supply equals the sum of its balances.
            c.run(&txs);
            let one_by_one = replay_one_by_one(&c, &pre, &txs);
            prop_assert_eq!(&one_by_one, &c.state, "one tx per block reaches the same state");
        }
    }

    #[test]
    fn independent_transfers_in_any_order_or_split_give_the_same_app_hash(
        (ordered, shuffled, split) in independent_transfers()
    ) {
        let run = |blocks: &[&[(usize, usize, Amount)]]| {
            let mut c = Consortium::new();
            for block in blocks {
                let txs: Vec<VerifiedTx> = block
                    .iter()
                    .map(|&(from, to, amount)| {
                        let to = recipient(&c, to);
                        c.tx(c.senders()[from], transfer(&to, KRW, amount))
                    })
                    .collect();
                prop_assert!(c.run(&txs).iter().all(|r| r.is_success()));
            }
            let hash = c.state.app_hash().expect("hash");
            prop_assert_eq!(hash, app_hash_from_scratch(&c.state));
            Ok((c.state, hash))
        };
        let (a, hash_a) = run(&[&ordered])?;
        let (b, hash_b) = run(&[&shuffled])?;
        let (first, second) = shuffled.split_at(split.min(shuffled.len()));
        let (s, hash_s) = run(&[first, second])?;
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &s);
        prop_assert_eq!(hash_a, hash_b);
        prop_assert_eq!(hash_a, hash_s);
    }
}

/// Transfers of KRW from distinct funded senders, small enough that every one succeeds
/// whatever the order: the list, a permutation of it, and a point to split it at.
#[allow(clippy::type_complexity)]
fn independent_transfers() -> impl Strategy<
    Value = (
        Vec<(usize, usize, Amount)>,
        Vec<(usize, usize, Amount)>,
        usize,
    ),
> {
    // Every partner and every user but the last (who holds no KRW).
    let funded: Vec<usize> = (0..3 + USERS - 1).collect();
    let len = funded.len();
    prop::sample::subsequence(funded, 1..=len)
        .prop_flat_map(|from| {
            let n = from.len();
            (
                Just(from),
                prop::collection::vec((0..RECIPIENTS, 1..=1_000u64), n),
            )
        })
        .prop_map(|(from, rest)| {
            from.into_iter()
                .zip(rest)
                .map(|(f, (to, amount))| (f, to, amount))
                .collect::<Vec<_>>()
        })
        .prop_flat_map(|v| {
            let n = v.len();
            (Just(v.clone()), Just(v).prop_shuffle(), 0..=n)
        })
}
