//! Carrier billing: a telco partner (the `carrier` role) opens a billing line for a
//! user; purchases charged to the line are paid at once from the carrier's float, and
//! the line's statement for each period is collected by the carrier (on the phone
//! bill) or paid by the user in won.
//!
//! Rules (docs/economy.md §14, "Carrier billing"):
//! - `OpenCarrierLine` (a carrier): a user (not itself, not reserved), a money asset,
//!   a cap per period (> 0, at most the governance parameter `carrier_line_cap_max`,
//!   [`CARRIER_LINE_CAP_MAX_DEFAULT`] unless genesis or a proposal set it), a period:
//!   calendar months of block time in UTC ([`LINE_PERIOD_CALENDAR_MONTH`], `0`; period
//!   0 is the month the line opened in), or a fixed length ([`LINE_PERIOD_MS_MIN`] …
//!   [`LINE_PERIOD_MS_MAX`]; periods count from the block that opened the line), and optionally the carrier's own loyalty credits as
//!   cashback (a credit asset it issues, at most 10 000 bps). One line per carrier and
//!   user. The carrier's claim policy for carrier lines applies (`goods::policy`).
//! - `ChargeLine` (the user, on an unsuspended line of a carrier that still holds the
//!   role): a payment to a merchant or a product purchase, in the line's asset. The
//!   carrier's float pays the merchant through the payment path of `Pay`/`Buy` (tax
//!   withheld, the merchant's cashback and stamp rules to the user, entitlements to
//!   the user); the period's statement accrues and never exceeds the cap
//!   (`LineCapExceeded`); the line's own cashback mints `bps` of the amount in the
//!   carrier's credits to the user.
//! - `SettleStatement` (after the period ends, once): `collected` by the carrier (its
//!   phone bill collected it; nothing moves on chain) or `paid_by_user` by the user
//!   (the statement's total moves from the user to the carrier).
//! - `SuspendLine` (the carrier, naming an ended period with an unsettled, non-empty
//!   statement) and `ResumeLine` (the carrier, a suspended line).
//!
//! Every move of units goes through the ledger, so supply is conserved; a failed call
//! writes nothing (the dispatcher reverts it).

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::ledger::{
    get, money_asset, move_units, next_id, own_credit, partner_with, positive, CallCx, Fail, Res,
};
use crate::economy::query::LISTED_MAX;
use crate::economy::{bps_of, calendar, is_reserved_account, pay, BPS_DENOMINATOR, PERIOD_MS};
use crate::events::EventDef;
use crate::model::{CallError, Event, Role};
use crate::state::{read_record, Overlay, StateError, StateRead, StateScan};
use crate::types::{Address, Amount, AssetId, Height, TimeMs};

/// The default most a carrier line may be charged per period: ₩1,000,000 in KRW's
/// units (Korea's legal monthly limit for phone-bill payments).
pub const CARRIER_LINE_CAP_MAX_DEFAULT: Amount = 100_000_000;
/// The shortest line period: one second of block time (tests and demos).
pub const LINE_PERIOD_MS_MIN: u64 = 1_000;
/// The longest line period: a leap year of days.
pub const LINE_PERIOD_MS_MAX: u64 = 366 * PERIOD_MS;
/// A line's `period_ms` that asks for calendar months (UTC) instead of a fixed
/// length: the usual line period, as a phone bill's. Period 0 is the month the line
/// opened in; each later period is the next calendar month (28 to 31 days).
pub const LINE_PERIOD_CALENDAR_MONTH: u64 = 0;

/// Where this module keeps its records (prefixes in [`crate::state::keys`]).
pub mod storage {
    use crate::state::keys::{
        with, ACCOUNT_CARRIER_LINE, CARRIER_LINE, CARRIER_PARAMS, CARRIER_USER_LINE,
        LINE_STATEMENT, NEXT_CARRIER_LINE_ID,
    };
    use crate::types::Address;

