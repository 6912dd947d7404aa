//! Reward rules (cashback and stamps attached by issuers to merchants' payments) and
//! stamp redemption.
//!
//! A payment applies every rule of its merchant whose `pay_asset` is the payment's
//! asset, in ascending rule id. A rule that cannot mint (cap reached, issuance limit,
//! supply overflow) is skipped with a `RewardSkipped` event; the payment stands.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::ledger::{
    asset, burn, get, merchant, mint, money_asset, next_id, own_credit, partner_with, positive,
    CallCx, Fail, Res,
};
use crate::economy::query::{decode, LISTED_MAX};
use crate::economy::{bps_of, BPS_DENOMINATOR};
use crate::events::EventDef;
use crate::model::{CallError, Event, Role};
use crate::state::keys;
use crate::state::{read_record, StateScan};
use crate::state::{Overlay, StateError, StateExt, StateRead};
use crate::types::TimeMs;
use crate::types::{Address, Amount, AssetId};

// -------------------------------------------------------------- records

/// The most merchants one reward rule may name.
pub const RULE_MERCHANTS_MAX: usize = 16;

/// The most reward rules attached to one merchant: a payment applies at most this many.
pub const MERCHANT_RULES_MAX: usize = 16;

/// What a reward rule grants per matching payment.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// `floor(amount * rate_bps / 10_000)` units of `asset`, where `amount` is the
    /// payment's amount (before tax).
    Cashback {
        /// Rate in basis points, 1 to 10 000.
        rate_bps: u16,
        /// The credit asset paid out; the rule's issuer issues it.
        asset: AssetId,
    },
    /// `per_payment` units of `asset` per payment, whatever its amount.
    Stamps {
        /// Stamps per payment, at least 1.
        per_payment: Amount,
        /// The credit asset paid out; the rule's issuer issues it.
        asset: AssetId,
    },
}

impl RewardKind {
    /// The credit asset the rule mints.
    pub fn asset(&self) -> AssetId {
        match self {
            RewardKind::Cashback { asset, .. } | RewardKind::Stamps { asset, .. } => *asset,
        }
    }

    /// The reward for a payment of `amount`, before the cap.
    pub fn reward(&self, amount: Amount) -> Amount {
        match *self {
            RewardKind::Cashback { rate_bps, .. } => bps_of(amount, rate_bps),
            RewardKind::Stamps { per_payment, .. } => per_payment,
        }
    }
}

/// A reward rule attached by an issuer to payments at one or more merchants.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RewardRule {
    /// The rule's id (assigned in order, never reused).
    pub id: u64,
    /// The issuer partner that added it and mints its rewards.
    pub issuer: Address,
    /// The merchants whose payments it rewards, in the order given (no duplicates).
    pub merchants: Vec<Address>,
    /// Only payments in this (money) asset earn the reward.
    pub pay_asset: AssetId,
    /// Cashback or stamps.
    pub kind: RewardKind,
    /// The most units one payer may earn from this rule in one period.
    pub cap_per_user_per_period: Amount,
    /// The length of the cap's period in milliseconds; period index = `time_ms / period_ms`.
    pub period_ms: u64,
}

/// How much of a rule's cap a payer has used in a period (only the latest period is kept).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RewardUsage {
    /// Period index: `time_ms / rule.period_ms`.
    pub period: u64,
    /// Units granted in that period.
    pub granted: Amount,
}

/// Why a matching reward rule granted nothing for a payment (the payment still stands).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The payer already earned the rule's cap in this period.
    CapReached {
        /// The cap per user per period.
        cap: Amount,
    },
    /// Minting would take the reward asset above its issuance limit.
    SupplyMaxReached {
        /// The asset's `supply_max`.
        supply_max: Amount,
    },
    /// Minting would overflow the reward asset's supply (u64).
    SupplyOverflow,
}

