//! Liveness and readiness for load balancers, orchestrators and service managers:
//! `GET /v1/health` (the process serves) and `GET /v1/ready` (it can commit blocks:
//! disk not full, a peer connected if it is networked, not far behind its peers).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::types::{ErrorBody, ErrorCode, HealthView, ReadyView};
use super::{ApiError, ApiResult};
use crate::chain::Chain;
use crate::faults::Halt;

/// How many blocks a node may be behind the highest head a peer announced and still
/// be ready: one block is in flight between deciding and committing everywhere.
pub(crate) const READY_LAG_BLOCKS_MAX: u64 = 2;

/// `GET /v1/health`: 200 while the process serves its API. It reads nothing from
/// storage, so it answers even while a block is being written or the disk is full.
#[utoipa::path(get, path = "/v1/health", tag = "node", responses((status = 200, description = "The node process is alive and serving", body = HealthView)))]
pub(super) async fn health(State(shared): State<Arc<Chain>>) -> Json<HealthView> {
    Json(HealthView {
        live: true,
        version: env!("CARGO_PKG_VERSION").to_string(),
        height: shared.head().height,
    })
}

/// `GET /v1/ready`: 200 while the node can commit blocks and is caught up with its
/// peers, 503 with the reason while it is not (a node that is not ready still serves
/// reads).
#[utoipa::path(get, path = "/v1/ready", tag = "node", responses((status = 200, description = "The node can commit blocks and is caught up", body = ReadyView), (status = 503, description = "Not ready: disk_full, no_peers or catching_up", body = ErrorBody)))]
pub(super) async fn ready(State(shared): State<Arc<Chain>>) -> ApiResult<Json<ReadyView>> {
    let height = shared.head().height;
    let unavailable = |code, message: String| {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            message,
        ))
    };
    if let Some(halt) = shared.disk.halt() {
        return unavailable(
            match halt {
                Halt::DiskFull => ErrorCode::DiskFull,
            },
            format!(
                "consensus is paused: the data directory's disk has {} bytes free, below the {} bytes a block needs; free some space and the node resumes",
                shared.disk.free_bytes(),
                crate::faults::DISK_FREE_BYTES_MIN
            ),
        );
    }
    // Networked: the node gossips (it was started with p2p).
    let networked = shared
        .hooks
        .get()
        .is_some_and(|hooks| hooks.gossip_txs.is_some());
    let peers = u64::try_from(shared.metrics.p2p.peers_connected.get()).unwrap_or(0);
    if networked && peers == 0 {
        return unavailable(
            ErrorCode::NoPeers,
            "no peer is connected: check the peers list, the p2p listen address and the firewall"
                .into(),
        );
    }
    let peer_height = u64::try_from(shared.metrics.peer_height_max.get()).unwrap_or(0);
    if peer_height > height + READY_LAG_BLOCKS_MAX {
        return unavailable(
            ErrorCode::CatchingUp,
            format!(
                "catching up: at height {height}, a peer is at {peer_height} ({} blocks behind; ready within {READY_LAG_BLOCKS_MAX})",
                peer_height - height
            ),
        );
    }
    Ok(Json(ReadyView {
        ready: true,
        height,
        peers,
        peer_height,
    }))
}