    /// Key of the carrier parameters.
    pub fn params() -> Vec<u8> {
        vec![CARRIER_PARAMS]
    }
    /// Key of the line id counter.
    pub fn next_line_id() -> Vec<u8> {
        vec![NEXT_CARRIER_LINE_ID]
    }
    /// Key of a line.
    pub fn line(id: u64) -> Vec<u8> {
        with(CARRIER_LINE, &[&id.to_be_bytes()])
    }
    /// Key of a line in an account's index (its user's and its carrier's).
    pub fn account_line(account: &Address, id: u64) -> Vec<u8> {
        with(ACCOUNT_CARRIER_LINE, &[&account.0, &id.to_be_bytes()])
    }
    /// Prefix of an account's lines.
    pub fn account_lines(account: &Address) -> Vec<u8> {
        with(ACCOUNT_CARRIER_LINE, &[&account.0])
    }
    /// Key of the line a carrier has for a user.
    pub fn carrier_user(carrier: &Address, user: &Address) -> Vec<u8> {
        with(CARRIER_USER_LINE, &[&carrier.0, &user.0])
    }
    /// Key of a line's statement for one period.
    pub fn statement(line: u64, period: u64) -> Vec<u8> {
        with(
            LINE_STATEMENT,
            &[&line.to_be_bytes(), &period.to_be_bytes()],
        )
    }
    /// Prefix of a line's statements.
    pub fn statements(line: u64) -> Vec<u8> {
        with(LINE_STATEMENT, &[&line.to_be_bytes()])
    }
}

// -------------------------------------------------------------- records

/// Consortium-wide carrier billing parameters (genesis, then governance).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CarrierParams {
    /// The most any line's cap may be, in its asset's smallest unit.
    pub line_cap_max: Amount,
}

impl Default for CarrierParams {
    fn default() -> Self {
        CarrierParams {
            line_cap_max: CARRIER_LINE_CAP_MAX_DEFAULT,
        }
    }
}

/// The carrier's own loyalty credits, granted on each purchase charged to a line.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct LineCashback {
    /// A credit asset the carrier issues.
    pub asset: AssetId,
    /// Basis points of each charge's amount (at most 10 000), rounded down.
    pub bps: u16,
}

/// A billing line.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CarrierLine {
    /// Its id.
    pub id: u64,
    /// The carrier partner whose float pays.
    pub carrier: Address,
    /// The user who charges it.
    pub user: Address,
    /// The money asset.
    pub asset: AssetId,
    /// The most charged per period.
    pub cap: Amount,
    /// The period's length (block time, ms), or [`LINE_PERIOD_CALENDAR_MONTH`].
    pub period_ms: u64,
    /// Period 0 starts here (the opening block's time).
    pub opened_at_ms: TimeMs,
    /// The height it was opened at.
    pub opened_at: Height,
    /// The carrier's loyalty cashback, if any.
    pub cashback: Option<LineCashback>,
    /// Whether the carrier suspended it.
    pub suspended: bool,
}

impl CarrierLine {
    /// The period a block time falls in (0 from the opening).
    pub fn period_at(&self, time_ms: TimeMs) -> u64 {
        if self.period_ms == LINE_PERIOD_CALENDAR_MONTH {
            let time_ms = time_ms.max(self.opened_at_ms);
            return calendar::month_index(time_ms) - calendar::month_index(self.opened_at_ms);
        }
        time_ms.saturating_sub(self.opened_at_ms) / self.period_ms
    }

    /// A period's start and end (block time, ms; saturating). A calendar-month line's
    /// period 0 is the whole month it opened in.
    pub fn bounds(&self, period: u64) -> (TimeMs, TimeMs) {
        if self.period_ms == LINE_PERIOD_CALENDAR_MONTH {
            let first = calendar::month_index(self.opened_at_ms);
            return calendar::month_bounds(first.saturating_add(period));
        }
        let start = self
            .opened_at_ms
            .saturating_add(period.saturating_mul(self.period_ms));
        (start, start.saturating_add(self.period_ms))
    }
}

/// How a statement was settled.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    /// The carrier collected it off chain (on the phone bill).
    Collected,
    /// The user paid the total to the carrier on chain.
    PaidByUser,
}

/// What a line was charged in one period.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Statement {
    /// The line.
    pub line: u64,
    /// The period (0 from the opening).
    pub period: u64,
    /// Its start (block time, ms).
    pub starts_at_ms: TimeMs,
    /// Its end (block time, ms, exclusive).
    pub ends_at_ms: TimeMs,
    /// Units charged (never above the line's cap).
    pub charged: Amount,
    /// Purchases charged.
    pub purchases: u32,
    /// The carrier's loyalty credits granted.
    pub cashback: Amount,
    /// How it was settled, if it was.
    pub settled: Option<Settlement>,
    /// The height it was settled at.
    pub settled_at: Option<Height>,
}

// ---------------------------------------------------------------- calls

