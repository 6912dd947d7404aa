//! Sponsors' budgets: the errands of walk-in customers, and a model of every
//! sponsorship that the sponsor's payments must stay within.

use super::*;
use jeon_runtime::{calls, events};

/// The partners that sponsor in the budget test: the shop (paid by its customers)
/// and the telco (the issuer of the points users redeem). The bank, third, never
/// sponsors: a transaction naming it is not sponsored.
pub(super) fn budget_partners(c: &Consortium) -> [&Keypair; 3] {
    [&c.shop, &c.telco, &c.bank]
}
/// The partners of [`budget_partners`] that make offers.
pub(super) const SPONSORS: usize = 2;
/// The users of the budget test: the consortium's four, then walk-ins who hold
/// nothing, whose transactions only a sponsor or a co-signer can pay for.
pub(super) const BUDGET_USERS: usize = 8;

/// The walk-in users of the budget test.
pub(super) fn walk_ins() -> Vec<Keypair> {
    (USERS..BUDGET_USERS)
        .map(|i| Keypair::from_seed_label(&format!("walk-in-{i}")))
        .collect()
}

/// A sponsor's offer: whose fees (`None`: all its customers; `Some(u)`: user `u`'s),
/// a budget per period (0 withdraws it) and a period, mostly shorter than a few blocks.
#[derive(Clone, Debug)]
pub(super) struct Offer {
    pub(super) sponsor: usize,
    pub(super) user: Option<usize>,
    pub(super) budget: Amount,
    pub(super) period_ms: u64,
}

/// What a user does in a transaction a sponsor may pay for.
#[derive(Clone, Debug)]
pub(super) enum Errand {
    /// Pays the shop: addressed to the shop.
    PayShop(Amount),
    /// Sends KRW to a sponsor: addressed to it.
    TransferToSponsor(usize, Amount),
    /// Sends KRW to a user: addressed to no sponsor.
    TransferToUser(usize, Amount),
    /// Redeems points at the shop: addressed to the telco, their issuer.
    RedeemPoints(Amount),
    /// Mints KRW, which only the bank may: always fails.
    Mint,
}

/// Who pays an errand's fee: the user, a partner co-signing, or a partner as sponsor
/// (indices into [`budget_partners`]; `None`: the partner the errand is addressed to,
/// the shop if none).
#[derive(Clone, Copy, Debug)]
pub(super) enum Funding {
    Own,
    CoSigned(usize),
    Sponsored(Option<usize>),
}

#[derive(Clone, Debug)]
pub(super) enum BudgetStep {
    Offer(Offer),
    Errand {
        user: usize,
        funding: Funding,
        errand: Errand,
    },
}

/// Offers with budgets of at least `budget_min` (0 withdraws): a fee to a few.
pub(super) fn offer(budget_min: Amount) -> impl Strategy<Value = Offer> {
    (
        0..SPONSORS,
        prop::option::of(0..BUDGET_USERS),
        prop_oneof![1 => Just(0u64), 8 => 1..12u64].prop_map(move |b| b.max(budget_min)),
        prop::sample::select(vec![500u64, 1_000, 1_500, 2_000, 3_000, 7_000]),
    )
        .prop_map(|(sponsor, user, budget, period_ms)| Offer {
            sponsor,
            user,
            budget,
            period_ms,
        })
}

pub(super) fn budget_step() -> impl Strategy<Value = BudgetStep> {
    let errand = prop_oneof![
        3 => (1..2_000u64).prop_map(Errand::PayShop),
        2 => (0..SPONSORS, 1..1_000u64).prop_map(|(s, a)| Errand::TransferToSponsor(s, a)),
        2 => (0..BUDGET_USERS, 1..1_000u64).prop_map(|(u, a)| Errand::TransferToUser(u, a)),
        1 => (1..20u64).prop_map(Errand::RedeemPoints),
        1 => Just(Errand::Mint),
    ];
    let funding = prop_oneof![
        6 => prop_oneof![4 => Just(None), 3 => (0..3usize).prop_map(Some)]
            .prop_map(Funding::Sponsored),
        1 => (0..3usize).prop_map(Funding::CoSigned),
        1 => Just(Funding::Own),
    ];
    prop_oneof![
        1 => offer(0).prop_map(BudgetStep::Offer),
        6 => (0..BUDGET_USERS, funding, errand)
            .prop_map(|(user, funding, errand)| BudgetStep::Errand { user, funding, errand }),
    ]
}

