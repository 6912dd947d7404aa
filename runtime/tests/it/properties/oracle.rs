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
            market: read_record(pre, &keys::fee_market()).expect("read"),
            height: ctx.height,
            time_ms: ctx.time_ms,
        }
    }

    /// The market, if it has volume tiers: only then are volumes recorded.
    pub(super) fn tiered(&self) -> Option<&FeeMarket> {
        self.market.as_ref().filter(|m| !m.tiers.is_empty())
    }

    /// What `sender` pays over `state`: `ceil(base * fee_bps / 10 000)`, with the
    /// share of the last tier its rolling-window volume reaches (all below the first).
    pub(super) fn fee_of(&self, state: &MemoryState, sender: &Address) -> Amount {
        let Some(market) = self.tiered() else {
            return self.base;
        };
        let window = market.volume_window_blocks;
        let (current, previous) = volume_buckets(state, sender, self.height, window);
        let covered = u128::from(window - self.height % window);
        let volume = u128::from(current) + u128::from(previous) * covered / u128::from(window);
        let fee_bps = market
            .tiers
            .iter()
            .rev()
            .find(|t| u128::from(t.min_txs) <= volume)
            .map_or(FULL_FEE_BPS, |t| t.fee_bps);
        let fee = (u128::from(self.base) * u128::from(fee_bps)).div_ceil(10_000);
        Amount::try_from(fee).expect("a share of a u64")
    }
}

/// The base fee stored in a state; absent, the flat fee.
pub(super) fn base_fee(state: &MemoryState) -> Amount {
    read_record(state, &keys::base_fee())
        .expect("read")
        .unwrap_or(FEE)
}

/// A sender's transaction counts in the volume window of `height` and the one before.
pub(super) fn volume_buckets(
    state: &MemoryState,
    who: &Address,
    height: Height,
    window: Height,
) -> (u64, u64) {
    let v: Volume = read_record(state, &keys::volume(who))
        .expect("read")
        .unwrap_or_default();
    let w = height / window;
    if v.window == w {
        (v.current, v.previous)
    } else if v.window + 1 == w {
        (0, v.current)
    } else {
        (0, 0)
    }
}

/// The account a call is addressed to, whose all-customers sponsorship may pay its
/// fee: the recipient of a transfer or payment, an invoice's merchant, a mandate's
/// spender, the issuer of a redeemed asset, the lender of a repaid line.
pub(super) fn addressee(state: &MemoryState, call: &Call) -> Option<Address> {
    match call {
        Call::Transfer { to, .. } => Some(*to),
        Call::Pay { merchant, .. } => Some(*merchant),
        Call::PayInvoice { invoice, .. } => Some(invoice.merchant),
        Call::GrantMandate { spender, .. } => Some(*spender),
        Call::Redeem { asset, .. }
        | Call::RedeemStamps {
            stamp_asset: asset, ..
        } => state.asset(*asset).expect("read").map(|a| a.issuer),
        Call::Repay { line_id, .. } => credit_line(state, *line_id).map(|l| l.lender),
        _ => None,
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
pub(super) fn expected_due(state: &MemoryState, rules: &Rules, tx: &SignedTx) -> Result<Due, TxError> {
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
            let key = keys::sponsorship(sponsor, b);
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
