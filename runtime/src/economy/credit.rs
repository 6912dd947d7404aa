//! Micro-credit: a deterministic risk score per account from its on-chain history, and
//! credit lines a lender partner opens within what the score allows.
//!
//! # The score (integer arithmetic only)
//!
//! Execution keeps one [`CreditProfile`] per account, created the first time the
//! credit ledger records any activity of the account (a `Pay` it sends, directly or
//! through a mandate charge or an invoice; a `Redeem`; a credit line opened for it).
//! Its inputs and the score at height `h`:
//!
//! ```text
//! age_blocks   = h - first_seen                       (0 without a profile)
//! age_pts      = min(age_blocks / 100, 250)           1 point per 100 blocks
//! volume_pts   = min(volume / 1_000_000, 250)         1 point per 1,000,000 units paid (₩10,000 at 2 decimals)
//! redeem_pts   = min(5 * redemptions, 100)
//! repay_pts    = min(20 * repayments, 200) + min(repaid / 1_000_000, 200)
//! penalty      = 200 * defaults
//! score        = clamp(age_pts + volume_pts + redeem_pts + repay_pts - penalty, 0, 1000)
//! allowed      = score * CREDIT_UNITS_PER_POINT       (100,000 units = ₩1,000 per point)
//! ```
//!
//! `volume` sums the amounts (tax included) of the account's `Pay`s in any money
//! asset, in the asset's smallest units.
//!
//! # Lines
//!
//! - `OpenCreditLine` (a partner with the lender role): the borrower's open lines'
//!   limits plus the new one must not exceed `allowed`.
//! - `DrawCredit` (the borrower): moves units from the lender to the borrower while the
//!   line is open, the height is below its due height (`opened_at + due_period_blocks`)
//!   and the outstanding amount stays within the limit.
//! - A payment to a merchant (`Pay`, or a mandate charge or payment link that pays a
//!   merchant) whose payer holds less than the amount draws the shortfall from the
//!   payer's *standby line* for that asset, under the same conditions, before paying;
//!   if the line cannot cover all of it, nothing is drawn and the payment fails as it
//!   would have. A borrower's first open line in an asset becomes its standby line;
//!   when that line closes, the next line opened in the asset takes its place.
//! - `Repay` (the borrower): moves units back to the lender, at most the outstanding
//!   amount; each repayment counts toward the score. Repaying the outstanding amount to
//!   zero closes the line as repaid and frees its limit.
//! - At the end of block `due_height`, a line still open is closed: as defaulted if
//!   units are outstanding (the borrower's `defaults` rises by one: a missed due date
//!   costs 200 points), as repaid if nothing is (a line never drawn). Lines due at a
//!   height are a [`deadlines::Queue`], swept like redemption deadlines, at most
//!   [`LINES_SWEPT_PER_BLOCK_MAX`] per block.
//! - `MarkDefault` (the lender): at a height `>= due_height` with units outstanding, the
//!   line closes as defaulted at once (within the due block, before the sweep).
//!
//! Draws and repayments are transfers: supply never changes.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::ledger::{
    get, money_asset, move_units, next_id, partner_with, positive, CallCx, Fail, Res,
};
use crate::economy::{deadlines, is_reserved_account};
use crate::events::EventDef;
use crate::model::{CallError, Event, Role};
use crate::state::{read_record, Overlay, StateError, StateExt, StateRead, StateScan};
use crate::types::{Address, Amount, AssetId, Height};

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::state::keys::{
        with, BORROWER_LINE, CREDIT_LINE, CREDIT_PROFILE, NEXT_CREDIT_LINE_ID, STANDBY_LINE,
    };
    use crate::types::{Address, AssetId};

    /// Key of an account's credit profile.
    pub fn credit_profile(who: &Address) -> Vec<u8> {
        with(CREDIT_PROFILE, &[&who.0])
    }
    /// Key of the credit line id counter.
    pub fn next_credit_line_id() -> Vec<u8> {
        vec![NEXT_CREDIT_LINE_ID]
    }
    /// Key of a credit line.
    pub fn credit_line(id: u64) -> Vec<u8> {
        with(CREDIT_LINE, &[&id.to_be_bytes()])
    }
    /// Key of a credit line in its borrower's index.
    pub fn borrower_line(borrower: &Address, id: u64) -> Vec<u8> {
        with(BORROWER_LINE, &[&borrower.0, &id.to_be_bytes()])
    }
    /// Prefix of a borrower's credit lines.
    pub fn borrower_lines(borrower: &Address) -> Vec<u8> {
        with(BORROWER_LINE, &[&borrower.0])
    }
    /// Key of a borrower's standby line for an asset.
    pub fn standby_line(borrower: &Address, asset: AssetId) -> Vec<u8> {
        with(STANDBY_LINE, &[&borrower.0, &asset.0.to_be_bytes()])
    }
}

