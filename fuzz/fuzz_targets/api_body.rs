//! The API's request bodies (`node::api::requests`: `POST /v1/txs` and
//! `POST /v1/txs/batch`) and its path parameters (addresses and hashes), from the same
//! bytes.
//!
//! Asserts: a transaction the API accepts is exactly the bytes its hex names (its
//! canonical encoding is the lower-cased hex); a batch decodes one result per entry or
//! is refused as too large only above `TXS_BATCH_MAX`; accepted transactions verify as
//! in the `tx` target; an address or hash that parses prints as a string that parses
//! back to it.
#![no_main]

use jeon_fuzz::check_tx_verification;
use jeon_fuzz::requests::{self, BatchBody, RequestError, SubmitBody, TXS_BATCH_MAX};
use jeon_runtime::{Address, Hash, SignedTx};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = requests::parse_json::<SubmitBody>(data) {
        if let Ok(tx) = requests::decode_hex_tx(&body.tx) {
            check_hex(&body.tx, &tx);
            check_tx_verification(&[tx]);
        }
    }
    if let Ok(body) = requests::parse_json::<BatchBody>(data) {
        match requests::decode_batch(&body) {
            Ok(results) => {
                assert_eq!(results.len(), body.txs.len());
                let good: Vec<SignedTx> = body
                    .txs
                    .iter()
                    .zip(results)
                    .filter_map(|(hex, r)| r.ok().inspect(|tx| check_hex(hex, tx)))
                    .collect();
                check_tx_verification(&good);
            }
            Err(RequestError::BatchTooLarge { len }) => assert!(len > TXS_BATCH_MAX),
            Err(e) => panic!("a batch is refused whole only for its size, not {e}"),
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(address) = text.parse::<Address>() {
            assert_eq!(address.to_string().parse::<Address>().ok(), Some(address));
        }
        if let Ok(hash) = text.parse::<Hash>() {
            assert_eq!(hash.to_string().parse::<Hash>().ok(), Some(hash));
        }
    }
});

fn check_hex(hex_tx: &str, tx: &SignedTx) {
    assert_eq!(
        hex::encode(tx.encode()),
        hex_tx.trim().to_ascii_lowercase(),
        "an accepted transaction is not the bytes its hex names"
    );
}
