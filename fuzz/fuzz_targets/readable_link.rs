//! A readable payment link (`jeon:pay?to=…&amount=500.00&asset=KRW&id=…&exp=…&memo=…&sig=…`,
//! `jeon tx pay-invoice --link`, `jeon invoice show`, the SDK's `parseAnyLink`): text,
//! read by `Link::parse`, which also dispatches the encoded form.
//!
//! Asserts: for any asset decimals, a readable link whose amount fits them resolves to
//! an invoice that, written again as a readable link and read back, resolves to the
//! same invoice with the same signature, asset name, id, expiry and memo; the decimal
//! amount reads back from its formatting; an encoded link reads back as itself; a
//! link verifies on the dev chain (asset 0, KRW) only if its merchant signed it (one
//! of the cafe's genuine invoices, or a small-order key); opening its memo with the
//! merchant's key never panics.
#![no_main]

use jeon_fuzz::fixtures::{self, KRW, KRW_DECIMALS};
use jeon_runtime::invoice::{format_decimal, parse_decimal, Invoice, Link, ReadableLink};
use jeon_runtime::{memo, Signature};
use libfuzzer_sys::fuzz_target;

/// Decimals the amount is read with: none, KRW's, and the most a u64 can hold.
const DECIMALS: [u8; 4] = [0, KRW_DECIMALS, 8, 19];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Link::parse(text) {
        Ok(Link::Readable(link)) => check_readable(&link),
        Ok(Link::Encoded(invoice, signature)) => {
            let again = invoice.to_uri(&signature);
            assert_eq!(
                Link::parse(&again),
                Ok(Link::Encoded(invoice.clone(), signature)),
                "an encoded link written again reads as another"
            );
            check_signed(&invoice, &signature);
        }
        Err(_) => {}
    }
});

fn check_readable(link: &ReadableLink) {
    for decimals in DECIMALS {
        let Ok(invoice) = link.invoice(KRW, decimals) else {
            assert!(
                parse_decimal(&link.amount, decimals).is_none(),
                "an amount that parses was refused"
            );
            continue;
        };
        assert_eq!(
            parse_decimal(&format_decimal(invoice.amount, decimals), decimals),
            Some(invoice.amount),
            "a decimal amount does not read back from its formatting"
        );
        let again = invoice.to_link(&link.signature, &link.asset, decimals);
        let Ok(Link::Readable(back)) = Link::parse(&again) else {
            panic!("a readable link written again does not read: {again}");
        };
        assert_eq!(
            (
                &back.merchant,
                &back.asset,
                back.invoice_id,
                back.expires_at
            ),
            (
                &link.merchant,
                &link.asset,
                link.invoice_id,
                link.expires_at
            )
        );
        assert_eq!(back.memo, link.memo, "the memo changed on the way");
        assert_eq!(back.signature, link.signature);
        assert_eq!(
            back.invoice(KRW, decimals).as_ref(),
            Ok(&invoice),
            "written again, the link resolves to another invoice"
        );
    }
    if let Ok(invoice) = link.invoice(KRW, KRW_DECIMALS) {
        check_signed(&invoice, &link.signature);
    }
}

/// Verification never panics, and only what the merchant signed verifies.
fn check_signed(invoice: &Invoice, signature: &Signature) {
    let chain = fixtures::dev_chain();
    if invoice.verify(&chain.chain_id, signature).is_ok() {
        assert!(
            chain.invoices.contains(invoice) || fixtures::is_small_order(&invoice.merchant),
            "a link verified that its merchant never signed: {invoice:?}"
        );
    }
    if let Some(sealed) = &invoice.memo {
        let _ = memo::open(&fixtures::key("dalbit-cafe"), sealed);
    }
}
