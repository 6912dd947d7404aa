//! What commands print: `--output text` (the default, for people) or `--output json`
//! (one JSON document on stdout, for scripts).
//!
//! Every command builds its result as one JSON value and hands it to [`emit`]. JSON
//! prints it as is (raw units, heights, milliseconds: what the API answers). Text
//! renders it as indented `key: value` lines and puts beside the raw numbers what a
//! person reads: decimal amounts with the asset's sign or symbol (`50000 (₩500.00)`),
//! ISO dates beside millisecond times and day numbers. Messages for people (notes,
//! progress) go to stderr in both formats, so stdout stays parseable.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::amount::format_units;
use crate::client::{AssetsView, Client};
use crate::error::{stdout, CliError};

/// The output format, chosen once by the global `--output` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Format {
    /// Indented `key: value` lines with decimal amounts and dates, for people.
    #[default]
    Text,
    /// One JSON document, for scripts.
    Json,
}

static FORMAT: OnceLock<Format> = OnceLock::new();

/// Sets the format for this process (the first call wins).
pub(crate) fn set_format(format: Format) {
    let _ = FORMAT.set(format);
}

/// The format chosen with `--output`.
pub(crate) fn format() -> Format {
    FORMAT.get().copied().unwrap_or_default()
}

/// What text output shows beside raw numbers: the chain's assets by id (amounts as
/// decimals with symbols) and its clock (heights as estimated dates).
#[derive(Debug, Default, Clone)]
pub(crate) struct Assets {
    by_id: BTreeMap<u64, (String, u8)>,
    clock: Option<Clock>,
}

/// The head and the recent block rate, to date a height.
#[derive(Debug, Clone, Copy)]
struct Clock {
    height: u64,
    time_ms: u64,
    ms_per_block: u64,
}

impl Clock {
    /// The estimated time of block `h` at the recent rate (exact at the head).
    fn time_of(&self, h: u64) -> Option<u64> {
        if h >= self.height {
            self.time_ms
                .checked_add((h - self.height).checked_mul(self.ms_per_block)?)
        } else {
            self.time_ms
                .checked_sub((self.height - h).checked_mul(self.ms_per_block)?)
        }
    }
}

/// How many recent blocks the block rate is measured over.
const CLOCK_BLOCKS: u64 = 100;

/// Keys whose number is a height that a person reads as a date (deadlines, expiries).
const HEIGHT_KEYS: &[&str] = &[
    "expires_at",
    "expiry",
    "deadline",
    "activation",
    "effective_from",
    "due_height",
];

/// Keys whose number is an asset id, shown with the asset's symbol.
const ASSET_KEYS: &[&str] = &[
    "asset",
    "fee_asset",
    "from_asset",
    "to_asset",
    "pay_asset",
    "stamp_asset",
    "reward_asset",
    "settlement_asset",
];

/// Keys whose number is an amount of the object's asset (`asset` or `symbol`).
const AMOUNT_KEYS: &[&str] = &[
    "amount",
    "supply",
    "limit",
    "limit_per_period",
    "remaining",
    "spent",
    "cap",
    "budget",
    "min_out",
    "amount_in",
    "amount_out",
    "tax",
    "withheld",
    "net",
    "gross",
    "balance",
    "drawn",
    "outstanding",
    "reward_amount",
    "per_payment",
    "daily_cap",
    "paid",
];

/// Keys whose number is an amount of the fee asset.
const FEE_KEYS: &[&str] = &[
    "fee",
    "base_fee",
    "base_fee_max",
    "base_fee_min",
    "suggested_fee_limit",
    "fee_limit",
];

impl Assets {
    /// The node's assets (`GET /v1/assets`); none if the node cannot say, since
    /// decorating text is never worth failing a command.
    pub(crate) fn fetch(client: &Client) -> Assets {
        if format() == Format::Json {
            return Assets::default();
        }
        let by_id = client
            .get::<AssetsView>("/v1/assets")
            .map(|view| {
                view.assets
                    .into_iter()
                    .map(|a| (u64::from(a.id.0), (a.symbol, a.decimals)))
                    .collect()
            })
            .unwrap_or_default();
        Assets {
            by_id,
            clock: clock(client),
        }
    }

