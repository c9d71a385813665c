//! `/v1/`, `/v1/auth/*` and `/v1/users/`: accounts and tokens (spec §3.1, §3.2, §3.14).

use http::StatusCode;
use serde_json::{json, Value};

use super::error::{
    conflict, field, forbidden, not_found, ApiError, FieldErrors, BLANK, REQUIRED, UNIQUE,
};
use super::pagination::page;
use super::request::{optional_string, required_string};
use super::{ApiResult, Ctx, Reply};
use crate::auth::{hash_password_async, new_token, token_hash, verify_password_async};
use crate::domain::names::valid_email;
use crate::domain::Username;
use crate::settings::Registration;
use crate::store::{NewUser, StoreError, User};
use crate::time;

pub fn user_json(user: &User) -> Value {
    json!({
        "email": user.email,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_superuser": user.is_superuser(),
        "is_staff": user.is_superuser(),
        "groups": [],
        "user_permissions": [],
        "last_login": time::user(user.last_login),
        "date_joined": time::user(user.date_joined),
        "is_active": user.is_active(),
    })
}

/// `GET /v1/`: how clients tell a controller from anything else (401 when anonymous).
pub async fn root(ctx: &Ctx) -> ApiResult<Reply> {
    ctx.user()?;
    Ok(Reply::ok(json!({})))
}

pub async fn register(ctx: &Ctx) -> ApiResult<Reply> {
    let caller_is_admin = ctx.user.as_ref().is_some_and(User::is_superuser);
    match ctx.state.registration {
        Registration::Enabled => {}
        Registration::Disabled => return Err(forbidden()),
        Registration::AdminOnly if !caller_is_admin => return Err(forbidden()),
        Registration::AdminOnly => {}
    }
    let body = ctx.object()?;
    let mut errors = FieldErrors::default();

    let username = match required_string(&body, "username") {
        Ok(name) => match Username::parse(&name) {
            Ok(u) => Some(u.into_string()),
            Err(message) => {
                errors.add("username", message);
                None
            }
        },
        Err(err) => {
            errors.add("username", first_message(err));
            None
        }
    };
    let password = match body.get("password") {
        None => {
            errors.add("password", REQUIRED);
            None
        }
        Some(Value::String(p)) if p.is_empty() => {
            errors.add("password", BLANK);
            None
        }
        Some(Value::String(p)) => Some(p.clone()),
        Some(_) => {
            errors.add("password", "Not a valid string.");
            None
        }
    };
    let email = match optional_string(&body, "email") {
        Ok(e) => {
            let e = e.unwrap_or_default();
            if !valid_email(&e) {
                errors.add("email", "Enter a valid email address.");
            }
            e
        }
        Err(err) => {
            errors.add("email", first_message(err));
            String::new()
        }
    };
    let mut names = Vec::new();
    for key in ["first_name", "last_name"] {
        let value = match optional_string(&body, key) {
            Ok(v) => v.unwrap_or_default(),
            Err(err) => {
                errors.add(key, first_message(err));
                String::new()
            }
        };
        if value.chars().count() > 30 {
            errors.add(key, "Ensure this field has no more than 30 characters.");
        }
        names.push(value);
    }
    if let Some(name) = &username {
        if ctx.state.store.user_by_username(name).await?.is_some() {
            errors.add("username", UNIQUE);
        }
    }
    errors.into_result()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };

    let new = NewUser {
        username,
        password_hash: hash_password_async(password)
            .await
            .map_err(ApiError::Internal)?,
        email,
        first_name: names[0].clone(),
        last_name: names[1].clone(),
    };
    let user = match ctx.state.store.create_user(&new, false).await {
        Ok(user) => user,
        Err(StoreError::Conflict(_)) => return Err(field("username", UNIQUE)),
        Err(err) => return Err(err.into()),
    };
    tracing::info!(username = %user.username, superuser = user.is_superuser(), "user registered");
    Ok(Reply::created(user_json(&user)))
}

/// The first message of a single-field error.
fn first_message(err: ApiError) -> String {
    match err {
        ApiError::Fields(mut fields) if !fields.is_empty() => {
            fields.remove(0).1.into_iter().next().unwrap_or_default()
        }
        _ => "Invalid value.".into(),
    }
}

pub async fn login(ctx: &Ctx) -> ApiResult<Reply> {
    let body = ctx.object()?;
    let mut errors = FieldErrors::default();
    let mut get = |name: &str| match body.get(name) {
        None | Some(Value::Null) => {
            errors.add(name, REQUIRED);
            None
        }
        Some(Value::String(s)) if s.is_empty() => {
            errors.add(name, BLANK);
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let username = get("username");
    let password = get("password");
    errors.into_result()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };

    let user = ctx.state.store.user_by_username(&username).await?;
    // An unknown user costs a hash check too, so the answer's timing does not tell which
    // usernames exist.
    let phc = match &user {
        Some(u) => u.password.clone(),
        None => crate::auth::decoy_hash().to_string(),
    };
    let verified = verify_password_async(password, phc).await;
    let user = match user {
        Some(u) if verified => u,
        _ => {
            return Err(field(
                "non_field_errors",
                "Unable to log in with provided credentials.",
            ))
        }
    };
    if !user.is_active() {
        return Err(field("non_field_errors", "User account is disabled."));
    }
    let token = new_token();
    ctx.state
        .store
        .add_token(user.id, &token_hash(&token))
        .await?;
    Ok(Reply::ok(json!({ "token": token })))
}

pub async fn cancel(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    if ctx.state.store.apps_owned_count(user.id).await? > 0 {
        return Err(conflict(format!(
            "{} still has applications assigned. Delete or transfer ownership",
            user.username
        )));
    }
    ctx.state.store.delete_user(user.id).await?;
    tracing::info!(username = %user.username, "account cancelled");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

pub async fn passwd(ctx: &Ctx) -> ApiResult<Reply> {
    let caller = ctx.user()?;
    let body = ctx.object()?;
    let target = match optional_string(&body, "username")? {
        Some(name) if !name.is_empty() => {
            if name != caller.username && !caller.is_superuser() {
                return Err(forbidden());
            }
            ctx.state
                .store
                .user_by_username(&name)
                .await?
                .ok_or_else(not_found)?
        }
        _ => caller.clone(),
    };
    let admin_override = caller.is_superuser() && target.id != caller.id;

    let mut errors = FieldErrors::default();
    let current = optional_string(&body, "password")?;
    if current.is_none() && !admin_override {
        errors.add("password", REQUIRED);
    }
    let new_password = optional_string(&body, "new_password")?;
    match new_password.as_deref() {
        None => errors.add("new_password", REQUIRED),
        // An empty password could never be used to log in again.
        Some("") => errors.add("new_password", BLANK),
        Some(_) => {}
    }
    errors.into_result()?;

    if !admin_override {
        let current = current.unwrap_or_default();
        if !verify_password_async(current, target.password.clone()).await {
            return Err(super::error::bad_request("Current password does not match"));
        }
    }
    let hash = hash_password_async(new_password.unwrap_or_default())
        .await
        .map_err(ApiError::Internal)?;
    ctx.state.store.set_password(target.id, &hash).await?;
    Ok(Reply::ok(json!({ "status": "password set" })))
}

pub async fn users(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    if !user.is_superuser() {
        return Err(forbidden());
    }
    let users = ctx.state.store.list_users().await?;
    page(ctx, users.iter().map(user_json).collect())
}
