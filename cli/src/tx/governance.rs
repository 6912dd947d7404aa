//! `jeon tx propose <change>` and `jeon tx vote`: validators changing the validator
//! set, the partners and the chain's parameters by a vote above 2/3 of the power
//! (docs/governance.md).

use clap::{Args, Subcommand};
use serde_json::Value;

use jeon_runtime::economy::Jurisdiction;
use jeon_runtime::fees::{FeeMarket, FeeTier};
use jeon_runtime::governance::Change;
use jeon_runtime::{calls, Address, Call, Height, Role};

use super::{fixed, Draft, DraftCall, TxArgs, TxRun};
use crate::amount::AmountArg;
use crate::client::{ApiError, Client};
use crate::error::CliError;

/// As a validator, propose a change; validators vote on it with `jeon tx vote`. It
/// passes when yes-votes hold more than 2/3 of the voting power by the deadline, and
/// takes effect from its activation height (or the block after it passes, if later).
/// Prints the transaction hash; the proposal id is in the `proposal_submitted` event.
#[derive(Debug, Args)]
pub(crate) struct ProposeArgs {
    #[command(subcommand)]
    change: ProposeCommand,
}

/// What to propose.
#[derive(Debug, Subcommand)]
enum ProposeCommand {
    /// Add a validator (its key must be a partner with the validator role by the
    /// time the change takes effect).
    AddValidator(AddValidatorArgs),
    /// Remove a validator (not the last one).
    RemoveValidator(KeyArgs),
    /// Change a validator's voting power.
    SetValidatorPower(SetPowerArgs),
    /// Register a partner with its roles.
    AddPartner(AddPartnerArgs),
    /// Remove a partner (remove it from the validator set first).
    RemovePartner(AccountArgs),
    /// Replace a partner's roles.
    SetPartnerRoles(SetRolesArgs),
    /// Set a jurisdiction's tax rate (and optionally its tax authority), or define a
    /// new jurisdiction.
    SetTaxRate(SetTaxRateArgs),
    /// Set (or with --none remove) the fee market: base fee bounds, target, tiers.
    SetFeeMarket(SetFeeMarketArgs),
    /// Replace the fee market's volume tiers.
    SetVolumeTiers(SetTiersArgs),
    /// Set the blocks an issuer has to settle a redemption.
    SetRedemptionWindow(SetWindowArgs),
    /// Set the most a carrier line's cap may be.
    SetCarrierLineCapMax(SetCapMaxArgs),
}

impl TxRun for ProposeArgs {
    fn run(self) -> Result<(), CliError> {
        match self.change {
            ProposeCommand::AddValidator(a) => a.run(),
            ProposeCommand::RemoveValidator(a) => a.run(),
            ProposeCommand::SetValidatorPower(a) => a.run(),
            ProposeCommand::AddPartner(a) => a.run(),
            ProposeCommand::RemovePartner(a) => a.run(),
            ProposeCommand::SetPartnerRoles(a) => a.run(),
            ProposeCommand::SetTaxRate(a) => a.run(),
            ProposeCommand::SetFeeMarket(a) => a.run(),
            ProposeCommand::SetVolumeTiers(a) => a.run(),
            ProposeCommand::SetRedemptionWindow(a) => a.run(),
            ProposeCommand::SetCarrierLineCapMax(a) => a.run(),
        }
    }
}

/// When votes close and when the change takes effect.
#[derive(Debug, Args)]
struct When {
    /// Votes count for this many blocks after the current head.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        conflicts_with = "deadline"
    )]
    voting_blocks: Height,
    /// The last height at which votes count (instead of --voting-blocks).
    #[arg(long, value_name = "HEIGHT")]
    deadline: Option<Height>,
    /// The height the change takes effect from [default: the block after it passes].
    #[arg(long, value_name = "HEIGHT")]
    activation: Option<Height>,
}

impl When {
    /// A draft of the `Propose` call, with heights from the node's head.
    fn draft(self, change: Change) -> Draft {
        self.draft_with(move |_| Ok(change))
    }

