//! Amounts as people write them: `--amount 5.00`, `--amount ₩5`, `--amount 5KRW`, or
//! raw units `--amount 500`; and amounts as people read them (`₩5.00`).
//!
//! The rule that tells the two apart: **a bare integer is raw units** (the asset's
//! smallest unit, as on the chain and in every API answer), so scripts written
//! against raw units keep working; **a decimal point or a currency sign/symbol makes it
//! an amount in the asset's display unit**, read with the asset's decimals from the
//! node. For KRW (2 decimals) `500`, `5.00`, `₩5` and `5 KRW` are all 500 units. A
//! display amount with more decimals than the asset has, or one that does not fit in
//! a u64 of units, is refused (exit 2) before anything is signed.

use std::str::FromStr;

use jeon_runtime::Amount;

/// The currency signs the CLI reads and prints, by asset symbol.
const SIGNS: &[(&str, &str)] = &[("KRW", "₩"), ("USD", "$"), ("EUR", "€"), ("JPY", "¥")];

/// The largest number of decimals an asset may have that the CLI formats (u64 has
/// at most 20 digits).
const DECIMALS_MAX: u8 = 19;

/// An amount as the user typed it, before the asset's decimals are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AmountArg {
    /// A bare integer: units in the asset's smallest unit.
    Raw(Amount),
    /// A display amount: whole part, fraction digits (as typed), and the sign or
    /// symbol it was written with, if any.
    Display {
        /// The digits before the point.
        whole: String,
        /// The digits after the point (possibly empty).
        fraction: String,
        /// The currency sign or symbol written with it (`₩`, `KRW`), upper-cased.
        unit: Option<String>,
        /// The text as typed, for messages.
        text: String,
    },
}

impl FromStr for AmountArg {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = input.trim();
        let bad = |why: &str| {
            format!(
                "amount {input:?}: {why} (write raw units as an integer, e.g. 50000, or \
                 a decimal amount, e.g. 500.00, ₩500 or 500KRW)"
            )
        };
        // A leading sign, or a leading/trailing symbol.
        let mut unit = None;
        let mut rest = text;
        for (symbol, sign) in SIGNS {
            if let Some(r) = rest.strip_prefix(sign) {
                unit = Some((*symbol).to_owned());
                rest = r.trim_start();
                break;
            }
        }
        if unit.is_none() {
            // `5KRW` / `5 KRW`: the trailing run after the last digit or point.
            let split = rest
                .char_indices()
                .rev()
                .take_while(|(_, c)| c.is_ascii_alphabetic())
                .last()
                .map(|(i, _)| i);
            if let Some(i) = split {
                let symbol = rest[i..].to_ascii_uppercase();
                if !jeon_runtime::model::symbol_is_valid(&symbol) {
                    return Err(bad("the symbol is not a valid asset symbol"));
                }
                unit = Some(symbol);
                rest = rest[..i].trim_end();
            }
        }
        if rest.is_empty() {
            return Err(bad("no number"));
        }
        let (whole, fraction, has_point) = match rest.split_once('.') {
            Some((w, f)) => (w, f, true),
            None => (rest, "", false),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
        if !digits(whole) || !digits(fraction) || (whole.is_empty() && fraction.is_empty()) {
            return Err(bad("not a number"));
        }
        let whole: String = whole.chars().filter(|c| *c != '_').collect();
        let fraction: String = fraction.chars().filter(|c| *c != '_').collect();
        if !has_point && unit.is_none() {
            return whole
                .parse::<Amount>()
                .map(AmountArg::Raw)
                .map_err(|_| bad("too large for a u64 of units"));
        }
        Ok(AmountArg::Display {
            whole,
            fraction,
            unit,
            text: text.to_owned(),
        })
    }
}

impl AmountArg {
    /// Refuses offline (exit 2) an amount written in another asset than the one the
    /// command names by symbol: `--asset KRW --amount 5STAMP`.
    pub(crate) fn check_unit(&self, asset: &crate::client::AssetRef) -> Result<(), String> {
        match (self, asset) {
            (
                AmountArg::Display {
                    unit: Some(u),
                    text,
                    ..
                },
                crate::client::AssetRef::Symbol(s),
            ) if u != s => Err(format!("--amount {text:?} is in {u}, but the asset is {s}")),
            _ => Ok(()),
        }
    }

