//! `/v1/keys`: the caller's SSH keys (spec §3.10).

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
