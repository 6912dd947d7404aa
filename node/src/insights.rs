//! A merchant's own aggregates per period (issue 17, "insights for vendors"): sales by
//! product, passes and subscriptions active at the period's end, metered units settled,
//! subscription churn and cashback liability. Served by
//! `GET /v1/merchants/{addr}/insights` (`api::insights`) from the merchant's history
//! index; `jeon index --postgres` writes the same events into PostgreSQL, where the SQL
//! views of docs/indexer.md compute the same figures with the same definitions (the
//! indexer test checks the two agree).
//!
//! Everything here is a pure fold over the merchant's events in chain order, each dated
//! by its block's time. The definitions (docs/indexer.md §Views):
//! - a **sale** is a `Paid` to the merchant in a transaction that also issued or renewed
//!   one of its entitlements ([`sale_of`]); its product is the one the payment's
//!   reference names (`product N`, `subscribe product N`), or the renewed one;
//! - an entitlement is **active** at an instant `t` if it was issued at or before `t`,
//!   not revoked at or before `t`, and its expiry as of `t` (issue, then renewals) is
//!   after `t`; a period's end is its last millisecond; one-off items (no expiry) are
//!   never counted; it is a **subscription** when it was issued by a `subscribe`;
//! - **churn**: subscriptions that lapsed or were revoked in the period, and those active
//!   at the instant before it began;
//! - **cashback**: credits the merchant's reward rules minted (`RewardGranted` as issuer)
//!   and redemptions of its credits it settled, per asset; outstanding is issued minus
//!   redeemed since genesis through the period's end.

use std::collections::BTreeMap;

use jeon_runtime::economy::{calendar, PERIOD_MS};
use jeon_runtime::{Address, AssetId, Event};

use crate::api::types::{
    InsightsCashback, InsightsChurn, InsightsMetered, InsightsPeriod, InsightsSale, PeriodKind,
};

/// What a `Paid` in a transaction's events was for, when it was a sale.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Sale {
    /// The product sold (a bundle's own id for a bundle).
    pub product: u64,
    /// Bought by `subscribe` (the entitlements issued with it are subscriptions).
    pub subscribe: bool,
}

/// The sale the `Paid` at `index` of one transaction's `events` is, if any: the same
/// transaction issued or renewed an entitlement of the payment's merchant.
pub fn sale_of(events: &[Event], index: usize) -> Option<Sale> {
    let Some(Event::Paid(paid)) = events.get(index) else {
        return None;
    };
    let m = paid.merchant;
    let issued = events
        .iter()
        .any(|e| matches!(e, Event::EntitlementIssued(i) if i.merchant == m));
    let renewed = events.iter().find_map(|e| match e {
        Event::SubscriptionRenewed(r) if r.merchant == m => Some(r.product),
        _ => None,
    });
    let named = |prefix: &str| {
        paid.reference
            .strip_prefix(prefix)
            .and_then(|n| n.parse::<u64>().ok())
    };
    if issued {
        if let Some(product) = named("subscribe product ") {
            return Some(Sale {
                product,
                subscribe: true,
            });
        }
        if let Some(product) = named("product ") {
            return Some(Sale {
                product,
                subscribe: false,
            });
        }
    }
    renewed.map(|product| Sale {
        product,
        subscribe: false,
    })
}

/// Whether the transaction's events subscribe to a product (its issued entitlements are
/// subscriptions).
pub fn subscribes(events: &[Event]) -> bool {
    (0..events.len()).any(|i| sale_of(events, i).is_some_and(|s| s.subscribe))
}

/// One event of the merchant's, with its block time and transaction.
#[derive(Clone, Debug)]
pub struct Dated {
    /// The block's time.
    pub time_ms: u64,
    /// The block's height.
    pub height: u64,
    /// The transaction's index (or the end-of-block index).
    pub tx_index: u32,
    /// The event.
    pub event: Event,
}

