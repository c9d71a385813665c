//! `/v1/hooks/*`: what the builder calls, with the shared builder key (spec §3.12).

use super::error::not_found;
use super::{ApiResult, Ctx, Reply};

pub async fn push(_ctx: &Ctx) -> ApiResult<Reply> {
    Err(not_found())
}
pub async fn build(_ctx: &Ctx) -> ApiResult<Reply> {
    Err(not_found())
}
pub async fn config(_ctx: &Ctx) -> ApiResult<Reply> {
    Err(not_found())
}
