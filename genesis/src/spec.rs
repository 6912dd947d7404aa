//! The chain spec: its JSON format, parsing, hashing (the chain id) and validator set.
//!
//! Every record refuses unknown fields, so a typo is an error rather than a silently
//! ignored setting. Collections are lists, not maps: the spec is hashed through the
//! canonical encoding, so its order is part of the chain's identity.

use std::path::Path;

use serde::{Deserialize, Serialize};

use jeon_runtime::block::ValidatorInfo;
use jeon_runtime::codec;
use jeon_runtime::crypto::sha256;
use jeon_runtime::economy::EconomyParams;
use jeon_runtime::fees::FeeMarket;
use jeon_runtime::goods::ProductKind;
use jeon_runtime::{Address, Amount, AssetId, AssetKind, Hash, Height, Params, Role, TimeMs};

use crate::error::GenesisError;

/// Domain prefix of the genesis hash.
const GENESIS_DOMAIN: &[u8] = b"jeon/genesis/v1";
/// The largest genesis file [`GenesisSpec::load`] reads.
pub const GENESIS_BYTES_MAX: u64 = 64 << 20;

/// A chain spec: everything the chain's first state and validator set are built from.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisSpec {
    /// A human-readable chain name, e.g. "jeon-dev". Not the chain id: that is
    /// [`GenesisSpec::hash`].
    pub chain_name: String,
    /// The chain's start, milliseconds since the Unix epoch; the first block's time is
    /// not below it.
    pub genesis_time_ms: TimeMs,
    /// The initial validator set, in proposer order.
    pub validators: Vec<ValidatorSpec>,
    /// The registered partner companies.
    pub partners: Vec<PartnerSpec>,
    /// The tax jurisdictions: every merchant's jurisdiction must be listed.
    pub jurisdictions: Vec<JurisdictionSpec>,
    /// The assets that exist from the start.
    pub assets: Vec<AssetSpec>,
    /// The initial balances; each asset's supply is the sum of its balances.
    pub balances: Vec<BalanceSpec>,
    /// Chain parameters.
    #[serde(with = "ParamsDef")]
    pub params: Params,
    /// Economy parameters (redemption window).
    #[serde(with = "EconomyDef")]
    pub economy: EconomyParams,
    /// How the base fee moves with congestion and what sender volume earns. Optional
    /// in JSON (absent or `null`: the fee is `params.fee_flat` forever).
    #[serde(default)]
    pub fee_market: Option<FeeMarket>,
    /// Products merchants sell from the start, with ids from 0 in list order. Optional
    /// in JSON; an empty list is left out of the canonical encoding, so a spec without
    /// products keeps the chain id it had before products existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ProductSpec>,
}

/// A product in the spec: what `CreateProduct` defines, with its merchant.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductSpec {
    /// The merchant partner that sells it.
    pub merchant: Address,
    /// Display name, at most 64 bytes.
    pub name: String,
    /// `{"item":{"supply_max":N|null}}`, `{"pass":{"duration_ms":N}}` or
    /// `{"bundle":{"products":[ids]}}` (ids of products listed before it).
    pub kind: ProductKind,
    /// A money asset.
    pub asset: AssetId,
    /// The price, tax included, in the asset's smallest unit.
    pub price: Amount,
    /// A royalty in basis points on gifts and resales (transferable), or `null` (bound).
    #[serde(default)]
    pub royalty_bps: Option<u16>,
    /// The claim buying it requires (`{"age_over":{"years":19}}`, ...), or `null`.
    #[serde(default)]
    pub requires: Option<jeon_runtime::identity::Claim>,
}

/// A tax jurisdiction in the spec.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionSpec {
    /// Two letters `A-Z`, e.g. "KR"; unique.
    pub code: String,
    /// Tax withheld from payments at its merchants, in basis points (0 to 10 000).
    pub tax_bps: u16,
    /// The tax authority's account, which receives the tax.
    pub authority: Address,
}

/// A validator in the spec.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    /// A short slug for logs and file names, e.g. "hanbit-bank".
    pub name: String,
    /// The consensus key; also the account of the partner that runs it.
    pub key: Address,
    /// The libp2p peer id the validator's node listens as (of any ed25519 key).
    pub peer_id: String,
    /// Voting power.
    pub power: u64,
}

/// A partner company in the spec.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    /// Display name, e.g. "Hanbit Bank".
    pub name: String,
    /// The partner's account.
    pub account: Address,
    /// What it may do; no duplicates. Stored sorted.
    pub roles: Vec<Role>,
    /// ISO 3166-1 alpha-2 country code, e.g. "KR".
    pub jurisdiction: String,
}