/// What `stamps` units of a stamp asset redeem for (set by their issuer).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StampReward {
    /// Stamps per reward, at least 1.
    pub stamps: Amount,
    /// The credit asset minted as the reward (e.g. a voucher), same issuer.
    pub reward_asset: AssetId,
    /// Units of `reward_asset` per `stamps` stamps.
    pub reward_amount: Amount,
}

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::state::keys::{
        with, MERCHANT_RULES, NEXT_RULE_ID, REWARD_USAGE, RULE, STAMP_REWARD,
    };
    use crate::types::{Address, AssetId};

    /// Key of the reward rule id counter.
    pub fn next_rule_id() -> Vec<u8> {
        vec![NEXT_RULE_ID]
    }
    /// Key of a reward rule.
    pub fn rule(id: u64) -> Vec<u8> {
        with(RULE, &[&id.to_be_bytes()])
    }
    /// Key of a merchant's rule list.
    pub fn merchant_rules(merchant: &Address) -> Vec<u8> {
        with(MERCHANT_RULES, &[&merchant.0])
    }
    /// Key of a payer's use of a rule's cap.
    pub fn reward_usage(rule: u64, user: &Address) -> Vec<u8> {
        with(REWARD_USAGE, &[&rule.to_be_bytes(), &user.0])
    }
    /// Key of a stamp asset's reward.
    pub fn stamp_reward(stamp_asset: AssetId) -> Vec<u8> {
        with(STAMP_REWARD, &[&stamp_asset.0.to_be_bytes()])
    }
}

// -------------------------------------------------------------- queries

/// A reward rule by id.
pub fn reward_rule<S: StateRead + ?Sized>(
    state: &S,
    id: u64,
) -> Result<Option<RewardRule>, StateError> {
    read_record(state, &crate::economy::rewards::storage::rule(id))
}

/// The rules attached to a merchant, in application (id) order.
pub fn merchant_rules<S: StateRead + ?Sized>(
    state: &S,
    merchant: &Address,
) -> Result<Vec<RewardRule>, StateError> {
    let ids: Vec<u64> = read_record(
        state,
        &crate::economy::rewards::storage::merchant_rules(merchant),
    )?
    .unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(reward_rule(state, id)?);
    }
    Ok(out)
}

/// Every reward rule, in id order, at most `limit` (capped at [`LISTED_MAX`]).
pub fn reward_rules<S: StateScan + ?Sized>(
    state: &S,
    limit: usize,
) -> Result<Vec<RewardRule>, StateError> {
    state
        .scan_prefix(&[keys::RULE], limit.min(LISTED_MAX))?
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect()
}

/// Units a payer has earned from a rule in the rule's period containing `time_ms`.
pub fn reward_used<S: StateRead + ?Sized>(
    state: &S,
    rule: &RewardRule,
    user: &Address,
    time_ms: TimeMs,
) -> Result<Amount, StateError> {
    let usage: Option<RewardUsage> = read_record(
        state,
        &crate::economy::rewards::storage::reward_usage(rule.id, user),
    )?;
    let period = time_ms / rule.period_ms.max(1);
    Ok(usage
        .filter(|u| u.period == period)
        .map_or(0, |u| u.granted))
}

/// What a stamp asset redeems for.
pub fn stamp_reward<S: StateRead + ?Sized>(
    state: &S,
    stamp_asset: AssetId,
) -> Result<Option<StampReward>, StateError> {
    read_record(
        state,
        &crate::economy::rewards::storage::stamp_reward(stamp_asset),
    )
}

// ---------------------------------------------------------------- calls

/// An issuer attaches a reward rule to payments at one or more merchants.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AddRewardRule {
    /// 1 to 16 merchant partners, no duplicates.
    pub merchants: Vec<Address>,
    /// The money asset whose payments earn the reward.
    pub pay_asset: AssetId,
    /// Cashback or stamps, in a credit asset the sender issues.
    pub kind: RewardKind,
    /// The most units one payer may earn per period (> 0).
    pub cap_per_user_per_period: Amount,
    /// The cap's period in milliseconds (> 0).
    pub period_ms: u64,
}

/// The issuer of a reward rule removes it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RemoveRewardRule {
    /// The rule's id.
    pub id: u64,
}

/// The issuer of a stamp asset sets what its stamps redeem for.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SetStampReward {
    /// The stamp asset (a credit the sender issues).
    pub stamp_asset: AssetId,
    /// Stamps per reward (> 0).
    pub stamps: Amount,
    /// The reward asset (another credit the sender issues).
    pub reward_asset: AssetId,
    /// Reward units per `stamps` stamps (> 0).
    pub reward_amount: Amount,
}

