//! A small blocking HTTP client for the node's API, shared by `tx`, `query` and `bench`.
//!
//! It speaks JSON both ways and turns the API's error body
//! `{"error":{"code","message"}}` into an [`ApiError`] that keeps the stable code, so
//! callers can act on it (`unknown_account` means nonce 0, `mempool_full` means retry).
//! With `?` an unreachable node becomes [`CliError::Unreachable`] (exit 3) and every
//! other [`ApiError`] a [`CliError::Failed`] (exit 1).

use std::io::Read;
use std::time::Duration;

use clap::Args;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use jeon_node::api::TxStatus;
use jeon_runtime::{Address, Amount, AssetId, Hash, SignedTx};

use crate::amount::AmountArg;
use crate::error::CliError;

/// The API URL clients use when neither `--api` nor `JEON_API` is given.
pub(crate) const API_URL_DEFAULT: &str = "http://127.0.0.1:8080";
/// How long one request may take (a batch of 10,000 transactions included).
const REQUEST_TIMEOUT_SECS: u64 = 60;
/// How long connecting may take (the node is usually on a LAN or loopback).
const CONNECT_TIMEOUT_SECS: u64 = 5;
/// A pooled connection idle this long is dropped: below the node's 10 s keep-alive
/// (`HEADER_READ_TIMEOUT_MS`), so a request never goes out on a connection the node
/// is just closing.
const POOL_IDLE_SECS: u64 = 5;
/// The largest response body read: a block of 10,000 transactions is about 1 MiB.
const RESPONSE_BYTES_MAX: u64 = 64 << 20;

/// `--api URL`, shared by the `tx` and `query` commands.
#[derive(Debug, Clone, Args)]
pub(crate) struct ApiArgs {
    /// The node's API URL (`http://HOST:PORT`; a bare `HOST:PORT` is taken as http).
    #[arg(long, value_name = "URL", env = "JEON_API", default_value = API_URL_DEFAULT, global = true)]
    pub(crate) api: String,
}

/// Why an API call did not return what was asked for.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// No connection could be made: the node is down or the URL is wrong.
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable {
        /// The node's base URL.
        url: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// The node answered with our error body (or another non-success status).
    #[error("{message} ({code})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable error code (`unknown_account`, `mempool_full`, ...).
        code: String,
        /// The node's explanation.
        message: String,
    },
    /// The request failed midway (timeout, reset) or the answer was not what the API
    /// documents.
    #[error("request to {url} failed: {reason}")]
    Transport {
        /// The full request URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

impl ApiError {
    /// The API's error code, if the node answered with one.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            ApiError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unreachable { .. } => CliError::Unreachable(e.to_string()),
            _ => CliError::Failed(e.to_string()),
        }
    }
}

// The API's answers, as the node defines them (`jeon_node::api::types`).
pub(crate) use jeon_node::api::types::{
    AccountView, AssetView, AssetsView, FeesView, StatusView as NodeStatus, SubmitAnswer,
};

use jeon_node::api::types::SubmitRequest as SubmitBody;

/// A client for one node.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// The base URL without a trailing slash, e.g. `http://127.0.0.1:8080`.
    base: String,
    http: reqwest::blocking::Client,
}

/// Checks an API URL and normalises it: `HOST:PORT` becomes `http://HOST:PORT`, and a
/// trailing slash is dropped. Exit 2 if it is not an http URL.
pub(crate) fn parse_api_url(input: &str) -> Result<String, CliError> {
    let trimmed = input.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("http://{trimmed}")
    };
    let url = reqwest::Url::parse(&with_scheme)
        .map_err(|e| CliError::BadInput(format!("invalid API URL {input:?}: {e}")))?;
    if url.scheme() != "http" {
        return Err(CliError::BadInput(format!(
            "invalid API URL {input:?}: only http:// is supported"
        )));
    }
    if url.host_str().is_none() {
        return Err(CliError::BadInput(format!(
            "invalid API URL {input:?}: no host"
        )));
    }
    Ok(with_scheme.trim_end_matches('/').to_owned())
}

/// The innermost cause of an error: reqwest's own message ("error sending request")
/// is vague, the operating system's ("Connection refused") is what a user can act on.
fn causes(e: &dyn std::error::Error) -> String {
    let mut innermost = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    innermost
}

