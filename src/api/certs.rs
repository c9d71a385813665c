//! `/v1/certs`: the caller's TLS certificates (spec §3.11). Every user sees and manages
//! only their own certificates; superusers too. The certificate and key are write-only.

use http::StatusCode;
use serde_json::{json, Value};

use super::error::{field, not_found, FieldErrors, BLANK, UNIQUE};
use super::pagination::page;
use super::request::{optional_string, required_string};
use super::{ApiResult, Ctx, Reply};
use crate::domain::{CertificateError, CertificatePair};
use crate::store::{Cert, NewCert, StoreError, User};
use crate::time;

fn cert_json(cert: &Cert) -> Value {
    json!({
        "id": cert.id,
        "owner": cert.owner,
        // Always with the zone suffix, also right after create (§9 item 8).
        "expires": time::deis(cert.expires),
        "created": time::deis(cert.created),
        "updated": time::deis(cert.updated),
        "common_name": cert.common_name,
    })
}

pub async fn list(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let certs = ctx.state.store.certs(user).await?;
    page(ctx, certs.iter().map(cert_json).collect())
}

/// Adds a certificate with its private key. The common name is the one given, else the
/// certificate's own; either way it must not be in use by any certificate (§9 item 29).
pub async fn add(ctx: &Ctx) -> ApiResult<Reply> {
    let user = ctx.user()?;
    let body = ctx.object()?;

    let mut errors = FieldErrors::default();
    let certificate = errors.take(required_string(&body, "certificate"));
    let key = errors.take(required_string(&body, "key"));
    let explicit_name = match errors.take(optional_string(&body, "common_name")).flatten() {
        Some(name) if name.trim().is_empty() => {
            errors.add("common_name", BLANK);
            None
        }
        name => name,
    };
    let pair = match (&certificate, &key) {
        (Some(certificate), Some(key)) => match CertificatePair::parse(certificate, key) {
            Ok(pair) => Some(pair),
            Err(CertificateError::Certificate(message)) => {
                errors.add("certificate", message);
                None
            }
            Err(CertificateError::Key(message)) => {
                errors.add("key", message);
                None
            }
        },
        _ => None,
    };
    errors.into_result()?;
    let Some(pair) = pair else {
        return Err(field("certificate", super::error::REQUIRED));
    };

    let Some(common_name) = explicit_name.or_else(|| pair.derived_name().map(str::to_string))
    else {
        return Err(field(
            "certificate",
            "Could not load certificate: it names no host (no subject CN and no DNS \
             subjectAltName); give a common_name.",
        ));
    };
    // `GET`/`DELETE /v1/certs/{common_name}` can only name these characters: a
    // certificate called anything else could never be removed again.
    let addressable = common_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '.'));
    if !addressable {
        return Err(field(
            "common_name",
            "Common names can only contain [A-Za-z0-9_.*-].",
        ));
    }
    if ctx.state.store.cert_name_taken(&common_name).await? {
        return Err(field("common_name", UNIQUE));
    }

    let new = NewCert {
        certificate: pair.certificate().to_string(),
        key: pair.key().to_string(),
        common_name,
        expires: pair.expires(),
    };
    let cert = match ctx.state.store.add_cert(user, &new).await {
        Ok(cert) => cert,
        // Lost a race with a request for the same name.
        Err(StoreError::Conflict(_)) => return Err(field("common_name", UNIQUE)),
        Err(err) => return Err(err.into()),
    };
    tracing::info!(user = %user.username, common_name = %cert.common_name, "certificate added");
    Ok(Reply::created(cert_json(&cert)))
}

/// The caller's certificate the path names; anyone else's is not found.
async fn own_cert(ctx: &Ctx) -> ApiResult<(&User, Cert)> {
    let user = ctx.user()?;
    let cert = ctx
        .state
        .store
        .cert(user, ctx.capture("common_name"))
        .await?
        .ok_or_else(not_found)?;
    Ok((user, cert))
}

pub async fn show(ctx: &Ctx) -> ApiResult<Reply> {
    let (_, cert) = own_cert(ctx).await?;
    Ok(Reply::ok(cert_json(&cert)))
}

pub async fn remove(ctx: &Ctx) -> ApiResult<Reply> {
    let (user, cert) = own_cert(ctx).await?;
    ctx.state.store.delete_cert(&cert).await?;
    tracing::info!(user = %user.username, common_name = %cert.common_name, "certificate removed");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