/// A holder burns stamps and receives their reward at once.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RedeemStamps {
    /// The stamp asset.
    pub stamp_asset: AssetId,
    /// Stamps to burn: a positive multiple of the configured `stamps`.
    pub count: Amount,
}

impl CallDef for AddRewardRule {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        add_rule(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        format!("add a reward rule at {} merchants", self.merchants.len())
    }
}

impl CallDef for RemoveRewardRule {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        remove_rule(ov, cx, self.id, events)
    }

    fn summary(&self) -> String {
        format!("remove reward rule {}", self.id)
    }
}

impl CallDef for SetStampReward {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let reward = StampReward {
            stamps: self.stamps,
            reward_asset: self.reward_asset,
            reward_amount: self.reward_amount,
        };
        set_stamp_reward(ov, cx, self.stamp_asset, reward, events)
    }

    fn summary(&self) -> String {
        format!("set the reward of stamp asset {}", self.stamp_asset)
    }
}

impl CallDef for RedeemStamps {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        redeem_stamps(ov, cx, self.stamp_asset, self.count, events)
    }

    fn summary(&self) -> String {
        format!("redeem {} stamps of asset {}", self.count, self.stamp_asset)
    }

    fn addressee<S: StateRead + ?Sized>(&self, state: &S) -> Result<Option<Address>, StateError> {
        Ok(state.asset(self.stamp_asset)?.map(|a| a.issuer))
    }
}

// --------------------------------------------------------------- events

/// An issuer attached a reward rule to merchants.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RewardRuleAdded {
    /// The rule's id.
    pub rule: u64,
    /// Its issuer.
    pub issuer: Address,
}

impl EventDef for RewardRuleAdded {
    fn accounts(&self) -> Vec<Address> {
        vec![self.issuer]
    }
}

/// An issuer removed its reward rule.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RewardRuleRemoved {
    /// The rule's id.
    pub rule: u64,
    /// Its issuer.
    pub issuer: Address,
}

impl EventDef for RewardRuleRemoved {
    fn accounts(&self) -> Vec<Address> {
        vec![self.issuer]
    }
}

/// A reward rule minted credits to a payer.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RewardGranted {
    /// The rule.
    pub rule: u64,
    /// The rule's issuer, who minted.
    pub issuer: Address,
    /// The payer.
    pub to: Address,
    /// The credit asset.
    pub asset: AssetId,
    /// Units minted (the reward, reduced to what the cap leaves).
    pub amount: Amount,
}

impl EventDef for RewardGranted {
    fn accounts(&self) -> Vec<Address> {
        vec![self.to, self.issuer]
    }
}

/// A matching reward rule granted nothing; the payment still stands.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RewardSkipped {
    /// The rule.
    pub rule: u64,
    /// The rule's issuer.
    pub issuer: Address,
    /// The payer.
    pub to: Address,
    /// The credit asset.
    pub asset: AssetId,
    /// Why.
    pub reason: SkipReason,
}

impl EventDef for RewardSkipped {
    fn accounts(&self) -> Vec<Address> {
        vec![self.to, self.issuer]
    }
}

/// An issuer set what its stamps redeem for.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StampRewardSet {
    /// The issuer.
    pub issuer: Address,
    /// The stamp asset.
    pub stamp_asset: AssetId,
    /// Stamps per reward.
    pub stamps: Amount,
    /// The reward asset.
    pub reward_asset: AssetId,
    /// Reward units per `stamps` stamps.
    pub reward_amount: Amount,
}

impl EventDef for StampRewardSet {
    fn accounts(&self) -> Vec<Address> {
        vec![self.issuer]
    }
}

/// A user exchanged stamps for their reward: the stamps were burned, the reward minted.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StampsRedeemed {
    /// The user.
    pub user: Address,
    /// The stamp asset.
    pub stamp_asset: AssetId,
    /// Stamps burned.
    pub stamps: Amount,
    /// The reward asset.
    pub reward_asset: AssetId,
    /// Reward units minted.
    pub reward_amount: Amount,
}

impl EventDef for StampsRedeemed {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user]
    }
}