    fn by_id(&self, id: u64) -> Option<(&str, u8)> {
        self.by_id.get(&id).map(|(s, d)| (s.as_str(), *d))
    }

    fn by_symbol(&self, symbol: &str) -> Option<(&str, u8)> {
        self.by_id
            .values()
            .find(|(s, _)| s == symbol)
            .map(|(s, d)| (s.as_str(), *d))
    }

    /// The fee asset: asset 0 on every Jeon chain (the genesis fee asset).
    fn fee_asset(&self, obj: &serde_json::Map<String, Value>) -> Option<(&str, u8)> {
        let id = obj
            .get("fee_asset")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        self.by_id(id)
    }
}

/// The head and the block rate over the last [`CLOCK_BLOCKS`] blocks, if the node
/// lists them.
fn clock(client: &Client) -> Option<Clock> {
    let listed: Value = client
        .get(&format!("/v1/blocks?limit={CLOCK_BLOCKS}"))
        .ok()?;
    let blocks = listed.get("blocks")?.as_array()?;
    let point = |b: &Value| Some((b.get("height")?.as_u64()?, b.get("time_ms")?.as_u64()?));
    let (height, time_ms) = point(blocks.first()?)?;
    let (old_height, old_time_ms) = point(blocks.last()?)?;
    let blocks_between = height.checked_sub(old_height).filter(|n| *n > 0)?;
    let ms_per_block = time_ms.checked_sub(old_time_ms)? / blocks_between;
    Some(Clock {
        height,
        time_ms,
        ms_per_block,
    })
}

/// Prints `value` in the chosen format (text decorated with `assets`).
pub(crate) fn emit(value: &Value, assets: &Assets) -> Result<(), CliError> {
    match format() {
        Format::Json => stdout(&format!("{value}\n")),
        Format::Text => {
            let mut out = String::new();
            render(value, assets, 0, &mut out);
            stdout(&out)
        }
    }
}

/// Prints `text` as written for people, or `value` with `--output json`.
pub(crate) fn either(text: &str, value: &Value) -> Result<(), CliError> {
    match format() {
        Format::Json => stdout(&format!("{value}\n")),
        Format::Text => stdout(text),
    }
}

/// Prints `value` without asset decorations (commands that talk to no node).
pub(crate) fn emit_plain(value: &Value) -> Result<(), CliError> {
    emit(value, &Assets::default())
}

/// A value as indented `key: value` lines.
fn render(value: &Value, assets: &Assets, indent: usize, out: &mut String) {
    match value {
        Value::Object(obj) => render_object(obj, assets, indent, out),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str(&format!("{:indent$}(none)\n", ""));
            }
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{:indent$}-\n", ""));
                        render(item, assets, indent + 2, out);
                    }
                    scalar => out.push_str(&format!("{:indent$}- {}\n", "", plain(scalar))),
                }
            }
        }
        scalar => out.push_str(&format!("{:indent$}{}\n", "", plain(scalar))),
    }
}

fn render_object(
    obj: &serde_json::Map<String, Value>,
    assets: &Assets,
    indent: usize,
    out: &mut String,
) {
    let asset = obj
        .get("asset")
        .and_then(Value::as_u64)
        .and_then(|id| assets.by_id(id))
        .or_else(|| {
            obj.get("symbol")
                .and_then(Value::as_str)
                .and_then(|s| assets.by_symbol(s))
        });
    for (key, v) in obj {
        match v {
            Value::Object(o) if o.is_empty() => {
                out.push_str(&format!("{:indent$}{key}: {{}}\n", ""));
            }
            Value::Array(a) if a.is_empty() => {
                out.push_str(&format!("{:indent$}{key}: (none)\n", ""));
            }
            Value::Object(_) | Value::Array(_) => {
                out.push_str(&format!("{:indent$}{key}:\n", ""));
                render(v, assets, indent + 2, out);
            }
            scalar => {
                let shown = decorate(key, scalar, asset, assets, obj);
                out.push_str(&format!("{:indent$}{key}: {shown}\n", ""));
            }
        }
    }
}

