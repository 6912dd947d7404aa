//! A genesis file (`jeon node --genesis`, `jeon verify --genesis`, `jeon genesis
//! validate`): JSON text.
//!
//! Asserts: whatever parses survives its own JSON output with the same chain id, and
//! its canonical encoding (which the chain id hashes) decodes back to it; validation
//! never panics; and a spec that validates always builds its initial state (a genesis
//! that validation accepts can start a chain).
#![no_main]

use jeon_genesis::GenesisSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(spec) = GenesisSpec::from_json(text) else {
        return;
    };
    let json = spec.to_json().expect("a parsed spec serializes");
    let back = GenesisSpec::from_json(&json).expect("a spec's own JSON parses");
    assert_eq!(back, spec, "the JSON round trip changed the spec");
    assert_eq!(back.hash(), spec.hash());
    let bytes = spec.canonical_bytes();
    let decoded = GenesisSpec::from_canonical_bytes(&bytes).expect("canonical bytes decode");
    assert_eq!(
        decoded, spec,
        "the canonical encoding round trip changed the spec"
    );
    if spec.validate().is_ok() {
        if let Err(e) = spec.build_state() {
            panic!("a valid genesis fails to build its state: {e}");
        }
        assert!(!spec.validators().is_empty());
    }
});