/// A carrier opens a billing line for a user.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OpenCarrierLine {
    /// The user.
    pub user: Address,
    /// The money asset.
    pub asset: AssetId,
    /// The most charged per period (> 0, at most `carrier_line_cap_max`).
    pub cap: Amount,
    /// The period's length in ms of block time, or [`LINE_PERIOD_CALENDAR_MONTH`]
    /// (`0`) for calendar months (UTC).
    pub period_ms: u64,
    /// The carrier's loyalty cashback on purchases, if any.
    pub cashback: Option<LineCashback>,
}

/// What a charge to a line buys.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinePurchase {
    /// A payment to a merchant partner, as `Pay`.
    Pay {
        /// The merchant.
        merchant: Address,
        /// Units, tax included (> 0).
        amount: Amount,
        /// The user's reference, at most 64 bytes.
        reference: String,
    },
    /// A product, as `Buy`.
    Buy {
        /// The product.
        product: u64,
    },
}

/// The user charges a purchase to its line.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ChargeLine {
    /// The line.
    pub line: u64,
    /// What is bought.
    pub purchase: LinePurchase,
}

/// The carrier (collected) or the user (paid) settles an ended period's statement.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SettleStatement {
    /// The line.
    pub line: u64,
    /// The period.
    pub period: u64,
    /// How.
    pub how: Settlement,
}

/// The carrier suspends a line whose statement for an ended period is unpaid.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SuspendLine {
    /// The line.
    pub line: u64,
    /// The unpaid period.
    pub period: u64,
}

/// The carrier resumes a suspended line.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ResumeLine {
    /// The line.
    pub line: u64,
}

// --------------------------------------------------------------- events

/// A carrier line was opened.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CarrierLineOpened {
    /// The line.
    pub line: u64,
    /// The carrier.
    pub carrier: Address,
    /// The user.
    pub user: Address,
    /// The money asset.
    pub asset: AssetId,
    /// The cap per period.
    pub cap: Amount,
    /// The period (ms), or `0` for calendar months (UTC).
    pub period_ms: u64,
    /// The carrier's cashback, if any.
    pub cashback: Option<LineCashback>,
}

impl EventDef for CarrierLineOpened {
    fn accounts(&self) -> Vec<Address> {
        vec![self.carrier, self.user]
    }
}

/// A purchase was charged to a line (after its `Paid`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct LineCharged {
    /// The line.
    pub line: u64,
    /// The carrier that paid.
    pub carrier: Address,
    /// The user.
    pub user: Address,
    /// The merchant paid.
    pub merchant: Address,
    /// Units charged.
    pub amount: Amount,
    /// The period.
    pub period: u64,
    /// The period's total after this charge.
    pub charged: Amount,
    /// The carrier's loyalty credits granted (0 if none).
    pub cashback: Amount,
}

impl EventDef for LineCharged {
    fn accounts(&self) -> Vec<Address> {
        vec![self.carrier, self.user, self.merchant]
    }
}

/// A period's statement was settled.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StatementSettled {
    /// The line.
    pub line: u64,
    /// The carrier.
    pub carrier: Address,
    /// The user.
    pub user: Address,
    /// The period.
    pub period: u64,
    /// The statement's total.
    pub amount: Amount,
    /// How.
    pub how: Settlement,
}

impl EventDef for StatementSettled {
    fn accounts(&self) -> Vec<Address> {
        vec![self.carrier, self.user]
    }
}

/// A line was suspended for an unpaid period.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CarrierLineSuspended {
    /// The line.
    pub line: u64,
    /// The carrier.
    pub carrier: Address,
    /// The user.
    pub user: Address,
    /// The unpaid period.
    pub period: u64,
}

impl EventDef for CarrierLineSuspended {
    fn accounts(&self) -> Vec<Address> {
        vec![self.carrier, self.user]
    }
}

/// A suspended line was resumed.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CarrierLineResumed {
    /// The line.
    pub line: u64,
    /// The carrier.
    pub carrier: Address,
    /// The user.
    pub user: Address,
}

impl EventDef for CarrierLineResumed {
    fn accounts(&self) -> Vec<Address> {
        vec![self.carrier, self.user]
    }
}

// ------------------------------------------------------------ execution

impl CallDef for OpenCarrierLine {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        open(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        let per = match self.period_ms {
            LINE_PERIOD_CALENDAR_MONTH => "calendar month (UTC)".to_string(),
            ms => format!("{ms} ms"),
        };
        format!(
            "open a carrier line for {} capped at {} units of asset {} per {per}",
            self.user, self.cap, self.asset
        )
    }
}