// ---------------------------------------------------------------- calls

/// A lender partner opens a credit line for a borrower, within what the borrower's
/// credit score allows (docs/economy.md, "Micro-credit").
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OpenCreditLine {
    /// The borrower (not the sender).
    pub borrower: Address,
    /// The money asset lent.
    pub asset: AssetId,
    /// The most units outstanding at once (> 0).
    pub limit: Amount,
    /// Blocks from opening to the due height (> 0).
    pub due_period_blocks: Height,
}

/// The borrower draws units from the lender, within the line's limit, before its
/// due height.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DrawCredit {
    /// The line's id.
    pub line_id: u64,
    /// Units (> 0).
    pub amount: Amount,
}

/// The borrower repays units to the lender, at most the outstanding amount.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Repay {
    /// The line's id.
    pub line_id: u64,
    /// Units (> 0).
    pub amount: Amount,
}

/// The lender marks a line past its due height with units outstanding as in
/// default: the line closes and the borrower's score falls.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MarkDefault {
    /// The line's id.
    pub line_id: u64,
}

impl CallDef for OpenCreditLine {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        open(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        let OpenCreditLine {
            borrower,
            asset,
            limit,
            due_period_blocks,
        } = self;
        format!("open a credit line of {limit} units of asset {asset} for {borrower}, due in {due_period_blocks} blocks")
    }
}

impl CallDef for DrawCredit {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        draw(ov, cx, self.line_id, self.amount, events)
    }

    fn summary(&self) -> String {
        format!("draw {} units on credit line {}", self.amount, self.line_id)
    }
}

impl CallDef for Repay {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        repay(ov, cx, self.line_id, self.amount, events)
    }

    fn summary(&self) -> String {
        format!(
            "repay {} units on credit line {}",
            self.amount, self.line_id
        )
    }

    fn addressee<S: StateRead + ?Sized>(&self, state: &S) -> Result<Option<Address>, StateError> {
        Ok(
            read_record::<CreditLine, _>(state, &storage::credit_line(self.line_id))?
                .map(|l| l.lender),
        )
    }
}

impl CallDef for MarkDefault {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        mark_default(ov, cx, self.line_id, events)
    }

    fn summary(&self) -> String {
        format!("mark credit line {} in default", self.line_id)
    }
}

// --------------------------------------------------------------- events

/// A lender opened a credit line for a borrower.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CreditLineOpened {
    /// The line's id.
    pub id: u64,
    /// The lender partner.
    pub lender: Address,
    /// The borrower.
    pub borrower: Address,
    /// The money asset.
    pub asset: AssetId,
    /// The most units outstanding at once.
    pub limit: Amount,
    /// From this height draws are refused and a default may be marked.
    pub due_height: Height,
}

impl EventDef for CreditLineOpened {
    fn accounts(&self) -> Vec<Address> {
        vec![self.borrower, self.lender]
    }
}

/// A borrower drew on a line (after a `Transferred` from the lender).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CreditDrawn {
    /// The line's id.
    pub id: u64,
    /// The lender.
    pub lender: Address,
    /// The borrower.
    pub borrower: Address,
    /// The asset.
    pub asset: AssetId,
    /// Units drawn.
    pub amount: Amount,
    /// Units outstanding after the draw.
    pub outstanding: Amount,
}

impl EventDef for CreditDrawn {
    fn accounts(&self) -> Vec<Address> {
        vec![self.borrower, self.lender]
    }
}

/// A borrower repaid on a line (after a `Transferred` to the lender); the line is
/// closed as repaid when `outstanding` is 0.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CreditRepaid {
    /// The line's id.
    pub id: u64,
    /// The lender.
    pub lender: Address,
    /// The borrower.
    pub borrower: Address,
    /// The asset.
    pub asset: AssetId,
    /// Units repaid.
    pub amount: Amount,
    /// Units outstanding after the repayment.
    pub outstanding: Amount,
}

impl EventDef for CreditRepaid {
    fn accounts(&self) -> Vec<Address> {
        vec![self.borrower, self.lender]
    }
}

