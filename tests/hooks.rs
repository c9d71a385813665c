//! `/v1/hooks/*` against the real server, authenticated with the builder key.
//!
//! | test | spec |
//! |---|---|
//! | the_push_hook_records_a_push_for_the_builder | B.11 #113, §3.12.1 |
//! | a_user_token_alone_is_forbidden_on_the_hooks | B.11 #113, §1.4 |
//! | hooks_without_the_builder_key_need_authentication | B.11 #115/#118, §1.4 |
//! | a_wrong_builder_key_is_refused | §1.4 |
//! | a_push_by_a_user_without_access_to_the_app_is_forbidden | B.11 #114, §3.12 step 3 |
//! | a_collaborator_may_push | §3.12 step 3, §1.5 |
//! | an_unknown_app_or_user_is_not_found | §3.12 steps 1–2 |
//! | hooks_without_receive_repo_or_receive_user_are_refused | §9 item 15 |
//! | a_push_without_its_fields_is_refused_and_nothing_is_stored | §3.12.1 |
//! | the_config_hook_answers_the_config_typed_for_the_builder | B.11 #118, §3.12.3, §9 item 9 |
//! | a_build_hook_without_an_image_is_refused | §3.12.2 |
//! | the_build_hook_deploys_and_answers_the_version_and_domain | B.11 #115/#116/#119, §9 item 20 |

mod common;

use common::{Resp, TestServer};
use serde_json::{json, Value};

const BUILDER_KEY: &str = "test-builder-key";