impl CallDef for ChargeLine {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        charge(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        match &self.purchase {
            LinePurchase::Pay {
                merchant, amount, ..
            } => format!(
                "charge a payment of {amount} units to merchant {merchant} to carrier line {}",
                self.line
            ),
            LinePurchase::Buy { product } => {
                format!("charge product {product} to carrier line {}", self.line)
            }
        }
    }
}

impl CallDef for SettleStatement {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        settle(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        let how = match self.how {
            Settlement::Collected => "collected",
            Settlement::PaidByUser => "paid by the user",
        };
        format!(
            "settle carrier line {} period {} as {how}",
            self.line, self.period
        )
    }
}

impl CallDef for SuspendLine {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let mut l = carrier_only(ov, cx, self.line)?;
        let s = unpaid(ov, cx, &l, self.period)?;
        l.suspended = true;
        ov.put(storage::line(l.id), &l)?;
        events.push(Event::CarrierLineSuspended(CarrierLineSuspended {
            line: l.id,
            carrier: l.carrier,
            user: l.user,
            period: s.period,
        }));
        Ok(())
    }

    fn summary(&self) -> String {
        format!(
            "suspend carrier line {} for unpaid period {}",
            self.line, self.period
        )
    }
}

impl CallDef for ResumeLine {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let mut l = carrier_only(ov, cx, self.line)?;
        if !l.suspended {
            return Err(CallError::CarrierLineNotSuspended { line: l.id }.into());
        }
        l.suspended = false;
        ov.put(storage::line(l.id), &l)?;
        events.push(Event::CarrierLineResumed(CarrierLineResumed {
            line: l.id,
            carrier: l.carrier,
            user: l.user,
        }));
        Ok(())
    }

    fn summary(&self) -> String {
        format!("resume carrier line {}", self.line)
    }
}

fn invalid(reason: impl Into<String>) -> CallError {
    CallError::InvalidCarrierLine {
        reason: reason.into(),
    }
}

/// The carrier parameters (defaults if the state has none).
pub(crate) fn params_of<S: StateRead + ?Sized>(ov: &Overlay<'_, S>) -> Res<CarrierParams> {
    Ok(get(ov, &storage::params())?.unwrap_or_default())
}

/// `OpenCarrierLine`.
fn open<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    o: &OpenCarrierLine,
    events: &mut Vec<Event>,
) -> Res<()> {
    if partner_with(ov, &cx.sender, Role::Carrier)?.is_none() {
        return Err(CallError::MissingRole {
            role: Role::Carrier,
        }
        .into());
    }
    if o.user == cx.sender {
        return Err(invalid("a carrier cannot open a line for itself").into());
    }
    if is_reserved_account(&o.user) {
        return Err(CallError::ReservedAccount { account: o.user }.into());
    }
    money_asset(ov, o.asset)?;
    positive(o.cap)?;
    let max = params_of(ov)?.line_cap_max;
    if o.cap > max {
        return Err(CallError::LineCapAboveMax { cap: o.cap, max }.into());
    }
    if o.period_ms != LINE_PERIOD_CALENDAR_MONTH
        && !(LINE_PERIOD_MS_MIN..=LINE_PERIOD_MS_MAX).contains(&o.period_ms)
    {
        return Err(invalid(format!(
            "period_ms must be 0 (calendar months) or {LINE_PERIOD_MS_MIN} to {LINE_PERIOD_MS_MAX}"
        ))
        .into());
    }
    if let Some(c) = &o.cashback {
        own_credit(ov, c.asset, &cx.sender)?;
        if u64::from(c.bps) > BPS_DENOMINATOR || c.bps == 0 {
            return Err(invalid("cashback bps must be 1 to 10000").into());
        }
    }
    let pair = storage::carrier_user(&cx.sender, &o.user);
    if let Some(line) = get::<u64, _>(ov, &pair)? {
        return Err(CallError::CarrierLineExists {
            carrier: cx.sender,
            user: o.user,
            line,
        }
        .into());
    }
    let scope = super::policy::ClaimScope::CarrierLines;
    super::policy::check(ov, &cx.sender, &scope, &o.user, o.cap, cx.time_ms)?;
    let id = next_id(ov, storage::next_line_id())?;
    let record = CarrierLine {
        id,
        carrier: cx.sender,
        user: o.user,
        asset: o.asset,
        cap: o.cap,
        period_ms: o.period_ms,
        opened_at_ms: cx.time_ms,
        opened_at: cx.height,
        cashback: o.cashback,
        suspended: false,
    };
    ov.put(storage::line(id), &record)?;
    ov.put(pair, &id)?;
    ov.put(storage::account_line(&o.user, id), &())?;
    ov.put(storage::account_line(&cx.sender, id), &())?;
    events.push(Event::CarrierLineOpened(CarrierLineOpened {
        line: id,
        carrier: cx.sender,
        user: o.user,
        asset: o.asset,
        cap: o.cap,
        period_ms: o.period_ms,
        cashback: o.cashback,
    }));
    Ok(())
}

