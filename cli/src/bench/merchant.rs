//! `--mode pay` setup: the merchant's two bench reward credits and rules on its
//! payments in the fee asset, made once and reused by every rerun.

use jeon_runtime::calls;
use std::time::Duration;

use jeon_node::api::types::RulesView;

use jeon_runtime::economy::RewardKind;
use jeon_runtime::{Amount, AssetId, AssetKind, Call, Height, Keypair, Nonce};

use super::{sign, FUND_EXPIRY_BLOCKS};
use crate::client::{AssetRef, Client, NodeStatus};
use crate::error::CliError;
use crate::tx::wait_for_tx;

/// The merchant's bench cashback rate: 1 %.
const PAY_CASHBACK_BPS: u16 = 100;
/// The symbols of the merchant's bench reward credits.
const PAY_REWARD_SYMBOLS: [&str; 2] = ["BENCHCB", "BENCHST"];
/// How long to wait for each of the merchant's setup transactions.
const SETUP_WAIT_SECS: u64 = 60;

/// Makes sure the merchant has two reward rules of its own on payments in the fee
/// asset: creates its two bench credits and adds the missing rules, each waited for.
pub(super) fn set_up_merchant(
    client: &Client,
    key: &Keypair,
    status: &NodeStatus,
) -> Result<(), CliError> {
    let me = key.address();
    let pay_asset = status.fee.asset;
    let answer: RulesView = client.get(&format!("/v1/rules?merchant={me}"))?;
    let active = answer
        .rules
        .iter()
        .filter(|r| r.issuer == me && r.pay_asset == pay_asset)
        .count();
    if active >= 2 {
        eprintln!("bench: the merchant {me} already has {active} reward rules");
        return Ok(());
    }
    let mut setup = Setup {
        client,
        key,
        status,
        nonce: client.account(&me)?.map_or(0, |a| a.nonce),
        expiry: status.height.saturating_add(FUND_EXPIRY_BLOCKS),
    };
    let [cashback, stamps] = reward_assets(&mut setup)?;
    let kinds = [
        RewardKind::Cashback {
            rate_bps: PAY_CASHBACK_BPS,
            asset: cashback,
        },
        RewardKind::Stamps {
            per_payment: 1,
            asset: stamps,
        },
    ];
    for kind in kinds.into_iter().skip(active) {
        setup.send(Call::AddRewardRule(calls::AddRewardRule {
            merchants: vec![me],
            pay_asset,
            kind,
            cap_per_user_per_period: Amount::MAX,
            period_ms: jeon_runtime::economy::PERIOD_MS,
        }))?;
    }
    eprintln!("bench: the merchant {me} has two reward rules on asset {pay_asset}");
    Ok(())
}

/// The merchant's bench reward credits (`PAY_REWARD_SYMBOLS`), each created if the
/// chain does not know its symbol yet.
fn reward_assets(setup: &mut Setup<'_>) -> Result<[AssetId; 2], CliError> {
    let mut rewards = [AssetId(0); 2];
    for (slot, symbol) in rewards.iter_mut().zip(PAY_REWARD_SYMBOLS) {
        let symbol_ref = AssetRef::Symbol(symbol.into());
        *slot = match setup.client.resolve_asset(&symbol_ref) {
            Ok(id) => id,
            Err(e) if e.code() == Some("unknown_asset") => {
                setup.send(Call::CreateAsset(calls::CreateAsset {
                    symbol: symbol.into(),
                    decimals: 0,
                    kind: AssetKind::Credit,
                    supply_max: None,
                }))?;
                setup.client.resolve_asset(&symbol_ref)?
            }
            Err(e) => return Err(e.into()),
        };
    }
    Ok(rewards)
}

/// The merchant's setup transactions: sent one at a time, each waited for.
struct Setup<'a> {
    client: &'a Client,
    key: &'a Keypair,
    status: &'a NodeStatus,
    /// The merchant's next nonce.
    nonce: Nonce,
    expiry: Height,
}

impl Setup<'_> {
    /// Signs and submits `call` and waits until it is final (an error otherwise).
    fn send(&mut self, call: Call) -> Result<(), CliError> {
        let tx = sign(self.status, self.key, self.nonce, self.expiry, call);
        self.nonce += 1;
        let hash = self.client.submit(&tx)?;
        let wait = Duration::from_secs(SETUP_WAIT_SECS);
        let done = wait_for_tx(self.client, &hash, wait, false)?;
        if done.status != "final" {
            let reason = done.reason.unwrap_or_default();
            return Err(CliError::Failed(format!("merchant setup failed: {reason}")));
        }
        Ok(())
    }
}