/// The lender marked a line in default; it is closed.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CreditDefaulted {
    /// The line's id.
    pub id: u64,
    /// The lender.
    pub lender: Address,
    /// The borrower.
    pub borrower: Address,
    /// The asset.
    pub asset: AssetId,
    /// Units left unpaid.
    pub outstanding: Amount,
}

impl EventDef for CreditDefaulted {
    fn accounts(&self) -> Vec<Address> {
        vec![self.borrower, self.lender]
    }
}

/// Units of credit limit one score point allows (₩1,000 at 2 decimals).
pub const CREDIT_UNITS_PER_POINT: Amount = 100_000;
/// The highest score.
pub const SCORE_MAX: u64 = 1_000;
/// The most credit lines [`credit_lines_of`] lists for one borrower.
pub const CREDIT_LINES_LISTED_MAX: usize = 1_000;
/// The most due-line slots (and empty heights) one block's sweep examines.
pub const LINES_SWEPT_PER_BLOCK_MAX: u32 = 1024;

/// The counters the score is computed from, kept per account by execution.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct CreditProfile {
    /// The height at which the credit ledger first recorded the account.
    pub first_seen: Height,
    /// The sum of the account's `Pay` amounts, in smallest units.
    pub volume: u128,
    /// `Redeem` calls made.
    pub redemptions: u64,
    /// `Repay` calls made.
    pub repayments: u64,
    /// Units repaid in total.
    pub repaid: u128,
    /// Lines marked in default.
    pub defaults: u64,
    /// The sum of the limits of the account's open lines.
    pub committed: Amount,
}

impl CreditProfile {
    /// The score at `height` (see the module's formula).
    pub fn score(&self, height: Height) -> u64 {
        let age = height.saturating_sub(self.first_seen);
        let positive = (age / 100).min(250)
            + u64::try_from((self.volume / 1_000_000).min(250)).unwrap_or(250)
            + self.redemptions.saturating_mul(5).min(100)
            + self.repayments.saturating_mul(20).min(200)
            + u64::try_from((self.repaid / 1_000_000).min(200)).unwrap_or(200);
        positive
            .saturating_sub(self.defaults.saturating_mul(200))
            .min(SCORE_MAX)
    }
}

/// The credit limit a score allows across a borrower's open lines.
pub fn allowed_for(score: u64) -> Amount {
    score.saturating_mul(CREDIT_UNITS_PER_POINT)
}

/// A line's state.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Draws and repayments allowed.
    Open,
    /// Closed with nothing outstanding: repaid in full, or never drawn by its due
    /// height.
    Repaid,
    /// Closed in default: by the lender's `MarkDefault`, or at the end of its due
    /// block with units outstanding.
    Defaulted,
}

/// A credit line from a lender partner to a borrower.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CreditLine {
    /// The line's id (assigned in order, never reused).
    pub id: u64,
    /// The lender partner, which funds draws and receives repayments.
    pub lender: Address,
    /// The borrower.
    pub borrower: Address,
    /// The money asset lent.
    pub asset: AssetId,
    /// The most units outstanding at once.
    pub limit: Amount,
    /// The height of the opening block.
    pub opened_at: Height,
    /// `opened_at + due_period_blocks`: draws are refused from it on, and the lender
    /// may mark the line in default from it on if units are outstanding.
    pub due_height: Height,
    /// Units drawn and not yet repaid.
    pub outstanding: Amount,
    /// Open, repaid or defaulted.
    pub status: LineStatus,
}

/// An account's score with its inputs, as [`credit_score`] reports it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ScoreReport {
    /// The account.
    pub account: Address,
    /// The height the score is computed at.
    pub height: Height,
    /// When the credit ledger first recorded the account (`None`: never).
    pub first_seen: Option<Height>,
    /// `height - first_seen`.
    pub age_blocks: Height,
    /// Sum of the account's `Pay` amounts.
    pub volume: u128,
    /// `Redeem` calls made.
    pub redemptions: u64,
    /// `Repay` calls made.
    pub repayments: u64,
    /// Units repaid.
    pub repaid: u128,
    /// Lines defaulted.
    pub defaults: u64,
    /// The score, 0 to 1000.
    pub score: u64,
    /// `score * CREDIT_UNITS_PER_POINT`.
    pub allowed: Amount,
    /// The limits of the open lines.
    pub committed: Amount,
    /// What a new line may still be opened for: `allowed - committed` (0 if negative).
    pub available: Amount,
}

