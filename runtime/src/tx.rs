//! Transactions: the body, its domain-separated signature, and verification.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::crypto::{self, sha256, Keypair, Signature, SignatureError};
use crate::types::{Address, Amount, AssetId, Hash, Height, Nonce};

/// The domain prefix of every transaction signature.
pub const TX_DOMAIN: &[u8] = b"jeon/tx/v1";
/// The domain prefix of a fee payer's signature: distinct from [`TX_DOMAIN`], so a
/// sender's signature can never stand for a payer's or the reverse.
pub const PAYER_DOMAIN: &[u8] = b"jeon/tx-payer/v1";
/// The largest encoded transaction a node accepts.
pub const TX_BYTES_MAX: usize = 4 * 1024;

pub use crate::calls::Call;

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

    /// Checks the signatures (under the ZIP-215 rule, [`crypto::zip215`]), the fee
    /// payer's shape, and that the transaction is for `chain_id`.
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
