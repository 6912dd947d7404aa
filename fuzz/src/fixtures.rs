//! A real dev chain, built once per process: the genesis (`presets::dev` with
//! seed-label keys), a first block of varied transactions executed by the runtime, its
//! certificate, proposal and votes, and a payment link. The seed generator encodes
//! these; the targets check decoded values against them ("anything that verifies was
//! signed by one of these keys").
//!
//! Deterministic: seed-label keys, deterministic ed25519 signatures, fixed times and
//! a fixed memo ephemeral secret, so the seeds regenerate byte for byte.

use std::sync::OnceLock;

use curve25519_dalek::edwards::CompressedEdwardsY;
use jeon_genesis::{presets, GenesisSpec, Preset, PresetKeys};
use jeon_runtime::block::{
    validators_hash, Certificate, CommitSig, CommittedBlock, Header, ProposalBody, ValidatorInfo,
    VoteBody, VoteKind,
};
use jeon_runtime::economy::fees::Beneficiary;
use jeon_runtime::economy::redeem::RedeemKind;
use jeon_runtime::invoice::Invoice;
use jeon_runtime::merkle::{receipts_root, tx_root};
use jeon_runtime::{
    calls, execute_block, memo, tx, Address, AssetId, AssetKind, Block, BlockContext, Call, Hash,
    Keypair, MemoryState, Receipt, SignedTx, StateExt, TimeMs, TxBody,
};

use crate::wire::{SignedProposal, SignedVoteMsg};

/// The dev chain's genesis time: 2026-01-01T00:00:00Z.
pub const GENESIS_TIME_MS: TimeMs = 1_767_225_600_000;
/// KRW, the dev chain's fee asset.
pub const KRW: AssetId = AssetId(0);
/// KRW's decimals in the dev preset (₩1 = 100 units).
pub const KRW_DECIMALS: u8 = 2;
/// An asset no chain has.
const UNKNOWN_ASSET: AssetId = AssetId(99);
/// Every fixture transaction's fee limit: well above the dev chain's base fee.
const FEE_LIMIT: u64 = 1_000;
/// Every fixture transaction's expiry height.
const EXPIRY: u64 = 100;
/// One day, the period of sponsorships and mandates.
const DAY_MS: u64 = 86_400_000;

/// The chain and everything signed on it.
pub struct DevChain {
    /// The genesis spec.
    pub spec: GenesisSpec,
    /// Its hash.
    pub chain_id: Hash,
    /// Its validator set (the bank, power 1).
    pub validators: Vec<ValidatorInfo>,
    /// The genesis state.
    pub state: MemoryState,
    /// Block 1 with its certificate.
    pub block: CommittedBlock,
    /// Block 1's receipts.
    pub receipts: Vec<Receipt>,
    /// The bank's proposal of block 1.
    pub proposal: SignedProposal,
    /// The bank's votes: prevote and precommit for block 1, a nil prevote in round 1.
    pub votes: Vec<SignedVoteMsg>,
    /// The cafe's invoices: the one paid in block 1 (with a memo sealed to the cafe),
    /// and the same without a memo.
    pub invoices: Vec<Invoice>,
    /// Their payment links, in the same order.
    pub links: Vec<String>,
    /// The same links in the readable form (`jeon:pay?to=…&amount=500.00&asset=KRW…`).
    pub readable_links: Vec<String>,
}

/// The chain, built on first use.
pub fn dev_chain() -> &'static DevChain {
    static CHAIN: OnceLock<DevChain> = OnceLock::new();
    CHAIN.get_or_init(build)
}

/// A preset key by name.
pub fn key(name: &str) -> Keypair {
    Keypair::from_seed_label(name)
}

impl DevChain {
    /// Whether `body` is one of the bodies its sender signed in block 1.
    pub fn signed_body(&self, body: &TxBody) -> bool {
        self.block.block.txs.iter().any(|t| t.body == *body)
    }