/// The account's profile, if the credit ledger has recorded it.
pub fn profile_of<S: StateRead + ?Sized>(
    s: &S,
    account: &Address,
) -> Result<Option<CreditProfile>, StateError> {
    read_record(s, &storage::credit_profile(account))
}

/// The account's score and its inputs at `height` (e.g. the head's).
pub fn credit_score<S: StateRead + ?Sized>(
    s: &S,
    account: &Address,
    height: Height,
) -> Result<ScoreReport, StateError> {
    let p = profile_of(s, account)?;
    let first_seen = p.map(|p| p.first_seen);
    let p = p.unwrap_or(CreditProfile {
        first_seen: height,
        ..CreditProfile::default()
    });
    let score = p.score(height);
    let allowed = allowed_for(score);
    Ok(ScoreReport {
        account: *account,
        height,
        first_seen,
        age_blocks: height.saturating_sub(p.first_seen),
        volume: p.volume,
        redemptions: p.redemptions,
        repayments: p.repayments,
        repaid: p.repaid,
        defaults: p.defaults,
        score,
        allowed,
        committed: p.committed,
        available: allowed.saturating_sub(p.committed),
    })
}

/// A borrower's credit lines in id order (at most [`CREDIT_LINES_LISTED_MAX`]).
pub fn credit_lines_of<S: StateScan + ?Sized>(
    s: &S,
    borrower: &Address,
) -> Result<Vec<CreditLine>, StateError> {
    let prefix = storage::borrower_lines(borrower);
    let mut out = Vec::new();
    for (k, _) in s.scan_prefix(&prefix, CREDIT_LINES_LISTED_MAX)? {
        let id_bytes: [u8; 8] =
            k[prefix.len()..]
                .try_into()
                .map_err(|_| StateError::MalformedKey {
                    what: "credit line",
                    key: k.clone(),
                })?;
        let id = u64::from_be_bytes(id_bytes);
        let line: CreditLine =
            read_record(s, &storage::credit_line(id))?.ok_or(StateError::MissingRecord {
                what: "credit line",
                id,
            })?;
        out.push(line);
    }
    Ok(out)
}

/// Applies `f` to the account's profile, creating it (first seen now) if absent.
fn update<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    account: &Address,
    f: impl FnOnce(&mut CreditProfile),
) -> Res<()> {
    let key = storage::credit_profile(account);
    let mut p: CreditProfile = get(ov, &key)?.unwrap_or(CreditProfile {
        first_seen: height,
        ..CreditProfile::default()
    });
    f(&mut p);
    ov.put(key, &p)?;
    Ok(())
}

/// Records a payment of `amount` sent by `payer` (called by `Pay`).
pub(crate) fn record_payment<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    payer: &Address,
    amount: Amount,
) -> Res<()> {
    update(ov, height, payer, |p| {
        p.volume = p.volume.saturating_add(u128::from(amount));
    })
}

/// Records a redemption made by `user` (called by `Redeem`).
pub(crate) fn record_redemption<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    user: &Address,
) -> Res<()> {
    update(ov, height, user, |p| {
        p.redemptions = p.redemptions.saturating_add(1);
    })
}

