//! The API's OpenAPI 3.1 document, derived from the handlers' `#[utoipa::path]`
//! annotations and the types of [`super::types`]; served at `GET /v1/openapi.json` and
//! checked into `docs/openapi.json` (a test fails when they differ; `JEON_BLESS=1`
//! rewrites the file).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;

use super::types;

/// The document's root: every route and the shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jeon node API",
        version = "v1",
        description = "The HTTP+JSON API of a Jeon node for wallets and partner back-ends. \
                       Errors are {\"error\":{\"code\",\"message\"}} with a stable code \
                       (ErrorCode). Hashes are 64 hex digits, addresses bech32m jeon1...; \
                       runtime records, receipts, events and headers are shown as objects \
                       and specified in docs/encoding.md and docs/runtime.md.",
        license(name = "Apache-2.0")
    ),
    paths(
        super::submit,
        super::submit_batch,
        super::dryrun::simulate,
        super::dryrun::invoice,
        super::tx_status,
        super::tx_proof,
        super::account,
        super::account_events,
        super::listings::account_txs,
        super::sales::partner_daily,
        super::insights::merchant,
        super::mandates,
        super::credit,
        super::assets,
        super::asset,
        super::listings::blocks,
        super::latest_block,
        super::block,
        super::insights::block_events,
        super::status,
        super::health::health,
        super::health::ready,
        super::tax,
        super::settlement,
        super::redemptions,
        super::exchanges,
        super::rules,
        super::fees,
        super::sponsorships,
        super::sponsored_by,
        super::goods::product,
        super::goods::products,
        super::goods::entitlement,
        super::goods::entitlement_proof,
        super::goods::entitlements,
        super::goods::meter,
        super::goods::meters,
        super::goods::attestation,
        super::goods::attestation_proof,
        super::goods::attestations,
        super::carrier::line,
        super::carrier::lines,
        super::governance::proposals,
        super::governance::evidence,
        super::governance::proposal,
        super::governance::validators,
        super::nodes::nodes,
        super::nodes::partner_nodes,
        super::governance::chain_params,
        super::metrics,
        super::events::events,
        openapi_json,
    ),
    components(schemas(types::ErrorCode, types::ErrorBody, types::ErrorDetail)),
    tags(
        (name = "transactions", description = "Submit transactions and follow them"),
        (name = "accounts", description = "Balances, history, mandates, credit"),
        (name = "assets", description = "Assets and their supply"),
        (name = "blocks", description = "Final blocks"),
        (name = "events", description = "Final events as server-sent events"),
        (name = "economy", description = "Tax, settlement, redemptions, exchanges, rules, fees"),
        (name = "goods", description = "Products merchants sell and the entitlements buyers hold"),
        (name = "governance", description = "Proposals, the validator set, the chain's parameters"),
        (name = "node", description = "The node's state, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// The document as served and checked in: pretty JSON and a final newline.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut text = ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        text.push('\n');
        text
    })
}

/// `GET /v1/openapi.json`.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "node", responses(
    (status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object)
))]
pub(super) async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

    #[test]
    fn the_served_document_is_the_checked_in_one() {
        let generated = document_json();
        if std::env::var_os("JEON_BLESS").is_some() {
            std::fs::write(CHECKED_IN, generated).expect("write docs/openapi.json");
        }
        let file = std::fs::read_to_string(CHECKED_IN).unwrap_or_default();
        assert!(
            file == generated,
            "docs/openapi.json differs from the API's document: run \
             `JEON_BLESS=1 cargo test -p jeon-node --lib openapi` and commit the file"
        );
    }

    #[test]
    fn every_route_in_the_router_is_in_the_document_and_no_other() {
        let source = include_str!("../api.rs");
        let mut routed: Vec<(String, String)> = Vec::new();
        for piece in source.split(".route(\"").skip(1) {
            let (path, rest) = piece.split_once('"').expect("a quoted path");
            let rest = rest.trim_start_matches([',', ' ', '\n']);
            let method = rest.split('(').next().expect("a method router");
            routed.push((path.to_string(), method.to_string()));
        }
        assert!(
            routed.len() > 20,
            "the router's routes are found: {routed:?}"
        );
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("the document is JSON");
        let paths = doc["paths"].as_object().expect("paths");
        let mut documented: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(p, ops)| {
                let ops = ops.as_object().cloned().unwrap_or_default();
                ops.keys()
                    .map(|m| (p.clone(), m.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        routed.sort();
        documented.sort();
        assert_eq!(routed, documented);
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