/// A scalar with what a person reads beside it: a decimal amount, an ISO date.
fn decorate(
    key: &str,
    v: &Value,
    asset: Option<(&str, u8)>,
    assets: &Assets,
    obj: &serde_json::Map<String, Value>,
) -> String {
    let text = plain(v);
    let Some(n) = v.as_u64() else {
        return text;
    };
    let fee_asset = assets.fee_asset(obj);
    if ASSET_KEYS.contains(&key) {
        if let Some((symbol, _)) = assets.by_id(n) {
            return format!("{text} ({symbol})");
        }
    }
    if HEIGHT_KEYS.contains(&key) {
        if let Some(ms) = assets.clock.and_then(|c| c.time_of(n)) {
            return format!("{text} (≈ {})", iso_time_ms(ms));
        }
    }
    if AMOUNT_KEYS.contains(&key) {
        if let Some((symbol, decimals)) = asset {
            return format!("{text} ({})", format_units(n, decimals, symbol));
        }
    }
    if FEE_KEYS.contains(&key) {
        if let Some((symbol, decimals)) = fee_asset {
            return format!("{text} ({})", format_units(n, decimals, symbol));
        }
    }
    if key.ends_with("time_ms") || key == "timestamp_ms" {
        return format!("{text} ({})", iso_time_ms(n));
    }
    // A carrier line's period: 0 asks for calendar months.
    if key == "period_ms" && n == 0 && obj.contains_key("cap") {
        return format!("{text} (calendar months, UTC)");
    }
    // Tax periods are UTC days; a sponsorship's `period` counts `period_ms` windows, a
    // carrier line's (objects naming a `line`) its periods since it opened.
    let is_day = matches!(key, "day" | "from_period" | "to_period")
        || (key == "period" && !obj.contains_key("period_ms") && !obj.contains_key("line"))
        || (matches!(key, "from" | "to") && obj.contains_key("jurisdiction"))
        || key.ends_with("_day");
    if is_day {
        return format!("{text} ({})", iso_date(n));
    }
    text
}

/// A scalar as text: strings without quotes.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (UTC).
pub(crate) fn iso_date(days: u64) -> String {
    let d = jeon_runtime::economy::calendar::date_of_day(days);
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub(crate) fn iso_time_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let day_secs = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        iso_date(secs / 86_400),
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(20_429), "2025-12-07");
        assert_eq!(iso_date(11_016), "2000-02-29");
        assert_eq!(iso_time_ms(1_765_071_296_123), "2025-12-07T01:34:56.123Z");
    }

    #[test]
    fn text_shows_won_beside_units_and_dates_beside_times() {
        let assets = Assets {
            by_id: [(0, ("KRW".to_owned(), 2))].into_iter().collect(),
            clock: Some(Clock {
                height: 100,
                time_ms: 86_400_000,
                ms_per_block: 1_000,
            }),
        };
        let value = json!({
            "balances": [{"asset": 0, "symbol": "KRW", "amount": 50_000}],
            "time_ms": 0,
            "fee": 10,
            "nonce": 3,
            "expires_at": 160,
            "tax_withheld": {"jurisdiction": "KR", "period": 20_429},
        });
        let mut out = String::new();
        render(&value, &assets, 0, &mut out);
        assert!(out.contains("amount: 50000 (₩500.00)"), "{out}");
        assert!(out.contains("asset: 0 (KRW)"), "{out}");
        assert!(
            out.contains("expires_at: 160 (≈ 1970-01-02T00:01:00.000Z)"),
            "{out}"
        );
        assert!(out.contains("period: 20429 (2025-12-07)"), "{out}");
        assert!(
            out.contains("time_ms: 0 (1970-01-01T00:00:00.000Z)"),
            "{out}"
        );
        assert!(out.contains("fee: 10 (₩0.10)"), "{out}");
        assert!(out.contains("nonce: 3\n"), "{out}");
    }
}
