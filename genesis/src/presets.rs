//! Ready-made chain specs: `dev` (one validator) and `local` (N validators, `local4`
//! being the four-partner demo consortium).
//!
//! Presets are deterministic: they take their keys from a [`PresetKeys`], which the
//! caller fills from a secure random source (the CLI) or from labels (tests).
//!
//! The consortium: Hanbit Bank issues KRW (2 decimals: 1 unit = 1 jeon = ₩0.01),
//! holds the float, collects the fees (base fee ₩0.10, see [`fee_market`]), and validates; Dalbit Cafe,
//! Pixel Forge Games and Baeum Learning are merchants that may issue their own
//! credits (and validate in `local`); every partner is in the KR jurisdiction, which
//! withholds 10 % tax for the `kr-tax-authority` account; alice and bob are demo users
//! with ₩1,000,000. On the dev chain Pixel Forge Games sells a sticker pack, a 30-day
//! pass, a bundle of both and a 19+ item ([`dev_products`]; the bank attests ages), and
//! Baeum Learning sells lessons by
//! the minute ([`LESSON_MINUTE_WON`]) through metered sessions.

use jeon_runtime::economy::{EconomyParams, REDEMPTION_WINDOW_BLOCKS_DEFAULT};
use jeon_runtime::fees::{FeeMarket, FeeTier};
use jeon_runtime::goods::ProductKind;
use jeon_runtime::identity::Claim;
use jeon_runtime::{Address, Amount, AssetId, AssetKind, Keypair, Params, Role, TimeMs};

use crate::error::GenesisError;
use crate::peer_id::peer_id_of;
use crate::spec::{
    AssetSpec, BalanceSpec, GenesisSpec, JurisdictionSpec, PartnerSpec, ProductSpec, ValidatorSpec,
};

/// Units of KRW in one won (KRW has 2 decimals).
const KRW_UNITS_PER_WON: Amount = 100;
/// The bank's float: ₩1,000,000,000,000.
const BANK_FLOAT_KRW: Amount = 1_000_000_000_000 * KRW_UNITS_PER_WON;
/// Each other partner's working balance: ₩10,000,000.
const PARTNER_FLOAT_KRW: Amount = 10_000_000 * KRW_UNITS_PER_WON;
/// Each demo user's balance: ₩1,000,000.
const DEMO_USER_KRW: Amount = 1_000_000 * KRW_UNITS_PER_WON;
/// The KRW asset's id.
const KRW: AssetId = AssetId(0);
/// Default most transactions per block.
pub const BLOCK_TXS_MAX_DEFAULT: u32 = 10_000;
/// Default most transaction bytes per block: 8 MiB.
pub const BLOCK_BYTES_MAX_DEFAULT: u32 = 8 << 20;
/// The demo users' key names.
pub const DEMO_USERS: [&str; 2] = ["alice", "bob"];
/// The key name of the dev chain's telco, Haneul Telecom: a carrier (it opens phone
/// billing lines and pays purchases charged to them from its float), an attester (its
/// identity app attests KYC levels) and an issuer (of its own loyalty credits).
pub const TELCO: &str = "haneul-telecom";
/// The key name of the KR tax authority's account.
pub const TAX_AUTHORITY: &str = "kr-tax-authority";
/// The KR jurisdiction's withholding rate: 10 % (Korean VAT).
pub const KR_TAX_BPS: u16 = 1_000;
/// The presets' first base fee and floor: ₩0.10 (10 units of KRW).
pub const BASE_FEE_MIN: Amount = 10;
/// The presets' fee ceiling under congestion: ₩10.
pub const BASE_FEE_MAX: Amount = 1_000;
/// The dev sticker pack's price in won.
pub const STICKER_PACK_WON: Amount = 500;
/// The most sticker packs sold on the dev chain.
pub const STICKER_PACKS_MAX: u64 = 10_000;
/// The royalty Pixel Forge Games takes on sticker pack gifts and resales: 5 %.
pub const STICKER_ROYALTY_BPS: u16 = 500;
/// The dev 30-day ad-free pass's price in won.
pub const AD_FREE_PASS_WON: Amount = 3_300;
/// The dev starter bundle's price in won.
pub const STARTER_BUNDLE_WON: Amount = 3_500;
/// What Baeum Learning charges for a lesson minute on the dev chain, in won: the unit
/// price its learners open metered sessions at (docs/economy.md, "Metered sessions").
pub const LESSON_MINUTE_WON: Amount = 50;
/// The dev mature-content pack's price in won (19+: buyers need an attestation of age
/// over 19).
pub const MATURE_PACK_WON: Amount = 1_000;
/// The age the dev mature-content pack requires.
pub const MATURE_PACK_AGE: u8 = 19;
/// The presets' volume window: about an hour of one-second blocks.
pub const VOLUME_WINDOW_BLOCKS: u64 = 3_600;

