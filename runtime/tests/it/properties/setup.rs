//! Set-up blocks and genesis-like amendments that give random calls live records.

use super::*;
use jeon_runtime::calls;

/// Writes records into the committed state the way genesis writes them (for what no
/// call sets up: a partner's roles, a fee market) and checks the invariants.
pub(super) fn amend(c: &mut Consortium, write: impl FnOnce(&mut Overlay<'_, MemoryState>)) {
    let mut ov = Overlay::new(&c.state);
    write(&mut ov);
    let (changes, app_hash) = ov.finish().expect("memory");
    c.state.apply(&changes);
    check_invariants(&c.state, app_hash);
}

/// Installs a fee market, as genesis would (it must accept the flat fee as the first
/// base fee).
pub(super) fn install_fee_market(c: &mut Consortium, market: &FeeMarket) {
    let block_txs_max = c.state.params().expect("params").block_txs_max;
    assert_eq!(
        market.check(FEE, block_txs_max),
        Ok(()),
        "a test market genesis accepts"
    );
    amend(c, |ov| {
        ov.put(jeon_runtime::economy::fees::storage::fee_market(), market)
            .expect("write")
    });
}

/// GEM: created by the telco in the set-up block, with a small issuance limit.
pub(super) const GEM: AssetId = AssetId(3);
pub(super) const GEM_SUPPLY_MAX: Amount = 60;

/// Set-up blocks that give random calls live records to act on: GEM (capped), an
/// active PTS -> STAMP agreement and a proposed STAMP -> PTS one, PTS stamps that
/// redeem for GEM, and reward rules at the shop and the telco (PTS cashback; STAMP
/// stamps, whose supply is near u64::MAX; GEM stamps, whose limit is low); then the
/// records of the newer calls ([`credit_mandate_and_sponsor_setup`]).
pub(super) fn economy_setup(c: &mut Consortium) {
    let (shop, telco) = (c.shop.address(), c.telco.address());
    let create = sign(
        &c.telco,
        0,
        Call::CreateAsset(calls::CreateAsset {
            symbol: "GEM".into(),
            decimals: 0,
            kind: AssetKind::Credit,
            supply_max: Some(GEM_SUPPLY_MAX),
        }),
    );
    let propose = |from, to| {
        Call::ProposeExchange(calls::ProposeExchange {
            from_asset: from,
            to_asset: to,
            rate_num: 3,
            rate_den: 2,
            spread_bps: 250,
            daily_cap: 20_000,
            settlement_asset: KRW,
            settlement_price: 2,
        })
    };
    let pts_to_stamp = sign(&c.telco, 1, propose(PTS, STAMP));
    let stamp_to_pts = sign(&c.bank, 0, propose(STAMP, PTS));
    let txs = [create, pts_to_stamp, stamp_to_pts].map(verified);
    assert!(c.run(&txs).iter().all(Receipt::is_success));
    let rule = |kind, merchants: Vec<Address>, cap| {
        Call::AddRewardRule(calls::AddRewardRule {
            merchants,
            pay_asset: KRW,
            kind,
            cap_per_user_per_period: cap,
            period_ms: 3_000,
        })
    };
    let telco_nonce = c.state.nonce(&telco).expect("nonce");
    let bank_nonce = c.state.nonce(&c.bank.address()).expect("nonce");
    let calls = [
        (
            &c.bank,
            bank_nonce,
            Call::AcceptExchange(calls::AcceptExchange { id: 0 }),
        ),
        (
            &c.telco,
            telco_nonce,
            Call::SetStampReward(calls::SetStampReward {
                stamp_asset: PTS,
                stamps: 10,
                reward_asset: GEM,
                reward_amount: 1,
            }),
        ),
        (
            &c.telco,
            telco_nonce + 1,
            rule(
                RewardKind::Cashback {
                    rate_bps: 500,
                    asset: PTS,
                },
                vec![shop],
                200,
            ),
        ),
        (
            &c.bank,
            bank_nonce + 1,
            rule(
                RewardKind::Stamps {
                    per_payment: 1,
                    asset: STAMP,
                },
                vec![shop, telco],
                2,
            ),
        ),
        (
            &c.telco,
            telco_nonce + 2,
            rule(
                RewardKind::Stamps {
                    per_payment: 7,
                    asset: GEM,
                },
                vec![shop],
                50,
            ),
        ),
    ];
    let txs: Vec<VerifiedTx> = calls
        .into_iter()
        .map(|(key, nonce, call)| verified(sign(key, nonce, call)))
        .collect();
    let receipts = c.run(&txs);
    assert!(receipts.iter().all(Receipt::is_success), "{receipts:#?}");
    credit_mandate_and_sponsor_setup(c);
}

/// Set-up for the newer calls: the bank becomes a lender (no call grants a role);
/// users 0-2 redeem a point each (5 score points: each may then borrow 500 000); the
/// partners sponsor their customers, the telco user 0 and the bank the user without
/// KRW, on budgets of one or two fees per period; then the bank opens a line
/// for user 0 and user 1 grants the shop a mandate.
pub(super) fn credit_mandate_and_sponsor_setup(c: &mut Consortium) {
    let bank = c.bank.address();
    let mut partner = c.state.partner(&bank).expect("read").expect("a partner");
    partner.roles.push(Role::Lender);
    amend(c, |ov| {
        ov.put(keys::partner(&bank), &partner).expect("write")
    });
    let shop = c.shop.address();
    let users: Vec<Address> = c.users.iter().map(Keypair::address).collect();
    let redeem = Call::Redeem(calls::Redeem {
        asset: PTS,
        amount: 1,
        kind: RedeemKind::Goods { merchant: shop },
    });
    let sponsor = |beneficiary, budget_per_period, period_ms| {
        Call::SponsorFees(calls::SponsorFees {
            beneficiary,
            asset: KRW,
            budget_per_period,
            period_ms,
        })
    };
    let txs = [
        c.tx(&c.users[0], redeem.clone()),
        c.tx(&c.users[1], redeem.clone()),
        c.tx(&c.users[2], redeem),
        c.tx(&c.shop, sponsor(Beneficiary::AllCustomers, 3, 3_000)),
        c.tx(&c.telco, sponsor(Beneficiary::Account(users[0]), 2, 2_000)),
        verified(sign(
            &c.telco,
            c.state.nonce(&c.telco.address()).expect("nonce") + 1,
            sponsor(Beneficiary::AllCustomers, 4, 1_000),
        )),
        c.tx(
            &c.bank,
            sponsor(Beneficiary::Account(users[USERS - 1]), 4, 1_000),
        ),
        verified(sign(
            &c.bank,
            c.state.nonce(&c.bank.address()).expect("nonce") + 1,
            sponsor(Beneficiary::AllCustomers, 2, 2_000),
        )),
    ];
    let receipts = c.run(&txs);
    assert!(receipts.iter().all(Receipt::is_success), "{receipts:#?}");
    let open = Call::OpenCreditLine(calls::OpenCreditLine {
        borrower: users[0],
        asset: KRW,
        limit: 50_000,
        due_period_blocks: 4,
    });
    let grant = Call::GrantMandate(calls::GrantMandate {
        spender: shop,
        asset: KRW,
        limit_per_period: 500,
        period_ms: 3_000,
        expires_at: c.height + 30,
    });
    let txs = [c.tx(&c.bank, open), c.tx(&c.users[1], grant)];
    let receipts = c.run(&txs);
    assert!(receipts.iter().all(Receipt::is_success), "{receipts:#?}");
}

/// Signs one block's steps in order: `draft` names each step's sender (an index into
/// `c.senders()`) and its call; each sender's nonces count on from the committed state.
pub(super) fn sign_in_order<T>(
    c: &Consortium,
    steps: &[T],
    mut draft: impl FnMut(&T) -> (usize, Call),
) -> Vec<VerifiedTx> {
    let senders = c.senders();
    let mut nonces: BTreeMap<Address, u64> = BTreeMap::new();
    steps
        .iter()
        .map(|step| {
            let (sender, call) = draft(step);
            let key = senders[sender];
            let who = key.address();
            let nonce = nonces
                .entry(who)
                .or_insert_with(|| c.state.nonce(&who).expect("nonce"));
            let tx = verified(sign(key, *nonce, call));
            *nonce += 1;
            tx
        })
        .collect()
}
