//! Messages between nodes: what is gossiped and what block sync asks and answers,
//! with the size bound of each. Encoded with the runtime's canonical codec.
//!
//! It names only the runtime and serde: the fuzz crate compiles this file alone
//! (`fuzz/src/lib.rs`), so the fuzzer decodes peers' messages with this very code
//! without building libp2p. A tidy test keeps it that way.

use jeon_runtime::block::{CommittedBlock, ProposalBody, VoteBody, BLOCK_BYTES_MAX};
use jeon_runtime::codec::{self, CodecError};
use jeon_runtime::{Address, Block, Hash, Header, Height, Signature, SignedTx};
use serde::{Deserialize, Serialize};

/// The largest consensus gossip message: a full block proposal plus its envelope.
pub const CONSENSUS_MSG_BYTES_MAX: usize = BLOCK_BYTES_MAX + (64 << 10);
/// The most transactions in one gossiped batch.
pub const TX_BATCH_TXS_MAX: usize = 10_000;
/// The largest gossiped transaction batch.
pub const TX_BATCH_BYTES_MAX: usize = 8 << 20;
/// The most blocks one sync request may ask for.
pub const SYNC_BLOCKS_MAX: u32 = 32;
/// The largest sync request.
pub const SYNC_REQUEST_BYTES_MAX: usize = 1024;
/// The largest sync response; a server stops adding blocks before it.
pub const SYNC_RESPONSE_BYTES_MAX: usize = 64 << 20;

/// A proposer's signed proposal, carrying the block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedProposal {
    /// What was signed (its `block` is the block's hash).
    pub body: ProposalBody,
    /// The proposed block.
    pub block: Block,
    /// The proposer's signature over `body`.
    pub signature: Signature,
}

/// A proposer's signed proposal naming its block's transactions by hash: peers hold
/// them already from transaction gossip, so the block is not sent twice. The
/// signature is the same as the full proposal's (it covers `body`, which names the
/// header's hash); the header's `tx_root` commits to `txs`. A peer missing any of them
/// asks for the whole proposal ([`ProposalWanted`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactProposal {
    /// What was signed (its `block` is the header's hash).
    pub body: ProposalBody,
    /// The proposed block's header.
    pub header: Header,
    /// Its transactions' hashes, in block order.
    pub txs: Vec<Hash>,
    /// The proposer's signature over `body`.
    pub signature: Signature,
}

/// Asks the proposer of a round to gossip its proposal whole: the sender got the
/// compact proposal but misses some of its transactions. Unsigned; a proposer answers
/// each (height, round) once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalWanted {
    /// The proposal's height.
    pub height: Height,
    /// Its round.
    pub round: u32,
    /// The block it names.
    pub block: Hash,
}

/// A validator's signed vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVoteMsg {
    /// What was signed.
    pub body: VoteBody,
    /// The voter.
    pub validator: Address,
    /// Its signature over `body`.
    pub signature: Signature,
}

/// A node's committed head, gossiped periodically so laggards notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMsg {
    /// Height of the last final block.
    pub height: Height,
    /// Its hash.
    pub block_hash: Hash,
}

/// Gossip on the consensus topic. Variants are only appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsensusMsg {
    /// A proposal with its block.
    Proposal(Box<SignedProposal>),
    /// A prevote or precommit.
    Vote(SignedVoteMsg),
    /// A head announcement.
    Status(StatusMsg),
    /// A proposal naming its transactions by hash.
    CompactProposal(Box<CompactProposal>),
    /// A request for a round's proposal, whole.
    ProposalWanted(ProposalWanted),
}

impl ConsensusMsg {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
    /// Decodes untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode(bytes, CONSENSUS_MSG_BYTES_MAX)
    }
}

/// Transactions gossiped in one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxBatch {
    /// At most [`TX_BATCH_TXS_MAX`].
    pub txs: Vec<SignedTx>,
}

impl TxBatch {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
    /// Decodes untrusted bytes, refusing more than [`TX_BATCH_TXS_MAX`] transactions.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let batch: TxBatch = codec::decode(bytes, TX_BATCH_BYTES_MAX)?;
        if batch.txs.len() > TX_BATCH_TXS_MAX {
            let msg = format!(
                "batch of {} transactions exceeds {TX_BATCH_TXS_MAX}",
                batch.txs.len()
            );
            return Err(CodecError::Malformed(msg));
        }
        Ok(batch)
    }
}

/// Block sync: "send me final blocks from `from`, at most `count`".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// First height wanted.
    pub from: Height,
    /// How many (at most [`SYNC_BLOCKS_MAX`]).
    pub count: u32,
}

impl SyncRequest {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
    /// Decodes untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode(bytes, SYNC_REQUEST_BYTES_MAX)
    }
}

/// Block sync answer: consecutive final blocks from the requested height (possibly
/// fewer than asked, none if the server does not have them), and the server's head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The server's head height.
    pub head: Height,
    /// The blocks, in height order.
    pub blocks: Vec<CommittedBlock>,
}

impl SyncResponse {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
    /// Decodes untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode(bytes, SYNC_RESPONSE_BYTES_MAX)
    }
}
