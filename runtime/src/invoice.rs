//! Payment links: a merchant-signed invoice, its signing bytes, and its `jeon:` URI.
//!
//! An invoice is signed by the merchant over `"jeon/invoice/v1" || chain_id ||
//! encode(invoice)`, so a link made for one chain never pays on another, and changing
//! any field (the amount, the expiry, the id) breaks the signature.
//!
//! A link comes in two forms, both read by [`Link::parse`]:
//! - **Readable** (what `jeon invoice new` and the SDK write), like Stellar's SEP-7:
//!   `jeon:pay?to=<merchant>&amount=<decimal>&asset=<symbol>&id=<invoice id>&exp=<last
//!   height>[&memo=<percent-encoded bytes>]&sig=<hex signature>`. A wallet shows
//!   "₩500.00 to jeon1... for invoice 7" before decoding anything; the amount is in
//!   the asset's display unit, so turning it into units (and the symbol into an asset
//!   id) takes the asset's record from the node ([`ReadableLink::invoice`]). The
//!   signature still covers the canonical invoice (asset id, units), so a link whose
//!   amount, asset or any field was changed does not verify. [`Invoice::to_link`]
//!   writes the parameters in that order, the amount with exactly the asset's decimals
//!   and the memo with every byte outside `A-Z a-z 0-9 - . _ ~` as `%XX`.
//! - **Encoded** (the first form, still accepted): `jeon:pay?i=<hex of
//!   encode(invoice)>&s=<hex of the 64-byte signature>` ([`Invoice::to_uri`],
//!   [`Invoice::from_uri`]; either hex case, for QR alphanumeric mode).
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
    /// A field of a readable link is malformed (or, resolved against the asset, has
    /// more decimals than it or overflows).
    #[error("payment link {name} {reason}")]
    BadField {
        /// The parameter: `to`, `amount`, `asset`, `id`, `exp`, `memo` or `sig`.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
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

    /// Checks the merchant's signature under the chain's one rule, ZIP-215 (the
    /// cofactored check transactions and votes use, [`crypto::verify`]), not
    /// ed25519-dalek's `verify_strict`: a link verifies here exactly when a
    /// `PayInvoice` carrying it would.
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

/// A readable payment link as read: every field a wallet shows, before the node is
/// asked what the asset is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReadableLink {
    /// The merchant (`to`).
    pub merchant: Address,
    /// The amount as written (`amount`): a decimal in the asset's display unit.
    pub amount: String,
    /// The asset as written (`asset`): a symbol (`KRW`), or an id in digits.
    pub asset: String,
    /// The merchant's invoice id (`id`).
    pub invoice_id: u64,
    /// The last height at which the link may be paid (`exp`).
    pub expires_at: Height,
    /// The memo's bytes (`memo`, percent-decoded), if any.
    pub memo: Option<Vec<u8>>,
    /// The merchant's signature of the canonical invoice (`sig`).
    pub signature: Signature,
}

/// A payment link in either form.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Link {
    /// `jeon:pay?to=...&amount=...&asset=...`: the asset still to be resolved.
    Readable(ReadableLink),
    /// `jeon:pay?i=...&s=...`: the invoice itself.
    Encoded(Invoice, Signature),
}

impl Link {
    /// Reads a payment link of either form (the signature is not checked here).
    pub fn parse(uri: &str) -> Result<Link, LinkError> {
        let query = uri
            .trim()
            .strip_prefix(URI_PREFIX)
            .ok_or(LinkError::NotALink)?;
        if query.starts_with("i=") || query.starts_with("s=") {
            let (invoice, signature) = Invoice::from_uri(uri)?;
            return Ok(Link::Encoded(invoice, signature));
        }
        ReadableLink::parse_query(query).map(Link::Readable)
    }
}

/// The parameters of a readable link, in the order [`Invoice::to_link`] writes them.
const READABLE_PARAMS: [&str; 7] = ["to", "amount", "asset", "id", "exp", "memo", "sig"];