/// The index in [`budget_partners`] of the partner an errand is addressed to; the shop
/// for an errand addressed to none.
pub(super) fn addressed_partner(errand: &Errand) -> usize {
    match errand {
        Errand::TransferToSponsor(s, _) => *s,
        Errand::RedeemPoints(_) => 1,
        Errand::PayShop(_) | Errand::TransferToUser(..) | Errand::Mint => 0,
    }
}

pub(super) fn errand_call(c: &Consortium, users: &[&Keypair], errand: &Errand) -> Call {
    match *errand {
        Errand::PayShop(amount) => Call::Pay(calls::Pay {
            merchant: c.shop.address(),
            asset: KRW,
            amount,
            reference: "coffee".into(),
        }),
        Errand::TransferToSponsor(s, amount) => {
            transfer(&budget_partners(c)[s].address(), KRW, amount)
        }
        Errand::TransferToUser(u, amount) => transfer(&users[u].address(), KRW, amount),
        Errand::RedeemPoints(amount) => Call::Redeem(calls::Redeem {
            asset: PTS,
            amount,
            kind: RedeemKind::Goods {
                merchant: c.shop.address(),
            },
        }),
        Errand::Mint => Call::Mint(calls::Mint {
            asset: KRW,
            to: c.users[0].address(),
            amount: 1,
        }),
    }
}

/// Signs a budget test block: at most one errand per user (a refused one would make
/// the user's later ones refused too), the sponsors' offers with their nonces in
/// sequence from the committed ones.
pub(super) fn sign_budget_block(
    c: &Consortium,
    walk_ins: &[Keypair],
    steps: &[BudgetStep],
) -> Vec<VerifiedTx> {
    let partners = budget_partners(c);
    let users: Vec<&Keypair> = c.users.iter().chain(walk_ins).collect();
    let mut next: BTreeMap<Address, u64> = BTreeMap::new();
    let mut sent = BTreeSet::new();
    steps
        .iter()
        .filter(|s| match s {
            BudgetStep::Offer(_) => true,
            BudgetStep::Errand { user, .. } => sent.insert(*user),
        })
        .map(|s| {
            let (key, call, payer) = budget_tx_parts(c, &users, s);
            let sender = key.address();
            let nonce = next
                .entry(sender)
                .or_insert_with(|| c.state.nonce(&sender).expect("nonce"));
            let body = TxBody {
                chain_id: CHAIN,
                sender,
                nonce: *nonce,
                fee_limit: FEE_LIMIT,
                expiry: FAR_EXPIRY,
                call,
                fee_payer: payer.map(|(p, _)| partners[p].address()),
            };
            *nonce += 1;
            let tx = body.sign(key);
            match payer {
                Some((p, true)) => verified(tx.sign_as_payer(partners[p])),
                _ => VerifiedTx::new_unchecked(tx),
            }
        })
        .collect()
}

/// A budget step's sender, call and fee payer, if another pays: an index into
/// [`budget_partners`], and whether it co-signs.
pub(super) fn budget_tx_parts<'a>(
    c: &'a Consortium,
    users: &[&'a Keypair],
    step: &BudgetStep,
) -> (&'a Keypair, Call, Option<(usize, bool)>) {
    match step {
        BudgetStep::Offer(o) => {
            let beneficiary = o.user.map_or(Beneficiary::AllCustomers, |u| {
                Beneficiary::Account(users[u].address())
            });
            let call = Call::SponsorFees(calls::SponsorFees {
                beneficiary,
                asset: KRW,
                budget_per_period: o.budget,
                period_ms: o.period_ms,
            });
            (budget_partners(c)[o.sponsor], call, None)
        }
        BudgetStep::Errand {
            user,
            funding,
            errand,
        } => {
            let payer = match *funding {
                Funding::Own => None,
                Funding::CoSigned(p) => Some((p, true)),
                Funding::Sponsored(p) => Some((p.unwrap_or(addressed_partner(errand)), false)),
            };
            (users[*user], errand_call(c, users, errand), payer)
        }
    }
}

