//! The oracle: what the fee rules of docs/economy.md §11 say a transaction pays, who
//! pays it, and whether it is valid at all.

use super::*;

/// A block's fee rules as the test reads them (fees.rs module doc): the base fee stored
/// before the block (absent: the flat fee), the market if one is installed, and the
/// block's height and time.
pub(super) struct Rules {
    pub(super) base: Amount,
    pub(super) market: Option<FeeMarket>,
    pub(super) height: Height,
    pub(super) time_ms: TimeMs,
}

impl Rules {
    pub(super) fn of(pre: &MemoryState, ctx: &BlockContext) -> Rules {
        Rules {
            base: base_fee(pre),
            market: read_record(pre, &jeon_runtime::economy::fees::storage::fee_market())
                .expect("read"),
            height: ctx.height,
            time_ms: ctx.time_ms,
        }
    }

    /// The market, if it has volume tiers: only then are volumes recorded.
    pub(super) fn tiered(&self) -> Option<&FeeMarket> {
        self.market.as_ref().filter(|m| !m.tiers.is_empty())
    }

    /// What `sender` pays over `state`, from docs/economy.md §11 "Volume tiers" alone:
    /// its volume is `current + floor(previous * (W - height % W) / W)`, its tier "the
    /// last one whose `min_txs` is at most its volume", and the fee
    /// `ceil(base_fee * fee_bps / 10 000)`, "the full base fee below the first tier".
    /// Without a market the base fee never moves and every sender pays it.
    pub(super) fn fee_of(&self, state: &MemoryState, sender: &Address) -> Amount {
        let Some(market) = &self.market else {
            return self.base;
        };
        let w = market.volume_window_blocks;
        let (current, previous) = volume_buckets(state, sender, self.height, w);
        let still_covered = w - self.height % w;
        let volume =
            u128::from(current) + u128::from(previous) * u128::from(still_covered) / u128::from(w);
        let mut fee_bps = u128::from(FULL_FEE_BPS);
        for tier in &market.tiers {
            if u128::from(tier.min_txs) <= volume {
                fee_bps = u128::from(tier.fee_bps); // a later tier reached overrides
            }
        }
        let ceil = (u128::from(self.base) * fee_bps).div_ceil(10_000);
        Amount::try_from(ceil).expect("at most the base fee")
    }
}

/// The base fee stored in a state; absent, the flat fee.
pub(super) fn base_fee(state: &MemoryState) -> Amount {
    read_record(state, &jeon_runtime::economy::fees::storage::base_fee())
        .expect("read")
        .unwrap_or(FEE)
}

/// A sender's transaction counts in "the current window `w = height / W` and the one
/// before" (docs/economy.md §11), read from its stored record: a record kept for an
/// older window counts nothing in a window it does not name.
pub(super) fn volume_buckets(
    state: &MemoryState,
    who: &Address,
    height: Height,
    window: Height,
) -> (u64, u64) {
    let v: Volume = read_record(state, &jeon_runtime::economy::fees::storage::volume(who))
        .expect("read")
        .unwrap_or_default();
    let count_in = |k: u64| {
        if k == v.window {
            v.current
        } else if v.window.checked_sub(1) == Some(k) {
            v.previous
        } else {
            0
        }
    };
    let w = height / window;
    let previous = w.checked_sub(1).map_or(0, count_in);
    (count_in(w), previous)
}

/// The next block's base fee after a block of `n` transactions at `base`, transcribed
/// from the formula of docs/economy.md §11 "The base fee follows congestion":
///
/// ```text
/// n > t:  next = base + max(1, floor(base * min(n - t, t) / t / d))
/// n < t:  next = base - floor(base * (t - n) / t / d)
/// n = t:  next = base
/// then clamped to [base_fee_min, base_fee_max]
/// ```
pub(super) fn documented_next_base_fee(market: &FeeMarket, base: Amount, n: usize) -> Amount {
    let (base, n) = (u128::from(base), n as u128);
    let t = u128::from(market.target_txs_per_block);
    let d = u128::from(market.change_denominator);
    let next = if n > t {
        base + std::cmp::max(1, base * std::cmp::min(n - t, t) / t / d)
    } else if n < t {
        base - base * (t - n) / t / d
    } else {
        base
    };
    let (lo, hi) = (
        u128::from(market.base_fee_min),
        u128::from(market.base_fee_max),
    );
    Amount::try_from(next.max(lo).min(hi)).expect("clamped to a u64")
}

