//! `jeon query`: read the chain's state over the API and print it: the API's answer
//! as one JSON document with `--output json`, or as text with decimal amounts and
//! dates beside the raw numbers (see [`crate::output`]).
//!
//! Addresses, hashes, heights and asset names are checked before any request (exit 2);
//! what the node does not have (404) exits 1 with the node's message, and so does a
//! transaction the node does not know (status `unknown`). An account the chain has
//! never seen is shown with nonce 0 and no balances: it can receive, it just has not.
//! A node that cannot be reached exits 3.

use std::str::FromStr;

use clap::{Args, Subcommand};
use serde_json::Value;

use jeon_runtime::{Address, Hash, Height};

use crate::client::{ApiArgs, AssetRef, Client};
use crate::error::CliError;
use crate::output;

/// `jeon query ...`
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    #[command(subcommand)]
    what: QueryCommand,
    #[command(flatten)]
    api: ApiArgs,
}

/// What to read.
#[derive(Debug, Subcommand)]
enum QueryCommand {
    /// The node's view: chain id, head height and hashes, mempool size, fee, memory.
    Status,
    /// An account's nonce, balances and partner record.
    Account {
        /// The address (`jeon1...`).
        address: Address,
    },
    /// A transaction's status: pending, final (with height, index, receipt),
    /// rejected (with the reason) or unknown.
    Tx {
        /// The transaction hash (64 hex digits).
        hash: Hash,
    },
    /// A final block: header, transaction hashes and commit certificate.
    Block {
        /// A height, or `latest`.
        height: BlockRef,
    },
    /// One asset: id, symbol, decimals, issuer, kind and supply.
    Asset {
        /// The asset, by id (`0`) or symbol (`KRW`).
        asset: AssetRef,
    },
    /// Every asset.
    Assets,
    /// Tax withheld in a jurisdiction per UTC day and asset, with totals.
    Tax {
        /// The jurisdiction code, e.g. `KR`.
        jurisdiction: String,
        #[command(flatten)]
        days: Days,
    },
    /// Settlement positions between partners (who owes whom, in money terms).
    Settlement {
        #[command(flatten)]
        days: Days,
    },
    /// An account's events, newest first.
    AccountEvents {
        /// The address (`jeon1...`).
        address: Address,
        /// The most events to list (1 to 1000) [default: 100].
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Only events older than this position (`HEIGHT.TX_INDEX.EVENT_INDEX`, as the
        /// previous page's `next_before`).
        #[arg(long, value_name = "POS")]
        before: Option<String>,
    },
    /// An account's transactions, newest first: hash, height, time, kind, sender,
    /// counterparties and the amounts moved with their symbols.
    Txs {
        /// The address (`jeon1...`).
        address: Address,
        /// The most transactions to list (1 to 100) [default: 20].
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Only transactions older than this cursor (`HEIGHT.TX_INDEX`, as the previous
        /// page's `next_before`).
        #[arg(long, value_name = "CURSOR", conflicts_with = "after")]
        before: Option<String>,
        /// Only transactions newer than this cursor (a page's `next_after`).
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
    },
    /// Recent final blocks, newest first: height, hash, time, proposer and counts.
    Blocks {
        /// The most blocks to list (1 to 100) [default: 20].
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Only blocks below this height (the previous page's `next_before`).
        #[arg(long, value_name = "HEIGHT")]
        before: Option<Height>,
    },
    /// Whether a merchant's payment link (invoice id) is paid, and at which height.
    Invoice {
        /// The merchant's address.
        merchant: Address,
        /// The invoice id the merchant signed into the link.
        id: u64,
    },
    /// An issuer's pending redemption requests, oldest first.
    Redemptions {
        /// The issuer's address (like every other query of one account).
        #[arg(value_name = "ADDR", required_unless_present = "issuer_flag")]
        issuer: Option<Address>,
        /// The issuer's address, as a flag (the form earlier versions took).
        #[arg(long = "issuer", value_name = "ADDR", conflicts_with = "issuer")]
        issuer_flag: Option<Address>,
    },
    /// A user's spending mandates and what each still allows this period.
    Mandates {
        /// The user's address.
        address: Address,
    },
    /// An account's credit score (with its inputs) and its credit lines as borrower.
    Credit {
        /// The account's address.
        address: Address,
    },
    /// The next block's base fee and the fee market; with `--account`, its volume,
    /// tier, the fee of its next transaction and a suggested fee limit.
    Fees {
        /// The account whose fee to show.
        #[arg(long, value_name = "ADDR")]
        account: Option<Address>,
    },
    /// A partner's fee sponsorships and what each still covers this period.
    Sponsorships {
        /// The sponsor's address.
        address: Address,
    },
    /// The fee sponsorships that may pay an account's fees: partners sponsoring it,
    /// then every partner's all-customers offer (for calls addressed to that partner),
    /// each with what it still covers this period.
    AccountSponsorships {
        /// The account's address.
        address: Address,
    },
    /// A partner's own figures per UTC day: payments received (count, gross, tax),
    /// cashback issued, redemptions of its credits, and fees it paid as a sponsor.
    PartnerDaily {
        /// The partner's address.
        address: Address,
        #[command(flatten)]
        days: Days,
    },
    /// A merchant's own aggregates per UTC day or month: sales by product (count, gross,
    /// tax), passes and subscriptions active at the period's end, metered units settled,
    /// subscription churn, cashback liability (docs/indexer.md, Views).
    Insights {
        /// The merchant's address.
        address: Address,
        #[command(flatten)]
        range: InsightsRange,
    },
    /// Every exchange agreement, proposed or active.
    Exchanges,
    /// The reward rules a payment at a merchant applies (every rule without `--merchant`).
    Rules {
        /// The merchant's address.
        #[arg(long, value_name = "ADDR")]
        merchant: Option<Address>,
    },
    /// Governance proposals, newest first, with their ballots and status.
    Proposals {
        /// Only proposals with this status (`passed` includes enacted ones).
        #[arg(long, value_enum)]
        status: Option<ProposalStatusArg>,
    },
    /// One governance proposal: its change, heights, ballots and status.
    Proposal {
        /// The proposal's id.
        id: u64,
    },
    /// The validator set in effect: names, keys, peer ids, powers, and the height it
    /// decides from.
    Validators,
    /// The read nodes partners registered (key, peer id, partner, height), or one
    /// partner's with `--partner`.
    Nodes {
        /// Only this partner's nodes.
        #[arg(long, value_name = "ADDR")]
        partner: Option<Address>,
    },
    /// Equivocation evidence recorded on chain: two conflicting signed proposals or
    /// votes by one validator for one height and round.
    Evidence {
        /// Only evidence against this validator.
        #[arg(long, value_name = "ADDR")]
        validator: Option<Address>,
    },
    /// The chain's parameters: fees, fee market, economy, jurisdictions and tax rates.
    Params,
    /// One product: merchant, kind, price, royalty (or bound) and how many were sold.
    Product {
        /// The product's id.
        id: u64,
    },
    /// A merchant's products, in id order.
    Products {
        /// The merchant's address.
        merchant: Address,
    },
    /// One entitlement (owner, product, expiry) and whether it is valid at the head.
    Entitlement {
        /// The entitlement's id.
        id: u64,
    },
    /// What an account holds: its entitlements, each with whether it is valid now.
    Entitlements {
        /// The owner's address.
        address: Address,
    },
    /// One metered session: user, merchant, unit price, budget, units claimed and paid,
    /// and what is still in escrow.
    Meter {
        /// The session's id.
        id: u64,
    },
    /// The metered sessions an account opened or is paid by, in id order.
    Meters {
        /// The user's or merchant's address.
        address: Address,
    },
    /// One identity attestation (attester, subject, claim, expiry, revocation) and
    /// whether it counts at the head.
    Attestation {
        /// The attestation's id.
        id: u64,
    },
    /// The unrevoked attestations about an account, each with whether it counts now.
    Attestations {
        /// The subject's address.
        address: Address,
    },
    /// A carrier line and its statement per period: charged, purchases, the carrier's
    /// cashback, settled (collected or paid by the user) or not.
    Line {
        /// The line's id.
        id: u64,
    },
    /// The carrier lines an account uses or carries.
    Lines {
        /// The user's or carrier's address.
        address: Address,
    },
}

/// A proposal status to filter by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ProposalStatusArg {
    /// Votes are being taken.
    Open,
    /// Passed (waiting for its height, enacted or not enacted).
    Passed,
    /// No-votes reached 1/3 of the power.
    Rejected,
    /// Still open at its deadline.
    Expired,
}

impl ProposalStatusArg {
    fn name(self) -> &'static str {
        match self {
            ProposalStatusArg::Open => "open",
            ProposalStatusArg::Passed => "passed",
            ProposalStatusArg::Rejected => "rejected",
            ProposalStatusArg::Expired => "expired",
        }
    }
}

/// The periods of `jeon query insights`.
#[derive(Debug, Args)]
struct InsightsRange {
    /// The first period: a day index, or YYYYMM with `--period month`
    /// [default: the head block's].
    #[arg(long, value_name = "PERIOD")]
    from: Option<u64>,
    /// The last period [default: --from, or the head block's].
    #[arg(long, value_name = "PERIOD")]
    to: Option<u64>,
    /// `day` or `month`.
    #[arg(long, default_value = "day", value_parser = ["day", "month"])]
    period: String,
}

impl InsightsRange {
    /// `/v1/merchants/{address}/insights?period=..` with the bounds given.
    fn path(&self, address: &Address) -> String {
        let range: String = [("from", self.from), ("to", self.to)]
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("&{k}={v}")))
            .collect();
        format!(
            "/v1/merchants/{address}/insights?period={}{range}",
            self.period
        )
    }
}