impl PartnerSpec {
    /// Whether the partner holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// An asset in the spec.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetSpec {
    /// The asset's id; assets created later take ids above the largest one here.
    pub id: AssetId,
    /// A unique ticker: 1 to 12 of `A-Z`, `0-9`.
    pub symbol: String,
    /// Digits after the decimal point of one display unit.
    pub decimals: u8,
    /// The partner (with the `issuer` role) that may mint it.
    pub issuer: Address,
    /// Money or credit.
    pub kind: AssetKind,
    /// The issuance limit: minting never takes the supply above it. Optional in JSON
    /// (absent or `null`: no limit); not below the genesis supply.
    #[serde(default)]
    pub supply_max: Option<Amount>,
}

/// An initial balance in the spec.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceSpec {
    /// The holder.
    pub account: Address,
    /// The asset.
    pub asset: AssetId,
    /// Units, in the asset's smallest unit; not zero.
    pub amount: Amount,
}

/// Serde mirror of [`Params`], so that the spec refuses unknown parameter names too.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Params", deny_unknown_fields)]
struct ParamsDef {
    fee_asset: AssetId,
    fee_flat: Amount,
    fee_collector: Address,
    block_txs_max: u32,
    block_bytes_max: u32,
}

/// Serde mirror of [`EconomyParams`], refusing unknown names.
#[derive(Serialize, Deserialize)]
#[serde(remote = "EconomyParams", deny_unknown_fields)]
struct EconomyDef {
    redemption_window_blocks: Height,
}

impl GenesisSpec {
    /// Parses a spec from JSON, without validating it.
    pub fn from_json(json: &str) -> Result<Self, GenesisError> {
        serde_json::from_str(json).map_err(json_error)
    }

    /// Reads, parses and validates a genesis file.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let text = read_bounded(path)?;
        let spec = Self::from_json(&text)?;
        spec.validate()?;
        Ok(spec)
    }

    /// The spec as indented JSON, the format [`GenesisSpec::from_json`] reads.
    pub fn to_json(&self) -> Result<String, GenesisError> {
        serde_json::to_string_pretty(self).map_err(json_error)
    }

    /// The chain id: SHA-256 of `"jeon/genesis/v1"` and the canonical encoding of the
    /// spec, so JSON whitespace and field order do not change it (list order does).
    pub fn hash(&self) -> Hash {
        sha256(&[GENESIS_DOMAIN, &self.canonical_bytes()])
    }

    /// The canonical encoding: the fields in order, with `products` (the last field)
    /// left out when it is empty, so a spec without products keeps the chain id it had
    /// before products existed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Reads [`Self::canonical_bytes`] back. An empty product list is left out, never
    /// written: bytes that end in one are not canonical and are refused.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<GenesisSpec, codec::CodecError> {
        match codec::decode::<GenesisSpec>(bytes, codec::DECODE_BYTES_MAX) {
            Ok(spec) if spec.products.is_empty() => Err(codec::CodecError::Malformed(
                "an empty product list is left out of a genesis spec's canonical bytes".into(),
            )),
            Ok(spec) => Ok(spec),
            Err(e) => {
                // Without products the encoding stops before the list: read it as the
                // empty list (a zero length) it stands for.
                let mut with_empty = bytes.to_vec();
                with_empty.extend(codec::encode(&Vec::<ProductSpec>::new()));
                match codec::decode::<GenesisSpec>(&with_empty, codec::DECODE_BYTES_MAX) {
                    Ok(spec) if spec.products.is_empty() => Ok(spec),
                    _ => Err(e),
                }
            }
        }
    }

    /// The initial validator set, in spec order.
    pub fn validators(&self) -> Vec<ValidatorInfo> {
        self.validators
            .iter()
            .map(|v| ValidatorInfo {
                key: v.key,
                power: v.power,
            })
            .collect()
    }
}

fn read_bounded(path: &Path) -> Result<String, GenesisError> {
    use std::io::Read;
    let unreadable = |reason: String| GenesisError::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut text = String::new();
    // One byte over the limit tells a file at the limit from a longer one.
    file.take(GENESIS_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(e.to_string()))?;
    if text.len() as u64 > GENESIS_BYTES_MAX {
        return Err(unreadable(format!(
            "larger than the limit of {GENESIS_BYTES_MAX} bytes"
        )));
    }
    Ok(text)
}

/// Sorts serde_json's error into our variants. serde reports unknown and missing
/// fields only as text (`unknown field `x`, expected ...`), so they are recognised by
/// their fixed wording.
fn json_error(e: serde_json::Error) -> GenesisError {
    let (line, column) = (e.line(), e.column());
    let full = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    let quoted = |prefix: &str| {
        let rest = message.strip_prefix(prefix)?;
        rest.split('`').next().map(str::to_owned)
    };
    if let Some(field) = quoted("unknown field `") {
        return GenesisError::UnknownField {
            field,
            line,
            column,
        };
    }
    if let Some(field) = quoted("missing field `") {
        return GenesisError::MissingField {
            field,
            line,
            column,
        };
    }
    GenesisError::Json {
        line,
        column,
        message,
    }
}