    /// Whether the bank signed `body`.
    pub fn signed_vote(&self, body: &VoteBody) -> bool {
        let precommit = VoteBody {
            chain_id: self.chain_id,
            height: 1,
            round: self.block.certificate.round,
            kind: VoteKind::Precommit,
            block: Some(self.block.block.header.hash()),
        };
        *body == precommit || self.votes.iter().any(|v| v.body == *body)
    }

    /// Whether the bank signed `body`.
    pub fn signed_proposal(&self, body: &ProposalBody) -> bool {
        self.proposal.body == *body
    }
}

/// Whether `key` is a point of small order, for which anyone can make a valid
/// signature of any message (docs/encoding.md, "Signature validation rule").
pub fn is_small_order(key: &Address) -> bool {
    CompressedEdwardsY(key.0)
        .decompress()
        .is_some_and(|p| p.is_small_order())
}

fn build() -> DevChain {
    let keys = PresetKeys::from_seed_labels(&Preset::Dev.key_names());
    let spec = presets::dev(&keys, GENESIS_TIME_MS).expect("the dev preset builds");
    let chain_id = spec.hash();
    assert!(
        spec.assets
            .iter()
            .any(|a| a.id == KRW && a.symbol == "KRW" && a.decimals == KRW_DECIMALS),
        "the dev preset's asset 0 is KRW with {KRW_DECIMALS} decimals"
    );
    let validators = spec.validators();
    let (changes, _) = spec.build_state().expect("the dev genesis is valid");
    let mut state = MemoryState::new();
    state.apply(&changes);
    let (invoice, invoice_sig) = invoice(&chain_id);
    let plain = Invoice {
        memo: None,
        ..invoice.clone()
    };
    let plain_sig = plain.sign(&key("dalbit-cafe"), &chain_id);
    let links = vec![invoice.to_uri(&invoice_sig), plain.to_uri(&plain_sig)];
    let readable_links = vec![
        invoice.to_link(&invoice_sig, "KRW", KRW_DECIMALS),
        plain.to_link(&plain_sig, "KRW", KRW_DECIMALS),
    ];
    let invoices = vec![invoice.clone(), plain];
    let signed = transactions(&chain_id, invoice.clone(), invoice_sig);
    let txs: Vec<_> = tx::verify_batch(signed, &chain_id)
        .into_iter()
        .map(|r| r.expect("fixture transactions verify"))
        .collect();
    let bank = key("hanbit-bank");
    let ctx = BlockContext {
        chain_id,
        height: 1,
        time_ms: GENESIS_TIME_MS + 1_000,
        proposer: bank.address(),
    };
    let out = execute_block(&state, &ctx, &txs).expect("memory state");
    let header = Header {
        chain_id,
        height: 1,
        prev_hash: Hash::ZERO,
        time_ms: ctx.time_ms,
        proposer: ctx.proposer,
        tx_root: tx_root(&txs),
        receipts_root: receipts_root(&out.receipts),
        app_hash: state.app_hash().expect("memory state"),
        validators_hash: validators_hash(&validators),
        next_validators_hash: validators_hash(&validators),
    };
    let block_hash = header.hash();
    let vote = |round, kind, block| {
        let body = VoteBody {
            chain_id,
            height: 1,
            round,
            kind,
            block,
        };
        SignedVoteMsg {
            body,
            validator: bank.address(),
            signature: bank.sign(&body.signing_bytes()),
        }
    };
    let precommit = vote(0, VoteKind::Precommit, Some(block_hash));
    let certificate = Certificate {
        height: 1,
        round: 0,
        block: block_hash,
        signatures: vec![CommitSig {
            validator: bank.address(),
            signature: precommit.signature,
        }],
    };
    let votes = vec![
        vote(0, VoteKind::Prevote, Some(block_hash)),
        precommit,
        vote(1, VoteKind::Prevote, None),
    ];
    let block = Block {
        header,
        txs: txs.into_iter().map(|t| t.into_inner()).collect(),
    };
    let proposal_body = ProposalBody {
        chain_id,
        height: 1,
        round: 0,
        block: block_hash,
        valid_round: None,
    };
    let proposal = SignedProposal {
        body: proposal_body,
        block: block.clone(),
        signature: bank.sign(&proposal_body.signing_bytes()),
    };
    DevChain {
        spec,
        chain_id,
        validators,
        state,
        block: CommittedBlock { block, certificate },
        receipts: out.receipts,
        proposal,
        votes,
        invoices,
        links,
        readable_links,
    }
}

