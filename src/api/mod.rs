//! The HTTP surface: the Deis v1.4 API. Routes are tried in the spec's fixed order and
//! match a prefix of the path (Appendix A); each resource has its own module.

mod apps;
mod auth;
mod builds;
mod certs;
mod config;
mod containers;
mod domains;
pub mod error;
mod hooks;
mod keys;
mod pagination;
mod perms;
mod releases;
mod reply;
mod request;
mod routes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Response, StatusCode};

pub use error::{ApiError, ApiResult};
pub use reply::Reply;
pub use request::{json_type_name, Ctx};

use crate::platform::Platform;
use crate::settings::Registration;
use crate::store::{Store, User};

use error::not_found;
use routes::Route;

/// Everything the handlers share.
pub struct State {
    pub store: Store,
    pub platform: Arc<Platform>,
    pub registration: Registration,
    pub builder_key: String,
    /// Names nobody may give an app.
    pub reserved_names: Vec<String>,
}

/// The largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

const EXPOSE_HEADERS: &str = "X_DEIS_API_VERSION, X_DEIS_PLATFORM_VERSION, X-Deis-Release, \
    DEIS_API_VERSION, DEIS_PLATFORM_VERSION, Deis-Release";

/// The whole API as one axum service.
pub fn app(state: Arc<State>) -> axum::Router {
    axum::Router::new().fallback(move |req: Request| {
        let state = state.clone();
        async move { handle(state, req).await }
    })
}

async fn handle(state: Arc<State>, req: Request) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let raw_path = req.uri().path().to_string();
    let origin_header = req.headers().get(http::header::ORIGIN).is_some();

    let (mut response, user) = if method == Method::OPTIONS
        && req.headers().contains_key("access-control-request-method")
    {
        (preflight(origin_header), None)
    } else {
        let (result, user) = answer(state, req).await;
        let response = match result {
            Ok(reply) => reply.into_response(&method),
            Err(err) => error_response(&method, &raw_path, err),
        };
        (response, user)
    };

    let headers = response.headers_mut();
    for name in ["DEIS_API_VERSION", "X_DEIS_API_VERSION"] {
        headers.insert(
            HeaderName::from_static(lower(name)),
            HeaderValue::from_static("1.4"),
        );
    }
    for name in ["DEIS_PLATFORM_VERSION", "X_DEIS_PLATFORM_VERSION"] {
        headers.insert(
            HeaderName::from_static(lower(name)),
            HeaderValue::from_static("1.7.3"),
        );
    }
    if origin_header {
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        headers.insert(
            "access-control-expose-headers",
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }

    tracing::info!(
        method = %method,
        path = %raw_path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        user = user.as_deref().unwrap_or("-"),
        "request"
    );
    response
}

/// Header names must be given lowercase to `from_static`; the wire name keeps its
/// underscores, which is what the clients look for.
fn lower(name: &'static str) -> &'static str {
    match name {
        "DEIS_API_VERSION" => "deis_api_version",
        "X_DEIS_API_VERSION" => "x_deis_api_version",
        "DEIS_PLATFORM_VERSION" => "deis_platform_version",
        _ => "x_deis_platform_version",
    }
}

fn preflight(with_origin: bool) -> Response<Body> {
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8");
    if with_origin {
        builder = builder
            .header(
                "access-control-allow-headers",
                "content-type, accept, origin, Authorization, Host",
            )
            .header(
                "access-control-allow-methods",
                "GET, POST, PUT, PATCH, DELETE, OPTIONS",
            )
            .header("access-control-max-age", "86400");
    }
    builder.body(Body::empty()).unwrap_or_default()
}

fn error_response(method: &Method, path: &str, err: ApiError) -> Response<Body> {
    if let ApiError::Internal(cause) = &err {
        tracing::error!(method = %method, path, error = ?cause, "internal error");
    }
    let status = err.status();
    let mut builder = Response::builder().status(status);
    match &err {
        ApiError::Unauthorized(_) => builder = builder.header("www-authenticate", "Token"),
        ApiError::MethodNotAllowed(_, allow) => builder = builder.header("allow", allow.join(", ")),
        _ => {}
    }
    match err.body() {
        Some(body) if method != Method::HEAD => builder
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap_or_default(),
        Some(_) => builder
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::empty())
            .unwrap_or_default(),
        None => builder
            .header(http::header::CONTENT_TYPE, "text/html")
            .body(Body::from("<h1>Server Error (500)</h1>"))
            .unwrap_or_default(),
    }
}

