//! `/v1/apps`: create, list, show and destroy apps; their logs and one-off commands
//! (spec §3.3).

use http::StatusCode;
use serde_json::{json, Value};

use super::error::{field, ApiError, UNIQUE};
use super::pagination::page;
use super::request::{optional_string, required_string};
use super::{ApiResult, Ctx, Reply};
use crate::domain::AppId;
use crate::store::App;
use crate::time;

pub fn app_json(app: &App, domain: &str) -> Value {
    json!({
        "uuid": app.uuid,
        "id": app.id,
        "owner": app.owner,
        "url": format!("{}.{}", app.id, domain),
        "structure": Value::Object(app.structure()),
        "created": time::deis(app.created),
        "updated": time::deis(app.updated),
    })
}

fn domain(ctx: &Ctx) -> &str {
    ctx.state.platform.hosts.domain()
}

pub async fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let apps = ctx.state.store.apps_visible_to(user).await?;
    page(ctx, apps.iter().map(|a| app_json(a, domain(ctx))).collect())
}

pub async fn create(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let body = ctx.object()?;
    let store = &ctx.state.store;

    let id = match body.get("id") {
        None => None,
        Some(Value::Null) => return Err(field("id", super::error::NULL)),
        Some(_) => optional_string(&body, "id")?,
    };
    let id = match id {
        Some(id) => {
            let id = AppId::parse(&id, &ctx.state.reserved_names)
                .map_err(|messages| ApiError::Fields(vec![("id".into(), messages)]))?;
            if store.app_exists(id.as_str()).await? {
                return Err(field("id", UNIQUE));
            }
            id
        }
        None => generate_id(ctx).await?,
    };

    let app = match ctx.state.platform.create_app(id.as_str(), user).await {
        Ok(app) => app,
        Err(crate::platform::PlatformError::Store(crate::store::StoreError::Conflict(_))) => {
            return Err(field("id", UNIQUE))
        }
        Err(err) => return Err(err.into()),
    };
    tracing::info!(app = %app.id, owner = %user.username, "app created");

    // The original resolves the app's `url` as a relative reference against the request
    // URL; nobody reads it, but it is kept for fidelity.
    let base = ctx.path.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("");
    let location = format!("{}{}/{}.{}", ctx.origin, base, app.id, domain(ctx));
    Ok(Reply::created(app_json(&app, domain(ctx))).header("Location", location))
}

async fn generate_id(ctx: &Ctx) -> ApiResult<AppId> {
    for _ in 0..100 {
        let id = AppId::generate();
        let reserved = ctx.state.reserved_names.iter().any(|r| r == id.as_str());
        if !reserved && !ctx.state.store.app_exists(id.as_str()).await? {
            return Ok(id);
        }
    }
    Err(ApiError::Internal(anyhow::anyhow!(
        "no free app name after 100 tries"
    )))
}

pub async fn show(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    Ok(Reply::ok(app_json(&app, domain(ctx))))
}

pub async fn destroy(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    ctx.state.platform.destroy_app(&app).await?;
    tracing::info!(app = %app.id, "app destroyed");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// The end of the app log as a JSON string (labelled text/plain, as the 1.7 client
/// expects), or 204 when the app has no log yet.
pub async fn logs(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let lines = match ctx.query_param("log_lines") {
        None => 1000,
        Some(text) => text
            .trim()
            .parse::<usize>()
            .map_err(|_| field("log_lines", "A valid non-negative integer is required."))?,
    };
    let log = ctx.state.platform.log.clone();
    let id = app.id.clone();
    let text = tokio::task::spawn_blocking(move || log.tail(&id, lines))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    match text {
        None => Ok(Reply::empty(StatusCode::NO_CONTENT)),
        Some(text) => Ok(Reply::plain_json(Value::String(text))),
    }
}

/// Runs a one-off command; answers `[exit code, output]` (labelled text/plain).
pub async fn run(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let app = ctx.app_for_user().await?;
    let body = ctx.object()?;
    let command = required_string(&body, "command")?;
    let (code, output) = ctx.state.platform.run(&app, user, &command).await?;
    Ok(Reply::plain_json(json!([code, output])))
}
