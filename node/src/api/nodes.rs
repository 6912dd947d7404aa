//! Read-node routes: the non-validator nodes partners registered, all of them or one
//! partner's, as of the head (docs/api.md, docs/network.md "Permissioning").

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use jeon_runtime::nodes::{self, ReadNode, NODES_PER_PARTNER_MAX};

use super::types::{ErrorBody, NodeView, NodesView};
use super::{parse_address, read_state, ApiError, ApiResult};
use crate::chain::Chain;

fn view(n: ReadNode) -> NodeView {
    NodeView {
        peer_id: jeon_genesis::peer_id_of(&n.key),
        key: n.key,
        partner: n.partner,
        registered_at: n.registered_at,
    }
}

/// `GET /v1/nodes`: every registered read node, by key.
#[utoipa::path(get, path = "/v1/nodes", tag = "governance", responses((status = 200, description = "The registered read nodes, by key, with the head height", body = NodesView), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn nodes(State(shared): State<Arc<Chain>>) -> ApiResult<Json<NodesView>> {
    let (height, list) = read_state(&shared, move |db, head| {
        let list = nodes::nodes(db).map_err(ApiError::internal)?;
        Ok((head.height, list))
    })
    .await?;
    Ok(Json(NodesView {
        partner: None,
        height,
        nodes_per_partner_max: NODES_PER_PARTNER_MAX,
        nodes: list.into_iter().map(view).collect(),
    }))
}

/// `GET /v1/partners/{addr}/nodes`: one partner's registered read nodes, by key.
#[utoipa::path(get, path = "/v1/partners/{addr}/nodes", tag = "governance", params(("addr" = String, Path, description = "A partner's jeon1... address")), responses((status = 200, description = "The partner's read nodes, by key, with the head height", body = NodesView), (status = "4XX", description = "Bad address; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn partner_nodes(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<NodesView>> {
    let partner = parse_address(&addr)?;
    let (height, list) = read_state(&shared, move |db, head| {
        let list = nodes::nodes_of(db, &partner).map_err(ApiError::internal)?;
        Ok((head.height, list))
    })
    .await?;
    Ok(Json(NodesView {
        partner: Some(partner),
        height,
        nodes_per_partner_max: NODES_PER_PARTNER_MAX,
        nodes: list.into_iter().map(view).collect(),
    }))
}
