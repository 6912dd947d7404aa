//! Transactions: the body, its domain-separated signature, and verification.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::crypto::{self, sha256, Keypair, Signature, SignatureError};
use crate::economy::{RedeemKind, RewardKind};
use crate::fees::Beneficiary;
use crate::invoice::Invoice;
use crate::model::AssetKind;
use crate::types::{Address, Amount, AssetId, Hash, Height, Nonce};

/// The domain prefix of every transaction signature.
pub const TX_DOMAIN: &[u8] = b"jeon/tx/v1";
/// The domain prefix of a fee payer's signature: distinct from [`TX_DOMAIN`], so a
/// sender's signature can never stand for a payer's or the reverse.
pub const PAYER_DOMAIN: &[u8] = b"jeon/tx-payer/v1";
/// The largest encoded transaction a node accepts.
pub const TX_BYTES_MAX: usize = 4 * 1024;

/// One operation. Variants are only ever appended: the encoding tags them by position.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    /// Move units of an asset to another account.
    Transfer {
        /// Recipient.
        to: Address,
        /// Asset.
        asset: AssetId,
        /// Units (> 0).
        amount: Amount,
    },
    /// A partner with the issuer role creates an asset it will issue.
    CreateAsset {
        /// Unique ticker.
        symbol: String,
        /// Display decimals.
        decimals: u8,
        /// Money or credit.
        kind: AssetKind,
        /// The issuance limit: minting never takes the supply above it. `None`: no
        /// limit but the u64 range.
        supply_max: Option<Amount>,
    },
    /// The issuer creates units into an account.
    Mint {
        /// Asset.
        asset: AssetId,
        /// Recipient.
        to: Address,
        /// Units (> 0).
        amount: Amount,
    },
    /// A holder destroys units it holds.
    Burn {
        /// Asset.
        asset: AssetId,
        /// Units (> 0).
        amount: Amount,
    },
    /// Pay a merchant partner: tax at the merchant's jurisdiction rate goes to the tax
    /// authority, the rest to the merchant; matching reward rules mint to the payer.
    Pay {
        /// A partner with the merchant role.
        merchant: Address,
        /// A money asset.
        asset: AssetId,
        /// Units paid, tax included (> 0).
        amount: Amount,
        /// The payer's reference, at most 64 bytes.
        reference: String,
    },
    /// An issuer attaches a reward rule to payments at one or more merchants.
    AddRewardRule {
        /// 1 to 16 merchant partners, no duplicates.
        merchants: Vec<Address>,
        /// The money asset whose payments earn the reward.
        pay_asset: AssetId,
        /// Cashback or stamps, in a credit asset the sender issues.
        kind: RewardKind,
        /// The most units one payer may earn per period (> 0).
        cap_per_user_per_period: Amount,
        /// The cap's period in milliseconds (> 0).
        period_ms: u64,
    },
    /// The issuer of a reward rule removes it.
    RemoveRewardRule {
        /// The rule's id.
        id: u64,
    },
    /// The issuer of a stamp asset sets what its stamps redeem for.
    SetStampReward {
        /// The stamp asset (a credit the sender issues).
        stamp_asset: AssetId,
        /// Stamps per reward (> 0).
        stamps: Amount,
        /// The reward asset (another credit the sender issues).
        reward_asset: AssetId,
        /// Reward units per `stamps` stamps (> 0).
        reward_amount: Amount,
    },
    /// A holder burns stamps and receives their reward at once.
    RedeemStamps {
        /// The stamp asset.
        stamp_asset: AssetId,
        /// Stamps to burn: a positive multiple of the configured `stamps`.
        count: Amount,
    },
    /// A holder asks the issuer to redeem credits; they are held in escrow until the
    /// issuer settles or rejects, or the deadline refunds them.
    Redeem {
        /// A credit asset.
        asset: AssetId,
        /// Units (> 0).
        amount: Amount,
        /// Goods at a merchant, or cash-out to a wallet.
        kind: RedeemKind,
    },
    /// The issuer settles a redemption: the escrowed credits are burned.
    SettleRedemption {
        /// The request's id.
        id: u64,
        /// The issuer's reference for the payout or delivery, at most 64 bytes.
        payout_reference: String,
    },
    /// The issuer rejects a redemption: the credits go back to the user.
    RejectRedemption {
        /// The request's id.
        id: u64,
        /// Why, at most 64 bytes.
        reason: String,
    },
    /// An issuer proposes an exchange agreement with the issuer of the other asset.
    ProposeExchange {
        /// The credit asset users give.
        from_asset: AssetId,
        /// The credit asset users receive.
        to_asset: AssetId,
        /// Rate numerator: `out = floor(amount * rate_num / rate_den)` (> 0).
        rate_num: u64,
        /// Rate denominator (> 0).
        rate_den: u64,
        /// The to-issuer's spread in basis points (<= 10 000).
        spread_bps: u16,
        /// The most `from_asset` units converted per UTC day (> 0).
        daily_cap: Amount,
        /// The money asset positions are settled in.
        settlement_asset: AssetId,
        /// `settlement_asset` units owed per `to_asset` unit delivered.
        settlement_price: Amount,
    },
    /// The other issuer accepts a proposed agreement, making it active.
    AcceptExchange {
        /// The agreement's id.
        id: u64,
    },
    /// Either issuer revokes an agreement (or declines a proposal).
    RevokeExchange {
        /// The agreement's id.
        id: u64,
    },
    /// A holder converts credits under the active agreement for the pair, all or nothing.
    Convert {
        /// The asset given.
        from_asset: AssetId,
        /// Units given (> 0).
        amount: Amount,
        /// The asset received.
        to_asset: AssetId,
        /// The least the holder accepts to receive.
        min_out: Amount,
    },
    /// A user lets `spender` charge it up to `limit_per_period` of `asset` per period,
    /// until `expires_at` (a subscription, pay-per-lesson, in-game purchases).
    GrantMandate {
        /// Who may charge (not the sender).
        spender: Address,
        /// The asset charged.
        asset: AssetId,
        /// The most units charged per period (> 0).
        limit_per_period: Amount,
        /// The period in milliseconds (> 0); period index = `time_ms / period_ms`.
        period_ms: u64,
        /// The last height at which a charge is accepted.
        expires_at: Height,
    },
    /// The mandate's spender charges the user, within the period's remaining limit.
    Charge {
        /// The mandate's id.
        mandate_id: u64,
        /// Units (> 0).
        amount: Amount,
        /// The spender's reference, at most 64 bytes.
        reference: String,
    },
    /// The user revokes a mandate: charges in later blocks are refused.
    RevokeMandate {
        /// The mandate's id.
        mandate_id: u64,
    },
    /// Pay a merchant-signed invoice (a payment link), at most once and before expiry.
    PayInvoice {
        /// The invoice, as the merchant signed it.
        invoice: Invoice,
        /// The merchant's signature over [`Invoice::signing_bytes`].
        signature: Signature,
    },
    /// A lender partner opens a credit line for a borrower, within what the borrower's
    /// credit score allows (docs/economy.md, "Micro-credit").
    OpenCreditLine {
        /// The borrower (not the sender).
        borrower: Address,
        /// The money asset lent.
        asset: AssetId,
        /// The most units outstanding at once (> 0).
        limit: Amount,
        /// Blocks from opening to the due height (> 0).
        due_period_blocks: Height,
    },
    /// The borrower draws units from the lender, within the line's limit, before its
    /// due height.
    DrawCredit {
        /// The line's id.
        line_id: u64,
        /// Units (> 0).
        amount: Amount,
    },
    /// The borrower repays units to the lender, at most the outstanding amount.
    Repay {
        /// The line's id.
        line_id: u64,
        /// Units (> 0).
        amount: Amount,
    },
    /// The lender marks a line past its due height with units outstanding as in
    /// default: the line closes and the borrower's score falls.
    MarkDefault {
        /// The line's id.
        line_id: u64,
    },
    /// A partner offers to pay fees for one account or for all its customers, within a
    /// budget per period; a zero budget withdraws the offer (docs/economy.md, "Fees").
    SponsorFees {
        /// Whose fees.
        beneficiary: Beneficiary,
        /// The budget's asset: must be the chain's fee asset.
        asset: AssetId,
        /// The most fees paid per period; 0 withdraws the sponsorship.
        budget_per_period: Amount,
        /// The period in milliseconds (> 0); period index = `time_ms / period_ms`.
        period_ms: u64,
    },
}

