//! The preset chains: valid, funded as documented, and deterministic in their keys.

use jeon_genesis::presets::{self, Preset, PresetKeys, TAX_AUTHORITY};
use jeon_genesis::{peer_id_of, GenesisError, GenesisSpec};
use jeon_runtime::{AssetId, Role, StateExt};

const GENESIS_TIME_MS: u64 = 1_764_115_200_000;
/// ₩1,000,000 in KRW units (2 decimals).
const ONE_MILLION_WON: u64 = 100_000_000;

fn keys(preset: Preset) -> PresetKeys {
    PresetKeys::from_seed_labels(&preset.key_names())
}

fn spec(preset: Preset) -> GenesisSpec {
    preset.spec(&keys(preset), GENESIS_TIME_MS).unwrap()
}

#[test]
fn dev_has_the_bank_as_its_only_validator() {
    let spec = spec(Preset::Dev);
    assert_eq!(spec.validate(), Ok(()));
    assert_eq!(spec.chain_name, "jeon-dev");
    let names: Vec<&str> = spec.partners.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Hanbit Bank",
            "Dalbit Cafe",
            "Pixel Forge Games",
            "Baeum Learning",
            "Haneul Telecom"
        ]
    );
    assert_eq!(spec.validators.len(), 1);
    let bank = keys(Preset::Dev).get("hanbit-bank").unwrap().address();
    assert_eq!(spec.validators[0].key, bank);
    assert_eq!(spec.validators[0].peer_id, peer_id_of(&bank));
    // The telco bills purchases to phone bills, attests KYC levels and issues its own
    // loyalty credits, with a ₩10,000,000 float.
    let telco = spec.partners.last().unwrap();
    assert_eq!(telco.roles, [Role::Issuer, Role::Attester, Role::Carrier]);
    let float: u64 = spec
        .balances
        .iter()
        .filter(|b| b.account == telco.account)
        .map(|b| b.amount)
        .sum();
    assert_eq!(float, 10_000_000 * 100);
    for games_or_cafe in &spec.partners[1..4] {
        assert!(!games_or_cafe.has_role(Role::Validator));
        assert!(games_or_cafe.has_role(Role::Merchant));
        assert!(games_or_cafe.has_role(Role::Issuer));
    }
    assert_eq!(spec.params.fee_collector, bank);
    assert_eq!(spec.params.fee_flat, 10, "the first base fee is ₩0.10");
    let market = spec
        .fee_market
        .as_ref()
        .expect("the presets set a fee market");
    assert_eq!(market.base_fee_min, spec.params.fee_flat);
    assert_eq!(market.target_txs_per_block * 2, spec.params.block_txs_max);
    assert!(market.tiers.iter().all(|t| t.fee_bps < 10_000));
}

#[test]
fn dev_issues_krw_with_two_decimals_from_the_bank() {
    let spec = spec(Preset::Dev);
    let bank = keys(Preset::Dev).get("hanbit-bank").unwrap().address();
    assert_eq!(spec.assets.len(), 1);
    let krw = &spec.assets[0];
    assert_eq!(
        (krw.symbol.as_str(), krw.decimals, krw.issuer),
        ("KRW", 2, bank)
    );
}

#[test]
fn alice_and_bob_start_with_a_million_won_each() {
    for preset in [Preset::Dev, Preset::LOCAL4] {
        let keys = keys(preset);
        let (changes, _) = spec(preset).build_state().unwrap();
        let mut state = jeon_runtime::MemoryState::new();
        state.apply(&changes);
        for user in ["alice", "bob"] {
            let who = keys.get(user).unwrap().address();
            assert_eq!(state.balance(&who, AssetId(0)).unwrap(), ONE_MILLION_WON);
        }
        let supply = state.asset(AssetId(0)).unwrap().unwrap().supply;
        let sum: u64 = spec(preset).balances.iter().map(|b| b.amount).sum();
        assert_eq!(supply, sum);
    }
}

#[test]
fn local4_has_four_partners_each_running_a_validator_of_power_one() {
    let spec = spec(Preset::LOCAL4);
    assert_eq!(spec.validate(), Ok(()));
    assert_eq!(spec.chain_name, "jeon-local4");
    let names: Vec<&str> = spec.partners.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Hanbit Bank",
            "Dalbit Cafe",
            "Pixel Forge Games",
            "Baeum Learning"
        ]
    );
    assert!(spec.partners.iter().all(|p| p.has_role(Role::Validator)));
    assert_eq!(spec.validators.len(), 4);
    assert!(spec.validators.iter().all(|v| v.power == 1));
    let via_fn = presets::local4(&keys(Preset::LOCAL4), GENESIS_TIME_MS).unwrap();
    assert_eq!(via_fn, spec);
}

#[test]
fn local_scales_to_any_number_of_validators() {
    for n in [1, 2, 3, 5, 7] {
        let preset = Preset::Local { validators: n };
        let spec = spec(preset);
        assert_eq!(spec.validate(), Ok(()), "{n}");
        assert_eq!(spec.validators.len(), n);
        assert_eq!(
            preset.key_names().len(),
            n + 3,
            "partners, the tax authority, alice and bob"
        );
    }
    let names = Preset::Local { validators: 5 }.key_names();
    assert_eq!(names[4], "partner-5");
}

#[test]
fn local_with_no_validators_is_refused() {
    let keys = keys(Preset::Dev);
    assert_eq!(
        presets::local(0, &keys, GENESIS_TIME_MS),
        Err(GenesisError::NoValidators)
    );
}