/// Runs the request through the version check, body limit, authentication and routing;
/// returns the caller's name for the request log.
async fn answer(state: Arc<State>, req: Request) -> (ApiResult<Reply>, Option<String>) {
    let (parts, body) = req.into_parts();

    if let Some(version) = parts
        .headers
        .get("deis-version")
        .or(parts.headers.get("deis_version"))
    {
        let sent = String::from_utf8_lossy(version.as_bytes()).into_owned();
        if sent != "1" {
            let message = format!(
                "Client and server versions do not match. Client version: {sent} Server version: 1"
            );
            // The original renders this one body with spaces after the colons.
            let text = format!("{{\"error\": {}}}", serde_json::Value::String(message));
            return (
                Ok(Reply::raw_json(StatusCode::METHOD_NOT_ALLOWED, text)),
                None,
            );
        }
    }

    if let Some(accept) = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    {
        if !accepts_json(accept) {
            return (
                Err(ApiError::Detail(
                    StatusCode::NOT_ACCEPTABLE,
                    "Could not satisfy the request Accept header".into(),
                )),
                None,
            );
        }
    }

    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            return (
                Err(ApiError::Detail(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("Request body is larger than {} bytes.", MAX_BODY),
                )),
                None,
            )
        }
    };

    let path = percent_decode(parts.uri.path());
    if path == "/healthz" || path == "/healthz/" {
        return (health(&state, &parts.method).await, None);
    }
    let Some(rest) = path.strip_prefix("/v1/") else {
        return (Err(not_found()), None);
    };
    let Some((route, captures)) = routes::find(rest) else {
        return (Err(not_found()), None);
    };

    let is_register = route == Route::Register;
    let user = match authenticate(&state, &parts.headers).await {
        Ok(user) => user,
        Err(_) if is_register => None,
        Err(err) => return (Err(err), None),
    };
    let username = user.as_ref().map(|u| u.username.clone());

    let origin = origin(&parts.headers);
    let ctx = Ctx {
        state,
        method: parts.method.clone(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_string),
        origin,
        headers: parts.headers,
        body,
        user,
        captures,
    };
    (routes::dispatch(route, ctx).await, username)
}

fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let media = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            media.as_str(),
            "" | "*/*" | "application/*" | "application/json"
        ) || media.ends_with("+json")
    })
}

async fn health(state: &State, method: &Method) -> ApiResult<Reply> {
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::MethodNotAllowed(
            method.to_string(),
            vec!["GET", "HEAD"],
        ));
    }
    state.store.ping().await?;
    Ok(Reply::text(StatusCode::OK, "OK"))
}

/// `scheme://host` of the request as the client sent it.
fn origin(headers: &http::HeaderMap) -> String {
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

fn percent_decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// The caller named by the `Authorization` header (§1.4): no header, or another scheme,
/// is anonymous; a malformed or unknown token is a 401.
async fn authenticate(state: &State, headers: &http::HeaderMap) -> ApiResult<Option<User>> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [scheme, ..] if !scheme.eq_ignore_ascii_case("token") => Ok(None),
        [] => Ok(None),
        [_] => Err(ApiError::Unauthorized(
            "Invalid token header. No credentials provided.",
        )),
        [_, key] => {
            let user = state
                .store
                .user_by_token_hash(&crate::auth::token_hash(key))
                .await?;
            match user {
                None => Err(ApiError::Unauthorized("Invalid token")),
                Some(u) if !u.is_active() => {
                    Err(ApiError::Unauthorized("User inactive or deleted"))
                }
                Some(u) => Ok(Some(u)),
            }
        }
        _ => Err(ApiError::Unauthorized(
            "Invalid token header. Token string should not contain spaces.",
        )),
    }
}

/// The named captures of a route match.
pub(crate) fn captures_of(
    names: &[&'static str],
    caps: &regex::Captures,
) -> HashMap<&'static str, String> {
    names
        .iter()
        .filter_map(|n| caps.name(n).map(|m| (*n, m.as_str().to_string())))
        .collect()
}
