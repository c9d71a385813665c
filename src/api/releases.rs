//! `/v1/apps/{app}/releases`: list, show and roll back releases (spec §3.6).

use serde_json::{json, Value};

use super::error::{field, not_found};
use super::pagination::page;
use super::{ApiResult, Ctx, Reply};
use crate::store::Release;
use crate::time;

pub fn release_json(release: &Release) -> Value {
    json!({
        "uuid": release.uuid,
        "app": release.app,
        "owner": release.owner,
        "created": time::deis(release.created),
        "updated": time::deis(release.updated),
        "version": release.version,
        "summary": release.summary,
        "config": release.config,
        "build": release.build,
    })
}

pub async fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let releases = ctx.state.store.releases(&app).await?;
    page(ctx, releases.iter().map(release_json).collect())
}

pub async fn show(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let version: i64 = ctx.capture("version").parse().map_err(|_| not_found())?;
    let release = ctx
        .state
        .store
        .release(&app, version)
        .await?
        .ok_or_else(not_found)?;
    Ok(Reply::ok(release_json(&release)))
}

pub async fn rollback(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let app = ctx.app_for_user().await?;
    let body = ctx.object()?;
    let invalid = || field("version", "A valid integer is required.");
    // Absent or falsy means "the one before the latest", as in the original.
    let target = match body.get("version") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(0) => None,
            Some(v) => Some(v),
            None => return Err(invalid()),
        },
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => match s.trim().trim_start_matches('v').parse::<i64>() {
            Ok(0) => None,
            Ok(v) => Some(v),
            Err(_) => return Err(invalid()),
        },
        Some(_) => return Err(invalid()),
    };
    let version = ctx.state.platform.rollback(&app, user, target).await?;
    Ok(Reply::created(json!({ "version": version })))
}