/// What the sender signs.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TxBody {
    /// The genesis hash of the chain this transaction is for.
    pub chain_id: Hash,
    /// The signer, who pays the fee unless `fee_payer` is set.
    pub sender: Address,
    /// Must equal the sender's stored nonce.
    pub nonce: Nonce,
    /// The most fee the sender agrees to pay.
    pub fee_limit: Amount,
    /// The last height at which the transaction may be included.
    pub expiry: Height,
    /// The operation.
    pub call: Call,
    /// Who pays the fee instead of the sender: a co-signer (with
    /// [`SignedTx::payer_signature`]) or, without that signature, a partner whose
    /// sponsorship covers this transaction. `None`: the sender pays.
    pub fee_payer: Option<Address>,
}

impl TxBody {
    /// The exact bytes signed: `"jeon/tx/v1" || encode(body)`; the body starts with the
    /// chain id, so a signature never verifies on another chain.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = TX_DOMAIN.to_vec();
        out.extend_from_slice(&codec::encode(self));
        out
    }

    /// The exact bytes a fee payer signs: `"jeon/tx-payer/v1" || encode(body)`. The
    /// body names the payer, so the sender consents to it and the signature binds it.
    pub fn payer_signing_bytes(&self) -> Vec<u8> {
        let mut out = PAYER_DOMAIN.to_vec();
        out.extend_from_slice(&codec::encode(self));
        out
    }

    /// Signs the body with `key` (which should be the sender's).
    pub fn sign(self, key: &Keypair) -> SignedTx {
        let signature = key.sign(&self.signing_bytes());
        SignedTx {
            body: self,
            signature,
            payer_signature: None,
        }
    }
}