fn existing_line<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, id: u64) -> Res<CarrierLine> {
    Ok(get(ov, &storage::line(id))?.ok_or(CallError::UnknownCarrierLine { line: id })?)
}

fn carrier_only<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
) -> Res<CarrierLine> {
    let l = existing_line(ov, id)?;
    if l.carrier != cx.sender {
        return Err(CallError::NotLineCarrier {
            line: id,
            carrier: l.carrier,
        }
        .into());
    }
    Ok(l)
}

/// A period's statement, or an empty one.
fn statement_or_empty<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    l: &CarrierLine,
    period: u64,
) -> Res<Statement> {
    Ok(statement(ov, l, period)?)
}

/// The statement of an ended period with unsettled charges.
fn unpaid<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    cx: &CallCx,
    l: &CarrierLine,
    period: u64,
) -> Res<Statement> {
    let s = statement_or_empty(ov, l, period)?;
    if cx.time_ms < s.ends_at_ms {
        return Err(CallError::LinePeriodNotOver {
            line: l.id,
            period,
            ends_at_ms: s.ends_at_ms,
        }
        .into());
    }
    if s.charged == 0 || s.settled.is_some() {
        return Err(CallError::NothingUnpaid { line: l.id, period }.into());
    }
    Ok(s)
}

/// `ChargeLine`: the cap is checked, the carrier pays, the statement accrues.
fn charge<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    c: &ChargeLine,
    events: &mut Vec<Event>,
) -> Res<()> {
    let l = existing_line(ov, c.line)?;
    if l.user != cx.sender {
        return Err(CallError::NotLineUser {
            line: l.id,
            user: l.user,
        }
        .into());
    }
    if l.suspended {
        return Err(CallError::CarrierLineSuspended { line: l.id }.into());
    }
    if partner_with(ov, &l.carrier, Role::Carrier)?.is_none() {
        return Err(CallError::MissingRole {
            role: Role::Carrier,
        }
        .into());
    }
    let (merchant, amount) = match &c.purchase {
        LinePurchase::Pay {
            merchant, amount, ..
        } => (*merchant, *amount),
        LinePurchase::Buy { product } => {
            let p = super::calls::existing_product(ov, *product)?;
            if p.asset != l.asset {
                return Err(invalid(format!(
                    "product {product} is priced in asset {}, the line is in asset {}",
                    p.asset, l.asset
                ))
                .into());
            }
            (p.merchant, p.price)
        }
    };
    positive(amount)?;
    let period = l.period_at(cx.time_ms);
    let mut s = statement_or_empty(ov, &l, period)?;
    let charged = s
        .charged
        .checked_add(amount)
        .filter(|t| *t <= l.cap)
        .ok_or(CallError::LineCapExceeded {
            line: l.id,
            period,
            cap: l.cap,
            charged: s.charged,
            amount,
        })?;
    match &c.purchase {
        LinePurchase::Pay {
            merchant,
            amount,
            reference,
        } => pay::pay_funded(
            ov, cx, &l.carrier, merchant, l.asset, *amount, reference, events,
        )?,
        LinePurchase::Buy { product } => super::calls::buy(ov, cx, &l.carrier, *product, events)?,
    }
    let cashback = grant_cashback(ov, &l, amount, events)?;
    s.charged = charged;
    s.purchases = s.purchases.saturating_add(1);
    s.cashback = s.cashback.saturating_add(cashback);
    ov.put(storage::statement(l.id, period), &s)?;
    events.push(Event::LineCharged(LineCharged {
        line: l.id,
        carrier: l.carrier,
        user: l.user,
        merchant,
        amount,
        period,
        charged,
        cashback,
    }));
    Ok(())
}

