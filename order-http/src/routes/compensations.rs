//! `/api/v1/admin/compensations`: the compensation log for an operator —
//! the steps the engine could not undo itself (a void or refund the payment
//! service refused, a reservation the inventory would not release or
//! commit, a payment whose answer never came) — and marking one resolved,
//! with who and when. Admin only.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use order_core::order::{Compensation, Resolution};
use order_core::{CompensationId, Reason, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::dto::amount;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{AppJson, AppQuery, id};
use crate::state::AppState;

/// The compensation routes, relative to `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/compensations", get(list_compensations))
        .route(
            "/admin/compensations/{id}/resolve",
            post(resolve_compensation),
        )
}

/// Who resolved a compensation, when, and what they did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ResolutionBody {
    /// The operator (`admin:<subject>`).
    pub(crate) by: String,
    /// When.
    pub(crate) at: DateTime<Utc>,
    /// What they did, if they said.
    pub(crate) note: Option<String>,
}

impl From<&Resolution> for ResolutionBody {
    fn from(r: &Resolution) -> Self {
        Self {
            by: r.by.to_string(),
            at: r.at,
            note: r.note.as_ref().map(ToString::to_string),
        }
    }
}

/// A step the engine could not undo.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CompensationBody {
    /// The entry's id.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub(crate) id: Uuid,
    /// The order it concerns.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub(crate) order_id: Uuid,
    /// What should have happened ("void authorization after failed
    /// capture", "release stock reservation", …).
    pub(crate) step: String,
    /// The money involved, if any.
    #[schema(value_type = Option<crate::openapi::Decimal>)]
    pub(crate) amount: Option<String>,
    /// Its currency.
    #[schema(value_type = Option<crate::openapi::CurrencyCode>)]
    pub(crate) currency: Option<String>,
    /// What went wrong.
    pub(crate) detail: String,
    /// When it was recorded.
    pub(crate) at: DateTime<Utc>,
    /// `open` until an operator resolves it, then `resolved`.
    #[schema(value_type = CompensationStatus)]
    pub(crate) status: &'static str,
    /// The resolution, once resolved.
    pub(crate) resolution: Option<ResolutionBody>,
}

impl From<&Compensation> for CompensationBody {
    fn from(c: &Compensation) -> Self {
        Self {
            id: c.id.as_uuid(),
            order_id: c.order_id.as_uuid(),
            step: c.step.clone(),
            amount: c.amount.as_ref().map(amount),
            currency: c.amount.map(|m| m.currency().code().to_owned()),
            detail: c.detail.clone(),
            at: c.at,
            status: status_of(c).as_str(),
            resolution: c.resolution.as_ref().map(ResolutionBody::from),
        }
    }
}

/// Whether a compensation waits for an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CompensationStatus {
    /// Waiting for an operator.
    Open,
    /// An operator dealt with it.
    Resolved,
}

impl CompensationStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }
}

fn status_of(c: &Compensation) -> CompensationStatus {
    if c.resolution.is_some() {
        CompensationStatus::Resolved
    } else {
        CompensationStatus::Open
    }
}

/// Filter of `GET /api/v1/admin/compensations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompensationParams {
    /// Only `open` or only `resolved` entries; all by default.
    status: Option<CompensationStatus>,
}

/// How an operator resolved a compensation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveCompensationRequestBody {
    /// What was done (a refund made by hand, stock adjusted…); optional.
    #[schema(value_type = Option<crate::openapi::Text500>)]
    pub(crate) note: Option<String>,
}

/// A note's validation error, naming the `note` field.
pub(crate) fn as_note(err: ValidationError) -> ValidationError {
    let field = "note".to_owned();
    match err {
        ValidationError::Empty { .. } => ValidationError::Empty { field },
        ValidationError::TooLong { max, len, .. } => ValidationError::TooLong { field, max, len },
        ValidationError::BadFormat { rule, .. } => ValidationError::BadFormat { field, rule },
        other => other,
    }
}

#[utoipa::path(get, path = "/api/v1/admin/compensations", tag = "admin",
    params(CompensationParams),
    responses((status = 200, body = [CompensationBody]),
        (status = 403, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// The compensation log, oldest first (admin): steps the engine could not
/// undo, for an operator to settle.
pub(crate) async fn list_compensations(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(params): AppQuery<CompensationParams>,
) -> ApiResult<axum::Json<Vec<CompensationBody>>> {
    caller.require(&[Role::Admin])?;
    let log = state.orders.compensations().await?;
    Ok(axum::Json(
        log.iter()
            .filter(|c| params.status.is_none_or(|s| s == status_of(c)))
            .map(CompensationBody::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/compensations/{id}/resolve", tag = "admin",
    params(("id" = crate::openapi::Uuid7, Path, description = "Compensation id")),
    request_body = ResolveCompensationRequestBody,
    responses((status = 200, body = CompensationBody),
        (status = 403, response = Problem), (status = 404, response = Problem),
        (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Marks a compensation resolved by the calling admin, now (admin). One
/// resolved before keeps its first resolution and is answered unchanged.
pub(crate) async fn resolve_compensation(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    AppJson(body): AppJson<ResolveCompensationRequestBody>,
) -> ApiResult<axum::Json<CompensationBody>> {
    caller.require(&[Role::Admin])?;
    let compensation_id = id("id", &raw, |s| s.parse::<CompensationId>())?;
    let note = body
        .note
        .as_deref()
        .map(|n| Reason::parse(n).map_err(as_note))
        .transpose()?;
    let resolved = state
        .orders
        .resolve_compensation(compensation_id, note, &caller.actor())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("compensation {compensation_id} not found")))?;
    Ok(axum::Json(CompensationBody::from(&resolved)))
}