/// An entitlement's life, as far as the figures need it.
#[derive(Default)]
struct Life {
    subscription: bool,
    issued_ms: u64,
    revoked_ms: Option<u64>,
    /// (time, expiry from then on), in chain order.
    expiries: Vec<(u64, u64)>,
}

impl Life {
    fn active_at(&self, t: u64) -> bool {
        if self.issued_ms > t || self.revoked_ms.is_some_and(|r| r <= t) {
            return false;
        }
        let expiry = self.expiries.iter().rev().find(|(at, _)| *at <= t);
        expiry.is_some_and(|(_, exp)| *exp > t)
    }
}

/// The merchant's events sorted into what the figures read.
#[derive(Default)]
struct Ledger {
    lives: BTreeMap<u64, Life>,
    /// (time, product, asset, gross, tax).
    sales: Vec<(u64, u64, AssetId, u128, u128)>,
    /// (time, units, amount).
    claims: Vec<(u64, u64, u128)>,
    /// (time, entitlement) of lapses and revocations.
    lapses: Vec<(u64, u64)>,
    revocations: Vec<(u64, u64)>,
    /// (time, asset, issued, redeemed).
    cashback: Vec<(u64, AssetId, u128, u128)>,
}

/// The periods `from..=to` of `kind` for `merchant`, from its events in chain order.
pub fn fold(
    merchant: &Address,
    events: &[Dated],
    kind: PeriodKind,
    from: u64,
    to: u64,
) -> Vec<InsightsPeriod> {
    let ledger = sort(merchant, events);
    let mut out = Vec::new();
    let mut p = from;
    while p <= to {
        let (start_ms, end_ms) = bounds(kind, p);
        out.push(period(&ledger, p, start_ms, end_ms));
        p = next(kind, p);
    }
    out
}

fn sort(merchant: &Address, events: &[Dated]) -> Ledger {
    let mut l = Ledger::default();
    // One transaction's events at a time (they are consecutive).
    let mut i = 0;
    while i < events.len() {
        let key = (events[i].height, events[i].tx_index);
        let mut j = i;
        while j < events.len() && (events[j].height, events[j].tx_index) == key {
            j += 1;
        }
        let group: Vec<Event> = events[i..j].iter().map(|d| d.event.clone()).collect();
        add_tx(&mut l, merchant, events[i].time_ms, &group);
        i = j;
    }
    l
}

fn add_tx(l: &mut Ledger, m: &Address, t: u64, group: &[Event]) {
    let subscribe = subscribes(group);
    for (k, event) in group.iter().enumerate() {
        match event {
            Event::Paid(p) if p.merchant == *m => {
                if let Some(s) = sale_of(group, k) {
                    let (gross, tax) = (u128::from(p.amount), u128::from(p.tax));
                    l.sales.push((t, s.product, p.asset, gross, tax));
                }
            }
            Event::EntitlementIssued(e) if e.merchant == *m => {
                if let Some(exp) = e.expires_at_ms {
                    l.lives.insert(
                        e.id,
                        Life {
                            subscription: subscribe,
                            issued_ms: t,
                            revoked_ms: None,
                            expiries: vec![(t, exp)],
                        },
                    );
                }
            }
            Event::SubscriptionRenewed(r) if r.merchant == *m => {
                if let Some(life) = l.lives.get_mut(&r.id) {
                    life.expiries.push((t, r.expires_at_ms));
                }
            }
            Event::SubscriptionLapsed(r) if r.merchant == *m => l.lapses.push((t, r.id)),
            Event::EntitlementRevoked(r) if r.merchant == *m => {
                if let Some(life) = l.lives.get_mut(&r.id) {
                    life.revoked_ms = Some(t);
                }
                l.revocations.push((t, r.id));
            }
            Event::MeterClaimed(c) if c.merchant == *m => {
                l.claims.push((t, c.new_units, u128::from(c.amount)));
            }
            Event::RewardGranted(r) if r.issuer == *m => {
                l.cashback.push((t, r.asset, u128::from(r.amount), 0));
            }
            Event::RedemptionSettled(r) if r.issuer == *m => {
                l.cashback.push((t, r.asset, 0, u128::from(r.amount)));
            }
            _ => {}
        }
    }
}

