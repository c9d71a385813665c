//! `/v1/hooks/*`: what the builder calls during `git push`, authenticated with the shared
//! builder key instead of a user token (spec §1.4, §3.12, §7). The user named in the
//! body is the one whose rights count.

use http::Method;
use serde_json::{json, Map, Value};

use super::builds::parse_build;
use super::config::config_json;
use super::error::{forbidden, not_found, ApiError, FieldErrors, NOT_AUTHENTICATED};
use super::request::{may_use_app, required_string};
use super::{ApiResult, Ctx, Reply};
use crate::store::{App, NewPush, Push, User};
use crate::time;

/// The header the builder sends its key in.
const BUILDER_AUTH: &str = "x-deis-builder-auth";

/// `POST /v1/hooks/push`: records a push (an audit row, nothing else).
pub async fn push(ctx: &Ctx) -> ApiResult<Reply> {
    builder_only(ctx)?;
    let body = ctx.object()?;
    let (app, user) = app_and_user(ctx, &body).await?;

    let mut errors = FieldErrors::default();
    let mut text = |name: &str, max: usize| -> String {
        match errors.take(required_string(&body, name)) {
            Some(value) if value.chars().count() > max => {
                errors.add(
                    name,
                    format!("Ensure this field has no more than {max} characters."),
                );
                String::new()
            }
            value => value.unwrap_or_default(),
        }
    };
    let new = NewPush {
        sha: text("sha", 40),
        fingerprint: text("fingerprint", 255),
        receive_user: text("receive_user", 255),
        receive_repo: text("receive_repo", 255),
        ssh_connection: text("ssh_connection", 255),
        ssh_original_command: text("ssh_original_command", 255),
    };
    errors.into_result()?;

    let push = ctx.state.store.add_push(&app, &user.username, &new).await?;
    tracing::info!(app = %app.id, user = %user.username, sha = %push.sha, "git push recorded");
    Ok(Reply::created(push_json(&push)))
}

/// `POST /v1/hooks/build`: makes a build (and release) as the pushing user and deploys
/// it. A failed deploy is the builder's failure too, so its 503 is passed on (§9 item 20).
pub async fn build(ctx: &Ctx) -> ApiResult<Reply> {
    builder_only(ctx)?;
    let body = ctx.object()?;
    let (app, user) = app_and_user(ctx, &body).await?;
    let request = parse_build(&body)?;

    let (_, release) = ctx
        .state
        .platform
        .create_build(&app, &user, request)
        .await?;
    let domain = format!("{}.{}", app.id, ctx.state.platform.hosts.domain());
    Ok(Reply::ok(json!({
        "release": { "version": release.version },
        "domains": [domain],
    })))
}

/// `POST /v1/hooks/config`: the config of the latest release, typed the way the builder
/// decodes it (cpu shares as integers, memory and tags as strings).
pub async fn config(ctx: &Ctx) -> ApiResult<Reply> {
    builder_only(ctx)?;
    let body = ctx.object()?;
    let (app, _) = app_and_user(ctx, &body).await?;

    let latest = ctx.state.platform.latest(&app).await?;
    let mut answer = config_json(&latest.config);
    for (name, coerce) in [
        ("memory", as_string as fn(&Value) -> Value),
        ("tags", as_string),
        ("cpu", as_integer),
    ] {
        if let Some(map) = answer.get_mut(name).and_then(Value::as_object_mut) {
            for value in map.values_mut() {
                *value = coerce(value);
            }
        }
    }
    Ok(Reply::ok(answer))
}

/// Lets only the builder in: a request without the right key is anonymous (401) unless
/// it carries a valid user token, in which case it is forbidden (403), as in §1.4.
fn builder_only(ctx: &Ctx) -> ApiResult<()> {
    let sent = ctx
        .headers
        .get(BUILDER_AUTH)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let expected = ctx.state.builder_key.as_bytes();
    if !expected.is_empty() && constant_time_eq(sent, expected) {
        return Ok(());
    }
    if ctx.user.is_some() {
        Err(forbidden())
    } else {
        Err(ApiError::Unauthorized(NOT_AUTHENTICATED))
    }
}

/// Compares without stopping at the first difference, so the time taken does not tell
/// how much of a guessed key was right. (The length may show; it is not secret.)
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The app `receive_repo` and the user `receive_user`, in the original's order of
/// checks: both present (400), app exists (404), user exists (404), and the user may
/// push to the app (403; collaborators may).
async fn app_and_user(ctx: &Ctx, body: &Map<String, Value>) -> ApiResult<(App, User)> {
    let mut errors = FieldErrors::default();
    let repo = errors.take(required_string(body, "receive_repo"));
    let username = errors.take(required_string(body, "receive_user"));
    errors.into_result()?;
    let (Some(repo), Some(username)) = (repo, username) else {
        return Err(not_found());
    };

    let store = &ctx.state.store;
    let app = store.app(&repo).await?.ok_or_else(not_found)?;
    let user = store
        .user_by_username(&username)
        .await?
        .ok_or_else(not_found)?;
    if !may_use_app(&ctx.state, &user, &app, &Method::POST).await? {
        return Err(forbidden());
    }
    Ok((app, user))
}

fn push_json(push: &Push) -> Value {
    json!({
        "uuid": push.uuid,
        "owner": push.owner,
        "app": push.app,
        "sha": push.sha,
        "fingerprint": push.fingerprint,
        "receive_user": push.receive_user,
        "receive_repo": push.receive_repo,
        "ssh_connection": push.ssh_connection,
        "ssh_original_command": push.ssh_original_command,
        "created": time::deis(push.created),
        "updated": time::deis(push.updated),
    })
}

/// Strings stay; anything else becomes its JSON text.
fn as_string(value: &Value) -> Value {
    match value {
        Value::String(_) => value.clone(),
        other => Value::String(other.to_string()),
    }
}

/// Whole numbers and numeric strings become integers; anything else is left alone
/// (the store only holds integer shares, so this is a guard, not a conversion path).
fn as_integer(value: &Value) -> Value {
    let number = match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    number.map(Value::from).unwrap_or_else(|| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_equal_only_when_identical() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"abc"));
    }

    #[test]
    fn config_values_are_coerced_for_the_builder() {
        assert_eq!(as_string(&json!(512)), json!("512"));
        assert_eq!(as_string(&json!("1G")), json!("1G"));
        assert_eq!(as_integer(&json!("1024")), json!(1024));
        assert_eq!(as_integer(&json!(512)), json!(512));
        assert_eq!(as_integer(&json!(2.0)), json!(2));
    }
}