impl Client {
    /// A client for the node at `api` (checked with [`parse_api_url`]).
    pub(crate) fn new(api: &str) -> Result<Self, CliError> {
        let base = parse_api_url(api)?;
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS))
            .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECS))
            .pool_idle_timeout(Duration::from_secs(POOL_IDLE_SECS))
            .build()
            .map_err(|e| CliError::Failed(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client { base, http })
    }

    /// The node's base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`, parsed as `T`.
    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let url = format!("{}{path}", self.base);
        let sent = self.http.get(&url).send();
        self.answer(&url, sent)
    }

    /// `POST path` with a JSON body, parsed as `T`.
    pub(crate) fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let url = format!("{}{path}", self.base);
        let sent = self.http.post(&url).json(body).send();
        self.answer(&url, sent)
    }

    /// Reads an answer: a success body as `T`, an error body as [`ApiError::Api`].
    fn answer<T: DeserializeOwned>(
        &self,
        url: &str,
        sent: reqwest::Result<reqwest::blocking::Response>,
    ) -> Result<T, ApiError> {
        let transport = |reason: String| ApiError::Transport {
            url: url.to_owned(),
            reason,
        };
        let response = sent.map_err(|e| {
            if e.is_connect() {
                ApiError::Unreachable {
                    url: self.base.clone(),
                    reason: causes(&e),
                }
            } else {
                transport(causes(&e))
            }
        })?;
        let status = response.status();
        let mut bytes = Vec::new();
        response
            .take(RESPONSE_BYTES_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| transport(format!("reading the answer: {e}")))?;
        if bytes.len() as u64 > RESPONSE_BYTES_MAX {
            return Err(transport(format!(
                "the answer exceeds {RESPONSE_BYTES_MAX} bytes"
            )));
        }
        if !status.is_success() {
            return Err(error_body(status.as_u16(), &bytes));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| transport(format!("unexpected answer (status {status}): {e}")))
    }

    /// `GET /v1/status`.
    pub(crate) fn status(&self) -> Result<NodeStatus, ApiError> {
        self.get("/v1/status")
    }

    /// `GET /v1/accounts/{addr}`; `None` for an account the chain has never seen.
    pub(crate) fn account(&self, addr: &Address) -> Result<Option<AccountView>, ApiError> {
        match self.get(&format!("/v1/accounts/{addr}")) {
            Ok(view) => Ok(Some(view)),
            Err(e) if e.code() == Some("unknown_account") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/fees`, with the account's standing when one is given.
    pub(crate) fn fees(&self, account: Option<&Address>) -> Result<FeesView, ApiError> {
        match account {
            Some(a) => self.get(&format!("/v1/fees?account={a}")),
            None => self.get("/v1/fees"),
        }
    }

    /// `GET /v1/txs/{hash}`.
    pub(crate) fn tx_status(&self, hash: &Hash) -> Result<TxStatus, ApiError> {
        self.get(&format!("/v1/txs/{hash}"))
    }

    /// `GET /v1/txs/{hash}/proof`: the node's answer, to be checked by the caller.
    pub(crate) fn tx_proof(&self, hash: &Hash) -> Result<Value, ApiError> {
        self.get(&format!("/v1/txs/{hash}/proof"))
    }

    /// `POST /v1/txs`: submits one transaction; its hash once the node admitted it.
    pub(crate) fn submit(&self, tx: &SignedTx) -> Result<Hash, ApiError> {
        let body = SubmitBody {
            tx: hex::encode(tx.encode()),
        };
        let answer: SubmitAnswer = self.post("/v1/txs", &body)?;
        Ok(answer.hash)
    }

    /// The id of an asset given by number or symbol (`GET /v1/assets/{symbol}`).
    pub(crate) fn resolve_asset(&self, asset: &AssetRef) -> Result<AssetId, ApiError> {
        match asset {
            AssetRef::Id(id) => Ok(*id),
            AssetRef::Symbol(symbol) => {
                let view: AssetView = self.get(&format!("/v1/assets/{symbol}"))?;
                Ok(view.id)
            }
        }
    }
}

impl Client {
    /// One asset's record (`GET /v1/assets/{id or symbol}`).
    pub(crate) fn asset(&self, asset: &AssetRef) -> Result<AssetView, ApiError> {
        match asset {
            AssetRef::Id(id) => self.get(&format!("/v1/assets/{id}")),
            AssetRef::Symbol(symbol) => self.get(&format!("/v1/assets/{symbol}")),
        }
    }

    /// The asset's id and the amount in its units: raw units as given, a decimal
    /// amount read with the asset's decimals (exit 2 if it does not fit them).
    pub(crate) fn asset_amount(
        &self,
        asset: &AssetRef,
        amount: &AmountArg,
    ) -> Result<(AssetId, Amount), CliError> {
        if let (AssetRef::Id(id), AmountArg::Raw(n)) = (asset, amount) {
            return Ok((*id, *n));
        }
        amount.check_unit(asset).map_err(CliError::BadInput)?;
        let view = self.asset(asset)?;
        let units = amount
            .units(view.decimals, &view.symbol)
            .map_err(CliError::BadInput)?;
        Ok((view.id, units))
    }

    /// An amount of the fee asset (`--fee-limit`, a fee market's bounds): raw units
    /// as given, offline; a decimal amount read with the fee asset's decimals, the fee
    /// asset named by `GET /v1/fees`.
    pub(crate) fn fee_amount(&self, amount: &AmountArg) -> Result<Amount, CliError> {
        if let AmountArg::Raw(n) = amount {
            return Ok(*n);
        }
        let fee_asset = self.fees(None)?.fee_asset;
        self.asset_amount(&AssetRef::Id(fee_asset), amount)
            .map(|(_, n)| n)
    }

    /// An amount whose asset the command does not name (a mandate's, a credit
    /// line's): raw units, or a decimal amount that names its asset by sign or symbol
    /// (`₩5`, `5KRW`).
    pub(crate) fn amount_with_unit(&self, amount: &AmountArg) -> Result<Amount, CliError> {
        match amount {
            AmountArg::Raw(n) => Ok(*n),
            AmountArg::Display { unit: Some(u), .. } => {
                let asset: AssetRef = u.parse().map_err(CliError::BadInput)?;
                self.asset_amount(&asset, amount).map(|(_, n)| n)
            }
            AmountArg::Display {
                unit: None, text, ..
            } => Err(CliError::BadInput(format!(
                "amount {text:?}: this command names no asset, so say which: `₩{text}` or \
                 `{text}KRW`, or give raw units as an integer"
            ))),
        }
    }
}

/// Our error body as an [`ApiError::Api`]; any other body keeps the HTTP status.
fn error_body(status: u16, bytes: &[u8]) -> ApiError {
    let parsed: Option<(String, String)> =
        serde_json::from_slice::<Value>(bytes).ok().and_then(|v| {
            let err = v.get("error")?;
            let code = err.get("code")?.as_str()?.to_owned();
            let message = err.get("message")?.as_str()?.to_owned();
            Some((code, message))
        });
    let (code, message) = parsed.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(bytes);
        let text: String = text.chars().take(200).collect();
        (format!("http_{status}"), format!("HTTP {status}: {text}"))
    });
    ApiError::Api {
        status,
        code,
        message,
    }
}

/// An asset as the user names it: by id (`0`) or by symbol (`KRW`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AssetRef {
    /// By number.
    Id(AssetId),
    /// By symbol, upper-cased.
    Symbol(String),
}

impl std::str::FromStr for AssetRef {
    type Err = String;

    /// Digits are an id; anything else must be a valid symbol (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse::<u32>()
                .map(|n| AssetRef::Id(AssetId(n)))
                .map_err(|e| format!("asset id {s:?}: {e}"));
        }
        let symbol = s.to_ascii_uppercase();
        if jeon_runtime::model::symbol_is_valid(&symbol) {
            Ok(AssetRef::Symbol(symbol))
        } else {
            Err(format!(
                "{s:?} is neither an asset id nor a symbol (1 to 12 of A-Z, 0-9)"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_host_and_port_is_taken_as_http() {
        assert_eq!(
            parse_api_url("127.0.0.1:8080/").ok().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert!(parse_api_url("https://node.example").is_err());
        assert!(parse_api_url("http://").is_err());
    }

    #[test]
    fn an_api_error_body_keeps_its_code_and_message() {
        let body = br#"{"error":{"code":"unknown_account","message":"no account jeon1..."}}"#;
        let e = error_body(404, body);
        assert_eq!(e.code(), Some("unknown_account"));
        assert_eq!(e.to_string(), "no account jeon1... (unknown_account)");
        assert_eq!(error_body(502, b"bad gateway").code(), Some("http_502"));
    }

    #[test]
    fn assets_are_named_by_id_or_symbol() {
        assert_eq!("0".parse(), Ok(AssetRef::Id(AssetId(0))));
        assert_eq!("krw".parse(), Ok(AssetRef::Symbol("KRW".into())));
        assert!("₩".parse::<AssetRef>().is_err());
        assert!("99999999999".parse::<AssetRef>().is_err());
    }
}