    /// As [`When::draft`], for a change that needs the node (amounts in an asset's
    /// decimals).
    fn draft_with(
        self,
        change: impl FnOnce(&Client) -> Result<Change, CliError> + 'static,
    ) -> Draft {
        let When {
            voting_blocks,
            deadline,
            activation,
        } = self;
        Box::new(move |c: &Client| {
            let head = c.status()?.height;
            let deadline = deadline.unwrap_or(head.saturating_add(voting_blocks));
            Ok(Call::Propose(calls::Propose {
                change: change(c)?,
                deadline,
                // At or below the height it passes at: from the block after it passes.
                activation: activation.unwrap_or(head.saturating_add(1)),
            }))
        })
    }
}

/// `add-validator`.
#[derive(Debug, Args)]
struct AddValidatorArgs {
    /// A slug for logs and file names (a-z, 0-9, -).
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Its consensus key (the partner's account).
    #[arg(long, value_name = "ADDR")]
    validator: Address,
    /// The libp2p peer id its node listens as (`12D3KooW...`; `jeon keys show` prints it).
    #[arg(long, value_name = "PEER_ID")]
    peer_id: String,
    /// Its voting power.
    #[arg(long, value_name = "N")]
    power: u64,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for AddValidatorArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        if let Err(e) = jeon_genesis::parse_peer_id(&self.peer_id) {
            return Err(CliError::BadInput(format!(
                "--peer-id {:?}: {e}",
                self.peer_id
            )));
        }
        let change = Change::AddValidator {
            name: self.name,
            key: self.validator,
            peer_id: self.peer_id,
            power: positive("--power", self.power)?,
        };
        Ok((self.when.draft(change), self.common))
    }
}

/// `remove-validator`.
#[derive(Debug, Args)]
struct KeyArgs {
    /// The validator's key.
    #[arg(long, value_name = "ADDR")]
    validator: Address,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for KeyArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let change = Change::RemoveValidator {
            key: self.validator,
        };
        Ok((self.when.draft(change), self.common))
    }
}

/// `set-validator-power`.
#[derive(Debug, Args)]
struct SetPowerArgs {
    /// The validator's key.
    #[arg(long, value_name = "ADDR")]
    validator: Address,
    /// Its new voting power.
    #[arg(long, value_name = "N")]
    power: u64,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SetPowerArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let change = Change::SetValidatorPower {
            key: self.validator,
            power: positive("--power", self.power)?,
        };
        Ok((self.when.draft(change), self.common))
    }
}

/// `add-partner`.
#[derive(Debug, Args)]
struct AddPartnerArgs {
    /// Display name, e.g. "Hanbit Telecom".
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The partner's account.
    #[arg(long, value_name = "ADDR")]
    account: Address,
    /// Its roles, comma-separated: validator, issuer, merchant, lender.
    #[arg(long, value_name = "ROLES", value_parser = parse_roles)]
    roles: Roles,
    /// Its jurisdiction (two letters; a defined one for a merchant).
    #[arg(long, value_name = "CODE", default_value = "KR")]
    jurisdiction: String,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for AddPartnerArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let change = Change::AddPartner {
            name: self.name,
            account: self.account,
            roles: self.roles.0,
            jurisdiction: self.jurisdiction.to_ascii_uppercase(),
        };
        Ok((self.when.draft(change), self.common))
    }
}

/// `remove-partner`.
#[derive(Debug, Args)]
struct AccountArgs {
    /// The partner's account.
    #[arg(long, value_name = "ADDR")]
    account: Address,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for AccountArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let change = Change::RemovePartner {
            account: self.account,
        };
        Ok((self.when.draft(change), self.common))
    }
}

/// `set-partner-roles`.
#[derive(Debug, Args)]
struct SetRolesArgs {
    /// The partner's account.
    #[arg(long, value_name = "ADDR")]
    account: Address,
    /// Its new roles, comma-separated: validator, issuer, merchant, lender.
    #[arg(long, value_name = "ROLES", value_parser = parse_roles)]
    roles: Roles,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SetRolesArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let change = Change::SetPartnerRoles {
            account: self.account,
            roles: self.roles.0,
        };
        Ok((self.when.draft(change), self.common))
    }
}