/// A signed transaction, as submitted and as stored in blocks.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SignedTx {
    /// What was signed.
    pub body: TxBody,
    /// The sender's ed25519 signature over [`TxBody::signing_bytes`].
    pub signature: Signature,
    /// The fee payer's signature over [`TxBody::payer_signing_bytes`], when the body's
    /// `fee_payer` co-signs; `None` when the sender pays or a sponsorship does.
    pub payer_signature: Option<Signature>,
}

impl SignedTx {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a transaction from untrusted bytes (at most [`TX_BYTES_MAX`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        codec::decode(bytes, TX_BYTES_MAX).map_err(TxError::Decode)
    }

    /// The transaction hash: SHA-256 of its canonical encoding.
    pub fn hash(&self) -> Hash {
        sha256(&[&self.encode()])
    }

    /// Adds the fee payer's signature (with `key`, which should be the payer named in
    /// the body).
    pub fn sign_as_payer(mut self, key: &Keypair) -> SignedTx {
        self.payer_signature = Some(key.sign(&self.body.payer_signing_bytes()));
        self
    }

    /// Checks the signatures with strict rules, the fee payer's shape, and that the
    /// transaction is for `chain_id`.
    pub fn verify(self, chain_id: &Hash) -> Result<VerifiedTx, TxError> {
        check_static(&self, chain_id)?;
        crypto::verify(
            &self.body.sender,
            &self.body.signing_bytes(),
            &self.signature,
        )
        .map_err(TxError::BadSignature)?;
        if let (Some(payer), Some(sig)) = (&self.body.fee_payer, &self.payer_signature) {
            crypto::verify(payer, &self.body.payer_signing_bytes(), sig)
                .map_err(TxError::BadPayerSignature)?;
        }
        Ok(VerifiedTx::new_unchecked(self))
    }
}

/// What needs no signature check: the chain, and a fee payer that is not the sender
/// and is named whenever a payer signature is present.
fn check_static(tx: &SignedTx, chain_id: &Hash) -> Result<(), TxError> {
    if tx.body.chain_id != *chain_id {
        return Err(TxError::WrongChain {
            expected: *chain_id,
            got: tx.body.chain_id,
        });
    }
    match (&tx.body.fee_payer, &tx.payer_signature) {
        (Some(payer), _) if *payer == tx.body.sender => Err(TxError::PayerIsSender),
        (None, Some(_)) => Err(TxError::UnexpectedPayerSignature),
        _ => Ok(()),
    }
}

/// Verifies many transactions; one result per input, in order, each equal to what
/// [`SignedTx::verify`] returns for it (see [`crypto::verify_batch`]).
pub fn verify_batch(txs: Vec<SignedTx>, chain_id: &Hash) -> Vec<Result<VerifiedTx, TxError>> {
    let messages: Vec<Vec<u8>> = txs.iter().map(|t| t.body.signing_bytes()).collect();
    let items: Vec<(&Address, &[u8], &Signature)> = txs
        .iter()
        .zip(&messages)
        .map(|(t, m)| (&t.body.sender, m.as_slice(), &t.signature))
        .collect();
    let sig_results = crypto::verify_batch(&items);
    txs.into_iter()
        .zip(sig_results)
        .map(|(tx, sig)| {
            check_static(&tx, chain_id)?;
            sig.map_err(TxError::BadSignature)?;
            // Co-signed transactions are rare: their second signature is checked alone.
            if let (Some(payer), Some(psig)) = (&tx.body.fee_payer, &tx.payer_signature) {
                crypto::verify(payer, &tx.body.payer_signing_bytes(), psig)
                    .map_err(TxError::BadPayerSignature)?;
            }
            Ok(VerifiedTx::new_unchecked(tx))
        })
        .collect()
}

/// A transaction whose signature and chain id have been checked; only the
/// verification functions (and trusted stores) make one. Execution takes these.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedTx {
    tx: SignedTx,
    hash: Hash,
}