/// The presets' fee market: the base fee holds at half-full blocks and moves at most
/// 12.5 % per block; 100 transactions in the window earn 20 % off, 1 000 earn 50 %.
pub fn fee_market() -> FeeMarket {
    FeeMarket {
        base_fee_min: BASE_FEE_MIN,
        base_fee_max: BASE_FEE_MAX,
        target_txs_per_block: BLOCK_TXS_MAX_DEFAULT / 2,
        change_denominator: 8,
        volume_window_blocks: VOLUME_WINDOW_BLOCKS,
        tiers: vec![
            FeeTier {
                min_txs: 100,
                fee_bps: 8_000,
            },
            FeeTier {
                min_txs: 1_000,
                fee_bps: 5_000,
            },
        ],
    }
}
/// Partners in the `Dev` preset: the bank (the only validator), the cafe and the
/// game studio, so that conversion between two issuers' credits can be tried, and the
/// e-learning site, which sells lessons by the minute through metered sessions.
const DEV_PARTNERS: usize = 4;

/// A partner of the demo consortium: key name (also the validator name), display
/// name and roles besides `validator`.
struct Member {
    slug: String,
    name: String,
    roles: Vec<Role>,
}

/// The `i`-th member (0-based): the four named companies, then numbered merchants.
fn member(i: usize) -> Member {
    let named = [
        (
            "hanbit-bank",
            "Hanbit Bank",
            &[Role::Issuer, Role::Lender][..],
        ),
        (
            "dalbit-cafe",
            "Dalbit Cafe",
            &[Role::Issuer, Role::Merchant][..],
        ),
        (
            "pixel-forge-games",
            "Pixel Forge Games",
            &[Role::Issuer, Role::Merchant][..],
        ),
        (
            "baeum-learning",
            "Baeum Learning",
            &[Role::Issuer, Role::Merchant][..],
        ),
    ];
    match named.get(i) {
        Some((slug, name, roles)) => Member {
            slug: (*slug).to_owned(),
            name: (*name).to_owned(),
            roles: roles.to_vec(),
        },
        None => Member {
            slug: format!("partner-{}", i + 1),
            name: format!("Partner {}", i + 1),
            roles: vec![Role::Merchant],
        },
    }
}

/// A preset chain spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// One validator (the bank), the cafe, the game studio and the e-learning site as
    /// merchants, the tax authority, alice and bob.
    Dev,
    /// `validators` partners (at least 1), each running one validator of power 1.
    Local {
        /// How many validators.
        validators: usize,
    },
}

impl Preset {
    /// The four-partner consortium.
    pub const LOCAL4: Preset = Preset::Local { validators: 4 };

    /// The chain name the preset uses: `jeon-dev`, `jeon-local4`, ...
    pub fn chain_name(&self) -> String {
        match self {
            Preset::Dev => "jeon-dev".to_owned(),
            Preset::Local { validators } => format!("jeon-local{validators}"),
        }
    }

    /// The names of the keys the preset needs: partners first, then the tax
    /// authority, then demo users.
    pub fn key_names(&self) -> Vec<String> {
        let partners = match self {
            Preset::Dev => DEV_PARTNERS,
            Preset::Local { validators } => *validators,
        };
        let telco = match self {
            Preset::Dev => Some(TELCO.to_owned()),
            Preset::Local { .. } => None,
        };
        (0..partners)
            .map(|i| member(i).slug)
            .chain(telco)
            .chain(std::iter::once(TAX_AUTHORITY.to_owned()))
            .chain(DEMO_USERS.iter().map(|s| (*s).to_owned()))
            .collect()
    }

    /// The preset's spec, with the given keys.
    pub fn spec(
        &self,
        keys: &PresetKeys,
        genesis_time_ms: TimeMs,
    ) -> Result<GenesisSpec, GenesisError> {
        match self {
            Preset::Dev => dev(keys, genesis_time_ms),
            Preset::Local { validators } => local(*validators, keys, genesis_time_ms),
        }
    }
}

