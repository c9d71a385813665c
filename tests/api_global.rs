//! Global HTTP behaviour of the API.
//!
//! | test | spec |
//! |---|---|
//! | every_response_carries_the_version_headers | §1.6, B.1 #4 |
//! | the_api_root_asks_anonymous_callers_for_a_token | §3.1, B.1 #5 |
//! | malformed_token_headers_are_refused_and_other_schemes_are_anonymous | §1.4 |
//! | a_deis_version_other_than_1_is_refused_with_the_exact_body | §1.7, B.1 #1–3 |
//! | cors_preflight_and_origin_headers | §1.8, B.1 #8–9 |
//! | head_answers_like_get_without_a_body | §1.9 |
//! | unmapped_methods_get_405_with_allow | §1.3, §1.6 |
//! | unknown_paths_are_404_not_found | §1.1, §9 (DESIGN) |
//! | a_trailing_slash_is_optional_everywhere | §1.1, §9.2, B.15 #142 |
//! | routes_match_a_prefix_of_the_path | §1.1, §9.1, B.15 #143 |
//! | bad_bodies_get_the_drf_error_shapes | §1.2, §1.3 |
//! | bodies_over_one_mebibyte_are_refused_with_413 | DESIGN security |
//! | lists_are_paginated_by_100_with_absolute_links | §1.10 |
//! | healthz_answers_ok_in_plain_text | §9.41 |

mod common;

use common::TestServer;
use serde_json::{json, Value};

const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";

fn assert_version_headers(r: &common::Resp, what: &str) {
    assert_eq!(r.header("DEIS_API_VERSION"), Some("1.4"), "{what}");
    assert_eq!(r.header("X_DEIS_API_VERSION"), Some("1.4"), "{what}");
    assert_eq!(r.header("DEIS_PLATFORM_VERSION"), Some("1.7.3"), "{what}");
    assert_eq!(r.header("X_DEIS_PLATFORM_VERSION"), Some("1.7.3"), "{what}");
    // The names on the wire keep their underscores.
    assert!(
        r.headers.keys().any(|k| k.as_str() == "x_deis_api_version"),
        "{what}"
    );
}

#[tokio::test]
async fn every_response_carries_the_version_headers() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;

    let ok = s.get("/v1/apps", &t).await;
    assert_eq!(ok.status, 200);
    assert_version_headers(&ok, "200");

    let missing = s.get("/v1/nonexistent", &t).await;
    assert_eq!(missing.status, 404);
    assert_version_headers(&missing, "404");

    let anonymous = s.call("GET", "/v1/apps", None, Value::Null).await;
    assert_eq!(anonymous.status, 401);
    assert_version_headers(&anonymous, "401");

    let wrong_method = s.call("PUT", "/v1/apps", Some(&t), json!({})).await;
    assert_eq!(wrong_method.status, 405);
    assert_version_headers(&wrong_method, "405");

    let mismatch = s
        .raw("GET", "/v1/apps", &[("Deis-Version", "2")], None)
        .await;
    assert_eq!(mismatch.status, 405);
    assert_version_headers(&mismatch, "version mismatch");

    let health = s.raw("GET", "/healthz", &[], None).await;
    assert_version_headers(&health, "healthz");
}

