//! Digital-goods routes: products, a merchant's catalogue, entitlements by id and by
//! owner, metered sessions by id and by account, identity attestations by id and by
//! subject, as of the head (docs/api.md, docs/economy.md "Digital goods").

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use jeon_runtime::{goods, identity};

use crate::proofs::{self, StateProofError};

use super::types::{
    AttestationStatus, AttestationView, AttestationsView, EntitlementView, EntitlementsView,
    ErrorBody, ErrorCode, MeterView, MetersView, ProductView, ProductsView, StateProofAnswer,
};
use super::{parse_address, read_state, ApiError, ApiResult};
use crate::chain::Chain;

/// A path id as a u64, or 400 `bad_id` naming what it should have been.
fn parse_id(id: &str, what: &str) -> ApiResult<u64> {
    id.parse()
        .map_err(|_| ApiError::bad(ErrorCode::BadId, format!("{id:?} is not a {what} id")))
}

/// `GET /v1/products/{id}`: one product, with how many were sold.
#[utoipa::path(get, path = "/v1/products/{id}", tag = "goods", params(("id" = u64, Path, description = "The product's id")), responses((status = 200, description = "The product", body = ProductView), (status = "4XX", description = "Bad id or unknown product; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn product(
    State(shared): State<Arc<Chain>>,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductView>> {
    let id = parse_id(&id, "product")?;
    let (height, found, requires) = read_state(&shared, move |db, head| {
        let p = goods::product(db, id).map_err(ApiError::internal)?;
        let requires = identity::required_claim(db, id).map_err(ApiError::internal)?;
        Ok((head.height, p, requires))
    })
    .await?;
    let product = found.ok_or_else(|| {
        ApiError::not_found(ErrorCode::UnknownProduct, format!("no product {id}"))
    })?;
    Ok(Json(ProductView {
        height,
        product,
        requires,
    }))
}

/// `GET /v1/merchants/{addr}/products`: a merchant's products in id order.
#[utoipa::path(get, path = "/v1/merchants/{addr}/products", tag = "goods", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "The merchant's products", body = ProductsView), (status = "4XX", description = "Bad address; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn products(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<ProductsView>> {
    let merchant = parse_address(&addr)?;
    let (height, products) = read_state(&shared, move |db, head| {
        let list = goods::products_of(db, &merchant).map_err(ApiError::internal)?;
        Ok((head.height, list))
    })
    .await?;
    Ok(Json(ProductsView {
        merchant,
        height,
        products,
    }))
}

/// `GET /v1/entitlements/{id}`: one entitlement and whether it is valid at the head.
#[utoipa::path(get, path = "/v1/entitlements/{id}", tag = "goods", params(("id" = u64, Path, description = "The entitlement's id")), responses((status = 200, description = "The entitlement", body = EntitlementView), (status = "4XX", description = "Bad id or unknown (or revoked) entitlement; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn entitlement(
    State(shared): State<Arc<Chain>>,
    Path(id): Path<String>,
) -> ApiResult<Json<EntitlementView>> {
    let id = parse_id(&id, "entitlement")?;
    let (head, found) = read_state(&shared, move |db, head| {
        let e = goods::entitlement(db, id).map_err(ApiError::internal)?;
        Ok((head, e))
    })
    .await?;
    let entitlement = found.ok_or_else(|| {
        ApiError::not_found(
            ErrorCode::UnknownEntitlement,
            format!("no entitlement {id} (never issued, or revoked)"),
        )
    })?;
    Ok(Json(EntitlementView {
        height: head.height,
        time_ms: head.time_ms,
        valid: entitlement.is_valid(head.time_ms),
        entitlement,
    }))
}

/// `GET /v1/accounts/{addr}/entitlements`: what an account holds, each with whether it
/// is valid at the head's time.
#[utoipa::path(get, path = "/v1/accounts/{addr}/entitlements", tag = "goods", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "The owner's entitlements", body = EntitlementsView), (status = "4XX", description = "Bad address; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn entitlements(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<EntitlementsView>> {
    let owner = parse_address(&addr)?;
    let (head, entitlements) = read_state(&shared, move |db, head| {
        let list = goods::entitlements_of(db, &owner, head.time_ms).map_err(ApiError::internal)?;
        Ok((head, list))
    })
    .await?;
    Ok(Json(EntitlementsView {
        owner,
        height: head.height,
        time_ms: head.time_ms,
        entitlements,
    }))
}

/// `GET /v1/meters/{id}`: one metered session, open or closed, with what is still in
/// escrow for it.
#[utoipa::path(get, path = "/v1/meters/{id}", tag = "goods", params(("id" = u64, Path, description = "The session's id")), responses((status = 200, description = "The session", body = MeterView), (status = "4XX", description = "Bad id or unknown session; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn meter(
    State(shared): State<Arc<Chain>>,
    Path(id): Path<String>,
) -> ApiResult<Json<MeterView>> {
    let id = parse_id(&id, "metered session")?;
    let (height, found) = read_state(&shared, move |db, head| {
        let s = goods::meter::meter(db, id).map_err(ApiError::internal)?;
        Ok((head.height, s))
    })
    .await?;
    let session = found.ok_or_else(|| {
        ApiError::not_found(ErrorCode::UnknownMeter, format!("no metered session {id}"))
    })?;
    let remaining = if session.is_open() {
        session.budget.saturating_sub(session.paid)
    } else {
        0
    };
    Ok(Json(MeterView {
        height,
        session,
        remaining,
    }))
}

