//! `/v1/keys`: the caller's SSH keys (spec §3.10). Every user sees and manages only
//! their own keys; superusers too (§1.5, §9 item 25).

use http::StatusCode;
use serde_json::{json, Value};

use super::error::{field, not_found, FieldErrors, UNIQUE};
use super::pagination::page;
use super::request::required_string;
use super::{ApiResult, Ctx, Reply};
use crate::domain::PublicKey;
use crate::store::{Key, StoreError, User};
use crate::time;

/// The longest key label the original allowed.
const MAX_ID: usize = 128;

fn key_json(key: &Key) -> Value {
    json!({
        "uuid": key.uuid,
        "owner": key.owner,
        "fingerprint": key.fingerprint,
        "created": time::deis(key.created),
        "updated": time::deis(key.updated),
        "id": key.id,
        "public": key.public,
    })
}

pub async fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let keys = ctx.state.store.keys(user).await?;
    page(ctx, keys.iter().map(key_json).collect())
}

/// Adds a key. The same text may be registered once overall, the same key material
/// (fingerprint) once per user, whatever its comment (§9 item 26).
pub async fn add(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let body = ctx.object()?;

    let mut errors = FieldErrors::default();
    let id = match errors.take(required_string(&body, "id")) {
        Some(id) if id.chars().count() > MAX_ID => {
            errors.add(
                "id",
                format!("Ensure this field has no more than {MAX_ID} characters."),
            );
            None
        }
        // `/v1/keys/{id}` runs to a line break and drops one trailing slash: such an id
        // could never be shown or deleted.
        Some(id) if id.contains('\n') || id.ends_with('/') => {
            errors.add(
                "id",
                "Key ids cannot contain line breaks or end with a slash.",
            );
            None
        }
        id => id,
    };
    let public = match errors.take(required_string(&body, "public")) {
        Some(text) => match PublicKey::parse(&text) {
            Ok(key) => Some(key),
            Err(message) => {
                errors.add("public", message);
                None
            }
        },
        None => None,
    };
    errors.into_result()?;
    let (Some(id), Some(public)) = (id, public) else {
        return Err(field("public", super::error::REQUIRED));
    };

    let store = &ctx.state.store;
    if store.key_public_taken(public.text()).await?
        || store
            .key_fingerprint_taken(user, public.fingerprint())
            .await?
    {
        return Err(field("public", UNIQUE));
    }
    let key = match store
        .add_key(user, &id, public.text(), public.fingerprint())
        .await
    {
        Ok(key) => key,
        // Lost a race with an identical request.
        Err(StoreError::Conflict(_)) => return Err(field("public", UNIQUE)),
        Err(err) => return Err(err.into()),
    };
    tracing::info!(user = %user.username, fingerprint = %key.fingerprint, "ssh key added");
    Ok(Reply::created(key_json(&key)))
}

/// The caller's key the path names (the newest with that id); anyone else's is not found.
async fn own_key(ctx: &Ctx) -> ApiResult<(&User, Key)> {
    let user = ctx.user()?;
    let key = ctx
        .state
        .store
        .key(user, ctx.capture("id"))
        .await?
        .ok_or_else(not_found)?;
    Ok((user, key))
}

pub async fn show(ctx: &Ctx) -> ApiResult<Reply> {
    let (_, key) = own_key(ctx).await?;
    Ok(Reply::ok(key_json(&key)))
}

pub async fn remove(ctx: &Ctx) -> ApiResult<Reply> {
    let (user, key) = own_key(ctx).await?;
    ctx.state.store.delete_key(&key).await?;
    tracing::info!(user = %user.username, fingerprint = %key.fingerprint, "ssh key removed");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
