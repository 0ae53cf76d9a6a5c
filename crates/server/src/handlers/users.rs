//! Users and API users (crate::service::users says who may do what).

use axum::extract::{Path, State};
use axum::response::IntoResponse;

use super::data;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::service::users::{self, UserInput};
use crate::state::AppState;

pub async fn list(State(state): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(data(users::list(&state, &p).await?))
}

/// The new user; an API user with its `token`, shown this once.
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(input): JsonBody<UserInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(users::create(&state, &p, input).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    users::delete(&state, &p, id).await?;
    Ok(data(true))
}
