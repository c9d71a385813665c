//! `/v1/apps/{app}/config`: the config of the latest release, and changes to it, each of
//! which makes a release (spec §3.4).

use serde_json::{json, Value};

use super::error::ApiError;
use super::{ApiResult, Ctx, Reply};
use crate::domain::ConfigChange;
use crate::store::Config;
use crate::time;

pub fn config_json(config: &Config) -> Value {
    json!({
        "uuid": config.uuid,
        "app": config.app,
        "owner": config.owner,
        "values": config.maps.values,
        "memory": config.maps.memory,
        "cpu": config.maps.cpu,
        "tags": config.maps.tags,
        "created": time::deis(config.created),
        "updated": time::deis(config.updated),
    })
}

pub async fn show(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let latest = ctx.state.platform.latest(&app).await?;
    Ok(Reply::ok(config_json(&latest.config)))
}

pub async fn change(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let app = ctx.app_for_user().await?;
    let body = ctx.object()?;
    let change = ConfigChange::parse(&body).map_err(|errors| {
        ApiError::Fields(
            errors
                .into_iter()
                .map(|(name, msg)| (name, vec![msg]))
                .collect(),
        )
    })?;
    let (config, release) = ctx
        .state
        .platform
        .change_config(&app, user, &change)
        .await?;

    let mut body = config_json(&config);
    if release.build.is_some() {
        // What the containers see besides the stored values (spec §9 item 39).
        if let Some(values) = body.get_mut("values").and_then(Value::as_object_mut) {
            values.insert("DEIS_APP".into(), Value::String(app.id.clone()));
            values.insert(
                "DEIS_RELEASE".into(),
                format!("v{}", release.release.version).into(),
            );
        }
    }
    Ok(Reply::created(body).release_header(release.release.version))
}