/// `set-tax-rate`.
#[derive(Debug, Args)]
struct SetTaxRateArgs {
    /// The jurisdiction code, e.g. KR.
    #[arg(long, value_name = "CODE")]
    jurisdiction: String,
    /// The tax withheld from each payment, in basis points (1000 = 10 %; at most 10000).
    #[arg(long, value_name = "BPS")]
    bps: u16,
    /// The tax authority's account [default: the jurisdiction's current one].
    #[arg(long, value_name = "ADDR")]
    authority: Option<Address>,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SetTaxRateArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let code = self.jurisdiction.to_ascii_uppercase();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CliError::BadInput(format!(
                "--jurisdiction {:?} is not two letters",
                self.jurisdiction
            )));
        }
        if self.bps > 10_000 {
            return Err(CliError::BadInput(format!(
                "--bps {} is above 10000 (100 %)",
                self.bps
            )));
        }
        let (bps, authority, when) = (self.bps, self.authority, self.when);
        let draft: Draft = Box::new(move |c: &Client| {
            let authority = match authority {
                Some(a) => a,
                None => current_authority(c, &code)?,
            };
            let change = Change::SetJurisdiction(Jurisdiction {
                code,
                tax_bps: bps,
                authority,
            });
            when.draft(change)(c)
        });
        Ok((draft, self.common))
    }
}

/// The tax authority of a defined jurisdiction, from `GET /v1/params`.
fn current_authority(c: &Client, code: &str) -> Result<Address, ApiError> {
    let params: Value = c.get("/v1/params")?;
    let found = params["jurisdictions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|j| j["code"] == code)
        .and_then(|j| j["authority"].as_str())
        .and_then(|a| a.parse().ok());
    found.ok_or_else(|| ApiError::Api {
        status: 404,
        code: "unknown_jurisdiction".into(),
        message: format!("jurisdiction {code} is not defined: give --authority to define it"),
    })
}

/// `set-fee-market`.
#[derive(Debug, Args)]
struct SetFeeMarketArgs {
    /// Remove the fee market: every transaction pays params.fee_flat.
    #[arg(long, conflicts_with_all = ["base_fee_min", "base_fee_max", "target_txs", "tier"])]
    none: bool,
    /// The base fee never goes below this: raw units of the fee asset (an integer)
    /// or a decimal amount (`0.01`, `₩0.01`).
    #[arg(long, value_name = "AMOUNT", required_unless_present = "none")]
    base_fee_min: Option<AmountArg>,
    /// The base fee never goes above this (raw units or a decimal amount).
    #[arg(long, value_name = "AMOUNT", required_unless_present = "none")]
    base_fee_max: Option<AmountArg>,
    /// The block fullness, in transactions, at which the base fee holds.
    #[arg(long, value_name = "N", required_unless_present = "none")]
    target_txs: Option<u32>,
    /// One block moves the base fee by at most 1/N of itself.
    #[arg(long, value_name = "N", default_value_t = 8)]
    change_denominator: u32,
    /// The window over which a sender's volume is counted, in blocks.
    #[arg(long, value_name = "N", default_value_t = 3_600)]
    volume_window_blocks: Height,
    /// A volume tier, `MIN_TXS:FEE_BPS` (repeat, by increasing MIN_TXS).
    #[arg(long, value_name = "MIN_TXS:FEE_BPS", value_parser = parse_tier)]
    tier: Vec<FeeTier>,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SetFeeMarketArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let market = match (
            self.none,
            self.base_fee_min,
            self.base_fee_max,
            self.target_txs,
        ) {
            (true, ..) => None,
            (false, Some(min), Some(max), Some(target)) => Some((min, max, target)),
            _ => {
                return Err(CliError::BadInput(
                    "give --base-fee-min, --base-fee-max and --target-txs, or --none".into(),
                ))
            }
        };
        let (change_denominator, volume_window_blocks, tiers) = (
            self.change_denominator,
            self.volume_window_blocks,
            self.tier,
        );
        let draft = self.when.draft_with(move |c| {
            let Some((min, max, target)) = market else {
                return Ok(Change::SetFeeMarket(None));
            };
            Ok(Change::SetFeeMarket(Some(FeeMarket {
                base_fee_min: c.fee_amount(&min)?,
                base_fee_max: c.fee_amount(&max)?,
                target_txs_per_block: target,
                change_denominator,
                volume_window_blocks,
                tiers,
            })))
        });
        Ok((draft, self.common))
    }
}