impl VerifiedTx {
    /// Wraps a transaction without checking it: for transactions read back from our
    /// own store, which were verified before they were written.
    pub fn new_unchecked(tx: SignedTx) -> Self {
        let hash = tx.hash();
        VerifiedTx { tx, hash }
    }

    /// The transaction.
    pub fn tx(&self) -> &SignedTx {
        &self.tx
    }

    /// The body.
    pub fn body(&self) -> &TxBody {
        &self.tx.body
    }

    /// The cached hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Unwraps the transaction.
    pub fn into_inner(self) -> SignedTx {
        self.tx
    }
}

/// Why a transaction is not valid (it changes nothing, not even the nonce).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum TxError {
    /// The bytes are not a transaction.
    #[error("malformed transaction: {0}")]
    Decode(CodecError),
    /// The transaction was made for another chain.
    #[error("transaction is for chain {got}, this chain is {expected}")]
    WrongChain {
        /// This chain's id.
        expected: Hash,
        /// The id in the transaction.
        got: Hash,
    },
    /// The signature does not verify (wrong key, altered body, malleated encoding).
    #[error("bad signature: {0}")]
    BadSignature(SignatureError),
    /// The nonce was already used: a replay or a duplicate.
    #[error("stale nonce {got}: the sender's next nonce is {expected}")]
    StaleNonce {
        /// The sender's next nonce.
        expected: Nonce,
        /// The transaction's nonce.
        got: Nonce,
    },
    /// The nonce is ahead of the sender's next nonce.
    #[error("nonce {got} is ahead of the sender's next nonce {expected}")]
    FutureNonce {
        /// The sender's next nonce.
        expected: Nonce,
        /// The transaction's nonce.
        got: Nonce,
    },
    /// The transaction's expiry height has passed.
    #[error("transaction expired at height {expiry}; it was offered for height {height}")]
    Expired {
        /// The last height it was valid for.
        expiry: Height,
        /// The height it was offered for: the block being executed, or for the mempool
        /// the next block (one above the committed head).
        height: Height,
    },
    /// The fee limit is below the fee.
    #[error("fee limit {limit} is below the fee of {required}")]
    FeeTooLow {
        /// The transaction's limit.
        limit: Amount,
        /// The fee due.
        required: Amount,
    },
    /// The fee payer (the sender, unless another is named) cannot pay the fee.
    #[error("{payer} cannot pay the fee of {required} of asset {asset}: balance is {available}")]
    CannotPayFee {
        /// Who was to pay.
        payer: Address,
        /// Fee asset.
        asset: AssetId,
        /// Fee due.
        required: Amount,
        /// The payer's balance.
        available: Amount,
    },
    /// The body names the sender as its own fee payer.
    #[error("the fee payer is the sender; leave fee_payer empty to pay your own fee")]
    PayerIsSender,
    /// A payer signature without a fee payer named in the body.
    #[error("the transaction carries a payer signature but names no fee payer")]
    UnexpectedPayerSignature,
    /// The fee payer's signature does not verify.
    #[error("bad fee payer signature: {0}")]
    BadPayerSignature(SignatureError),
    /// The fee payer did not sign, and has no sponsorship covering this transaction.
    #[error(
        "{sponsor} does not sponsor this transaction: it has no sponsorship for the sender, \
         nor one for its customers that this call is addressed to; have the payer co-sign"
    )]
    NotSponsored {
        /// The account named as fee payer.
        sponsor: Address,
    },
    /// The sponsorship covering this transaction has spent its budget for the period.
    #[error(
        "sponsor {sponsor}'s fee budget is exhausted: {remaining} of {budget} left this \
         period, the fee is {fee}"
    )]
    SponsorBudgetExhausted {
        /// The sponsor.
        sponsor: Address,
        /// The budget per period.
        budget: Amount,
        /// What is left of it this period.
        remaining: Amount,
        /// The fee due.
        fee: Amount,
    },
}

impl From<CodecError> for TxError {
    fn from(e: CodecError) -> Self {
        TxError::Decode(e)
    }
}
