//! What a handler gets: the request, its caller and the route's captures, with helpers
//! that turn the body into a JSON object the way the original parsers did.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Map, Value};

use super::error::{bad_request, field, forbidden, ApiError, ApiResult, NOT_AUTHENTICATED};
use super::State;
use crate::store::{App, User};

pub struct Ctx {
    pub state: Arc<State>,
    pub method: Method,
    /// The decoded path, as routed (`/v1/...`).
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// `scheme://host` as the client reached us, for absolute links.
    pub origin: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The caller named by a valid token, if any.
    pub user: Option<User>,
    pub captures: HashMap<&'static str, String>,
}

impl Ctx {
    /// The caller, or 401 for an anonymous request.
    pub fn user(&self) -> ApiResult<&User> {
        self.user
            .as_ref()
            .ok_or(ApiError::Unauthorized(NOT_AUTHENTICATED))
    }

    /// A route capture; routes guarantee the ones their handlers ask for.
    pub fn capture(&self, name: &str) -> &str {
        self.captures
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The body as a JSON object. An empty body is an empty object; form-encoded bodies
    /// become objects of strings; anything else is a 4xx with the original's wording.
    pub fn object(&self) -> ApiResult<Map<String, Value>> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        let content_type = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json");
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let value = match media.as_str() {
            "application/json" | "" => serde_json::from_slice::<Value>(&self.body)
                .map_err(|e| bad_request(format!("JSON parse error - {e}")))?,
            "application/x-www-form-urlencoded" => {
                let mut map = Map::new();
                for (k, v) in form_urlencoded::parse(&self.body) {
                    map.insert(k.into_owned(), Value::String(v.into_owned()));
                }
                Value::Object(map)
            }
            _ => {
                return Err(ApiError::Detail(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("Unsupported media type '{content_type}' in request."),
                ))
            }
        };
        match value {
            Value::Object(map) => Ok(map),
            Value::Null => Err(ApiError::Raw(
                StatusCode::BAD_REQUEST,
                json!([super::error::NULL]),
            )),
            other => Err(ApiError::Fields(vec![(
                "non_field_errors".into(),
                vec![format!(
                    "Invalid data. Expected a dictionary, but got {}.",
                    json_type_name(&other)
                )],
            )])),
        }
    }

    /// Looks an app up and applies the app user check of §1.5: 404 when it does not
    /// exist, 403 unless the caller is a superuser, the owner, or a collaborator (and the
    /// method is not DELETE).
    pub async fn app_for_user(&self) -> ApiResult<App> {
        let (user, app) = self.named_app().await?;
        if !may_use_app(&self.state, user, &app, &self.method).await? {
            return Err(forbidden());
        }
        Ok(app)
    }

    /// The caller (401 when anonymous) and the app the path names (404 when unknown).
    async fn named_app(&self) -> ApiResult<(&User, App)> {
        let user = self.user()?;
        let app = self
            .state
            .store
            .app(self.capture("app"))
            .await?
            .ok_or_else(super::not_found)?;
        Ok((user, app))
    }

    /// Looks an app up and requires its owner or a superuser.
    pub async fn app_for_owner(&self) -> ApiResult<App> {
        let (user, app) = self.named_app().await?;
        if !(user.is_superuser() || app.owner_id == user.id) {
            return Err(forbidden());
        }
        Ok(app)
    }
}

/// The app user check of §1.5.
pub async fn may_use_app(
    state: &State,
    user: &User,
    app: &App,
    method: &Method,
) -> ApiResult<bool> {
    if user.is_superuser() || app.owner_id == user.id {
        return Ok(true);
    }
    if method == Method::DELETE {
        return Ok(false);
    }
    Ok(state.store.is_collaborator(app, user.id).await?)
}

/// Python's name for a JSON value's type, as the original's messages show it.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A required, non-blank string field.
pub fn required_string(body: &Map<String, Value>, name: &str) -> ApiResult<String> {
    match body.get(name) {
        None => Err(field(name, super::error::REQUIRED)),
        Some(Value::Null) => Err(field(name, super::error::NULL)),
        Some(Value::String(s)) if s.trim().is_empty() => Err(field(name, super::error::BLANK)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(field(name, "Not a valid string.")),
    }
}

/// An optional string field: absent or null is `None`, blank is allowed.
pub fn optional_string(body: &Map<String, Value>, name: &str) -> ApiResult<Option<String>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(field(name, "Not a valid string.")),
    }
}