/// The budget test's own account of the sponsorships and of what each paid per period,
/// kept from the transactions and their receipts alone.
#[derive(Default)]
pub(super) struct Budgets {
    /// The sponsorships by key, as they should be stored.
    pub(super) records: BTreeMap<Vec<u8>, Sponsorship>,
    /// New terms per key: a withdrawal, or an offer with another period length. The
    /// runtime starts such terms with nothing used (it keeps `used` only when the
    /// stored period index equals the new offer's, and indices of different period
    /// lengths never coincide at these times), so each terms' budget is summed apart.
    pub(super) terms: BTreeMap<Vec<u8>, u32>,
    /// Fees sponsored per (key, terms, period index), summed from the `FeeCharged`
    /// events of the transactions each sponsorship paid for.
    pub(super) paid: BTreeMap<(Vec<u8>, u32, u64), Amount>,
    /// The period in which a key's budget was cut below what it had already paid.
    pub(super) cut: BTreeMap<Vec<u8>, u64>,
}

impl Budgets {
    /// Follows one block: every transaction's validity, payer and sponsorship, then
    /// the stored sponsorships against the expected ones.
    pub(super) fn observe_block(
        &mut self,
        c: &Consortium,
        pre: &MemoryState,
        ctx: &BlockContext,
        txs: &[VerifiedTx],
        receipts: &[Receipt],
    ) {
        let mut nonces: BTreeMap<Address, u64> = BTreeMap::new();
        for (tx, r) in txs.iter().zip(receipts) {
            let body = tx.body();
            let next = nonces
                .entry(body.sender)
                .or_insert_with(|| pre.nonce(&body.sender).expect("nonce"));
            if body.nonce != *next {
                // Behind an invalid transaction of the same sender.
                let future = TxError::FutureNonce {
                    expected: *next,
                    got: body.nonce,
                };
                assert_eq!(r.outcome, Outcome::Invalid(future));
                continue;
            }
            match (body.fee_payer, &tx.tx().payer_signature) {
                (Some(sponsor), None) => self.sponsored(pre, ctx.time_ms, body, sponsor, r),
                (payer, _) => paid_by(r, payer.unwrap_or(body.sender)),
            }
            if !matches!(r.outcome, Outcome::Invalid(_)) {
                *next += 1;
            }
            self.offered(ctx.time_ms, body, r);
        }
        self.compare_with(c, ctx.time_ms);
    }

    /// A transaction naming `sponsor` without its signature: refused as not sponsored
    /// when no sponsorship of it applies, as exhausted when none has the fee left
    /// (naming the first that applies), and otherwise paid by the sponsor from the
    /// first that has, whose period's total stays within its budget.
    pub(super) fn sponsored(
        &mut self,
        pre: &MemoryState,
        time_ms: TimeMs,
        body: &TxBody,
        sponsor: Address,
        r: &Receipt,
    ) {
        let mut candidates = vec![jeon_runtime::economy::fees::storage::sponsorship(
            &sponsor,
            &Beneficiary::Account(body.sender),
        )];
        if addressee(pre, &body.call) == Some(sponsor) {
            candidates.push(jeon_runtime::economy::fees::storage::sponsorship(
                &sponsor,
                &Beneficiary::AllCustomers,
            ));
        }
        candidates.retain(|k| self.records.contains_key(k));
        let fee = match &r.outcome {
            Outcome::Invalid(TxError::NotSponsored { sponsor: s }) => {
                assert_eq!(*s, sponsor);
                assert!(
                    candidates.is_empty(),
                    "{candidates:?} apply, yet not sponsored"
                );
                return;
            }
            Outcome::Invalid(TxError::SponsorBudgetExhausted { fee, .. }) => *fee,
            Outcome::Invalid(e) => panic!("a sponsored transaction refused: {e}"),
            _ => r.fee,
        };
        assert!(
            !candidates.is_empty(),
            "paid by {sponsor} without a sponsorship: {r:?}"
        );
        let Some(key) = candidates
            .iter()
            .find(|k| remaining(&self.records[*k], time_ms) >= fee)
            .cloned()
        else {
            let first = &self.records[&candidates[0]];
            let exhausted = TxError::SponsorBudgetExhausted {
                sponsor,
                budget: first.budget_per_period,
                remaining: remaining(first, time_ms),
                fee,
            };
            assert_eq!(r.outcome, Outcome::Invalid(exhausted));
            return;
        };
        assert!(
            !matches!(r.outcome, Outcome::Invalid(_)),
            "refused though covered: {r:?}"
        );
        let record = spent(&self.records[&key], time_ms, fee);
        self.add_paid(&key, &record, sponsor, r, fee);
        self.records.insert(key, record);
    }