/// `set-volume-tiers`.
#[derive(Debug, Args)]
struct SetTiersArgs {
    /// A volume tier, `MIN_TXS:FEE_BPS` (repeat, by increasing MIN_TXS; none: no tiers).
    #[arg(long, value_name = "MIN_TXS:FEE_BPS", value_parser = parse_tier)]
    tier: Vec<FeeTier>,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SetTiersArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        Ok((
            self.when.draft(Change::SetVolumeTiers(self.tier)),
            self.common,
        ))
    }
}

/// `set-redemption-window`.
#[derive(Debug, Args)]
struct SetWindowArgs {
    /// Blocks an issuer has to settle a redemption requested from then on.
    #[arg(long, value_name = "N")]
    blocks: Height,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SetWindowArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let change = Change::SetRedemptionWindow {
            blocks: positive("--blocks", self.blocks)?,
        };
        Ok((self.when.draft(change), self.common))
    }
}

/// `set-carrier-line-cap-max`.
#[derive(Debug, Args)]
struct SetCapMaxArgs {
    /// The most any carrier line's cap may be, in raw units of the line's asset
    /// (₩1,000,000 of KRW = 100000000); open lines keep their cap.
    #[arg(long, value_name = "UNITS")]
    amount: u64,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SetCapMaxArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let change = Change::SetCarrierLineCapMax {
            amount: positive("--amount", self.amount)?,
        };
        Ok((self.when.draft(change), self.common))
    }
}

/// As a validator, vote yes or no on an open proposal (once; votes count up to its
/// deadline). The `vote_cast` event shows the tally; `proposal_passed` follows when
/// yes-votes pass 2/3 of the power.
#[derive(Debug, Args)]
pub(crate) struct VoteArgs {
    /// The proposal's id.
    #[arg(long, value_name = "ID")]
    proposal: u64,
    /// Vote yes.
    #[arg(long, conflicts_with = "no", required_unless_present = "no")]
    yes: bool,
    /// Vote no.
    #[arg(long)]
    no: bool,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for VoteArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::Vote(calls::Vote {
            proposal: self.proposal,
            yes: self.yes && !self.no,
        });
        Ok((fixed(call), self.common))
    }
}

/// Roles, parsed from a comma-separated list.
#[derive(Debug, Clone)]
struct Roles(Vec<Role>);

fn parse_roles(s: &str) -> Result<Roles, String> {
    let mut roles = Vec::new();
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let role = match name {
            "validator" => Role::Validator,
            "issuer" => Role::Issuer,
            "merchant" => Role::Merchant,
            "lender" => Role::Lender,
            "attester" => Role::Attester,
            "carrier" => Role::Carrier,
            other => {
                return Err(format!(
                    "unknown role {other:?}: use validator, issuer, merchant, lender, attester or carrier"
                ))
            }
        };
        if roles.contains(&role) {
            return Err(format!("role {name} is listed twice"));
        }
        roles.push(role);
    }
    if roles.is_empty() {
        return Err("give at least one role".into());
    }
    Ok(Roles(roles))
}

fn parse_tier(s: &str) -> Result<FeeTier, String> {
    let (min, bps) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not MIN_TXS:FEE_BPS"))?;
    Ok(FeeTier {
        min_txs: min
            .parse()
            .map_err(|_| format!("{min:?} is not a transaction count"))?,
        fee_bps: bps
            .parse()
            .map_err(|_| format!("{bps:?} is not basis points (0 to 10000)"))?,
    })
}

fn positive<T: PartialEq + Default>(flag: &str, value: T) -> Result<T, CliError> {
    if value == T::default() {
        return Err(CliError::BadInput(format!(
            "{flag} must be greater than zero"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_tiers_parse_and_bad_ones_say_why() {
        let roles = parse_roles("issuer, merchant").unwrap().0;
        assert_eq!(roles, vec![Role::Issuer, Role::Merchant]);
        assert!(parse_roles("issuer,issuer").unwrap_err().contains("twice"));
        assert!(parse_roles("banker").unwrap_err().contains("unknown role"));
        assert_eq!(
            parse_tier("100:8000").unwrap(),
            FeeTier {
                min_txs: 100,
                fee_bps: 8_000
            }
        );
        assert!(parse_tier("100").is_err());
    }
}
