//! `/v1/apps/{app}/containers` and `/scale`: list, show, restart and scale containers
//! (spec §3.3.8, §3.7).

use http::StatusCode;
use serde_json::{json, Value};

use super::error::{bad_request, not_found};
use super::pagination::page;
use super::{ApiResult, Ctx, Reply};
use crate::store::Container;
use crate::time;

async fn container_json(ctx: &Ctx, c: &Container) -> Value {
    let state = ctx.state.platform.state(c).await;
    json!({
        "owner": c.owner,
        "app": c.app,
        "release": format!("v{}", c.version),
        "type": c.process_type,
        "num": c.num,
        "state": state.as_str(),
        "created": time::deis(c.created),
        "updated": time::deis(c.updated),
        "uuid": c.uuid,
    })
}

async fn containers_json(ctx: &Ctx, containers: &[Container]) -> Vec<Value> {
    futures::future::join_all(containers.iter().map(|c| container_json(ctx, c))).await
}

/// All containers but `run` ones, or those of one type (`run` included).
pub async fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let process_type = ctx.captures.get("type").map(String::as_str);
    let containers = ctx.state.store.containers(&app, process_type).await?;
    page(ctx, containers_json(ctx, &containers).await)
}

pub async fn show(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let num: i64 = ctx.capture("num").parse().map_err(|_| not_found())?;
    let containers = ctx
        .state
        .store
        .containers(&app, Some(ctx.capture("type")))
        .await?;
    let container = containers
        .iter()
        .find(|c| c.num == num)
        .ok_or_else(not_found)?;
    Ok(Reply::ok(container_json(ctx, container).await))
}

pub async fn restart(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let process_type = ctx.captures.get("type").map(String::as_str);
    let num = ctx.captures.get("num").map(String::as_str);
    let restarted = ctx.state.platform.restart(&app, process_type, num).await?;
    Ok(Reply::ok(Value::Array(
        containers_json(ctx, &restarted).await,
    )))
}

pub async fn scale(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let app = ctx.app_for_user().await?;
    let body = ctx.object()?;
    let mut requested = Vec::with_capacity(body.len());
    for (t, v) in &body {
        let n =
            python_int(v).map_err(|why| bad_request(format!("Invalid scaling format: {why}")))?;
        requested.push((t.clone(), n));
    }
    if requested.iter().any(|(_, n)| *n < 0) {
        return Err(bad_request("Must be greater than or equal to zero"));
    }
    ctx.state.platform.scale(&app, user, &requested).await?;
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// Python's `int()` of a JSON value, with its error text: integers, numeric strings,
/// floats (truncated) and booleans convert.
fn python_int(v: &Value) -> Result<i64, String> {
    const LIMIT: i64 = 10_000;
    let n = match v {
        Value::Bool(b) => *b as i64,
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            (None, Some(f)) if f.is_finite() && f.abs() < 1e15 => f.trunc() as i64,
            _ => return Err(format!("cannot convert {n} to integer")),
        },
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("invalid literal for int() with base 10: {}", python_repr(s)))?,
        other => {
            return Err(format!(
                "int() argument must be a string or a number, not '{}'",
                super::json_type_name(other)
            ))
        }
    };
    if n > LIMIT {
        return Err(format!("{n} containers is more than the limit of {LIMIT}"));
    }
    Ok(n)
}

fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