#[tokio::test]
async fn the_api_root_asks_anonymous_callers_for_a_token() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;

    let r = s.call("GET", "/v1/", None, Value::Null).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json, json!({ "detail": NOT_AUTHENTICATED }));
    assert_eq!(r.header("www-authenticate"), Some("Token"));
    assert_eq!(r.header("DEIS_API_VERSION"), Some("1.4"));

    let r = s.get("/v1/", &t).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "{}");
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn malformed_token_headers_are_refused_and_other_schemes_are_anonymous() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "token".into(),
            401,
            "Invalid token header. No credentials provided.",
        ),
        (
            format!("token {t} extra"),
            401,
            "Invalid token header. Token string should not contain spaces.",
        ),
        (
            "token 0000000000000000000000000000000000000000".into(),
            401,
            "Invalid token",
        ),
        ("Bearer x".into(), 401, NOT_AUTHENTICATED),
        (format!("TOKEN {t}"), 200, ""),
        (format!("Token {t}"), 200, ""),
    ];
    for (header, status, detail) in cases {
        let r = s
            .raw("GET", "/v1/", &[("authorization", header.as_str())], None)
            .await;
        assert_eq!(r.status, status, "{header}: {}", r.text);
        if status == 401 {
            assert_eq!(r.json, json!({ "detail": detail }), "{header}");
            assert_eq!(r.header("www-authenticate"), Some("Token"), "{header}");
        }
    }

    // A stale token is refused even where no authentication is needed.
    let r = s
        .raw(
            "POST",
            "/v1/auth/login/",
            &[
                ("authorization", "token deadbeef"),
                ("content-type", "application/json"),
            ],
            Some(br#"{"username":"admin","password":"s3cret"}"#.to_vec()),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json, json!({"detail": "Invalid token"}));
}

#[tokio::test]
async fn a_deis_version_other_than_1_is_refused_with_the_exact_body() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    let auth = format!("token {t}");

    let r = s
        .raw(
            "GET",
            "/v1/apps",
            &[("authorization", &auth), ("Deis-Version", "1")],
            None,
        )
        .await;
    assert_eq!(r.status, 200);

    for sent in ["1234.5678", "1.4"] {
        let r = s
            .raw(
                "GET",
                "/v1/apps",
                &[("authorization", &auth), ("Deis-Version", sent)],
                None,
            )
            .await;
        assert_eq!(r.status, 405);
        assert_eq!(
            r.text,
            format!(
                "{{\"error\": \"Client and server versions do not match. Client version: {sent} Server version: 1\"}}"
            )
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
    }

    // The check happens before authentication, and X-Deis-Version is never checked.
    let r = s
        .raw("GET", "/v1/apps", &[("Deis-Version", "7")], None)
        .await;
    assert_eq!(r.status, 405);
    let r = s
        .raw(
            "GET",
            "/v1/apps",
            &[("authorization", &auth), ("X-Deis-Version", "7")],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn cors_preflight_and_origin_headers() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    let auth = format!("token {t}");

    let r = s
        .raw(
            "OPTIONS",
            "/v1/apps",
            &[
                ("Origin", "http://x"),
                ("Access-Control-Request-Method", "POST"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, POST, PUT, PATCH, DELETE, OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type, accept, origin, Authorization, Host")
    );
    assert_eq!(r.header("access-control-max-age"), Some("86400"));
    assert_eq!(r.header("DEIS_API_VERSION"), Some("1.4"));

    // Pre-flight skips routing and the version check too.
    let r = s
        .raw(
            "OPTIONS",
            "/v1/nowhere",
            &[
                ("Access-Control-Request-Method", "GET"),
                ("Deis-Version", "9"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 200);

    let r = s
        .raw(
            "GET",
            "/v1/apps",
            &[("Origin", "http://x"), ("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("X_DEIS_API_VERSION, X_DEIS_PLATFORM_VERSION, X-Deis-Release, DEIS_API_VERSION, DEIS_PLATFORM_VERSION, Deis-Release")
    );

    let r = s
        .raw("GET", "/v1/apps", &[("authorization", &auth)], None)
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let auth = format!("token {t}");
    for path in [
        "/v1/apps",
        "/v1/apps/shop",
        "/v1/apps/shop/config",
        "/v1/apps/shop/releases",
        "/v1/users/",
    ] {
        let get = s.raw("GET", path, &[("authorization", &auth)], None).await;
        let head = s.raw("HEAD", path, &[("authorization", &auth)], None).await;
        assert_eq!(get.status, 200, "{path}");
        assert_eq!(head.status, 200, "{path}");
        assert_eq!(head.text, "", "{path}");
        for name in ["content-type", "allow", "DEIS_API_VERSION"] {
            assert_eq!(head.header(name), get.header(name), "{path} {name}");
        }
    }
    let r = s
        .raw("HEAD", "/v1/apps/nope", &[("authorization", &auth)], None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text, "");
}

#[tokio::test]
async fn unmapped_methods_get_405_with_allow() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let cases = [
        ("PUT", "/v1/apps", "GET, POST, HEAD, OPTIONS"),
        ("PATCH", "/v1/apps/shop", "GET, DELETE, HEAD, OPTIONS"),
        ("DELETE", "/v1/apps/shop/config", "GET, POST, HEAD, OPTIONS"),
        ("POST", "/v1/apps/shop/releases", "GET, HEAD, OPTIONS"),
        ("GET", "/v1/auth/login/", "POST, OPTIONS"),
        (
            "GET",
            "/v1/apps/shop/domains/example.com",
            "DELETE, OPTIONS",
        ),
        ("POST", "/v1/users/", "GET, HEAD, OPTIONS"),
    ];
    for (method, path, allow) in cases {
        let r = s.call(method, path, Some(&t), json!({})).await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
        assert_eq!(
            r.json,
            json!({ "detail": format!("Method '{method}' not allowed.") }),
            "{method} {path}"
        );
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
    // The app still exists: a refused DELETE-less PATCH changed nothing.
    assert_eq!(s.get("/v1/apps/shop", &t).await.status, 200);

    // Successful answers name the route's methods too.
    let r = s.get("/v1/apps", &t).await;
    assert_eq!(r.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
}

#[tokio::test]
async fn unknown_paths_are_404_not_found() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    for path in [
        "/v1/nonexistent",
        "/v1",
        "/",
        "/v2/apps",
        "/v1/apps/shop/../../x",
    ] {
        let r = s.get(path, &t).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.json, json!({"detail": "Not found"}), "{path}");
    }
    let r = s.call("GET", "/v1/nonexistent", None, Value::Null).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json, json!({"detail": "Not found"}));
}

#[tokio::test]
async fn a_trailing_slash_is_optional_everywhere() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    for path in [
        "/v1/apps",
        "/v1/apps/shop",
        "/v1/apps/shop/config",
        "/v1/apps/shop/releases",
        "/v1/apps/shop/releases/v1",
        "/v1/apps/shop/containers",
        "/v1/apps/shop/domains",
        "/v1/apps/shop/perms",
        "/v1/apps/shop/logs",
        "/v1/apps/shop/builds",
        "/v1/admin/perms",
        "/v1/users",
    ] {
        for p in [path.to_string(), format!("{path}/")] {
            let r = s.get(&p, &t).await;
            assert_eq!(r.status, 200, "{p}: {}", r.text);
        }
    }
    for path in ["/v1/auth/login", "/v1/auth/login/"] {
        let r = s
            .call(
                "POST",
                path,
                None,
                json!({"username": "admin", "password": "s3cret"}),
            )
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        // Tokens are stored only hashed (DESIGN), so a login issues a fresh one.
        let fresh = r.json["token"].as_str().unwrap();
        assert_eq!(fresh.len(), 40);
        assert_eq!(s.get("/v1/", fresh).await.status, 200);
    }
    assert_eq!(s.get("/v1/", &t).await.status, 200);
}

#[tokio::test]
async fn routes_match_a_prefix_of_the_path() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;

    let detail = s.get("/v1/apps/shop", &t).await;
    for path in [
        "/v1/apps/shop/",
        "/v1/apps/shop/garbage",
        "/v1/apps/shop/garbage/path",
    ] {
        let r = s.get(path, &t).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json, detail.json, "{path}");
    }
    // Uppercase does not match the app id, so the catch-all lists apps.
    let r = s.get("/v1/apps/Shop", &t).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["count"], 1);
    // Without the `v`, the release detail is the release list.
    let r = s.get("/v1/apps/shop/releases/1", &t).await;
    assert_eq!(r.json["count"], 1);
    let r = s.get("/v1/apps/shop/config/whatever", &t).await;
    assert_eq!(r.json["app"], "shop");
    let r = s.get("/v1/users/anything", &t).await;
    assert_eq!(r.json["count"], 1);
}

#[tokio::test]
async fn bad_bodies_get_the_drf_error_shapes() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    let auth = format!("token {t}");
    let json_post = |body: &'static [u8]| {
        let auth = auth.clone();
        let s = &s;
        async move {
            s.raw(
                "POST",
                "/v1/apps",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                Some(body.to_vec()),
            )
            .await
        }
    };

    let r = json_post(b"{\"id\": ").await;
    assert_eq!(r.status, 400);
    let detail = r.json["detail"].as_str().unwrap();
    assert!(detail.starts_with("JSON parse error - "), "{detail}");

    let r = json_post(b"null").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!(["This field may not be null."]));

    let r = json_post(b"[1, 2]").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );

    let r = s
        .raw(
            "POST",
            "/v1/apps",
            &[("authorization", &auth), ("content-type", "text/plain")],
            Some(b"hello".to_vec()),
        )
        .await;
    assert_eq!(r.status, 415);
    assert_eq!(
        r.json,
        json!({"detail": "Unsupported media type 'text/plain' in request."})
    );

    let r = s
        .raw(
            "GET",
            "/v1/apps",
            &[("authorization", &auth), ("accept", "text/html")],
            None,
        )
        .await;
    assert_eq!(r.status, 406);
    assert_eq!(
        r.json,
        json!({"detail": "Could not satisfy the request Accept header"})
    );

    // Nothing of the above created an app.
    assert_eq!(s.get("/v1/apps", &t).await.json["count"], 0);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused_with_413() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let big = format!(
        "{{\"values\": {{\"BIG\": \"{}\"}}}}",
        "x".repeat(1024 * 1024)
    );
    let r = s
        .raw(
            "POST",
            "/v1/apps/shop/config",
            &[
                ("authorization", &format!("token {t}")),
                ("content-type", "application/json"),
            ],
            Some(big.into_bytes()),
        )
        .await;
    assert_eq!(r.status, 413);
    assert!(r.json["detail"].is_string(), "{}", r.text);
    assert_eq!(s.release_count(&t, "shop").await, 1);
}