/// A range of accounting periods (UTC day indexes: days since 1970-01-01).
#[derive(Debug, Args)]
struct Days {
    /// The first day [default: the head block's day].
    #[arg(long, value_name = "DAY")]
    from: Option<u64>,
    /// The last day [default: --from, or the head block's day].
    #[arg(long, value_name = "DAY")]
    to: Option<u64>,
}

impl Days {
    /// `?from=..&to=..` with what was given.
    fn query(&self) -> String {
        let parts: Vec<String> = [("from", self.from), ("to", self.to)]
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// A block, by height or the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockRef {
    /// The last final block.
    Latest,
    /// The block at this height.
    Height(Height),
}

impl FromStr for BlockRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "latest" {
            return Ok(BlockRef::Latest);
        }
        s.parse()
            .map(BlockRef::Height)
            .map_err(|_| format!("{s:?} is neither a block height nor `latest`"))
    }
}

/// `?limit=..&before=..` with what was given.
fn page_query(limit: Option<u64>, before: Option<String>) -> String {
    let mut q = Vec::new();
    if let Some(l) = limit {
        q.push(format!("limit={l}"));
    }
    if let Some(b) = before {
        q.push(format!("before={b}"));
    }
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// The API path that answers a query.
fn path(what: &QueryCommand) -> String {
    match what {
        QueryCommand::Status => "/v1/status".into(),
        QueryCommand::Account { address } => format!("/v1/accounts/{address}"),
        QueryCommand::Tx { hash } => format!("/v1/txs/{hash}"),
        QueryCommand::Block {
            height: BlockRef::Latest,
        } => "/v1/blocks/latest".into(),
        QueryCommand::Block {
            height: BlockRef::Height(h),
        } => format!("/v1/blocks/{h}"),
        QueryCommand::Asset {
            asset: AssetRef::Id(id),
        } => format!("/v1/assets/{id}"),
        QueryCommand::Asset {
            asset: AssetRef::Symbol(s),
        } => format!("/v1/assets/{s}"),
        QueryCommand::Assets => "/v1/assets".into(),
        QueryCommand::Tax { jurisdiction, days } => {
            format!(
                "/v1/tax/{}{}",
                jurisdiction.to_ascii_uppercase(),
                days.query()
            )
        }
        QueryCommand::Settlement { days } => format!("/v1/settlement{}", days.query()),
        QueryCommand::AccountEvents {
            address,
            limit,
            before,
        } => {
            let q = page_query(*limit, before.clone());
            format!("/v1/accounts/{address}/events{q}")
        }
        QueryCommand::Txs {
            address,
            limit,
            before,
            after,
        } => txs_path(address, *limit, before.clone(), after.as_deref()),
        QueryCommand::Blocks { limit, before } => {
            format!(
                "/v1/blocks{}",
                page_query(*limit, before.map(|h| h.to_string()))
            )
        }
        QueryCommand::Invoice { merchant, id } => format!("/v1/invoices/{merchant}/{id}"),
        QueryCommand::Redemptions {
            issuer,
            issuer_flag,
        } => match issuer.or(*issuer_flag) {
            Some(issuer) => format!("/v1/redemptions?issuer={issuer}"),
            // clap requires one of them; the node names the missing parameter.
            None => "/v1/redemptions".into(),
        },
        QueryCommand::Mandates { address } => format!("/v1/accounts/{address}/mandates"),
        QueryCommand::Credit { address } => format!("/v1/accounts/{address}/credit"),
        QueryCommand::Fees { account: None } => "/v1/fees".into(),
        QueryCommand::Fees { account: Some(a) } => format!("/v1/fees?account={a}"),
        QueryCommand::Sponsorships { address } => format!("/v1/sponsors/{address}"),
        QueryCommand::AccountSponsorships { address } => {
            format!("/v1/accounts/{address}/sponsorships")
        }
        QueryCommand::PartnerDaily { address, days } => {
            format!("/v1/partners/{address}/daily{}", days.query())
        }
        QueryCommand::Insights { address, range } => range.path(address),
        QueryCommand::Exchanges => "/v1/exchanges".into(),
        QueryCommand::Rules { merchant: None } => "/v1/rules".into(),
        QueryCommand::Rules { merchant: Some(m) } => format!("/v1/rules?merchant={m}"),
        QueryCommand::Proposals { status: None } => "/v1/proposals".into(),
        QueryCommand::Proposals { status: Some(s) } => {
            format!("/v1/proposals?status={}", s.name())
        }
        QueryCommand::Proposal { id } => format!("/v1/proposals/{id}"),
        QueryCommand::Validators => "/v1/validators".into(),
        QueryCommand::Nodes { partner: None } => "/v1/nodes".into(),
        QueryCommand::Nodes { partner: Some(p) } => format!("/v1/partners/{p}/nodes"),
        QueryCommand::Evidence { validator: None } => "/v1/evidence".into(),
        QueryCommand::Evidence { validator: Some(v) } => format!("/v1/evidence?validator={v}"),
        QueryCommand::Params => "/v1/params".into(),
        QueryCommand::Product { id } => format!("/v1/products/{id}"),
        QueryCommand::Products { merchant } => format!("/v1/merchants/{merchant}/products"),
        QueryCommand::Entitlement { id } => format!("/v1/entitlements/{id}"),
        QueryCommand::Entitlements { address } => {
            format!("/v1/accounts/{address}/entitlements")
        }
        QueryCommand::Meter { id } => format!("/v1/meters/{id}"),
        QueryCommand::Meters { address } => format!("/v1/accounts/{address}/meters"),
        QueryCommand::Attestation { id } => format!("/v1/attestations/{id}"),
        QueryCommand::Attestations { address } => {
            format!("/v1/accounts/{address}/attestations")
        }
        QueryCommand::Line { id } => format!("/v1/lines/{id}"),
        QueryCommand::Lines { address } => format!("/v1/accounts/{address}/lines"),
    }
}

/// `GET /v1/accounts/{address}/txs` with its page and `after` parameters.
fn txs_path(
    address: &Address,
    limit: Option<u64>,
    before: Option<String>,
    after: Option<&str>,
) -> String {
    let q = page_query(limit, before);
    let q = match after {
        Some(a) if q.is_empty() => format!("?after={a}"),
        Some(a) => format!("{q}&after={a}"),
        None => q,
    };
    format!("/v1/accounts/{address}/txs{q}")
}

/// Runs a `query` command.
pub(crate) fn run(args: QueryArgs) -> Result<(), CliError> {
    let client = Client::new(&args.api.api)?;
    let answer: Value = match (client.get(&path(&args.what)), &args.what) {
        (Err(e), QueryCommand::Account { address }) if e.code() == Some("unknown_account") => {
            serde_json::json!({ "address": address, "nonce": 0, "balances": [], "partner": null })
        }
        (answer, _) => answer?,
    };
    output::emit(&answer, &output::Assets::fetch(&client))?;
    if matches!(args.what, QueryCommand::Tx { .. }) && answer["status"] == "unknown" {
        return Err(CliError::Failed(
            "the node does not know this transaction (never submitted, expired, or \
             dropped from its mempool)"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_named_by_height_or_latest() {
        assert_eq!("latest".parse(), Ok(BlockRef::Latest));
        assert_eq!("42".parse(), Ok(BlockRef::Height(42)));
        assert!("-1".parse::<BlockRef>().is_err());
    }

    #[test]
    fn each_query_reads_its_documented_route() {
        let someone = Address([7; 32]);
        let daily = format!("/v1/partners/{someone}/daily?from=20418&to=20420");
        let sponsored = format!("/v1/accounts/{someone}/sponsorships");
        let insights = format!("/v1/merchants/{someone}/insights?period=month&from=202611");
        let cases = [
            (QueryCommand::Status, "/v1/status"),
            (
                QueryCommand::Block {
                    height: BlockRef::Latest,
                },
                "/v1/blocks/latest",
            ),
            (
                QueryCommand::Asset {
                    asset: AssetRef::Symbol("KRW".into()),
                },
                "/v1/assets/KRW",
            ),
            (QueryCommand::Assets, "/v1/assets"),
            (
                QueryCommand::Tax {
                    jurisdiction: "kr".into(),
                    days: Days {
                        from: Some(20418),
                        to: None,
                    },
                },
                "/v1/tax/KR?from=20418",
            ),
            (
                QueryCommand::Settlement {
                    days: Days {
                        from: None,
                        to: None,
                    },
                },
                "/v1/settlement",
            ),
            (QueryCommand::Exchanges, "/v1/exchanges"),
            (
                QueryCommand::PartnerDaily {
                    address: someone,
                    days: Days {
                        from: Some(20418),
                        to: Some(20420),
                    },
                },
                daily.as_str(),
            ),
            (
                QueryCommand::AccountSponsorships { address: someone },
                sponsored.as_str(),
            ),
            (
                QueryCommand::Insights {
                    address: someone,
                    range: InsightsRange {
                        from: Some(202611),
                        to: None,
                        period: "month".into(),
                    },
                },
                insights.as_str(),
            ),
            (
                QueryCommand::Proposals {
                    status: Some(ProposalStatusArg::Open),
                },
                "/v1/proposals?status=open",
            ),
            (QueryCommand::Proposal { id: 3 }, "/v1/proposals/3"),
            (QueryCommand::Validators, "/v1/validators"),
            (QueryCommand::Nodes { partner: None }, "/v1/nodes"),
            (QueryCommand::Evidence { validator: None }, "/v1/evidence"),
            (QueryCommand::Params, "/v1/params"),
            (QueryCommand::Product { id: 2 }, "/v1/products/2"),
            (QueryCommand::Entitlement { id: 7 }, "/v1/entitlements/7"),
            (QueryCommand::Meter { id: 4 }, "/v1/meters/4"),
            (QueryCommand::Attestation { id: 5 }, "/v1/attestations/5"),
            (QueryCommand::Line { id: 6 }, "/v1/lines/6"),
            (
                QueryCommand::Blocks {
                    limit: Some(5),
                    before: Some(90),
                },
                "/v1/blocks?limit=5&before=90",
            ),
            (
                QueryCommand::Blocks {
                    limit: None,
                    before: None,
                },
                "/v1/blocks",
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(path(&query), expected);
        }
    }
}