/// `AddRewardRule`.
fn add_rule<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    terms: &AddRewardRule,
    events: &mut Vec<Event>,
) -> Res<()> {
    if partner_with(ov, &cx.sender, Role::Issuer)?.is_none() {
        return Err(CallError::MissingRole { role: Role::Issuer }.into());
    }
    own_credit(ov, terms.kind.asset(), &cx.sender)?;
    money_asset(ov, terms.pay_asset)?;
    match terms.kind {
        RewardKind::Cashback { rate_bps, .. } => {
            positive(u64::from(rate_bps))?;
            let max = BPS_DENOMINATOR as u16;
            if rate_bps > max {
                return Err(CallError::RateTooHigh { bps: rate_bps, max }.into());
            }
        }
        RewardKind::Stamps { per_payment, .. } => positive(per_payment)?,
    }
    positive(terms.cap_per_user_per_period)?;
    if terms.period_ms == 0 {
        return Err(CallError::ZeroPeriod.into());
    }
    let lists = merchant_lists(ov, &terms.merchants)?;
    let id = next_id(ov, storage::next_rule_id())?;
    let rule = RewardRule {
        id,
        issuer: cx.sender,
        merchants: terms.merchants.to_vec(),
        pay_asset: terms.pay_asset,
        kind: terms.kind,
        cap_per_user_per_period: terms.cap_per_user_per_period,
        period_ms: terms.period_ms,
    };
    ov.put(storage::rule(id), &rule)?;
    // Ids only grow, so pushing keeps each list ascending: the application order.
    for (m, mut list) in terms.merchants.iter().zip(lists) {
        list.push(id);
        ov.put(storage::merchant_rules(m), &list)?;
    }
    events.push(Event::RewardRuleAdded(RewardRuleAdded {
        rule: id,
        issuer: cx.sender,
    }));
    Ok(())
}

/// Checks a rule's merchant list and returns each merchant's current rule ids.
fn merchant_lists<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    merchants: &[Address],
) -> Res<Vec<Vec<u64>>> {
    if merchants.is_empty() {
        return Err(CallError::NoMerchants.into());
    }
    if merchants.len() > RULE_MERCHANTS_MAX {
        return Err(CallError::TooManyMerchants {
            count: merchants.len(),
            max: RULE_MERCHANTS_MAX,
        }
        .into());
    }
    let mut lists = Vec::with_capacity(merchants.len());
    for (i, m) in merchants.iter().enumerate() {
        if merchants[..i].contains(m) {
            return Err(CallError::DuplicateMerchant { merchant: *m }.into());
        }
        merchant(ov, m)?;
        let list: Vec<u64> = get(ov, &storage::merchant_rules(m))?.unwrap_or_default();
        if list.len() >= MERCHANT_RULES_MAX {
            return Err(CallError::TooManyRules {
                merchant: *m,
                max: MERCHANT_RULES_MAX,
            }
            .into());
        }
        lists.push(list);
    }
    Ok(lists)
}

/// `RemoveRewardRule { id }`. The payers' cap records of the rule stay (ids are never
/// reused, so nothing reads them again).
fn remove_rule<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let rule: RewardRule =
        get(ov, &storage::rule(id))?.ok_or(CallError::UnknownRule { rule: id })?;
    if rule.issuer != cx.sender {
        return Err(CallError::NotRuleIssuer {
            rule: id,
            issuer: rule.issuer,
        }
        .into());
    }
    for m in &rule.merchants {
        let key = storage::merchant_rules(m);
        let mut list: Vec<u64> = get(ov, &key)?.unwrap_or_default();
        list.retain(|r| *r != id);
        if list.is_empty() {
            ov.put_raw(key, None)?;
        } else {
            ov.put(key, &list)?;
        }
    }
    ov.put_raw(storage::rule(id), None)?;
    events.push(Event::RewardRuleRemoved(RewardRuleRemoved {
        rule: id,
        issuer: rule.issuer,
    }));
    Ok(())
}

/// Applies the merchant's rules to a payment of `amount` of `pay_asset`.
pub(crate) fn apply_rules<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    merchant: &Address,
    pay_asset: AssetId,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Res<()> {
    let ids: Vec<u64> = get(ov, &storage::merchant_rules(merchant))?.unwrap_or_default();
    for id in ids {
        let rule: RewardRule = get(ov, &storage::rule(id))?.ok_or(StateError::MissingRecord {
            what: "reward rule",
            id,
        })?;
        if rule.pay_asset == pay_asset {
            apply_rule(ov, cx, &rule, amount, events)?;
        }
    }
    Ok(())
}