/// Named keypairs for a preset: partners (validators) and demo accounts.
#[derive(Debug)]
pub struct PresetKeys {
    keys: Vec<(String, Keypair)>,
}

impl PresetKeys {
    /// One key per name, each from a fresh 32-byte secret given by `secret` (the
    /// caller's secure random source).
    pub fn generate(names: &[String], mut secret: impl FnMut() -> [u8; 32]) -> Self {
        let keys = names
            .iter()
            .map(|n| (n.clone(), Keypair::from_secret(secret())))
            .collect();
        PresetKeys { keys }
    }

    /// The given named keys, e.g. drawn by the caller from a fallible random source.
    pub fn from_keys(keys: Vec<(String, Keypair)>) -> Self {
        PresetKeys { keys }
    }

    /// Insecure keys derived from their names ([`Keypair::from_seed_label`]): for
    /// tests and reproducible examples only.
    pub fn from_seed_labels(names: &[String]) -> Self {
        let keys = names
            .iter()
            .map(|n| (n.clone(), Keypair::from_seed_label(n)))
            .collect();
        PresetKeys { keys }
    }

    /// The key called `name`.
    pub fn get(&self, name: &str) -> Result<&Keypair, GenesisError> {
        self.keys
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k)
            .ok_or_else(|| GenesisError::PresetKeyMissing {
                name: name.to_owned(),
            })
    }

    /// All keys with their names, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Keypair)> {
        self.keys.iter().map(|(n, k)| (n.as_str(), k))
    }
}

/// The one-validator development chain: the bank validates and issues KRW, the cafe,
/// the game studio and the e-learning site are merchants and issuers (not
/// validators), the telco Haneul Telecom is a carrier, attester and issuer with a
/// ₩10,000,000 float ([`TELCO`]), alice and bob hold ₩1,000,000 each.
pub fn dev(keys: &PresetKeys, genesis_time_ms: TimeMs) -> Result<GenesisSpec, GenesisError> {
    let (mut partners, mut floats) = (Vec::new(), Vec::new());
    let mut validators = Vec::new();
    for i in 0..DEV_PARTNERS {
        let m = member(i);
        let key = keys.get(&m.slug)?.address();
        let mut roles = m.roles.clone();
        let float = if i == 0 {
            roles.insert(0, Role::Validator);
            // The bank attests its customers' age and KYC level on the dev chain.
            roles.push(Role::Attester);
            validators.push(validator(&m.slug, key));
            BANK_FLOAT_KRW
        } else {
            PARTNER_FLOAT_KRW
        };
        partners.push(partner(&m.name, key, roles));
        floats.push((key, float));
    }
    let telco = keys.get(TELCO)?.address();
    let telco_roles = vec![Role::Issuer, Role::Attester, Role::Carrier];
    partners.push(partner("Haneul Telecom", telco, telco_roles));
    floats.push((telco, PARTNER_FLOAT_KRW));
    let mut spec = consortium(
        Preset::Dev.chain_name(),
        genesis_time_ms,
        keys,
        validators,
        partners,
        floats,
    )?;
    spec.products = dev_products(keys.get(member(2).slug.as_str())?.address());
    Ok(spec)
}

/// The dev chain's products, all sold by Pixel Forge Games in KRW (docs/economy.md,
/// "Digital goods"): product 0, a sticker pack for ₩500, at most 10,000, transferable
/// with a 5 % royalty; product 1, a 30-day ad-free pass for ₩3,300, bound; product 2,
/// a starter bundle of both for ₩3,500; product 3, a mature-content pack for ₩1,000 that
/// only buyers attested as over 19 can buy.
pub fn dev_products(studio: Address) -> Vec<ProductSpec> {
    let product = |name: &str, kind: ProductKind, won: Amount, royalty_bps| ProductSpec {
        merchant: studio,
        name: name.to_owned(),
        kind,
        asset: KRW,
        price: won * KRW_UNITS_PER_WON,
        royalty_bps,
        requires: None,
    };
    vec![
        product(
            "Sticker pack",
            ProductKind::Item {
                supply_max: Some(STICKER_PACKS_MAX),
            },
            STICKER_PACK_WON,
            Some(STICKER_ROYALTY_BPS),
        ),
        product(
            "30-day ad-free pass",
            ProductKind::Pass {
                duration_ms: 30 * jeon_runtime::economy::PERIOD_MS,
            },
            AD_FREE_PASS_WON,
            None,
        ),
        product(
            "Starter bundle",
            ProductKind::Bundle {
                products: vec![0, 1],
            },
            STARTER_BUNDLE_WON,
            None,
        ),
        ProductSpec {
            requires: Some(Claim::AgeOver {
                years: MATURE_PACK_AGE,
            }),
            ..product(
                "Mature content pack (19+)",
                ProductKind::Item { supply_max: None },
                MATURE_PACK_WON,
                None,
            )
        },
    ]
}

