//! `/v1/apps/{app}/domains`: the app's own host names, which the router serves at once
//! (spec §3.8, stored lowercase and unique whatever the case).

use http::StatusCode;
use serde_json::{json, Value};

use super::error::{field, not_found};
use super::pagination::page;
use super::request::required_string;
use super::{ApiResult, Ctx, Reply};
use crate::domain::Hostname;
use crate::store::{Domain, StoreError};
use crate::time;

fn domain_json(d: &Domain) -> Value {
    json!({
        "owner": d.owner,
        "created": time::deis(d.created),
        "updated": time::deis(d.updated),
        "app": d.app,
        "domain": d.domain,
    })
}

pub async fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let domains = ctx.state.store.domains(&app).await?;
    page(ctx, domains.iter().map(domain_json).collect())
}

pub async fn add(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let app = ctx.app_for_user().await?;
    let body = ctx.object()?;
    let raw = required_string(&body, "domain")?;
    let name = Hostname::parse(&raw).map_err(|msg| field("domain", msg))?;
    let store = &ctx.state.store;
    let hosts = &ctx.state.platform.hosts;
    let in_use = || {
        field(
            "domain",
            format!(
                "The domain {} is already in use by another app",
                name.as_str()
            ),
        )
    };
    // An app's default host name belongs to that app alone.
    if let Some(owner) = hosts.resolve(name.as_str()) {
        if owner != app.id || name.as_str() == format!("{}.{}", app.id, hosts.domain()) {
            return Err(in_use());
        }
    }
    if store.domain_taken(name.as_str()).await? {
        return Err(in_use());
    }
    let domain = match store.add_domain(&app, &user.username, name.as_str()).await {
        Ok(d) => d,
        Err(StoreError::Conflict(_)) => return Err(in_use()),
        Err(err) => return Err(err.into()),
    };
    hosts.add_domain(&domain.domain, &app.id);
    ctx.state
        .platform
        .log
        .event(&app.id, &format!("domain {} added", domain.domain));
    Ok(Reply::created(domain_json(&domain)))
}

pub async fn remove(ctx: &Ctx) -> ApiResult<Reply> {
    let app = ctx.app_for_user().await?;
    let name = ctx
        .capture("domain")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if !ctx.state.store.remove_domain(&app, &name).await? {
        return Err(not_found());
    }
    ctx.state.platform.hosts.remove_domain(&name);
    ctx.state
        .platform
        .log
        .event(&app.id, &format!("domain {name} removed"));
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