/// A hook call with the given builder key and user token (either may be absent).
async fn hook(
    s: &TestServer,
    path: &str,
    builder_key: Option<&str>,
    token: Option<&str>,
    body: Value,
) -> Resp {
    let mut req = s
        .http
        .post(s.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(key) = builder_key {
        req = req.header("X-Deis-Builder-Auth", key);
    }
    if let Some(t) = token {
        req = req.header("authorization", format!("token {t}"));
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        json,
    }
}

fn push_body(user: &str, app: &str) -> Value {
    json!({
        "receive_user": user,
        "receive_repo": app,
        "sha": "df1e628f2244b73f9cdf944f880a2b3470a122f4",
        "fingerprint": "88:25:ed:67:56:91:3d:c6:1b:7f:42:c6:9b:41:24:80",
        "ssh_connection": "10.0.1.10 50337 172.17.0.143 22",
        "ssh_original_command": format!("git-receive-pack '{app}.git'"),
    })
}

/// A server with the superuser "autotest" owning the app "autotest-app".
async fn setup() -> (TestServer, String) {
    let s = TestServer::start().await;
    let admin = s.user("autotest").await;
    s.app(&admin, "autotest-app").await;
    (s, admin)
}

#[tokio::test]
async fn the_push_hook_records_a_push_for_the_builder() {
    let (s, _) = setup().await;
    let body = push_body("autotest", "autotest-app");
    let r = hook(&s, "/v1/hooks/push", Some(BUILDER_KEY), None, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let fields: Vec<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "uuid",
            "owner",
            "app",
            "sha",
            "fingerprint",
            "receive_user",
            "receive_repo",
            "ssh_connection",
            "ssh_original_command",
            "created",
            "updated"
        ]
    );
    assert_eq!(r.json["owner"], "autotest");
    assert_eq!(r.json["app"], "autotest-app");
    for name in [
        "sha",
        "fingerprint",
        "receive_user",
        "receive_repo",
        "ssh_connection",
    ] {
        assert_eq!(r.json[name], body[name], "{name}");
    }
    assert!(r.json["created"].as_str().unwrap().ends_with("UTC"));
    // The trailing slash is optional.
    let r = hook(&s, "/v1/hooks/push/", Some(BUILDER_KEY), None, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn a_user_token_alone_is_forbidden_on_the_hooks() {
    let (s, admin) = setup().await;
    for path in [
        "/v1/hooks/push",
        "/v1/hooks/build",
        "/v1/hooks/builds",
        "/v1/hooks/config",
    ] {
        let r = hook(
            &s,
            path,
            None,
            Some(&admin),
            push_body("autotest", "autotest-app"),
        )
        .await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(
            r.json,
            json!({"detail": "You do not have permission to perform this action."})
        );
    }
}

#[tokio::test]
async fn hooks_without_the_builder_key_need_authentication() {
    let (s, _) = setup().await;
    for path in ["/v1/hooks/push", "/v1/hooks/builds", "/v1/hooks/config"] {
        let r = hook(&s, path, None, None, push_body("autotest", "autotest-app")).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(
            r.json,
            json!({"detail": "Authentication credentials were not provided."})
        );
        assert_eq!(r.header("www-authenticate"), Some("Token"));
    }
}

#[tokio::test]
async fn a_wrong_builder_key_is_refused() {
    let (s, admin) = setup().await;
    let body = push_body("autotest", "autotest-app");
    for key in ["wrong", "test-builder-ke", "test-builder-key2", ""] {
        let r = hook(&s, "/v1/hooks/push", Some(key), None, body.clone()).await;
        assert_eq!(r.status, 401, "{key:?}");
        let r = hook(&s, "/v1/hooks/push", Some(key), Some(&admin), body.clone()).await;
        assert_eq!(r.status, 403, "{key:?}");
    }
    // A bad token is reported before the key is looked at.
    let r = hook(&s, "/v1/hooks/push", Some(BUILDER_KEY), Some("nope"), body).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json, json!({"detail": "Invalid token"}));
}

#[tokio::test]
async fn a_push_by_a_user_without_access_to_the_app_is_forbidden() {
    let (s, _) = setup().await;
    s.user("eviluser").await;
    let body = push_body("eviluser", "autotest-app");
    let r = hook(&s, "/v1/hooks/push", Some(BUILDER_KEY), None, body).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json,
        json!({"detail": "You do not have permission to perform this action."})
    );
    let body = json!({"receive_user": "eviluser", "receive_repo": "autotest-app"});
    let r = hook(&s, "/v1/hooks/config", Some(BUILDER_KEY), None, body).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn a_collaborator_may_push() {
    let (s, admin) = setup().await;
    s.user("friend").await;
    let r = s
        .post(
            "/v1/apps/autotest-app/perms",
            &admin,
            json!({"username": "friend"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = hook(
        &s,
        "/v1/hooks/push",
        Some(BUILDER_KEY),
        None,
        push_body("friend", "autotest-app"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["owner"], "friend");
}

#[tokio::test]
async fn an_unknown_app_or_user_is_not_found() {
    let (s, _) = setup().await;
    for (user, app) in [("autotest", "no-such-app"), ("nobody", "autotest-app")] {
        for path in ["/v1/hooks/push", "/v1/hooks/build", "/v1/hooks/config"] {
            let r = hook(&s, path, Some(BUILDER_KEY), None, push_body(user, app)).await;
            assert_eq!(r.status, 404, "{path} {user} {app}");
            assert_eq!(r.json, json!({"detail": "Not found"}));
        }
    }
}

#[tokio::test]
async fn hooks_without_receive_repo_or_receive_user_are_refused() {
    let (s, _) = setup().await;
    for path in ["/v1/hooks/push", "/v1/hooks/build", "/v1/hooks/config"] {
        let r = hook(&s, path, Some(BUILDER_KEY), None, json!({})).await;
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(
            r.json,
            json!({
                "receive_repo": ["This field is required."],
                "receive_user": ["This field is required."],
            })
        );
        let r = hook(
            &s,
            path,
            Some(BUILDER_KEY),
            None,
            json!({"receive_user": "autotest"}),
        )
        .await;
        assert_eq!(r.json, json!({"receive_repo": ["This field is required."]}));
    }
}

#[tokio::test]
async fn a_push_without_its_fields_is_refused_and_nothing_is_stored() {
    let (s, _) = setup().await;
    let body = json!({"receive_user": "autotest", "receive_repo": "autotest-app"});
    let r = hook(&s, "/v1/hooks/push", Some(BUILDER_KEY), None, body).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({
            "sha": ["This field is required."],
            "fingerprint": ["This field is required."],
            "ssh_connection": ["This field is required."],
            "ssh_original_command": ["This field is required."],
        })
    );
    let mut body = push_body("autotest", "autotest-app");
    body["sha"] = json!("a".repeat(41));
    let r = hook(&s, "/v1/hooks/push", Some(BUILDER_KEY), None, body).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"sha": ["Ensure this field has no more than 40 characters."]})
    );
    // LIMITATION: pushes are write-only, so "nothing stored" is not observable over HTTP.
}

#[tokio::test]
async fn the_config_hook_answers_the_config_typed_for_the_builder() {
    let (s, admin) = setup().await;
    let change = json!({
        "values": {"NEW_URL": "http://x", "COUNT": 3},
        "memory": {"web": "1G"},
        "cpu": {"web": 1024},
        "tags": {"env": "prod"},
    });
    let r = s.post("/v1/apps/autotest-app/config", &admin, change).await;
    assert_eq!(r.status, 201, "{}", r.text);

    let body = json!({"receive_user": "autotest", "receive_repo": "autotest-app"});
    let r = hook(&s, "/v1/hooks/config", None, None, body.clone()).await;
    assert_eq!(r.status, 401);
    let r = hook(&s, "/v1/hooks/config", Some(BUILDER_KEY), None, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let app_config = s.get("/v1/apps/autotest-app/config", &admin).await;
    assert_eq!(r.json["values"], app_config.json["values"]);
    assert_eq!(r.json["uuid"], app_config.json["uuid"]);
    assert_eq!(r.json["memory"], json!({"web": "1G"}));
    assert_eq!(r.json["cpu"], json!({"web": 1024}));
    assert_eq!(r.json["tags"], json!({"env": "prod"}));
    assert!(r.json["created"].as_str().unwrap().ends_with("UTC"));
}

#[tokio::test]
async fn a_build_hook_without_an_image_is_refused() {
    let (s, admin) = setup().await;
    let body = json!({"receive_user": "autotest", "receive_repo": "autotest-app"});
    let r = hook(&s, "/v1/hooks/builds", Some(BUILDER_KEY), None, body).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"image": ["This field is required."]}));
    assert_eq!(
        s.get("/v1/apps/autotest-app/builds", &admin).await.json["count"],
        0
    );
    assert_eq!(
        s.get("/v1/apps/autotest-app/releases", &admin).await.json["count"],
        1
    );
}