impl ReadableLink {
    fn parse_query(query: &str) -> Result<ReadableLink, LinkError> {
        let mut values: [Option<&str>; 7] = [None; 7];
        for pair in query.split('&') {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| LinkError::BadParameter(format!("{pair:?} has no value")))?;
            let slot = READABLE_PARAMS
                .iter()
                .position(|p| *p == name)
                .ok_or_else(|| LinkError::BadParameter(format!("{name:?} is unknown")))?;
            if values[slot].replace(value).is_some() {
                return Err(LinkError::BadParameter(format!("{name} is repeated")));
            }
        }
        let get = |i: usize| {
            values[i].ok_or_else(|| {
                LinkError::BadParameter(format!("{} is missing", READABLE_PARAMS[i]))
            })
        };
        let bad = |name: &'static str, reason: &str| LinkError::BadField {
            name,
            reason: reason.to_owned(),
        };
        let merchant = get(0)?
            .parse::<Address>()
            .map_err(|_| bad("to", "is not a jeon address (bech32, with its checksum)"))?;
        let amount = get(1)?;
        if !decimal_syntax_ok(amount) {
            return Err(bad("amount", "is not a decimal number"));
        }
        let asset = get(2)?;
        let asset_ok =
            asset.bytes().all(|b| b.is_ascii_digit()) || crate::model::symbol_is_valid(asset);
        if asset.is_empty() || !asset_ok {
            return Err(bad("asset", "is neither an asset symbol nor an id"));
        }
        let number = |i: usize, name: &'static str| -> Result<u64, LinkError> {
            let text = get(i)?;
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(name, "is not a whole number"));
            }
            text.parse().map_err(|_| bad(name, "is too large"))
        };
        let invoice_id = number(3, "id")?;
        let expires_at = number(4, "exp")?;
        let memo = values[5]
            .map(|m| percent_decode(m).ok_or_else(|| bad("memo", "has a malformed %XX escape")))
            .transpose()?;
        let sig = hex::decode(get(6)?).map_err(|_| LinkError::NotHex { name: "sig" })?;
        let sig: [u8; 64] = sig
            .as_slice()
            .try_into()
            .map_err(|_| LinkError::SignatureLength { len: sig.len() })?;
        Ok(ReadableLink {
            merchant,
            amount: amount.to_owned(),
            asset: asset.to_owned(),
            invoice_id,
            expires_at,
            memo,
            signature: Signature(sig),
        })
    }

    /// The invoice the merchant signed, given the named asset's id and decimals (from
    /// the chain: `GET /v1/assets/{asset}`). Refuses an amount with more decimals
    /// than the asset has or too large for a u64 of units.
    pub fn invoice(&self, asset: AssetId, decimals: u8) -> Result<Invoice, LinkError> {
        let amount = parse_decimal(&self.amount, decimals).ok_or_else(|| LinkError::BadField {
            name: "amount",
            reason: format!(
                "{:?} is not an amount of an asset with {decimals} decimals",
                self.amount
            ),
        })?;
        Ok(Invoice {
            merchant: self.merchant,
            asset,
            amount,
            expires_at: self.expires_at,
            invoice_id: self.invoice_id,
            memo: self.memo.clone(),
        })
    }
}

impl Invoice {
    /// The readable payment link, naming the asset by `symbol` and writing the amount
    /// with the asset's `decimals` (both from the asset's record).
    pub fn to_link(&self, signature: &Signature, symbol: &str, decimals: u8) -> String {
        let mut out = format!(
            "{URI_PREFIX}to={}&amount={}&asset={symbol}&id={}&exp={}",
            self.merchant,
            format_decimal(self.amount, decimals),
            self.invoice_id,
            self.expires_at
        );
        if let Some(memo) = &self.memo {
            out.push_str("&memo=");
            out.push_str(&percent_encode(memo));
        }
        out.push_str("&sig=");
        out.push_str(&hex::encode(signature.0));
        out
    }
}

/// `units` as a decimal with exactly `decimals` places (`50000`, 2 -> `500.00`).
pub fn format_decimal(units: Amount, decimals: u8) -> String {
    let digits = units.to_string();
    let places = usize::from(decimals);
    if places == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = places + 1);
    let (whole, fraction) = padded.split_at(padded.len() - places);
    format!("{whole}.{fraction}")
}

/// A decimal (`500`, `500.5`, `500.50`) as units of an asset with `decimals`; `None`
/// if it is not one, has more decimals, or does not fit in a u64.
pub fn parse_decimal(text: &str, decimals: u8) -> Option<Amount> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if !decimal_syntax_ok(text) || fraction.len() > usize::from(decimals) {
        return None;
    }
    let mut units: Amount = whole.parse().ok()?;
    for _ in 0..decimals {
        units = units.checked_mul(10)?;
    }
    let mut fraction_units: Amount = 0;
    for i in 0..usize::from(decimals) {
        let digit = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| Amount::from(b - b'0'));
        fraction_units = fraction_units.checked_mul(10)?.checked_add(digit)?;
    }
    units.checked_add(fraction_units)
}

