//! `/v1/apps/{app}/builds`: list, show and create builds; a new build makes a release
//! and is deployed (spec §3.5).

use serde_json::{json, Value};

use super::error::{field, not_found, FieldErrors, BLANK, NULL, REQUIRED};
use super::pagination::page;
use super::{ApiResult, Ctx, Reply};
use crate::platform::NewBuildRequest;
use crate::store::Build;
use crate::time;

pub fn build_json(build: &Build) -> Value {
    json!({
        "owner": build.owner,
        "app": build.app,
        "image": build.image,
        "sha": build.sha,
        "procfile": build.procfile,
        "dockerfile": build.dockerfile,
        "created": time::deis(build.created),
        "updated": time::deis(build.updated),
        "uuid": build.uuid,
    })
}

pub async fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let builds = ctx.state.store.builds(&app).await?;
    page(ctx, builds.iter().map(build_json).collect())
}

/// The build with that uuid, within the app (spec §9 item 13).
pub async fn show(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let build = ctx
        .state
        .store
        .app_build(&app, ctx.capture("uuid"))
        .await?
        .ok_or_else(not_found)?;
    Ok(Reply::ok(build_json(&build)))
}

pub async fn create(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let app = ctx.app_for_user().await?;
    let body = ctx.object()?;
    let request = parse_build(&body)?;
    let (build, release) = ctx.state.platform.create_build(&app, user, request).await?;
    Ok(Reply::created(build_json(&build)).release_header(release.version))
}

/// Reads `image`, `sha`, `procfile` and `dockerfile` of a build body (also used by the
/// builder hook).
pub fn parse_build(body: &serde_json::Map<String, Value>) -> ApiResult<NewBuildRequest> {
    let mut errors = FieldErrors::default();
    let image = match body.get("image") {
        None => {
            errors.add("image", REQUIRED);
            String::new()
        }
        Some(Value::Null) => {
            errors.add("image", NULL);
            String::new()
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.add("image", BLANK);
            String::new()
        }
        Some(Value::String(s)) if s.chars().count() > 256 => {
            errors.add(
                "image",
                "Ensure this field has no more than 256 characters.",
            );
            String::new()
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.add("image", "Not a valid string.");
            String::new()
        }
    };
    let sha = match body.get("sha") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.chars().count() > 40 => {
            errors.add("sha", "Ensure this field has no more than 40 characters.");
            String::new()
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.add("sha", "Not a valid string.");
            String::new()
        }
    };
    let procfile = match body.get("procfile") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(text)) if text.trim().is_empty() => json!({}),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(v) => v,
            Err(_) => {
                errors.add("procfile", "Value must be valid JSON.");
                Value::Null
            }
        },
        Some(other) => other.clone(),
    };
    if !procfile.is_null() {
        match &procfile {
            Value::Object(map) => {
                let bad = map
                    .iter()
                    .find(|(k, v)| !v.is_string() || !crate::domain::valid_process_type(k));
                if let Some((k, v)) = bad {
                    if !v.is_string() {
                        errors.add(
                            "procfile",
                            format!("The command of process type {k} must be a string."),
                        );
                    } else {
                        errors.add("procfile", "Process types can only contain [a-z0-9_-].");
                    }
                }
            }
            other => errors.add(
                "procfile",
                format!(
                    "Expected a dictionary of items but got type \"{}\".",
                    super::json_type_name(other)
                ),
            ),
        }
    }
    let dockerfile = match body.get("dockerfile") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.add("dockerfile", "Not a valid string.");
            String::new()
        }
    };
    errors.into_result()?;
    if image.is_empty() {
        return Err(field("image", REQUIRED));
    }
    Ok(NewBuildRequest {
        image,
        sha,
        procfile,
        dockerfile,
    })
}
