//! A payment link (`jeon:pay?i=...&s=...`, `jeon tx pay-invoice --link`, `jeon invoice
//! show`): text.
//!
//! Asserts: a link that reads gives the same invoice and signature when written again
//! and read back; signature checks never panic, and a link verifies on the dev chain
//! only if its merchant signed it (one of the cafe's genuine invoices, or a small-order key);
//! opening its memo with the merchant's key never panics.
#![no_main]

use jeon_fuzz::fixtures;
use jeon_runtime::invoice::Invoice;
use jeon_runtime::memo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((invoice, signature)) = Invoice::from_uri(text) else {
        return;
    };
    let again = invoice.to_uri(&signature);
    assert_eq!(
        Invoice::from_uri(&again),
        Ok((invoice.clone(), signature)),
        "a link written again reads as another"
    );
    let chain = fixtures::dev_chain();
    if invoice.verify(&chain.chain_id, &signature).is_ok() {
        assert!(
            chain.invoices.contains(&invoice) || fixtures::is_small_order(&invoice.merchant),
            "a link verified that its merchant never signed: {invoice:?}"
        );
    }
    if let Some(sealed) = &invoice.memo {
        let _ = memo::open(&fixtures::key("dalbit-cafe"), sealed);
    }
});