/// The cafe's invoice for ₩500 with a memo sealed to it, and its signature.
fn invoice(chain_id: &Hash) -> (Invoice, jeon_runtime::Signature) {
    let cafe = key("dalbit-cafe");
    let sealed = memo::seal(&cafe.address(), [7; 32], b"table 4").expect("short memo");
    let invoice = Invoice {
        merchant: cafe.address(),
        asset: KRW,
        amount: 50_000,
        expires_at: 600,
        invoice_id: 1,
        memo: Some(sealed),
    };
    let signature = invoice.sign(&cafe, chain_id);
    (invoice, signature)
}

/// Block 1's transactions: one call of each kind a wallet or partner sends most, one
/// co-signed by a fee payer, one that fails (an unknown asset).
fn transactions(
    chain_id: &Hash,
    invoice: Invoice,
    invoice_sig: jeon_runtime::Signature,
) -> Vec<SignedTx> {
    let (alice, bob, cafe, bank) = (
        key("alice"),
        key("bob"),
        key("dalbit-cafe"),
        key("hanbit-bank"),
    );
    let body = |sender: &Keypair, nonce, call| TxBody {
        chain_id: *chain_id,
        sender: sender.address(),
        nonce,
        fee_limit: FEE_LIMIT,
        expiry: EXPIRY,
        call,
        fee_payer: None,
    };
    let transfer = |to: &Keypair, asset, amount| {
        Call::Transfer(calls::Transfer {
            to: to.address(),
            asset,
            amount,
        })
    };
    let mut cosigned = body(&alice, 2, transfer(&cafe, KRW, 100));
    cosigned.fee_payer = Some(bob.address());
    vec![
        body(&alice, 0, transfer(&bob, KRW, 50_000)).sign(&alice),
        body(
            &alice,
            1,
            Call::Pay(calls::Pay {
                merchant: cafe.address(),
                asset: KRW,
                amount: 50_000,
                reference: "latte".into(),
            }),
        )
        .sign(&alice),
        body(
            &cafe,
            0,
            Call::CreateAsset(calls::CreateAsset {
                symbol: "BEAN".into(),
                decimals: 0,
                kind: AssetKind::Credit,
                supply_max: Some(1_000_000),
            }),
        )
        .sign(&cafe),
        body(
            &cafe,
            1,
            Call::SponsorFees(calls::SponsorFees {
                beneficiary: Beneficiary::Account(alice.address()),
                asset: KRW,
                budget_per_period: 1_000,
                period_ms: DAY_MS,
            }),
        )
        .sign(&cafe),
        body(
            &bob,
            0,
            Call::PayInvoice(calls::PayInvoice {
                invoice,
                signature: invoice_sig,
            }),
        )
        .sign(&bob),
        cosigned.sign(&alice).sign_as_payer(&bob),
        body(
            &alice,
            3,
            Call::GrantMandate(calls::GrantMandate {
                spender: cafe.address(),
                asset: KRW,
                limit_per_period: 10_000,
                period_ms: DAY_MS,
                expires_at: 1_000,
            }),
        )
        .sign(&alice),
        body(
            &bank,
            0,
            Call::OpenCreditLine(calls::OpenCreditLine {
                borrower: bob.address(),
                asset: KRW,
                limit: 100_000,
                due_period_blocks: 100,
            }),
        )
        .sign(&bank),
        body(
            &alice,
            4,
            Call::Redeem(calls::Redeem {
                asset: KRW,
                amount: 100,
                kind: RedeemKind::Goods {
                    merchant: cafe.address(),
                },
            }),
        )
        .sign(&alice),
        body(&bob, 1, transfer(&alice, UNKNOWN_ASSET, 1)).sign(&bob),
    ]
}
