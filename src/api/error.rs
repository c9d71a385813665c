//! The one error type of the HTTP edge and its wire shapes (spec §1.3).

use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::platform::PlatformError;
use crate::store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    /// `{"detail": "<message>"}` with any status.
    Detail(StatusCode, String),
    /// 400 with field-keyed message lists, in the order given.
    Fields(Vec<(String, Vec<String>)>),
    /// Any JSON body with any status (the few shapes that are neither of the above).
    Raw(StatusCode, Value),
    /// 401: the message and `WWW-Authenticate: Token`.
    Unauthorized(&'static str),
    /// 405 with the methods the route does allow.
    MethodNotAllowed(String, Vec<&'static str>),
    /// Something broke inside; logged whole, answered with a bare 500.
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";
pub const FORBIDDEN: &str = "You do not have permission to perform this action.";
pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";
pub const NULL: &str = "This field may not be null.";
pub const UNIQUE: &str = "This field must be unique.";

pub fn not_found() -> ApiError {
    ApiError::Detail(StatusCode::NOT_FOUND, "Not found".into())
}

pub fn forbidden() -> ApiError {
    ApiError::Detail(StatusCode::FORBIDDEN, FORBIDDEN.into())
}

pub fn bad_request(detail: impl Into<String>) -> ApiError {
    ApiError::Detail(StatusCode::BAD_REQUEST, detail.into())
}

pub fn unavailable(detail: impl Into<String>) -> ApiError {
    ApiError::Detail(StatusCode::SERVICE_UNAVAILABLE, detail.into())
}

pub fn conflict(detail: impl Into<String>) -> ApiError {
    ApiError::Detail(StatusCode::CONFLICT, detail.into())
}

/// A 400 on one field with one message.
pub fn field(name: &str, message: impl Into<String>) -> ApiError {
    ApiError::Fields(vec![(name.to_string(), vec![message.into()])])
}

/// Collects field errors, so that every failing field is reported at once.
#[derive(Default)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

impl FieldErrors {
    pub fn add(&mut self, name: &str, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, list)) => list.push(message),
            None => self.0.push((name.to_string(), vec![message])),
        }
    }

    /// The value of a field check, or `None` with its field messages collected; any
    /// other error is kept as a `non_field_errors` message so that nothing is lost.
    pub fn take<T>(&mut self, result: ApiResult<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(ApiError::Fields(fields)) => {
                for (name, messages) in fields {
                    for message in messages {
                        self.add(&name, message);
                    }
                }
                None
            }
            Err(other) => {
                let message = other
                    .body()
                    .and_then(|b| b.get("detail").and_then(|d| d.as_str()).map(str::to_string))
                    .unwrap_or_else(|| "Invalid input.".into());
                self.add("non_field_errors", message);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Fields(self.0))
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Detail(status, _) | ApiError::Raw(status, _) => *status,
            ApiError::Fields(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::MethodNotAllowed(..) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body; `None` for the 500, which carries no details.
    pub fn body(&self) -> Option<Value> {
        match self {
            ApiError::Detail(_, detail) => Some(json!({ "detail": detail })),
            ApiError::Fields(fields) => {
                let mut map = Map::new();
                for (name, messages) in fields {
                    map.insert(name.clone(), json!(messages));
                }
                Some(Value::Object(map))
            }
            ApiError::Raw(_, body) => Some(body.clone()),
            ApiError::Unauthorized(detail) => Some(json!({ "detail": detail })),
            ApiError::MethodNotAllowed(method, _) => {
                Some(json!({ "detail": format!("Method '{method}' not allowed.") }))
            }
            ApiError::Internal(_) => None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::Internal(err.into())
    }
}

impl From<PlatformError> for ApiError {
    fn from(err: PlatformError) -> Self {
        match err {
            PlatformError::Invalid(detail) => bad_request(detail),
            PlatformError::InvalidField(name, message) => field(&name, message),
            PlatformError::Unavailable(detail) => unavailable(detail),
            PlatformError::NotFound => not_found(),
            PlatformError::Busy(detail) => conflict(detail),
            PlatformError::Store(err) => ApiError::Internal(err.into()),
        }
    }
}
