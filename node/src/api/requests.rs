//! The API's request bodies: their JSON types, and decoding them into transactions.
//!
//! Free of axum and of the rest of the node (it names only serde, serde_json, hex and
//! the runtime) because the fuzz crate compiles this file alone (`fuzz/src/lib.rs`):
//! the fuzzer then runs the very code the API runs without building the node's
//! network and HTTP stack. A tidy test keeps it that way.

use jeon_runtime::SignedTx;
use serde::Deserialize;

/// The most transactions in one batch submission.
pub const TXS_BATCH_MAX: usize = 10_000;

/// `POST /v1/txs`: one hex-encoded transaction.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// The transaction's canonical bytes, in hex (either case; surrounding whitespace
    /// is ignored).
    pub tx: String,
}

/// `POST /v1/txs/batch`: up to [`TXS_BATCH_MAX`] hex-encoded transactions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// The transactions, each as in [`SubmitBody::tx`].
    pub txs: Vec<String>,
}

/// Why a request body was refused; [`RequestError::code`] is the API's stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body is not JSON of the route's shape.
    #[error("{0}")]
    MalformedJson(String),
    /// A transaction is not hex.
    #[error("transaction is not valid hex: {0}")]
    BadHex(String),
    /// A transaction's bytes do not decode.
    #[error("{0}")]
    MalformedTx(String),
    /// A batch holds more than [`TXS_BATCH_MAX`] transactions.
    #[error("batch of {len} transactions exceeds {TXS_BATCH_MAX}")]
    BatchTooLarge {
        /// Transactions in the batch.
        len: usize,
    },
}

impl RequestError {
    /// The stable error code docs/api.md lists.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::MalformedJson(_) => "malformed_json",
            RequestError::BadHex(_) => "bad_hex",
            RequestError::MalformedTx(_) => "malformed_tx",
            RequestError::BatchTooLarge { .. } => "batch_too_large",
        }
    }
}

/// Parses a JSON body of type `T`.
pub fn parse_json<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, RequestError> {
    serde_json::from_slice(bytes).map_err(|e| RequestError::MalformedJson(e.to_string()))
}

/// Decodes one hex-encoded transaction (bounded by the transaction decoder's limit).
pub fn decode_hex_tx(hex_tx: &str) -> Result<SignedTx, RequestError> {
    let hex_tx = hex_tx.trim();
    let bytes = match decode_hex_fast(hex_tx.as_bytes()) {
        Some(bytes) => bytes,
        // Not hex: the `hex` crate names the problem (which character, where).
        None => hex::decode(hex_tx).map_err(|e| RequestError::BadHex(e.to_string()))?,
    };
    SignedTx::decode(&bytes).map_err(|e| RequestError::MalformedTx(e.to_string()))
}

/// Hex to bytes through a table, or `None` if `text` is not hex. `hex::decode` goes
/// character by character through an iterator chain and was 7% of a node's CPU at
/// 10,000 submitted transactions a second.
pub fn decode_hex_fast(text: &[u8]) -> Option<Vec<u8>> {
    const INVALID: u8 = 0xff;
    const TABLE: [u8; 256] = {
        let mut table = [INVALID; 256];
        let mut i = 0;
        while i < 10 {
            table[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            table[b'a' as usize + i] = 10 + i as u8;
            table[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        table
    };
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 2);
    for pair in text.chunks_exact(2) {
        let (high, low) = (TABLE[usize::from(pair[0])], TABLE[usize::from(pair[1])]);
        if high == INVALID || low == INVALID {
            return None;
        }
        out.push(high << 4 | low);
    }
    Some(out)
}

/// Checks a batch's size, then decodes each of its transactions (one result each, in
/// order: one bad transaction does not refuse the others).
pub fn decode_batch(body: &BatchBody) -> Result<Vec<Result<SignedTx, RequestError>>, RequestError> {
    if body.txs.len() > TXS_BATCH_MAX {
        return Err(RequestError::BatchTooLarge {
            len: body.txs.len(),
        });
    }
    Ok(body.txs.iter().map(|t| decode_hex_tx(t)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_stable_code() {
        let e = parse_json::<SubmitBody>(br#"{"tx":"00","extra":1}"#).unwrap_err();
        assert_eq!(e.code(), "malformed_json");
        assert_eq!(decode_hex_tx("zz").unwrap_err().code(), "bad_hex");
        assert_eq!(decode_hex_tx(" 00 ").unwrap_err().code(), "malformed_tx");
        let big = BatchBody {
            txs: vec![String::new(); TXS_BATCH_MAX + 1],
        };
        let e = decode_batch(&big).unwrap_err();
        assert_eq!(e.code(), "batch_too_large");
        assert_eq!(e.to_string(), "batch of 10001 transactions exceeds 10000");
    }
}
