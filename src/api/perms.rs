//! `/v1/apps/{app}/perms` (sharing) and `/v1/admin/perms` (superusers) (spec §3.9, §3.13).

use http::StatusCode;
use serde_json::json;

use super::error::{forbidden, not_found};
use super::pagination::page;
use super::request::required_string;
use super::{ApiResult, Ctx, Reply};

pub async fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let users = ctx.state.store.collaborators(&app).await?;
    Ok(Reply::ok(json!({ "users": users })))
}

/// Only the owner or a superuser may share an app (spec §9 item 23).
pub async fn grant(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_owner().await?;
    let body = ctx.object()?;
    let username = required_string(&body, "username")?;
    let user = ctx
        .state
        .store
        .user_by_username(&username)
        .await?
        .ok_or_else(not_found)?;
    ctx.state.store.grant(&app, user.id).await?;
    ctx.state.platform.log.event(
        &app.id,
        &format!("User {} was granted access to {}", user.username, app.id),
    );
    Ok(Reply::empty(StatusCode::CREATED))
}

pub async fn revoke(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_owner().await?;
    let username = ctx.capture("username");
    let user = ctx
        .state
        .store
        .user_by_username(username)
        .await?
        .ok_or_else(not_found)?;
    if !ctx.state.store.revoke(&app, user.id).await? {
        return Err(forbidden());
    }
    ctx.state.platform.log.event(
        &app.id,
        &format!("User {} was revoked access to {}", user.username, app.id),
    );
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

fn require_superuser(ctx: &Ctx) -> ApiResult<()> {
    if ctx.user()?.is_superuser() {
        Ok(())
    } else {
        Err(forbidden())
    }
}

pub async fn admin_list(ctx: &Ctx) -> ApiResult<Reply> {
    require_superuser(ctx)?;
    let admins = ctx.state.store.list_superusers().await?;
    page(
        ctx,
        admins
            .iter()
            .map(|u| json!({ "username": u.username, "is_superuser": true }))
            .collect(),
    )
}

pub async fn admin_grant(ctx: &Ctx) -> ApiResult<Reply> {
    require_superuser(ctx)?;
    let body = ctx.object()?;
    let username = required_string(&body, "username")?;
    let user = ctx
        .state
        .store
        .user_by_username(&username)
        .await?
        .ok_or_else(not_found)?;
    ctx.state.store.set_superuser(user.id, true).await?;
    tracing::info!(username = %user.username, "superuser granted");
    Ok(Reply::empty(StatusCode::CREATED))
}

pub async fn admin_revoke(ctx: &Ctx) -> ApiResult<Reply> {
    require_superuser(ctx)?;
    let user = ctx
        .state
        .store
        .user_by_username(ctx.capture("username"))
        .await?
        .ok_or_else(not_found)?;
    ctx.state.store.set_superuser(user.id, false).await?;
    tracing::info!(username = %user.username, "superuser revoked");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
