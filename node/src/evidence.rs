//! Reporting equivocation: turns what the consensus core detects (two proposals or two
//! votes of one kind signed by one validator for one height and round) into the
//! runtime's `ReportEquivocation` call, checked with the runtime's own
//! [`evidence::check`], and submits it as a transaction signed by this node's
//! validator key. That account pays the fee, as for any transaction it sends
//! (docs/consensus.md §10): evidence is rare, and a fee-free call would be a way to
//! fill blocks for free.

use jeon_runtime::block::{ProposalBody, VoteBody, VoteKind as WireKind};
use jeon_runtime::fees::sender_fee;
use jeon_runtime::governance::evidence;
use jeon_runtime::governance::{ReportEquivocation, SignedMessage};
use jeon_runtime::{Address, CallError, Hash, Height, Signature, SignedTx, TxBody};

use crate::chain::Chain;
use crate::consensus::{Equivocation, SignedVote, ValidatorSet, VoteKind};
use crate::store::StoreError;

/// How many blocks an evidence transaction may wait for inclusion (every honest node
/// that saw the equivocation sends its own report, so one lost report loses nothing).
pub const EVIDENCE_TX_EXPIRY_BLOCKS: Height = 100;
/// The fee limit is this many times the current fee (the base fee can rise meanwhile).
pub const EVIDENCE_FEE_LIMIT_HEADROOM: u64 = 4;

/// Why a report was not submitted.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The evidence names a validator outside the set (a bug in the caller).
    #[error("validator index {0} is not in the set")]
    UnknownValidator(u16),
    /// The runtime would refuse it.
    #[error(transparent)]
    Invalid(#[from] CallError),
    /// Evidence against that validator at that height is on chain already.
    #[error("already on chain")]
    AlreadyOnChain,
    /// Reading state failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The mempool refused the transaction.
    #[error("mempool refused it: {0}")]
    Refused(String),
}

fn vote_message(chain_id: Hash, v: &SignedVote) -> SignedMessage {
    SignedMessage::Vote {
        body: VoteBody {
            chain_id,
            height: v.vote.height,
            round: v.vote.round,
            kind: match v.vote.kind {
                VoteKind::Prevote => WireKind::Prevote,
                VoteKind::Precommit => WireKind::Precommit,
            },
            block: v.vote.block.map(Hash),
        },
        signature: Signature(v.signature),
    }
}

/// The call reporting `e`, detected by a core running `set` on chain `chain_id`.
pub fn report_of(
    e: &Equivocation,
    set: &ValidatorSet,
    chain_id: Hash,
) -> Result<ReportEquivocation, ReportError> {
    let index = e.validator();
    let validator = set
        .get(index)
        .map(|v| Address(v.key))
        .ok_or(ReportError::UnknownValidator(index))?;
    let proposal =
        |(p, signature): &(crate::consensus::Proposal, [u8; 64])| SignedMessage::Proposal {
            body: ProposalBody {
                chain_id,
                height: p.height,
                round: p.round,
                block: Hash(p.block),
                valid_round: p.valid_round,
            },
            signature: Signature(*signature),
        };
    let (a, b) = match e {
        Equivocation::Proposals { first, second } => (proposal(first), proposal(second)),
        Equivocation::Votes { first, second } => (
            vote_message(chain_id, first),
            vote_message(chain_id, second),
        ),
    };
    Ok(ReportEquivocation {
        validator,
        a: Box::new(a),
        b: Box::new(b),
    })
}

/// Checks `report` against the tip (as the next block would) and submits it from
/// `sender`, signed by `sign`, unless the chain holds that evidence already. Returns
/// the transaction's hash.
pub fn submit(
    shared: &Chain,
    sender: Address,
    sign: impl FnOnce(TxBody) -> SignedTx,
    report: ReportEquivocation,
    now_ms: u64,
) -> Result<Hash, ReportError> {
    let tip = shared.tip();
    let next = tip.height + 1;
    let (_, height, _) = report.a.position();
    let state = shared.db.tip();
    if evidence::is_reported(&state, &report.validator, height).map_err(StoreError::from)? {
        return Err(ReportError::AlreadyOnChain);
    }
    let set = if height > 0 && height <= next {
        evidence::set_that_signed(&state, height).map_err(StoreError::from)?
    } else {
        Ok(Vec::new())
    };
    evidence::check(&report, &shared.chain_id, next, |_| set)?;
    let rules = shared.tip_fee_rules()?;
    let fee = sender_fee(&state, &rules, &sender)
        .map_err(StoreError::from)?
        .fee;
    let stored_nonce = jeon_runtime::StateExt::nonce(&state, &sender).map_err(StoreError::from)?;
    let nonce = shared
        .mempool()
        .ready_end(&sender)
        .map_or(stored_nonce, |end| end.max(stored_nonce));
    let body = TxBody {
        chain_id: shared.chain_id,
        sender,
        nonce,
        fee_limit: fee.saturating_mul(EVIDENCE_FEE_LIMIT_HEADROOM),
        expiry: next.saturating_add(EVIDENCE_TX_EXPIRY_BLOCKS),
        call: report.into(),
        fee_payer: None,
    };
    let tx = sign(body);
    match shared.submit(vec![tx], false, now_ms).pop() {
        Some(Ok(hash)) => Ok(hash),
        Some(Err(e)) => Err(ReportError::Refused(e.to_string())),
        None => Err(ReportError::Refused("no answer".into())),
    }
}
