//! `/v1/certs`: the caller's TLS certificates (spec §3.11).

use super::error::not_found;
use super::{ApiResult, Ctx, Reply};

pub async fn list(ctx: &Ctx) -> ApiResult<Reply> {
    ctx.user()?;
    Err(not_found())
}
pub async fn add(ctx: &Ctx) -> ApiResult<Reply> {
    ctx.user()?;
    Err(not_found())
}
pub async fn show(ctx: &Ctx) -> ApiResult<Reply> {
    ctx.user()?;
    Err(not_found())
}
pub async fn remove(ctx: &Ctx) -> ApiResult<Reply> {
    ctx.user()?;
    Err(not_found())
}
