//! Governance routes: proposals, the validator set and the chain's parameters as of
//! the head (docs/api.md, docs/governance.md).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use jeon_runtime::economy::query as econ;
use jeon_runtime::fees::FeeRules;
use jeon_runtime::governance;
use jeon_runtime::StateExt;
use serde_json::{json, Value};

use super::types::{ErrorBody, ErrorCode, EvidenceQuery, ProposalsQuery};
use super::{parse_address, read_state, ApiError, ApiResult, Params};
use crate::chain::Chain;

/// The statuses `GET /v1/proposals?status=` filters by.
const STATUSES: [&str; 6] = [
    "open",
    "passed",
    "rejected",
    "expired",
    "enacted",
    "not_enacted",
];

/// `GET /v1/proposals[?status=open|passed|rejected|expired|enacted|not_enacted]`: the
/// newest proposals first (`passed` includes enacted and not enacted ones).
#[utoipa::path(get, path = "/v1/proposals", tag = "governance", params(ProposalsQuery), responses((status = 200, description = "Proposals, newest first, with the head height", body = Object), (status = "4XX", description = "Bad request; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn proposals(
    State(shared): State<Arc<Chain>>,
    Params(q): Params<ProposalsQuery>,
) -> ApiResult<Json<Value>> {
    let status = q.status;
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            let msg = format!("status={s:?} is not one of {STATUSES:?}");
            return Err(ApiError::bad(ErrorCode::BadQuery, msg));
        }
    }
    let (head, list) = read_state(&shared, move |db, head| {
        let list = governance::proposals(db, status.as_deref()).map_err(ApiError::internal)?;
        Ok((head, list))
    })
    .await?;
    let list: Vec<Value> = list.iter().map(proposal_json).collect();
    Ok(Json(json!({"height": head.height, "proposals": list})))
}

/// `GET /v1/proposals/{id}`: one proposal with its ballots and status.
#[utoipa::path(get, path = "/v1/proposals/{id}", tag = "governance", params(("id" = u64, Path, description = "The proposal's id")), responses((status = 200, description = "The proposal, its ballots and status", body = Object), (status = "4XX", description = "Bad id or unknown proposal; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn proposal(
    State(shared): State<Arc<Chain>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: u64 = id.parse().map_err(|_| {
        ApiError::bad(
            ErrorCode::BadProposalId,
            format!("{id:?} is not a proposal id"),
        )
    })?;
    let found = read_state(&shared, move |db, _head| {
        governance::proposal(db, id).map_err(ApiError::internal)
    })
    .await?;
    match found {
        Some(p) => Ok(Json(proposal_json(&p))),
        None => Err(ApiError::not_found(
            ErrorCode::UnknownProposal,
            format!("no proposal {id}"),
        )),
    }
}

/// A proposal as JSON, with its status's name beside the status.
fn proposal_json(p: &governance::Proposal) -> Value {
    let mut v = json!(p);
    v["status_name"] = json!(p.status.name());
    v
}

/// `GET /v1/evidence[?validator=ADDR]`: equivocation evidence recorded on chain (two
/// conflicting signed proposals or votes by one validator for one height and round),
/// at most 1 000, newest heights first within a validator.
#[utoipa::path(get, path = "/v1/evidence", tag = "governance", params(EvidenceQuery), responses((status = 200, description = "Recorded equivocation evidence, with the head height", body = Object), (status = "4XX", description = "Bad address; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn evidence(
    State(shared): State<Arc<Chain>>,
    Params(q): Params<EvidenceQuery>,
) -> ApiResult<Json<Value>> {
    let validator = q.validator.as_deref().map(parse_address).transpose()?;
    let (head, list) = read_state(&shared, move |db, head| {
        let list =
            governance::evidence::evidence(db, validator.as_ref()).map_err(ApiError::internal)?;
        Ok((head, list))
    })
    .await?;
    Ok(Json(json!({"height": head.height, "evidence": list})))
}

/// `GET /v1/validators`: the validator set in effect after the head, with the height
/// it decides from, its total power, and for each validator the height of the newest
/// block whose certificate it signed as this node has seen (`null`: none yet).
#[utoipa::path(get, path = "/v1/validators", tag = "governance", responses((status = 200, description = "The validator set, the height it decides from, its total power, each validator's last signed height", body = Object), (status = "4XX", description = "No validator set record; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn validators(State(shared): State<Arc<Chain>>) -> ApiResult<Json<Value>> {
    let (head, set, signed) = read_state(&shared, move |db, head| {
        let set = governance::validator_set(db).map_err(ApiError::internal)?;
        let signed = set
            .iter()
            .flat_map(|s| s.validators.iter())
            .map(|v| db.last_signed(&v.key))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::internal)?;
        Ok((head, set, signed))
    })
    .await?;
    let set = set.ok_or_else(|| {
        ApiError::not_found(
            ErrorCode::NoValidatorSet,
            "this chain's state holds no validator set record",
        )
    })?;
    let mut validators = Vec::with_capacity(set.validators.len());
    for (v, last) in set.validators.iter().zip(signed) {
        let mut entry = serde_json::to_value(v).map_err(ApiError::internal)?;
        if let Some(obj) = entry.as_object_mut() {
            obj.insert("last_signed_height".into(), json!(last));
        }
        validators.push(entry);
    }
    Ok(Json(json!({
        "height": head.height,
        "since": set.since,
        "total_power": set.total_power(),
        "validators": validators,
    })))
}

/// `GET /v1/params`: the chain parameters, economy parameters, fee market and next
/// base fee, and every jurisdiction with its tax rate, as of the head.
#[utoipa::path(get, path = "/v1/params", tag = "governance", responses((status = 200, description = "Chain, economy and fee parameters and the jurisdictions as of the head", body = Object), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn chain_params(State(shared): State<Arc<Chain>>) -> ApiResult<Json<Value>> {
    let answer = read_state(&shared, move |db, head| {
        let internal = ApiError::internal;
        let params = db.params().map_err(internal)?;
        let economy = econ::economy_params(db).map_err(internal)?;
        let jurisdictions = econ::jurisdictions(db).map_err(internal)?;
        let fees = FeeRules::load(db, &params, head.height + 1, head.time_ms).map_err(internal)?;
        Ok(json!({
            "height": head.height,
            "params": params,
            "economy": economy,
            "fee_market": fees.market,
            "base_fee": fees.base_fee,
            "jurisdictions": jurisdictions,
            "carrier": jeon_runtime::goods::carrier::params(db).map_err(internal)?,
        }))
    })
    .await?;
    Ok(Json(answer))
}