#[tokio::test]
async fn lists_are_paginated_by_100_with_absolute_links() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    for i in 0..105 {
        s.app(&t, &format!("app-{i:03}")).await;
    }
    let host = s.api.to_string();

    let r = s.get("/v1/apps", &t).await;
    assert_eq!(r.json["count"], 105);
    assert_eq!(r.json["results"].as_array().unwrap().len(), 100);
    assert_eq!(r.json["results"][0]["id"], "app-000");
    assert_eq!(r.json["previous"], Value::Null);
    assert_eq!(r.json["next"], format!("http://{host}/v1/apps?page=2"));

    let r = s.get("/v1/apps/?page=2&foo=bar", &t).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["results"].as_array().unwrap().len(), 5);
    assert_eq!(r.json["results"][0]["id"], "app-100");
    assert_eq!(r.json["next"], Value::Null);
    assert_eq!(
        r.json["previous"],
        format!("http://{host}/v1/apps/?foo=bar&page=1")
    );

    let last = s.get("/v1/apps?page=last", &t).await;
    assert_eq!(last.status, 200);
    assert_eq!(last.json["results"][0]["id"], "app-100");

    for page in ["0", "-1", "x", "3", "99"] {
        let r = s.get(&format!("/v1/apps?page={page}"), &t).await;
        assert_eq!(r.status, 404, "page={page}");
        assert_eq!(r.json, json!({"detail": "Not found"}), "page={page}");
    }

    // page_size, limit and offset are ignored.
    let r = s.get("/v1/apps?page_size=5&limit=3&offset=7", &t).await;
    assert_eq!(r.json["results"].as_array().unwrap().len(), 100);
    assert_eq!(r.json["results"][0]["id"], "app-000");

    let r = s
        .raw(
            "GET",
            "/v1/apps",
            &[
                ("authorization", &format!("token {t}")),
                ("X-Forwarded-Proto", "https"),
            ],
            None,
        )
        .await;
    assert_eq!(r.json["next"], format!("https://{host}/v1/apps?page=2"));

    // An empty collection is page 1 with no results.
    let r = s.get("/v1/apps/app-000/domains", &t).await;
    assert_eq!(
        r.json,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
}

#[tokio::test]
async fn healthz_answers_ok_in_plain_text() {
    let s = TestServer::start().await;
    let r = s.raw("GET", "/healthz", &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "OK");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let r = s.raw("HEAD", "/healthz", &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "");
}