#[tokio::test]

async fn the_build_hook_deploys_and_answers_the_version_and_domain() {
    let (s, admin) = setup().await;
    let image = common::python_app(s.data.path(), "hello from the build hook");
    let image = image.to_str().unwrap();
    let sha = "ecdff91c57a0b9ab82e89634df87e293d259a3aa";
    let body = json!({
        "receive_user": "autotest",
        "receive_repo": "autotest-app",
        "image": image,
        "sha": sha,
        "procfile": {"web": "python3 -m http.server $PORT --bind 127.0.0.1"},
        "dockerfile": "",
    });
    let r = hook(&s, "/v1/hooks/builds", None, None, body.clone()).await;
    assert_eq!(r.status, 401);
    let r = hook(
        &s,
        "/v1/hooks/builds",
        Some(BUILDER_KEY),
        None,
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"release": {"version": 2}, "domains": ["autotest-app.coxswain.test"]})
    );

    let r = s.get("/v1/apps/autotest-app/builds", &admin).await;
    assert_eq!(r.json["results"][0]["sha"], sha);
    assert_eq!(r.json["results"][0]["procfile"], body["procfile"]);
    let r = s.get("/v1/apps/autotest-app/containers/web", &admin).await;
    assert_eq!(r.json["count"], 1, "{}", r.text);

    // u2's app, built as the superuser (B.11 #119).
    let t2 = s.user("autotest2").await;
    s.app(&t2, "u2-app").await;
    let mut other = body;
    other["receive_repo"] = json!("u2-app");
    let r = hook(&s, "/v1/hooks/build", Some(BUILDER_KEY), None, other).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["release"]["version"], 2);
}
