//! Payment links: a merchant-signed invoice, its signing bytes, and its `jeon:` URI.
//!
//! An invoice is signed by the merchant over `"jeon/invoice/v1" || chain_id ||
//! encode(invoice)`, so a link made for one chain never pays on another, and changing
//! any field (the amount, the expiry, the id) breaks the signature. The link is
//! `jeon:pay?i=<hex of encode(invoice)>&s=<hex of the 64-byte signature>`: hex, not
//! base64url, because the runtime already depends on `hex` and a QR code in
//! alphanumeric mode holds upper-case hex compactly. [`Invoice::from_uri`] accepts either
//! case.
//!
//! The memo is opaque bytes (at most [`MEMO_BYTES_MAX`]) that the chain stores in clear
//! when the link is paid. A note meant only for the merchant is sealed to the merchant's
//! address first with [`memo::seal`](crate::memo::seal) (X25519 and ChaCha20-Poly1305);
//! only the merchant's key opens it ([`memo::open`](crate::memo::open)).

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::crypto::{self, Keypair, Signature, SignatureError};
use crate::types::{Address, Amount, AssetId, Hash, Height};

/// The domain prefix of every invoice signature.
pub const INVOICE_DOMAIN: &[u8] = b"jeon/invoice/v1";
/// The longest memo, in bytes.
pub const MEMO_BYTES_MAX: usize = 256;
/// The longest encoded invoice a link may carry (the fields plus the largest memo).
pub const INVOICE_BYTES_MAX: usize = 512;
/// The scheme and path every payment link starts with.
pub const URI_PREFIX: &str = "jeon:pay?";

/// What a merchant asks to be paid: signed by the merchant, paid at most once.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Invoice {
    /// The merchant's account, which signs the invoice and receives the payment.
    pub merchant: Address,
    /// The asset to pay in.
    pub asset: AssetId,
    /// Units to pay (> 0), tax included when the merchant is a merchant partner.
    pub amount: Amount,
    /// The last height at which the invoice may be paid.
    pub expires_at: Height,
    /// The merchant's id for the invoice: one payment per (merchant, id).
    pub invoice_id: u64,
    /// Opaque bytes for the merchant (at most [`MEMO_BYTES_MAX`]), public once paid;
    /// seal private notes with [`memo::seal`](crate::memo::seal).
    pub memo: Option<Vec<u8>>,
}

/// Why a payment link could not be read.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum LinkError {
    /// The text does not start with `jeon:pay?`.
    #[error("not a payment link: it must start with {URI_PREFIX:?}")]
    NotALink,
    /// A parameter `i` or `s` is missing, repeated, or unknown.
    #[error("payment link parameter {0}")]
    BadParameter(String),
    /// A parameter is not hex.
    #[error("payment link parameter {name} is not hex")]
    NotHex {
        /// `i` or `s`.
        name: &'static str,
    },
    /// The signature is not 64 bytes.
    #[error("payment link signature is {len} bytes, not 64")]
    SignatureLength {
        /// Its length.
        len: usize,
    },
    /// The invoice bytes do not decode.
    #[error("payment link invoice is malformed: {0}")]
    Decode(CodecError),
}

impl Invoice {
    /// The exact bytes signed: `"jeon/invoice/v1" || chain_id || encode(invoice)`.
    pub fn signing_bytes(&self, chain_id: &Hash) -> Vec<u8> {
        let mut out = INVOICE_DOMAIN.to_vec();
        out.extend_from_slice(&chain_id.0);
        out.extend_from_slice(&codec::encode(self));
        out
    }

    /// Signs the invoice with `key` (which should be the merchant's).
    pub fn sign(&self, key: &Keypair, chain_id: &Hash) -> Signature {
        key.sign(&self.signing_bytes(chain_id))
    }

    /// Checks the merchant's signature with strict rules.
    pub fn verify(&self, chain_id: &Hash, signature: &Signature) -> Result<(), SignatureError> {
        crypto::verify(&self.merchant, &self.signing_bytes(chain_id), signature)
    }

    /// The payment link: `jeon:pay?i=<hex encode(invoice)>&s=<hex signature>`.
    pub fn to_uri(&self, signature: &Signature) -> String {
        format!(
            "{URI_PREFIX}i={}&s={}",
            hex::encode(codec::encode(self)),
            hex::encode(signature.0)
        )
    }

    /// Reads a payment link. The signature is not checked here: execution checks it
    /// (a wallet may call [`Invoice::verify`] first to warn early).
    pub fn from_uri(uri: &str) -> Result<(Invoice, Signature), LinkError> {
        let query = uri
            .trim()
            .strip_prefix(URI_PREFIX)
            .ok_or(LinkError::NotALink)?;
        let (mut i, mut s) = (None, None);
        for pair in query.split('&') {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| LinkError::BadParameter(format!("{pair:?} has no value")))?;
            let slot = match name {
                "i" => &mut i,
                "s" => &mut s,
                other => return Err(LinkError::BadParameter(format!("{other:?} is unknown"))),
            };
            if slot.replace(value).is_some() {
                return Err(LinkError::BadParameter(format!("{name} is repeated")));
            }
        }
        let missing = |n: &str| LinkError::BadParameter(format!("{n} is missing"));
        let i = hex::decode(i.ok_or_else(|| missing("i"))?)
            .map_err(|_| LinkError::NotHex { name: "i" })?;
        let s = hex::decode(s.ok_or_else(|| missing("s"))?)
            .map_err(|_| LinkError::NotHex { name: "s" })?;
        let sig: [u8; 64] = s
            .as_slice()
            .try_into()
            .map_err(|_| LinkError::SignatureLength { len: s.len() })?;
        let invoice = codec::decode(&i, INVOICE_BYTES_MAX).map_err(LinkError::Decode)?;
        Ok((invoice, Signature(sig)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice() -> Invoice {
        Invoice {
            merchant: Keypair::from_seed_label("cafe").address(),
            asset: AssetId(0),
            amount: 50_000,
            expires_at: 100,
            invoice_id: 7,
            memo: Some(b"table 4".to_vec()),
        }
    }

    #[test]
    fn a_link_round_trips_and_its_signature_verifies_only_on_its_chain() {
        let key = Keypair::from_seed_label("cafe");
        let chain = Hash([1; 32]);
        let sig = invoice().sign(&key, &chain);
        let uri = invoice().to_uri(&sig);
        assert!(uri.starts_with("jeon:pay?i="));
        let (back, back_sig) = Invoice::from_uri(&uri).expect("a link we made");
        assert_eq!((back.clone(), back_sig), (invoice(), sig));
        assert_eq!(back.verify(&chain, &sig), Ok(()));
        assert_eq!(
            back.verify(&Hash([2; 32]), &sig),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn malformed_links_are_refused_with_a_reason() {
        assert_eq!(Invoice::from_uri("https://x"), Err(LinkError::NotALink));
        assert!(matches!(
            Invoice::from_uri("jeon:pay?i=00"),
            Err(LinkError::BadParameter(_))
        ));
        assert_eq!(
            Invoice::from_uri("jeon:pay?i=zz&s=00"),
            Err(LinkError::NotHex { name: "i" })
        );
        assert_eq!(
            Invoice::from_uri("jeon:pay?i=00&s=00"),
            Err(LinkError::SignatureLength { len: 1 })
        );
    }
}