/// `OpenCreditLine`: the sender is the lender.
fn open<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    o: &OpenCreditLine,
    events: &mut Vec<Event>,
) -> Res<()> {
    if partner_with(ov, &cx.sender, Role::Lender)?.is_none() {
        return Err(CallError::NotALender { account: cx.sender }.into());
    }
    positive(o.limit)?;
    if o.due_period_blocks == 0 {
        return Err(CallError::ZeroPeriod.into());
    }
    money_asset(ov, o.asset)?;
    if o.borrower == cx.sender {
        return Err(CallError::SelfCredit.into());
    }
    if is_reserved_account(&o.borrower) {
        return Err(CallError::ReservedAccount {
            account: o.borrower,
        }
        .into());
    }
    let scope = crate::goods::policy::ClaimScope::CreditLines;
    crate::goods::policy::check(ov, &cx.sender, &scope, &o.borrower, o.limit, cx.time_ms)?;
    let report = credit_score(&*ov, &o.borrower, cx.height)?;
    let committed = report
        .committed
        .checked_add(o.limit)
        .filter(|c| *c <= report.allowed);
    let Some(committed) = committed else {
        return Err(CallError::CreditAboveScore {
            borrower: o.borrower,
            score: report.score,
            allowed: report.allowed,
            committed: report.committed,
            limit: o.limit,
        }
        .into());
    };
    let due_height =
        cx.height
            .checked_add(o.due_period_blocks)
            .ok_or(CallError::DuePeriodTooLong {
                due_period_blocks: o.due_period_blocks,
            })?;
    let id = next_id(ov, storage::next_credit_line_id())?;
    update(ov, cx.height, &o.borrower, |p| p.committed = committed)?;
    let line = CreditLine {
        id,
        lender: cx.sender,
        borrower: o.borrower,
        asset: o.asset,
        limit: o.limit,
        opened_at: cx.height,
        due_height,
        outstanding: 0,
        status: LineStatus::Open,
    };
    ov.put(storage::credit_line(id), &line)?;
    ov.put(storage::borrower_line(&o.borrower, id), &())?;
    deadlines::CREDIT_LINES.push(ov, due_height, id)?;
    let standby = storage::standby_line(&o.borrower, o.asset);
    let current: Option<u64> = get(ov, &standby)?;
    let current_open = match current {
        Some(c) => get::<CreditLine, S>(ov, &storage::credit_line(c))?
            .is_some_and(|l| l.status == LineStatus::Open),
        None => false,
    };
    if !current_open {
        ov.put(standby, &id)?;
    }
    events.push(Event::CreditLineOpened(CreditLineOpened {
        id,
        lender: cx.sender,
        borrower: o.borrower,
        asset: o.asset,
        limit: o.limit,
        due_height,
    }));
    Ok(())
}

fn open_line<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, id: u64) -> Res<CreditLine> {
    let line: CreditLine =
        get(ov, &storage::credit_line(id))?.ok_or(CallError::UnknownCreditLine { id })?;
    if line.status != LineStatus::Open {
        return Err(CallError::CreditLineClosed {
            id,
            status: line.status,
        }
        .into());
    }
    Ok(line)
}

fn borrower_only(line: &CreditLine, sender: &Address) -> Res<()> {
    if line.borrower != *sender {
        return Err(CallError::NotLineBorrower {
            id: line.id,
            borrower: line.borrower,
        }
        .into());
    }
    Ok(())
}

/// Frees a closed line's limit from the borrower's committed total.
fn release<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    line: &CreditLine,
    defaulted: bool,
) -> Res<()> {
    update(ov, height, &line.borrower, |p| {
        p.committed = p.committed.saturating_sub(line.limit);
        if defaulted {
            p.defaults = p.defaults.saturating_add(1);
        }
    })
}

/// `DrawCredit`: the sender is the borrower.
fn draw<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(amount)?;
    let line = open_line(ov, id)?;
    borrower_only(&line, &cx.sender)?;
    draw_units(ov, cx.height, line, amount, events)
}

/// Draws `amount` on an open line at `height`: before its due height, within its limit.
fn draw_units<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    mut line: CreditLine,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Res<()> {
    let id = line.id;
    if height >= line.due_height {
        return Err(CallError::CreditLineDue {
            id,
            due_height: line.due_height,
            height,
        }
        .into());
    }
    let outstanding = line
        .outstanding
        .checked_add(amount)
        .filter(|o| *o <= line.limit)
        .ok_or(CallError::CreditLimitExceeded {
            id,
            limit: line.limit,
            outstanding: line.outstanding,
            amount,
        })?;
    move_units(ov, &line.lender, &line.borrower, line.asset, amount)?;
    line.outstanding = outstanding;
    ov.put(storage::credit_line(id), &line)?;
    events.push(Event::Transferred(crate::events::Transferred {
        from: line.lender,
        to: line.borrower,
        asset: line.asset,
        amount,
    }));
    events.push(Event::CreditDrawn(CreditDrawn {
        id,
        lender: line.lender,
        borrower: line.borrower,
        asset: line.asset,
        amount,
        outstanding,
    }));
    Ok(())
}

/// Before a payment of `amount` by `payer`: if its balance is short, draws the
/// shortfall from its standby line for `asset`, when that line is open, not yet due and
/// can cover all of it. Otherwise draws nothing (the payment then fails as usual).
pub(crate) fn cover_shortfall<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    payer: &Address,
    asset: AssetId,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Res<()> {
    let held = ov.balance(payer, asset)?;
    let Some(short) = amount.checked_sub(held).filter(|s| *s > 0) else {
        return Ok(());
    };
    let Some(id) = get::<u64, S>(ov, &storage::standby_line(payer, asset))? else {
        return Ok(());
    };
    let Some(line) = get::<CreditLine, S>(ov, &storage::credit_line(id))? else {
        return Ok(());
    };
    let fits = line
        .outstanding
        .checked_add(short)
        .is_some_and(|o| o <= line.limit);
    if line.status != LineStatus::Open || height >= line.due_height || !fits {
        return Ok(());
    }
    draw_units(ov, height, line, short, events)
}