/// Grants one rule's reward to the payer, reduced to what the cap leaves, or records
/// why it could not.
fn apply_rule<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    rule: &RewardRule,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Res<()> {
    let reward = rule.kind.reward(amount);
    if reward == 0 {
        return Ok(()); // Cashback that rounds to nothing: no mint, no event.
    }
    let payer = cx.sender;
    let reward_asset = rule.kind.asset();
    // period_ms > 0 is checked when the rule is added.
    let period = cx.time_ms / rule.period_ms.max(1);
    let usage_key = storage::reward_usage(rule.id, &payer);
    let usage: Option<RewardUsage> = get(ov, &usage_key)?;
    let used = usage
        .filter(|u| u.period == period)
        .map_or(0, |u| u.granted);
    let grant = reward.min(rule.cap_per_user_per_period.saturating_sub(used));
    let skipped = |reason| {
        Event::RewardSkipped(RewardSkipped {
            rule: rule.id,
            issuer: rule.issuer,
            to: payer,
            asset: reward_asset,
            reason,
        })
    };
    if grant == 0 {
        events.push(skipped(SkipReason::CapReached {
            cap: rule.cap_per_user_per_period,
        }));
        return Ok(());
    }
    let info = asset(ov, reward_asset)?;
    match mint(ov, info, &payer, grant) {
        Ok(()) => {}
        Err(Fail::Call(CallError::SupplyMaxExceeded { supply_max, .. })) => {
            events.push(skipped(SkipReason::SupplyMaxReached { supply_max }));
            return Ok(());
        }
        Err(Fail::Call(CallError::SupplyOverflow { .. })) => {
            events.push(skipped(SkipReason::SupplyOverflow));
            return Ok(());
        }
        Err(e) => return Err(e),
    }
    let granted = used + grant; // grant <= cap - used
    ov.put(usage_key, &RewardUsage { period, granted })?;
    events.push(Event::RewardGranted(RewardGranted {
        rule: rule.id,
        issuer: rule.issuer,
        to: payer,
        asset: reward_asset,
        amount: grant,
    }));
    Ok(())
}

/// `SetStampReward`: both assets are credits the sender issues.
fn set_stamp_reward<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    stamp_asset: AssetId,
    reward: StampReward,
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(reward.stamps)?;
    positive(reward.reward_amount)?;
    if stamp_asset == reward.reward_asset {
        return Err(CallError::SameAsset.into());
    }
    own_credit(ov, stamp_asset, &cx.sender)?;
    own_credit(ov, reward.reward_asset, &cx.sender)?;
    ov.put(storage::stamp_reward(stamp_asset), &reward)?;
    events.push(Event::StampRewardSet(StampRewardSet {
        issuer: cx.sender,
        stamp_asset,
        stamps: reward.stamps,
        reward_asset: reward.reward_asset,
        reward_amount: reward.reward_amount,
    }));
    Ok(())
}

/// `RedeemStamps { stamp_asset, count }`: burns `count` stamps and mints
/// `count / stamps * reward_amount` of the reward asset, all or nothing.
fn redeem_stamps<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    stamp_asset: AssetId,
    count: Amount,
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(count)?;
    asset(ov, stamp_asset)?;
    let reward: StampReward = get(ov, &storage::stamp_reward(stamp_asset))?
        .ok_or(CallError::NoStampReward { asset: stamp_asset })?;
    // stamps > 0 is checked when the reward is set (a zero would fail here too).
    if count.checked_rem(reward.stamps) != Some(0) {
        return Err(CallError::NotAMultiple {
            count,
            stamps: reward.stamps,
        }
        .into());
    }
    let rewards = count / reward.stamps;
    let minted = rewards
        .checked_mul(reward.reward_amount)
        .ok_or(CallError::SupplyOverflow {
            asset: reward.reward_asset,
            amount: Amount::MAX,
        })?;
    burn(ov, &cx.sender, stamp_asset, count)?;
    let info = asset(ov, reward.reward_asset)?;
    mint(ov, info, &cx.sender, minted)?;
    events.push(Event::StampsRedeemed(StampsRedeemed {
        user: cx.sender,
        stamp_asset,
        stamps: count,
        reward_asset: reward.reward_asset,
        reward_amount: minted,
    }));
    Ok(())
}