/// Digits, optionally a point and more digits (`500`, `500.00`; not `.5`, `5.`).
fn decimal_syntax_ok(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !whole.is_empty() && digits(whole) && digits(fraction) && !text.ends_with('.')
}

/// Bytes outside RFC 3986's unreserved set as `%XX` (upper-case hex).
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` escapes decoded (either case), other characters as their UTF-8 bytes.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
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

    #[test]
    fn a_readable_link_shows_its_fields_and_resolves_to_the_signed_invoice() {
        let key = Keypair::from_seed_label("cafe");
        let chain = Hash([1; 32]);
        let sig = invoice().sign(&key, &chain);
        let link = invoice().to_link(&sig, "KRW", 2);
        let merchant = invoice().merchant;
        assert!(
            link.starts_with(&format!(
                "jeon:pay?to={merchant}&amount=500.00&asset=KRW&id=7&exp=100&memo=table%204&sig="
            )),
            "{link}"
        );
        let Ok(Link::Readable(read)) = Link::parse(&link) else {
            panic!("a readable link we made: {link}");
        };
        assert_eq!(
            (read.amount.as_str(), read.asset.as_str()),
            ("500.00", "KRW")
        );
        let back = read.invoice(AssetId(0), 2).expect("KRW has 2 decimals");
        assert_eq!(back, invoice());
        assert_eq!(back.verify(&chain, &read.signature), Ok(()));
        // Read with another asset's decimals, the amount changes and the signature fails.
        let other = read.invoice(AssetId(0), 3).expect("fits");
        assert_eq!(other.amount, 500_000);
        assert!(other.verify(&chain, &read.signature).is_err());
        assert!(matches!(
            read.invoice(AssetId(0), 1),
            Err(LinkError::BadField { name: "amount", .. })
        ));
        // The old form still reads.
        let old = invoice().to_uri(&sig);
        assert_eq!(Link::parse(&old), Ok(Link::Encoded(invoice(), sig)));
    }

    #[test]
    fn every_memo_byte_amount_and_decimals_round_trip_through_a_readable_link() {
        let key = Keypair::from_seed_label("cafe");
        let chain = Hash([1; 32]);
        let every_byte: Vec<u8> = (0..=255).collect();
        for decimals in 0..=18u8 {
            let scale = 10u64.pow(u32::from(decimals));
            for amount in [1, scale - 1, scale, scale + 1, u64::MAX] {
                for memo in [
                    None,
                    Some(every_byte.clone()),
                    Some(b"%25 & = ? #".to_vec()),
                ] {
                    let inv = Invoice {
                        amount: amount.max(1),
                        memo,
                        ..invoice()
                    };
                    let sig = inv.sign(&key, &chain);
                    let link = inv.to_link(&sig, "KRW", decimals);
                    let query = &link[URI_PREFIX.len()..];
                    assert!(
                        !query.contains(['#', ' ', '?']) && query.matches('&').count() >= 5,
                        "one parameter per &, nothing a URI would cut: {link}"
                    );
                    let Ok(Link::Readable(read)) = Link::parse(&link) else {
                        panic!("{link}");
                    };
                    assert_eq!(read.invoice(inv.asset, decimals), Ok(inv), "{link}");
                }
            }
        }
    }

    #[test]
    fn decimals_format_and_parse_exactly() {
        for (units, decimals, text) in [
            (50_000, 2, "500.00"),
            (1, 2, "0.01"),
            (7, 0, "7"),
            (u64::MAX, 2, "184467440737095516.15"),
        ] {
            assert_eq!(format_decimal(units, decimals), text);
            assert_eq!(parse_decimal(text, decimals), Some(units));
        }
        assert_eq!(parse_decimal("500", 2), Some(50_000));
        assert_eq!(parse_decimal("500.5", 2), Some(50_050));
        for bad in [
            "",
            ".5",
            "5.",
            "5.001",
            "-1",
            "1e3",
            "184467440737095516.16",
        ] {
            assert_eq!(parse_decimal(bad, 2), None, "{bad:?}");
        }
    }
}