/// Where a call's documented recipient is, for "any account's transaction *addressed
/// to the sponsor*" (docs/economy.md §11, SponsorFees).
#[derive(Clone, Copy, Debug)]
pub(super) enum Recipient {
    /// The account at this path of the call's fields.
    Account(&'static [&'static str]),
    /// The issuer of the asset in this field.
    IssuerOf(&'static str),
    /// The lender of the credit line in this field.
    LenderOf(&'static str),
    /// The merchant of the product in this field.
    MerchantOf(&'static str),
}

/// The calls the documentation names as addressed to someone, by the call's name as it
/// is encoded (snake case) and the field the sentence names. Written from the doc's
/// list, not from fees.rs, so a mistake in either shows up as a disagreement:
/// "a `Transfer` to it, a `Pay` to it, a `PayInvoice` of its link, a `GrantMandate` to
/// it as spender, a `Redeem`/`RedeemStamps` of an asset it issues, a `Repay` of a line
/// it lent, a `Buy` of a product it sells, a `Subscribe` to one". Every other call is
/// addressed to no one.
pub(super) const ADDRESSED_TO: [(&str, Recipient); 10] = [
    ("transfer", Recipient::Account(&["to"])),
    ("pay", Recipient::Account(&["merchant"])),
    ("pay_invoice", Recipient::Account(&["invoice", "merchant"])),
    ("grant_mandate", Recipient::Account(&["spender"])),
    ("redeem", Recipient::IssuerOf("asset")),
    ("redeem_stamps", Recipient::IssuerOf("stamp_asset")),
    ("repay", Recipient::LenderOf("line_id")),
    ("buy", Recipient::MerchantOf("product")),
    ("subscribe", Recipient::MerchantOf("product")),
    ("open_meter", Recipient::Account(&["merchant"])),
];

/// The account a call is addressed to, whose all-customers sponsorship may pay its
/// fee: the call is read through its JSON encoding (`{"kind": {fields}}`), looked up
/// in [`ADDRESSED_TO`], and the named field resolved over `state`.
pub(super) fn addressee(state: &MemoryState, call: &Call) -> Option<Address> {
    let encoded = serde_json::to_value(call).expect("a call encodes as JSON");
    let (kind, fields) = encoded.as_object()?.iter().next()?;
    let (_, recipient) = ADDRESSED_TO.iter().find(|(k, _)| k == kind)?;
    let field = |path: &[&str]| {
        let value = path.iter().fold(fields, |v, name| &v[*name]);
        assert!(!value.is_null(), "a {kind} call has no field {path:?}");
        value.clone()
    };
    match *recipient {
        Recipient::Account(path) => Some(serde_json::from_value(field(path)).expect("an address")),
        Recipient::IssuerOf(name) => {
            let asset: AssetId = serde_json::from_value(field(&[name])).expect("an asset id");
            state.asset(asset).expect("read").map(|a| a.issuer)
        }
        Recipient::LenderOf(name) => {
            let line_id: u64 = serde_json::from_value(field(&[name])).expect("a line id");
            credit_line(state, line_id).map(|l| l.lender)
        }
        Recipient::MerchantOf(name) => {
            let id: u64 = serde_json::from_value(field(&[name])).expect("a product id");
            jeon_runtime::goods::product(state, id)
                .expect("read")
                .map(|p| p.merchant)
        }
    }
}

/// What a sponsorship still covers at `time_ms`: the rest of the budget in its
/// recorded period, the whole budget in a later one.
pub(super) fn remaining(s: &Sponsorship, time_ms: TimeMs) -> Amount {
    if time_ms / s.period_ms == s.period {
        s.budget_per_period.saturating_sub(s.used)
    } else {
        s.budget_per_period
    }
}

/// A sponsorship after paying `fee` at `time_ms`.
pub(super) fn spent(s: &Sponsorship, time_ms: TimeMs, fee: Amount) -> Sponsorship {
    let period = time_ms / s.period_ms;
    let used = if period == s.period { s.used } else { 0 };
    Sponsorship {
        period,
        used: used + fee,
        ..s.clone()
    }
}

/// Who pays a valid transaction's fee, how much, and the sponsorship it spends (key
/// and record before).
#[derive(Debug)]
pub(super) struct Due {
    pub(super) payer: Address,
    pub(super) fee: Amount,
    pub(super) sponsorship: Option<(Vec<u8>, Sponsorship)>,
}

/// What a transaction comes to over `state` (the state just before it): invalid for
/// the first reason in the order execution checks them (expiry, nonce, fee limit,
/// sponsorship, the payer's balance; the chain id is always right here), else valid
/// with its [`Due`].
pub(super) fn expected_due(
    state: &MemoryState,
    rules: &Rules,
    tx: &SignedTx,
) -> Result<Due, TxError> {
    let body = &tx.body;
    if rules.height > body.expiry {
        return Err(TxError::Expired {
            expiry: body.expiry,
            height: rules.height,
        });
    }
    let expected = state.nonce(&body.sender).expect("nonce");
    if body.nonce != expected {
        let got = body.nonce;
        return Err(if got < expected {
            TxError::StaleNonce { expected, got }
        } else {
            TxError::FutureNonce { expected, got }
        });
    }
    let fee = rules.fee_of(state, &body.sender);
    if body.fee_limit < fee {
        return Err(TxError::FeeTooLow {
            limit: body.fee_limit,
            required: fee,
        });
    }
    let (payer, sponsorship) = match (body.fee_payer, tx.payer_signature) {
        (None, _) => (body.sender, None),
        (Some(payer), Some(_)) => (payer, None),
        (Some(sponsor), None) => {
            let covering = covering(state, rules.time_ms, &sponsor, body, fee)?;
            (sponsor, Some(covering))
        }
    };
    let available = state.balance(&payer, KRW).expect("balance");
    if available < fee {
        return Err(TxError::CannotPayFee {
            payer,
            asset: KRW,
            required: fee,
            available,
        });
    }
    Ok(Due {
        payer,
        fee,
        sponsorship,
    })
}

/// The sponsorship of `sponsor` that covers a fee: the sender's own first, then the
/// sponsor's customers' if the call is addressed to the sponsor; or why none does.
pub(super) fn covering(
    state: &MemoryState,
    time_ms: TimeMs,
    sponsor: &Address,
    body: &TxBody,
    fee: Amount,
) -> Result<(Vec<u8>, Sponsorship), TxError> {
    let mut candidates = vec![Beneficiary::Account(body.sender)];
    if addressee(state, &body.call) == Some(*sponsor) {
        candidates.push(Beneficiary::AllCustomers);
    }
    let records: Vec<(Vec<u8>, Sponsorship)> = candidates
        .iter()
        .filter_map(|b| {
            let key = jeon_runtime::economy::fees::storage::sponsorship(sponsor, b);
            read_record(state, &key).expect("read").map(|s| (key, s))
        })
        .collect();
    if let Some(found) = records.iter().find(|(_, s)| remaining(s, time_ms) >= fee) {
        return Ok(found.clone());
    }
    Err(match records.first() {
        Some((_, s)) => TxError::SponsorBudgetExhausted {
            sponsor: *sponsor,
            budget: s.budget_per_period,
            remaining: remaining(s, time_ms),
            fee,
        },
        None => TxError::NotSponsored { sponsor: *sponsor },
    })
}