fn period(l: &Ledger, period: u64, start_ms: u64, end_ms: u64) -> InsightsPeriod {
    let within = |t: u64| t >= start_ms && t < end_ms;
    let mut sales: BTreeMap<(u64, AssetId), InsightsSale> = BTreeMap::new();
    for (_, product, asset, gross, tax) in l.sales.iter().filter(|s| within(s.0)) {
        let s = sales.entry((*product, *asset)).or_insert(InsightsSale {
            product: *product,
            asset: *asset,
            count: 0,
            gross: 0,
            tax: 0,
        });
        s.count += 1;
        s.gross = s.gross.saturating_add(*gross);
        s.tax = s.tax.saturating_add(*tax);
    }
    let last = end_ms - 1;
    let active = |t: u64, subs: bool| {
        l.lives
            .values()
            .filter(|e| e.subscription == subs && e.active_at(t))
            .count() as u64
    };
    let is_sub = |id: &u64| l.lives.get(id).is_some_and(|e| e.subscription);
    let mut metered = InsightsMetered::default();
    for (_, units, amount) in l.claims.iter().filter(|c| within(c.0)) {
        metered.claims += 1;
        metered.units = metered.units.saturating_add(*units);
        metered.amount = metered.amount.saturating_add(*amount);
    }
    let churn = InsightsChurn {
        lapsed: l.lapses.iter().filter(|(t, _)| within(*t)).count() as u64,
        revoked: (l.revocations.iter())
            .filter(|(t, id)| within(*t) && is_sub(id))
            .count() as u64,
        active_at_start: start_ms.checked_sub(1).map_or(0, |t| active(t, true)),
    };
    InsightsPeriod {
        period,
        start_ms,
        end_ms,
        sales: sales.into_values().collect(),
        active_passes: active(last, false),
        active_subscriptions: active(last, true),
        metered,
        churn,
        cashback: cashback(l, start_ms, end_ms),
    }
}

fn cashback(l: &Ledger, start_ms: u64, end_ms: u64) -> Vec<InsightsCashback> {
    let mut by_asset: BTreeMap<AssetId, InsightsCashback> = BTreeMap::new();
    for (t, asset, issued, redeemed) in l.cashback.iter().filter(|c| c.0 < end_ms) {
        let c = by_asset.entry(*asset).or_insert(InsightsCashback {
            asset: *asset,
            issued: 0,
            redeemed: 0,
            outstanding: 0,
        });
        if *t >= start_ms {
            c.issued = c.issued.saturating_add(*issued);
            c.redeemed = c.redeemed.saturating_add(*redeemed);
        }
        // u64 amounts: an i128 sum of them cannot overflow in any chain's lifetime.
        c.outstanding = c.outstanding.saturating_add(*issued as i128) - *redeemed as i128;
    }
    by_asset.into_values().collect()
}

// ------------------------------------------------------------ periods

/// The first and one-past-the-last millisecond of a period.
pub fn bounds(kind: PeriodKind, period: u64) -> (u64, u64) {
    match kind {
        PeriodKind::Day => (
            period.saturating_mul(PERIOD_MS),
            period.saturating_add(1).saturating_mul(PERIOD_MS),
        ),
        PeriodKind::Month => {
            let (y, m) = (period / 100, period % 100);
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (
                calendar::first_day_of_month(y, m).saturating_mul(PERIOD_MS),
                calendar::first_day_of_month(ny, nm).saturating_mul(PERIOD_MS),
            )
        }
    }
}

/// The period after `period`.
pub fn next(kind: PeriodKind, period: u64) -> u64 {
    match kind {
        PeriodKind::Day => period + 1,
        PeriodKind::Month if period % 100 >= 12 => (period / 100 + 1) * 100 + 1,
        PeriodKind::Month => period + 1,
    }
}