#[test]
fn a_preset_missing_a_key_says_which() {
    let keys = PresetKeys::from_seed_labels(&["hanbit-bank".to_owned()]);
    assert_eq!(
        presets::dev(&keys, GENESIS_TIME_MS),
        Err(GenesisError::PresetKeyMissing {
            name: "dalbit-cafe".into()
        })
    );
}

#[test]
fn generated_keys_make_a_different_chain() {
    let names = Preset::Dev.key_names();
    let mut n = 0u8;
    let generated = PresetKeys::generate(&names, || {
        n += 1;
        [n; 32]
    });
    let other = Preset::Dev.spec(&generated, GENESIS_TIME_MS).unwrap();
    assert_eq!(other.validate(), Ok(()));
    assert_ne!(other.hash(), spec(Preset::Dev).hash());
    let listed: Vec<&str> = generated.iter().map(|(name, _)| name).collect();
    assert_eq!(
        listed,
        [
            "hanbit-bank",
            "dalbit-cafe",
            "pixel-forge-games",
            "baeum-learning",
            "haneul-telecom",
            "kr-tax-authority",
            "alice",
            "bob"
        ]
    );
}

#[test]
fn every_preset_taxes_its_merchants_at_10_percent_for_the_kr_tax_authority() {
    for preset in [Preset::Dev, Preset::LOCAL4, Preset::Local { validators: 6 }] {
        let spec = spec(preset);
        assert_eq!(spec.validate(), Ok(()), "{preset:?}");
        let authority = keys(preset).get(TAX_AUTHORITY).unwrap().address();
        assert_eq!(spec.jurisdictions.len(), 1);
        let kr = &spec.jurisdictions[0];
        assert_eq!(
            (kr.code.as_str(), kr.tax_bps, kr.authority),
            ("KR", 1_000, authority)
        );
        assert!(spec.partners.iter().all(|p| p.jurisdiction == "KR"));
        let (changes, _) = spec.build_state().unwrap();
        let mut state = jeon_runtime::MemoryState::new();
        state.apply(&changes);
        let stored = jeon_runtime::economy::query::jurisdiction(&state, "KR").unwrap();
        assert_eq!(stored.map(|j| j.authority), Some(authority));
        assert_eq!(
            spec.economy.redemption_window_blocks,
            jeon_runtime::economy::REDEMPTION_WINDOW_BLOCKS_DEFAULT
        );
    }
}

#[test]
fn on_dev_pixel_forge_games_sells_a_sticker_pack_a_30_day_pass_a_bundle_and_a_19_plus_item() {
    let (changes, _) = spec(Preset::Dev).build_state().unwrap();
    let mut state = jeon_runtime::MemoryState::new();
    state.apply(&changes);
    let studio = keys(Preset::Dev)
        .get("pixel-forge-games")
        .unwrap()
        .address();
    let products = jeon_runtime::goods::products_of(&state, &studio).unwrap();
    let summary: Vec<(u64, &str, u64, Option<u16>)> = products
        .iter()
        .map(|p| (p.id, p.name.as_str(), p.price, p.royalty_bps))
        .collect();
    assert_eq!(
        summary,
        [
            (0, "Sticker pack", 50_000, Some(500)),
            (1, "30-day ad-free pass", 330_000, None),
            (2, "Starter bundle", 350_000, None),
            (3, "Mature content pack (19+)", 100_000, None),
        ]
    );
    // Only the pack requires a claim: age over 19, which the bank may attest.
    let required: Vec<Option<jeon_runtime::identity::Claim>> = (0..4)
        .map(|id| jeon_runtime::identity::required_claim(&state, id).unwrap())
        .collect();
    let over_19 = jeon_runtime::identity::Claim::AgeOver { years: 19 };
    assert_eq!(required, [None, None, None, Some(over_19)]);
    let bank = keys(Preset::Dev).get("hanbit-bank").unwrap().address();
    let partner = state.partner(&bank).unwrap().unwrap();
    assert!(partner.has_role(Role::Attester));
    // local4 has no products, so its chain id is what it was before products existed.
    assert!(spec(Preset::LOCAL4).products.is_empty());
}

#[test]
fn a_genesis_product_sold_by_a_non_merchant_is_refused_naming_its_index() {
    let mut spec = spec(Preset::Dev);
    let bank = keys(Preset::Dev).get("hanbit-bank").unwrap().address();
    spec.products[1].merchant = bank;
    // Validation refuses it as building the state does: a spec that validates builds.
    assert_eq!(
        spec.validate().unwrap_err(),
        spec.build_state().unwrap_err()
    );
    let err = spec.build_state().unwrap_err();
    assert!(
        matches!(err, GenesisError::InvalidProduct { index: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("is not a partner with the merchant role"),
        "{err}"
    );
}

/// The canonical bytes (which the chain id hashes) read back to the same spec, with
/// products (dev) and without (local4, whose encoding stops before the empty list);
/// bytes that write the empty list out are not canonical.
#[test]
fn canonical_bytes_read_back_with_and_without_products() {
    for preset in [Preset::Dev, Preset::Local { validators: 4 }] {
        let spec = spec(preset);
        let bytes = spec.canonical_bytes();
        let back = GenesisSpec::from_canonical_bytes(&bytes).expect("canonical bytes decode");
        assert_eq!(back, spec);
        assert_eq!(back.hash(), spec.hash());
    }
    let without = spec(Preset::Local { validators: 4 });
    assert!(without.products.is_empty());
    let mut explicit = without.canonical_bytes();
    explicit.extend(jeon_runtime::codec::encode(&without.products));
    assert!(GenesisSpec::from_canonical_bytes(&explicit).is_err());
    let mut truncated = without.canonical_bytes();
    truncated.pop();
    assert!(GenesisSpec::from_canonical_bytes(&truncated).is_err());
}