    /// Units of an asset with `decimals` and `symbol`; an error naming the problem if
    /// the amount has too many decimals, overflows, or names another asset.
    pub(crate) fn units(&self, decimals: u8, symbol: &str) -> Result<Amount, String> {
        let (whole, fraction, unit, text) = match self {
            AmountArg::Raw(n) => return Ok(*n),
            AmountArg::Display {
                whole,
                fraction,
                unit,
                text,
            } => (whole, fraction, unit, text),
        };
        if let Some(u) = unit {
            if !u.eq_ignore_ascii_case(symbol) {
                return Err(format!(
                    "amount {text:?} is in {u}, but the asset is {symbol}"
                ));
            }
        }
        let trimmed = fraction.trim_end_matches('0');
        if trimmed.len() > usize::from(decimals) {
            return Err(format!(
                "amount {text:?} has {} decimals; {symbol} has {decimals} (its smallest unit \
                 is {})",
                fraction.len(),
                format_units(1, decimals, symbol)
            ));
        }
        let scale = 10u64
            .checked_pow(u32::from(decimals))
            .ok_or_else(|| format!("{symbol} has {decimals} decimals; too many to compute with"))?;
        let overflow = || {
            format!(
                "amount {text:?} is more than the largest amount of {symbol}, {}",
                format_units(Amount::MAX, decimals, symbol)
            )
        };
        let whole_units = if whole.is_empty() {
            0
        } else {
            whole
                .parse::<u64>()
                .ok()
                .and_then(|w| w.checked_mul(scale))
                .ok_or_else(overflow)?
        };
        let mut padded = trimmed.to_owned();
        while padded.len() < usize::from(decimals) {
            padded.push('0');
        }
        let fraction_units = if padded.is_empty() {
            0
        } else {
            padded.parse::<u64>().map_err(|_| overflow())?
        };
        whole_units.checked_add(fraction_units).ok_or_else(overflow)
    }
}

/// The currency sign of a symbol, if the CLI knows one (`KRW` -> `₩`).
fn sign(symbol: &str) -> Option<&'static str> {
    SIGNS.iter().find(|(s, _)| *s == symbol).map(|(_, g)| *g)
}

/// `units` of an asset as a decimal amount with its sign or symbol: `₩5.00`,
/// `12.5 STAMP`... (every decimal kept, so it reads back as exactly `units`).
pub(crate) fn format_units(units: Amount, decimals: u8, symbol: &str) -> String {
    let number = decimal(units, decimals);
    match sign(symbol) {
        Some(g) => format!("{g}{number}"),
        None => format!("{number} {symbol}"),
    }
}

/// `units` as a decimal number with `decimals` places (`50000`, 2 -> `500.00`).
pub(crate) fn decimal(units: Amount, decimals: u8) -> String {
    let decimals = decimals.min(DECIMALS_MAX);
    if decimals == 0 {
        return units.to_string();
    }
    let scale = 10u64.pow(u32::from(decimals));
    format!(
        "{}.{:0width$}",
        units / scale,
        units % scale,
        width = usize::from(decimals)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krw(text: &str) -> Result<Amount, String> {
        text.parse::<AmountArg>()?.units(2, "KRW")
    }

    #[test]
    fn five_won_is_five_hundred_units_however_it_is_written() {
        for text in [
            "500", "5.00", "5.0", "5.", "₩5", "₩5.00", "5KRW", "5 krw", "₩ 5",
        ] {
            assert_eq!(krw(text), Ok(500), "{text}");
        }
        assert_eq!(krw("0.01"), Ok(1));
        assert_eq!(krw(".5"), Ok(50));
        assert_eq!(krw("1_000.50"), Ok(100_050));
    }

    #[test]
    fn a_display_amount_round_trips_through_its_formatting() {
        for units in [0, 1, 99, 100, 50_000, 123_456_789, Amount::MAX] {
            let shown = format_units(units, 2, "KRW");
            assert_eq!(krw(&shown), Ok(units), "{shown}");
            let plain = decimal(units, 2);
            assert_eq!(krw(&plain), Ok(units), "{plain}");
        }
        for units in [0, 7, Amount::MAX] {
            let shown = format_units(units, 0, "STAMP");
            assert_eq!(
                shown.parse::<AmountArg>().and_then(|a| a.units(0, "STAMP")),
                Ok(units)
            );
        }
    }

    #[test]
    fn too_many_decimals_overflow_and_another_asset_are_refused_with_the_reason() {
        let e = krw("5.001").unwrap_err();
        assert!(e.contains("has 3 decimals; KRW has 2"), "{e}");
        assert_eq!(
            krw("5.010"),
            Ok(501),
            "trailing zeros are not extra precision"
        );
        let e = krw("184467440737095516.16").unwrap_err();
        assert!(e.contains("more than the largest amount"), "{e}");
        let e = krw("99999999999999999999999.0").unwrap_err();
        assert!(e.contains("more than the largest amount"), "{e}");
        let e = krw("99999999999999999999999").unwrap_err();
        assert!(e.contains("too large for a u64"), "{e}");
        assert!("18446744073709551616".parse::<AmountArg>().is_err());
        let e = "5STAMP"
            .parse::<AmountArg>()
            .and_then(|a| a.units(2, "KRW"));
        assert!(e.unwrap_err().contains("is in STAMP, but the asset is KRW"));
        for bad in ["", "five", "5.0.0", "-5", "₩", "x5", "5 K-RW"] {
            assert!(bad.parse::<AmountArg>().is_err(), "{bad:?}");
        }
    }
}