/// `Repay`: the sender is the borrower.
fn repay<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(amount)?;
    let mut line = open_line(ov, id)?;
    borrower_only(&line, &cx.sender)?;
    if amount > line.outstanding {
        return Err(CallError::RepayAboveOutstanding {
            id,
            outstanding: line.outstanding,
            amount,
        }
        .into());
    }
    move_units(ov, &line.borrower, &line.lender, line.asset, amount)?;
    line.outstanding -= amount;
    update(ov, cx.height, &line.borrower, |p| {
        p.repayments = p.repayments.saturating_add(1);
        p.repaid = p.repaid.saturating_add(u128::from(amount));
    })?;
    if line.outstanding == 0 {
        line.status = LineStatus::Repaid;
        release(ov, cx.height, &line, false)?;
    }
    ov.put(storage::credit_line(id), &line)?;
    events.push(Event::Transferred(crate::events::Transferred {
        from: line.borrower,
        to: line.lender,
        asset: line.asset,
        amount,
    }));
    events.push(Event::CreditRepaid(CreditRepaid {
        id,
        lender: line.lender,
        borrower: line.borrower,
        asset: line.asset,
        amount,
        outstanding: line.outstanding,
    }));
    Ok(())
}

/// `MarkDefault`: the sender is the lender.
fn mark_default<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let line = open_line(ov, id)?;
    if line.lender != cx.sender {
        return Err(CallError::NotLineLender {
            id,
            lender: line.lender,
        }
        .into());
    }
    if cx.height < line.due_height || line.outstanding == 0 {
        return Err(CallError::NotInDefault {
            id,
            due_height: line.due_height,
            outstanding: line.outstanding,
            height: cx.height,
        }
        .into());
    }
    close(ov, cx.height, line, events)
}

/// Closes a line at or after its due height: defaulted with units outstanding, else
/// repaid (a line never drawn, or drawn and repaid in the due block).
fn close<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    mut line: CreditLine,
    events: &mut Vec<Event>,
) -> Res<()> {
    let defaulted = line.outstanding > 0;
    line.status = if defaulted {
        LineStatus::Defaulted
    } else {
        LineStatus::Repaid
    };
    release(ov, height, &line, defaulted)?;
    ov.put(storage::credit_line(line.id), &line)?;
    if defaulted {
        events.push(Event::CreditDefaulted(CreditDefaulted {
            id: line.id,
            lender: line.lender,
            borrower: line.borrower,
            asset: line.asset,
            outstanding: line.outstanding,
        }));
    }
    Ok(())
}

/// The end-of-block step at `height`: closes every line still open whose due height
/// is at most `height` (see the module doc), examining at most
/// [`LINES_SWEPT_PER_BLOCK_MAX`] slots; the rest carry over. Emits `CreditDefaulted`
/// per default.
pub(crate) fn sweep<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let swept = deadlines::CREDIT_LINES.sweep(ov, height, LINES_SWEPT_PER_BLOCK_MAX, |ov, id| {
        match get::<CreditLine, S>(ov, &storage::credit_line(id))? {
            Some(line) if line.status == LineStatus::Open => close(ov, height, line, events),
            _ => Ok(()), // repaid or marked in default before its due block ended
        }
    });
    match swept {
        Ok(()) => Ok(()),
        Err(Fail::State(e)) => Err(e),
        Err(Fail::Call(error)) => Err(StateError::SweepFailed {
            sweep: "credit line",
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_profile_scores_zero_and_the_score_is_clamped() {
        assert_eq!(CreditProfile::default().score(0), 0);
        let p = CreditProfile {
            volume: u128::MAX,
            redemptions: u64::MAX,
            repayments: u64::MAX,
            repaid: u128::MAX,
            ..CreditProfile::default()
        };
        assert_eq!(p.score(Height::MAX), SCORE_MAX);
        let bad = CreditProfile {
            defaults: u64::MAX,
            ..p
        };
        assert_eq!(bad.score(Height::MAX), 0);
    }
}