/// Mints the line's loyalty cashback to its user; 0 if none, if it rounds to 0, or
/// if the asset cannot mint it (its supply limit), in which case the purchase stands.
fn grant_cashback<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    l: &CarrierLine,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Res<Amount> {
    let Some(c) = l.cashback else {
        return Ok(0);
    };
    let reward = bps_of(amount, c.bps);
    if reward == 0 {
        return Ok(0);
    }
    let info = crate::economy::ledger::asset(ov, c.asset)?;
    let cp = ov.checkpoint();
    match crate::economy::ledger::mint(ov, info, &l.user, reward) {
        Ok(()) => {
            events.push(Event::Minted(crate::events::Minted {
                asset: c.asset,
                to: l.user,
                amount: reward,
            }));
            Ok(reward)
        }
        Err(Fail::Call(_)) => {
            ov.revert(cp);
            Ok(0)
        }
        Err(e) => Err(e),
    }
}

/// `SettleStatement`.
fn settle<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    st: &SettleStatement,
    events: &mut Vec<Event>,
) -> Res<()> {
    let l = existing_line(ov, st.line)?;
    match st.how {
        Settlement::Collected if l.carrier != cx.sender => {
            return Err(CallError::NotLineCarrier {
                line: l.id,
                carrier: l.carrier,
            }
            .into());
        }
        Settlement::PaidByUser if l.user != cx.sender => {
            return Err(CallError::NotLineUser {
                line: l.id,
                user: l.user,
            }
            .into());
        }
        _ => {}
    }
    let mut s = unpaid(ov, cx, &l, st.period)?;
    if st.how == Settlement::PaidByUser {
        move_units(ov, &l.user, &l.carrier, l.asset, s.charged)?;
        events.push(Event::Transferred(crate::events::Transferred {
            from: l.user,
            to: l.carrier,
            asset: l.asset,
            amount: s.charged,
        }));
    }
    s.settled = Some(st.how);
    s.settled_at = Some(cx.height);
    ov.put(storage::statement(l.id, s.period), &s)?;
    events.push(Event::StatementSettled(StatementSettled {
        line: l.id,
        carrier: l.carrier,
        user: l.user,
        period: s.period,
        amount: s.charged,
        how: st.how,
    }));
    Ok(())
}

// -------------------------------------------------------------- queries

/// A line by id.
pub fn line<S: StateRead + ?Sized>(s: &S, id: u64) -> Result<Option<CarrierLine>, StateError> {
    read_record(s, &storage::line(id))
}

/// The carrier parameters in effect.
pub fn params<S: StateRead + ?Sized>(s: &S) -> Result<CarrierParams, StateError> {
    Ok(read_record(s, &storage::params())?.unwrap_or_default())
}

/// The lines an account uses or carries, in id order, at most [`LISTED_MAX`].
pub fn lines_of<S: StateScan + ?Sized>(
    s: &S,
    account: &Address,
) -> Result<Vec<CarrierLine>, StateError> {
    let prefix = storage::account_lines(account);
    super::indexed_ids(s, &prefix, "account carrier line")?
        .into_iter()
        .map(|id| {
            line(s, id)?.ok_or(StateError::MissingRecord {
                what: "carrier line",
                id,
            })
        })
        .collect()
}

/// A line's statement for one period (an empty one if nothing was charged in it).
pub fn statement<S: StateRead + ?Sized>(
    s: &S,
    l: &CarrierLine,
    period: u64,
) -> Result<Statement, StateError> {
    let (starts_at_ms, ends_at_ms) = l.bounds(period);
    Ok(
        read_record(s, &storage::statement(l.id, period))?.unwrap_or(Statement {
            line: l.id,
            period,
            starts_at_ms,
            ends_at_ms,
            charged: 0,
            purchases: 0,
            cashback: 0,
            settled: None,
            settled_at: None,
        }),
    )
}

/// A line's statements with charges, by period, the first [`LISTED_MAX`]; then the
/// period current at `time_ms` if it has no charges yet (and the list has room).
pub fn statements_of<S: StateScan + ?Sized>(
    s: &S,
    l: &CarrierLine,
    time_ms: TimeMs,
) -> Result<Vec<Statement>, StateError> {
    let prefix = storage::statements(l.id);
    let mut out: Vec<Statement> = Vec::new();
    for (k, _) in s.scan_prefix(&prefix, LISTED_MAX)? {
        let period =
            crate::economy::query::be_u64(&k[prefix.len()..]).ok_or(StateError::MalformedKey {
                what: "carrier statement",
                key: k.clone(),
            })?;
        out.push(statement(s, l, period)?);
    }
    let current = l.period_at(time_ms);
    if out.len() < LISTED_MAX && out.last().is_none_or(|st| st.period < current) {
        out.push(statement(s, l, current)?);
    }
    Ok(out)
}