    /// Adds the fee a sponsorship paid (the receipt's `FeeCharged`, whose payer must be
    /// the sponsor) to its period's total, which must stay within the budget in force.
    pub(super) fn add_paid(
        &mut self,
        key: &[u8],
        record: &Sponsorship,
        sponsor: Address,
        r: &Receipt,
        fee: Amount,
    ) {
        let terms = self.terms.get(key).copied().unwrap_or(0);
        let fees: Vec<(Address, Amount)> = r
            .events
            .iter()
            .filter_map(|e| match e {
                Event::FeeCharged(events::FeeCharged { payer, amount, .. }) => {
                    Some((*payer, *amount))
                }
                _ => None,
            })
            .collect();
        assert_eq!(fees.len(), usize::from(fee > 0), "one FeeCharged per fee");
        for (payer, amount) in fees {
            assert_eq!(payer, sponsor, "the sponsor pays, not the sender");
            let total = self
                .paid
                .entry((key.to_vec(), terms, record.period))
                .or_default();
            *total += amount;
            assert!(
                *total <= record.budget_per_period,
                "{sponsor} paid {total} in period {} on a budget of {}",
                record.period,
                record.budget_per_period
            );
        }
    }

    /// Follows a `SponsorFees`: withdrawing an offer that does not exist fails; any
    /// other offer succeeds and replaces the record, keeping what the current period
    /// used, or removes it.
    pub(super) fn offered(&mut self, time_ms: TimeMs, body: &TxBody, r: &Receipt) {
        let Call::SponsorFees(calls::SponsorFees {
            beneficiary,
            budget_per_period,
            period_ms,
            ..
        }) = &body.call
        else {
            return;
        };
        if let Outcome::Invalid(_) = r.outcome {
            return;
        }
        let key = jeon_runtime::economy::fees::storage::sponsorship(&body.sender, beneficiary);
        if *budget_per_period == 0 {
            if self.records.remove(&key).is_none() {
                assert_eq!(r.outcome, Outcome::Failed(CallError::UnknownSponsorship));
                return;
            }
            *self.terms.entry(key).or_default() += 1;
        } else {
            let period = time_ms / period_ms;
            let existing = self.records.get(&key);
            if existing.is_some_and(|s| s.period_ms != *period_ms) {
                *self.terms.entry(key.clone()).or_default() += 1;
            }
            let used = existing
                .filter(|s| s.period == period)
                .map_or(0, |s| s.used);
            if used > *budget_per_period {
                self.cut.insert(key.clone(), period);
            }
            let record = Sponsorship {
                sponsor: body.sender,
                beneficiary: *beneficiary,
                asset: KRW,
                budget_per_period: *budget_per_period,
                period_ms: *period_ms,
                period,
                used,
            };
            self.records.insert(key, record);
        }
        assert_eq!(r.outcome, Outcome::Success);
    }

    /// The stored sponsorships, as `sponsorships_of` lists them, are the expected ones,
    /// and none has used more than its budget (unless the sponsor cut the budget below
    /// what the period had already used).
    pub(super) fn compare_with(&self, c: &Consortium, time_ms: TimeMs) {
        let mut stored = BTreeMap::new();
        for sponsor in budget_partners(c) {
            for s in sponsorships_of(&c.state, &sponsor.address(), time_ms).expect("read") {
                let record = s.sponsorship;
                let key = jeon_runtime::economy::fees::storage::sponsorship(
                    &record.sponsor,
                    &record.beneficiary,
                );
                assert!(
                    record.used <= record.budget_per_period
                        || self.cut.get(&key) == Some(&record.period),
                    "used more than the budget: {record:?}"
                );
                assert_eq!(s.remaining, remaining(&record, time_ms));
                stored.insert(key, record);
            }
        }
        assert_eq!(stored, self.records, "the stored sponsorships");
    }
}

/// A transaction whose fee `payer` pays as sender or co-signer was valid and charged
/// it, or (for a payer short of KRW) was invalid for that alone.
pub(super) fn paid_by(r: &Receipt, payer: Address) {
    match &r.outcome {
        Outcome::Invalid(TxError::CannotPayFee { payer: p, .. }) => assert_eq!(*p, payer),
        Outcome::Invalid(e) => panic!("refused: {e}"),
        _ if r.fee == 0 => {}
        _ => {
            let charged = Event::FeeCharged(events::FeeCharged {
                payer,
                asset: KRW,
                amount: r.fee,
            });
            assert_eq!(r.events.first(), Some(&charged));
        }
    }
}