/// `GET /v1/accounts/{addr}/meters`: the sessions an account opened or is paid by.
#[utoipa::path(get, path = "/v1/accounts/{addr}/meters", tag = "goods", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "The account's sessions", body = MetersView), (status = "4XX", description = "Bad address; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn meters(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<MetersView>> {
    let account = parse_address(&addr)?;
    let (height, sessions) = read_state(&shared, move |db, head| {
        let list = goods::meter::meters_of(db, &account).map_err(ApiError::internal)?;
        Ok((head.height, list))
    })
    .await?;
    Ok(Json(MetersView {
        account,
        height,
        sessions,
    }))
}

/// Whether an attestation counts at `time_ms`: live, and its attester still an
/// attester partner.
fn status_of<S: jeon_runtime::StateRead + ?Sized>(
    db: &S,
    attestation: identity::Attestation,
    time_ms: u64,
) -> ApiResult<AttestationStatus> {
    let attester = jeon_runtime::StateExt::partner(db, &attestation.attester)
        .map_err(ApiError::internal)?
        .is_some_and(|p| p.has_role(jeon_runtime::Role::Attester));
    let valid = attester && attestation.is_live(time_ms);
    Ok(AttestationStatus { attestation, valid })
}

/// `GET /v1/attestations/{id}`: one attestation and whether it counts at the head.
#[utoipa::path(get, path = "/v1/attestations/{id}", tag = "goods", params(("id" = u64, Path, description = "The attestation's id")), responses((status = 200, description = "The attestation", body = AttestationView), (status = "4XX", description = "Bad id or unknown attestation; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn attestation(
    State(shared): State<Arc<Chain>>,
    Path(id): Path<String>,
) -> ApiResult<Json<AttestationView>> {
    let id = parse_id(&id, "attestation")?;
    let (height, time_ms, found) = read_state(&shared, move |db, head| {
        let a = identity::attestation(db, id).map_err(ApiError::internal)?;
        let status = a.map(|a| status_of(db, a, head.time_ms)).transpose()?;
        Ok((head.height, head.time_ms, status))
    })
    .await?;
    let status = found.ok_or_else(|| {
        ApiError::not_found(
            ErrorCode::UnknownAttestation,
            format!("no attestation {id}"),
        )
    })?;
    Ok(Json(AttestationView {
        height,
        time_ms,
        status,
    }))
}

/// `GET /v1/accounts/{addr}/attestations`: the unrevoked attestations about an account.
#[utoipa::path(get, path = "/v1/accounts/{addr}/attestations", tag = "goods", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "The subject's attestations", body = AttestationsView), (status = "4XX", description = "Bad address; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn attestations(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<AttestationsView>> {
    let subject = parse_address(&addr)?;
    let (height, time_ms, attestations) = read_state(&shared, move |db, head| {
        let list = identity::attestations_of(db, &subject).map_err(ApiError::internal)?;
        let statuses = list
            .into_iter()
            .map(|a| status_of(db, a, head.time_ms))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok((head.height, head.time_ms, statuses))
    })
    .await?;
    Ok(Json(AttestationsView {
        subject,
        height,
        time_ms,
        attestations,
    }))
}

/// `GET /v1/entitlements/{id}/proof`: the entitlement's state proof (or the proof that
/// it is absent: revoked or never issued) in the state the head's certificate
/// certifies (docs/proofs.md §9); with the owner's signature over a challenge it is an
/// access proof (`jeon access-proof`, §10).
#[utoipa::path(get, path = "/v1/entitlements/{id}/proof", tag = "goods", params(("id" = u64, Path, description = "The entitlement's id")), responses((status = 200, description = "The state proof", body = StateProofAnswer), (status = "4XX", description = "Bad id, or no certified state yet; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn entitlement_proof(
    State(shared): State<Arc<Chain>>,
    Path(id): Path<String>,
) -> ApiResult<Json<StateProofAnswer>> {
    let id = parse_id(&id, "entitlement")?;
    state_proof(&shared, goods::storage::entitlement(id)).await
}

/// `GET /v1/attestations/{id}/proof`: the attestation's state proof (docs/proofs.md
/// §9), verified offline by `jeon verify --state`.
#[utoipa::path(get, path = "/v1/attestations/{id}/proof", tag = "goods", params(("id" = u64, Path, description = "The attestation's id")), responses((status = 200, description = "The state proof", body = StateProofAnswer), (status = "4XX", description = "Bad id, or no certified state yet; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn attestation_proof(
    State(shared): State<Arc<Chain>>,
    Path(id): Path<String>,
) -> ApiResult<Json<StateProofAnswer>> {
    let id = parse_id(&id, "attestation")?;
    state_proof(&shared, identity::storage::attestation(id)).await
}

/// A provable key's state proof at the head.
async fn state_proof(shared: &Arc<Chain>, key: Vec<u8>) -> ApiResult<Json<StateProofAnswer>> {
    let proof = read_state(shared, move |db, head| {
        proofs::state_proof(db, &key, head.height).map_err(|e| match e {
            StateProofError::NoCertifiedState | StateProofError::PreviousMissing { .. } => {
                ApiError::not_found(ErrorCode::NotFinal, e.to_string())
            }
            StateProofError::Store(e) => ApiError::from(e),
            other => ApiError::internal(other),
        })
    })
    .await?;
    Ok(Json(StateProofAnswer {
        key: hex::encode(&proof.key),
        height: proof.state_height(),
        certified_by: proof.header.height,
        present: proof.value.is_some(),
        proof_hex: hex::encode(proof.encode()),
        proof: serde_json::to_value(&proof).map_err(ApiError::internal)?,
    }))
}
