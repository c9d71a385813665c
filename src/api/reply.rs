//! A handler's answer, rendered the way the original did: compact JSON, no charset, no
//! Content-Type on empty bodies, no body on HEAD.

use axum::body::Body;
use http::{Method, Response, StatusCode};
use serde_json::Value;

pub struct Reply {
    status: StatusCode,
    content_type: Option<&'static str>,
    body: String,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: StatusCode, value: Value) -> Reply {
        Reply::raw_json(status, value.to_string())
    }

    /// JSON text rendered by the caller.
    pub fn raw_json(status: StatusCode, text: String) -> Reply {
        Reply {
            status,
            content_type: Some("application/json"),
            body: text,
            headers: Vec::new(),
        }
    }

    pub fn ok(value: Value) -> Reply {
        Reply::json(StatusCode::OK, value)
    }

    pub fn created(value: Value) -> Reply {
        Reply::json(StatusCode::CREATED, value)
    }

    /// A JSON body labelled `text/plain`, as the logs and run endpoints answer.
    pub fn plain_json(value: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            content_type: Some("text/plain"),
            body: value.to_string(),
            headers: Vec::new(),
        }
    }

    pub fn text(status: StatusCode, text: &str) -> Reply {
        Reply {
            status,
            content_type: Some("text/plain"),
            body: text.to_string(),
            headers: Vec::new(),
        }
    }

    /// A status with no body and no Content-Type (204s, and the 201 of perms).
    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            content_type: None,
            body: String::new(),
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// `Deis-Release` and its deprecated twin, on release-creating posts.
    pub fn release_header(self, version: i64) -> Reply {
        self.header("Deis-Release", version.to_string())
            .header("X-Deis-Release", version.to_string())
    }

    pub fn into_response(self, method: &Method) -> Response<Body> {
        let mut builder = Response::builder().status(self.status);
        if let Some(ct) = self.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, ct);
        }
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(self.body)
        };
        builder.body(body).unwrap_or_default()
    }
}