/// The four-partner consortium: bank, cafe, game studio and e-learning site each
/// run one validator of power 1.
pub fn local4(keys: &PresetKeys, genesis_time_ms: TimeMs) -> Result<GenesisSpec, GenesisError> {
    local(4, keys, genesis_time_ms)
}

/// `n` partners each running one validator of power 1: the four named companies
/// first, then "Partner 5", ... as merchants.
pub fn local(
    n: usize,
    keys: &PresetKeys,
    genesis_time_ms: TimeMs,
) -> Result<GenesisSpec, GenesisError> {
    if n == 0 {
        return Err(GenesisError::NoValidators);
    }
    let (mut validators, mut partners, mut floats) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let m = member(i);
        let key = keys.get(&m.slug)?.address();
        let mut roles = vec![Role::Validator];
        roles.extend(m.roles.iter().copied());
        partners.push(partner(&m.name, key, roles));
        validators.push(validator(&m.slug, key));
        let float = if i == 0 {
            BANK_FLOAT_KRW
        } else {
            PARTNER_FLOAT_KRW
        };
        floats.push((key, float));
    }
    let chain_name = Preset::Local { validators: n }.chain_name();
    consortium(
        chain_name,
        genesis_time_ms,
        keys,
        validators,
        partners,
        floats,
    )
}

/// Completes a spec: KRW issued by the first partner (the bank), which also collects
/// fees; the partners' floats; the demo users' balances.
fn consortium(
    chain_name: String,
    genesis_time_ms: TimeMs,
    keys: &PresetKeys,
    validators: Vec<ValidatorSpec>,
    partners: Vec<PartnerSpec>,
    floats: Vec<(Address, Amount)>,
) -> Result<GenesisSpec, GenesisError> {
    let bank = floats
        .first()
        .map(|(a, _)| *a)
        .ok_or(GenesisError::NoValidators)?;
    let mut balances: Vec<BalanceSpec> = floats
        .into_iter()
        .map(|(account, amount)| BalanceSpec {
            account,
            asset: KRW,
            amount,
        })
        .collect();
    for user in DEMO_USERS {
        balances.push(BalanceSpec {
            account: keys.get(user)?.address(),
            asset: KRW,
            amount: DEMO_USER_KRW,
        });
    }
    let kr = JurisdictionSpec {
        code: "KR".to_owned(),
        tax_bps: KR_TAX_BPS,
        authority: keys.get(TAX_AUTHORITY)?.address(),
    };
    Ok(GenesisSpec {
        chain_name,
        genesis_time_ms,
        validators,
        partners,
        jurisdictions: vec![kr],
        assets: vec![AssetSpec {
            id: KRW,
            symbol: "KRW".to_owned(),
            decimals: 2,
            issuer: bank,
            kind: AssetKind::Money,
            supply_max: None,
        }],
        balances,
        params: Params {
            fee_asset: KRW,
            fee_flat: BASE_FEE_MIN,
            fee_collector: bank,
            block_txs_max: BLOCK_TXS_MAX_DEFAULT,
            block_bytes_max: BLOCK_BYTES_MAX_DEFAULT,
        },
        economy: EconomyParams {
            redemption_window_blocks: REDEMPTION_WINDOW_BLOCKS_DEFAULT,
        },
        fee_market: Some(fee_market()),
        products: Vec::new(),
    })
}

fn partner(name: &str, account: Address, roles: Vec<Role>) -> PartnerSpec {
    PartnerSpec {
        name: name.to_owned(),
        account,
        roles,
        jurisdiction: "KR".to_owned(),
    }
}

fn validator(slug: &str, key: Address) -> ValidatorSpec {
    ValidatorSpec {
        name: slug.to_owned(),
        key,
        peer_id: peer_id_of(&key),
        power: 1,
    }
}