/// The period holding `time_ms`: a day index, or a month as `YYYYMM` (UTC).
pub fn period_at(kind: PeriodKind, time_ms: u64) -> u64 {
    let day = time_ms / PERIOD_MS;
    match kind {
        PeriodKind::Day => day,
        PeriodKind::Month => {
            let d = calendar::date_of_day(day);
            d.year * 100 + d.month
        }
    }
}

/// Whether `period` names a month (`YYYYMM`, 1970 to 9999).
pub fn is_month(period: u64) -> bool {
    (197001..=999912).contains(&period) && (1..=12).contains(&(period % 100))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeon_runtime::events::Paid;
    use jeon_runtime::goods::{EntitlementIssued, SubscriptionRenewed};

    fn paid(merchant: u8, reference: &str) -> Event {
        Event::Paid(Paid {
            payer: Address([1; 32]),
            merchant: Address([merchant; 32]),
            asset: AssetId(0),
            amount: 500,
            tax: 50,
            reference: reference.into(),
        })
    }

    fn issued(merchant: u8) -> Event {
        Event::EntitlementIssued(EntitlementIssued {
            id: 9,
            product: 4,
            owner: Address([1; 32]),
            merchant: Address([merchant; 32]),
            expires_at_ms: Some(1_000),
        })
    }

    #[test]
    fn a_payment_is_a_sale_only_with_an_entitlement_of_its_merchant() {
        let buy = Sale {
            product: 3,
            subscribe: false,
        };
        let subscribe = Sale {
            product: 3,
            subscribe: true,
        };
        let renewed = Event::SubscriptionRenewed(SubscriptionRenewed {
            id: 9,
            product: 5,
            owner: Address([1; 32]),
            merchant: Address([2; 32]),
            mandate: 0,
            expires_at_ms: 2_000,
        });
        let cases: Vec<(Vec<Event>, Option<Sale>)> = vec![
            (vec![paid(2, "product 3"), issued(2)], Some(buy)),
            (
                vec![paid(2, "subscribe product 3"), issued(2)],
                Some(subscribe),
            ),
            (
                vec![paid(2, "renew entitlement 9"), renewed],
                Some(Sale {
                    product: 5,
                    subscribe: false,
                }),
            ),
            // A plain payment that names a product is no sale; nor is another merchant's.
            (vec![paid(2, "product 3")], None),
            (vec![paid(2, "product 3"), issued(8)], None),
            (vec![paid(2, "coffee"), issued(2)], None),
        ];
        for (events, expected) in cases {
            assert_eq!(sale_of(&events, 0), expected, "{events:?}");
        }
        assert!(subscribes(&[paid(2, "subscribe product 3"), issued(2)]));
        assert_eq!(sale_of(&[issued(2)], 0), None);
    }

    #[test]
    fn months_match_the_calendar() {
        // 2026-12-07 is day 20_794; December 2026 starts on day 20_788.
        assert_eq!(period_at(PeriodKind::Month, 20_794 * PERIOD_MS), 202_612);
        assert_eq!(bounds(PeriodKind::Month, 202_612).0, 20_788 * PERIOD_MS);
        assert_eq!(bounds(PeriodKind::Month, 202_612).1, 20_819 * PERIOD_MS);
        assert_eq!(
            bounds(PeriodKind::Month, 202_402).1 / PERIOD_MS - 19_754,
            29
        );
        assert_eq!(period_at(PeriodKind::Month, 0), 197_001);
        assert_eq!(next(PeriodKind::Month, 202_612), 202_701);
        for day in [0u64, 59, 60, 365, 10_956, 20_794, 30_000] {
            let m = period_at(PeriodKind::Month, day * PERIOD_MS);
            let (s, e) = bounds(PeriodKind::Month, m);
            assert!(
                s <= day * PERIOD_MS && day * PERIOD_MS < e,
                "day {day} month {m}"
            );
        }
    }
}
