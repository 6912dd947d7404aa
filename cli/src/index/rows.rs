//! One block's rows as PostgreSQL `COPY ... (FORMAT csv)` text: its `txs` and `events`,
//! with the typed columns the views read (docs/indexer.md, Tables).

use jeon_node::insights::{sale_of, subscribes};
use jeon_runtime::{Event, Outcome, Receipt};
use serde_json::Value;

/// The `events` columns, in the order [`Rows::event`] writes them.
pub(super) const EVENT_COLUMNS: &str = "height, tx_index, event_index, time_ms, kind, merchant, \
     issuer, product, sale, entitlement, subscription, asset, amount, tax, units, expires_at_ms, body";
/// The `txs` columns, in the order [`Rows::tx`] writes them.
pub(super) const TX_COLUMNS: &str = "height, tx_index, hash, success, outcome, fee";

/// Kinds whose `id` is an entitlement's.
const ENTITLEMENT_KINDS: &[&str] = &[
    "EntitlementIssued",
    "EntitlementOffered",
    "EntitlementTransferred",
    "EntitlementRevoked",
    "SubscriptionRenewed",
    "SubscriptionLapsed",
];

/// CSV text of rows for one `COPY` per table.
#[derive(Default)]
pub(super) struct Rows {
    pub(super) txs: String,
    pub(super) events: String,
    pub(super) tx_count: u64,
    pub(super) event_count: u64,
}

impl Rows {
    /// Adds one block's receipts and end-of-block events.
    pub(super) fn block(
        &mut self,
        height: u64,
        time_ms: u64,
        receipts: &[Receipt],
        block_events: &[Event],
    ) -> Result<(), serde_json::Error> {
        for (i, r) in receipts.iter().enumerate() {
            self.tx(height, i as u64, r)?;
            self.events_of(height, i as u64, time_ms, &r.events)?;
        }
        let end = u64::from(jeon_runtime::economy::BLOCK_EVENTS_TX_INDEX);
        self.events_of(height, end, time_ms, block_events)
    }

    fn tx(&mut self, height: u64, index: u64, r: &Receipt) -> Result<(), serde_json::Error> {
        let outcome = serde_json::to_string(&r.outcome)?;
        let success = matches!(r.outcome, Outcome::Success);
        let fields = [
            Some(height.to_string()),
            Some(index.to_string()),
            Some(r.tx.to_string()),
            Some(success.to_string()),
            Some(outcome),
            Some(r.fee.to_string()),
        ];
        csv_line(&mut self.txs, &fields);
        self.tx_count += 1;
        Ok(())
    }

    fn events_of(
        &mut self,
        height: u64,
        tx_index: u64,
        time_ms: u64,
        events: &[Event],
    ) -> Result<(), serde_json::Error> {
        let subscription = subscribes(events);
        for (i, event) in events.iter().enumerate() {
            let body = serde_json::to_value(event)?;
            let inner = body
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or(Value::Null);
            let text = |k: &str| inner.get(k).and_then(value_text);
            let kind = event.kind();
            let sale = sale_of(events, i);
            let is_entitlement = ENTITLEMENT_KINDS.contains(&kind);
            let units = match kind {
                "MeterClaimed" => text("new_units"),
                _ => text("units"),
            };
            let fields = [
                Some(height.to_string()),
                Some(tx_index.to_string()),
                Some(i.to_string()),
                Some(time_ms.to_string()),
                Some(kind.to_owned()),
                text("merchant"),
                text("issuer"),
                sale.map(|s| s.product.to_string())
                    .or_else(|| text("product")),
                sale.map(|s| if s.subscribe { "subscribe" } else { "buy" }.to_owned()),
                if is_entitlement { text("id") } else { None },
                (kind == "EntitlementIssued").then(|| subscription.to_string()),
                text("asset"),
                text("amount"),
                text("tax"),
                units,
                text("expires_at_ms"),
                Some(serde_json::to_string(&body)?),
            ];
            csv_line(&mut self.events, &fields);
            self.event_count += 1;
        }
        Ok(())
    }
}

/// A scalar JSON value as a column's text (strings unquoted); `None` for anything else.
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One CSV line: `None` is SQL NULL (an unquoted empty field); every value is quoted,
/// with `"` doubled, so commas, quotes and newlines in JSON pass unchanged.
fn csv_line(out: &mut String, fields: &[Option<String>]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if let Some(v) = f {
            out.push('"');
            out.push_str(&v.replace('"', "\"\""));
            out.push('"');
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_values_and_leaves_null_empty() {
        let mut out = String::new();
        csv_line(
            &mut out,
            &[Some("a,\"b\"\n".into()), None, Some(String::new())],
        );
        assert_eq!(out, "\"a,\"\"b\"\"\n\",,\"\"\n");
    }
}
