//! `--mode pay` setup: the merchant's two bench reward credits and rules on its
//! payments in the fee asset, made once and reused by every rerun.

use std::time::Duration;

use serde::Deserialize;

use jeon_runtime::economy::RewardKind;
use jeon_runtime::{Address, Amount, AssetId, AssetKind, Call, Keypair};

use super::{sign, FUND_EXPIRY_BLOCKS};
use crate::client::{Client, NodeStatus};
use crate::error::CliError;
use crate::tx::wait_for_tx;

/// The merchant's bench cashback rate: 1 %.
const PAY_CASHBACK_BPS: u16 = 100;
/// The symbols of the merchant's bench reward credits.
const PAY_REWARD_SYMBOLS: [&str; 2] = ["BENCHCB", "BENCHST"];
/// How long to wait for each of the merchant's setup transactions.
const SETUP_WAIT_SECS: u64 = 60;

/// A reward rule as `GET /v1/rules` lists it (the fields the bench reads).
#[derive(Deserialize)]
struct RuleView {
    issuer: Address,
    pay_asset: AssetId,
}

/// The answer of `GET /v1/rules?merchant=`.
#[derive(Deserialize)]
struct RulesAnswer {
    rules: Vec<RuleView>,
}

/// Makes sure the merchant has two reward rules of its own on payments in the fee
/// asset: creates its two bench credits and adds the missing rules, each waited for.
pub(super) fn set_up_merchant(
    client: &Client,
    key: &Keypair,
    status: &NodeStatus,
) -> Result<(), CliError> {
    let me = key.address();
    let pay_asset = status.fee.asset;
    let answer: RulesAnswer = client.get(&format!("/v1/rules?merchant={me}"))?;
    let active = answer
        .rules
        .iter()
        .filter(|r| r.issuer == me && r.pay_asset == pay_asset)
        .count();
    if active >= 2 {
        eprintln!("bench: the merchant {me} already has {active} reward rules");
        return Ok(());
    }
    let mut nonce = client.account(&me)?.map_or(0, |a| a.nonce);
    let expiry = status.height.saturating_add(FUND_EXPIRY_BLOCKS);
    let mut send = |call: Call| -> Result<(), CliError> {
        let tx = sign(status, key, nonce, expiry, call);
        nonce += 1;
        let hash = client.submit(&tx)?;
        let done = wait_for_tx(client, &hash, Duration::from_secs(SETUP_WAIT_SECS), false)?;
        if done.status != "final" {
            let reason = done.reason.unwrap_or_default();
            return Err(CliError::Failed(format!("merchant setup failed: {reason}")));
        }
        Ok(())
    };
    let mut rewards = Vec::new();
    for symbol in PAY_REWARD_SYMBOLS {
        let asset = match client.resolve_asset(&crate::client::AssetRef::Symbol(symbol.into())) {
            Ok(id) => id,
            Err(e) if e.code() == Some("unknown_asset") => {
                send(Call::CreateAsset {
                    symbol: symbol.into(),
                    decimals: 0,
                    kind: AssetKind::Credit,
                    supply_max: None,
                })?;
                client.resolve_asset(&crate::client::AssetRef::Symbol(symbol.into()))?
            }
            Err(e) => return Err(e.into()),
        };
        rewards.push(asset);
    }
    let kinds = [
        RewardKind::Cashback {
            rate_bps: PAY_CASHBACK_BPS,
            asset: rewards[0],
        },
        RewardKind::Stamps {
            per_payment: 1,
            asset: rewards[1],
        },
    ];
    for kind in kinds.into_iter().skip(active) {
        send(Call::AddRewardRule {
            merchants: vec![me],
            pay_asset,
            kind,
            cap_per_user_per_period: Amount::MAX,
            period_ms: jeon_runtime::economy::PERIOD_MS,
        })?;
    }
    eprintln!("bench: the merchant {me} has two reward rules on asset {pay_asset}");
    Ok(())
}
