//! Apps: create, show, list, destroy, and who may do what on an app.
//!
//! | test | spec |
//! |---|---|
//! | every_app_endpoint_applies_the_app_user_rule | §1.5, §3.3–3.9, §9.23, §9.44, B.4 #42, B.5 |
//! | validation_comes_after_the_permission_check | §1.5, §9.46 |
//! | an_app_without_an_id_gets_a_generated_name | §3.3.2, B.4 #33 |
//! | an_app_is_created_with_its_representation_and_location | §3.3.2, §3.3.3, B.4 #34 |
//! | invalid_app_ids_are_refused_with_every_message | §3.3.2, §9.45, B.4 #35–36 |
//! | structure_sent_on_create_is_ignored | §9.35 |
//! | users_see_their_own_and_shared_apps_and_admins_see_all | §3.3.1, B.4 #41, B.5 #50–52 |
//! | an_admin_reads_the_logs_of_another_users_app | §3.3.6, B.4 #40, #46, #49 |
//! | sharing_is_granted_listed_and_revoked_by_the_owner | §3.9, B.5 #54–57 |
//! | destroying_an_app_stops_its_processes_and_removes_its_records | §3.3.5, B.4 #38–39 |

mod common;

use std::time::Duration;

use common::{python_app, TestServer};
use serde_json::{json, Value};

const FORBIDDEN: &str = "You do not have permission to perform this action.";
const SLUG: &str = "Enter a valid 'slug' consisting of letters, numbers, underscores or hyphens.";
const APP_ID: &str = "App IDs can only contain [a-z0-9-].";

/// The endpoints of an app that do not delete anything, with a body where they need one.
fn endpoints() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("GET", "/v1/apps/shop", Value::Null),
        ("GET", "/v1/apps/shop/config", Value::Null),
        (
            "POST",
            "/v1/apps/shop/config",
            json!({"values": {"A": "1"}}),
        ),
        ("GET", "/v1/apps/shop/builds", Value::Null),
        ("POST", "/v1/apps/shop/builds", json!({})),
        ("GET", "/v1/apps/shop/releases", Value::Null),
        ("GET", "/v1/apps/shop/releases/v1", Value::Null),
        (
            "POST",
            "/v1/apps/shop/releases/rollback",
            json!({"version": 1}),
        ),
        ("GET", "/v1/apps/shop/containers", Value::Null),
        ("GET", "/v1/apps/shop/containers/web", Value::Null),
        ("POST", "/v1/apps/shop/containers/restart", Value::Null),
        ("POST", "/v1/apps/shop/scale", json!({"web": 1})),
        ("POST", "/v1/apps/shop/run", json!({"command": "true"})),
        ("GET", "/v1/apps/shop/logs", Value::Null),
        ("GET", "/v1/apps/shop/domains", Value::Null),
        (
            "POST",
            "/v1/apps/shop/domains",
            json!({"domain": "a.example.com"}),
        ),
        ("GET", "/v1/apps/shop/perms", Value::Null),
    ]
}

/// The endpoints that delete something: collaborators may not use them.
fn deleting_endpoints() -> Vec<&'static str> {
    vec![
        "/v1/apps/shop",
        "/v1/apps/shop/domains/a.example.com",
        "/v1/apps/shop/perms/carol",
    ]
}

#[tokio::test]
async fn every_app_endpoint_applies_the_app_user_rule() {
    let s = TestServer::start().await;
    let admin = s.user("admin").await;
    let bob = s.user("bob").await;
    let carol = s.user("carol").await;
    let eve = s.user("eve").await;
    s.app(&bob, "shop").await;
    let r = s
        .post("/v1/apps/shop/perms", &bob, json!({"username": "carol"}))
        .await;
    assert_eq!(r.status, 201);

    for (method, path, body) in endpoints() {
        let r = s.call(method, path, None, body.clone()).await;
        assert_eq!(r.status, 401, "anonymous {method} {path}");
        assert_eq!(
            r.json,
            json!({"detail": "Authentication credentials were not provided."})
        );
        let r = s.call(method, path, Some(&eve), body.clone()).await;
        assert_eq!(r.status, 403, "stranger {method} {path}: {}", r.text);
        assert_eq!(r.json, json!({ "detail": FORBIDDEN }));
        for (who, token) in [("collaborator", &carol), ("owner", &bob), ("admin", &admin)] {
            let r = s.call(method, path, Some(token), body.clone()).await;
            assert!(
                ![401, 403, 404].contains(&r.status.as_u16()) && r.status.as_u16() < 500,
                "{who} {method} {path}: {} {}",
                r.status,
                r.text
            );
        }
    }
    // Unknown apps are 404 before any permission check.
    let r = s.get("/v1/apps/nope/config", &eve).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json, json!({"detail": "Not found"}));

    for path in deleting_endpoints() {
        let r = s.call("DELETE", path, None, Value::Null).await;
        assert_eq!(r.status, 401, "anonymous DELETE {path}");
        for token in [&eve, &carol] {
            let r = s.delete(path, token).await;
            assert_eq!(r.status, 403, "DELETE {path}: {}", r.text);
            assert_eq!(r.json, json!({ "detail": FORBIDDEN }));
        }
    }
    // A collaborator may not share the app further.
    let r = s
        .post("/v1/apps/shop/perms", &carol, json!({"username": "eve"}))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        s.get("/v1/apps/shop/perms", &bob).await.json,
        json!({"users": ["carol"]})
    );
    let r = s
        .post("/v1/apps/shop/perms", &eve, json!({"username": "eve"}))
        .await;
    assert_eq!(r.status, 403);

    // The owner and an admin may delete.
    let r = s.delete("/v1/apps/shop/domains/a.example.com", &bob).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = s
        .post(
            "/v1/apps/shop/domains",
            &carol,
            json!({"domain": "b.example.com"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = s
        .delete("/v1/apps/shop/domains/b.example.com", &admin)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        s.delete("/v1/apps/shop/perms/carol", &admin).await.status,
        204
    );
    assert_eq!(s.get("/v1/apps/shop", &carol).await.status, 403);
    assert_eq!(s.delete("/v1/apps/shop", &admin).await.status, 204);
    assert_eq!(s.get("/v1/apps/shop", &bob).await.status, 404);
}

#[tokio::test]
async fn validation_comes_after_the_permission_check() {
    let s = TestServer::start().await;
    let admin = s.user("admin").await;
    let eve = s.user("eve").await;
    s.app(&admin, "shop").await;
    for (path, body) in [
        ("/v1/apps/shop/scale", json!({"web": -1})),
        ("/v1/apps/shop/config", json!({"memory": {"web": "lots"}})),
        ("/v1/apps/shop/domains", json!({})),
        ("/v1/apps/shop/run", json!({})),
    ] {
        let r = s.post(path, &eve, body).await;
        assert_eq!(r.status, 403, "{path}");
    }
    assert_eq!(s.release_count(&admin, "shop").await, 1);
}

#[tokio::test]
async fn an_app_without_an_id_gets_a_generated_name() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    let r = s.call("POST", "/v1/apps", Some(&t), Value::Null).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_string();
    let (adjective, noun) = id.split_once('-').expect("adjective-noun");
    assert!(!adjective.is_empty() && !noun.is_empty(), "{id}");
    assert!(
        id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
        "{id}"
    );

    let r = s.post("/v1/apps", &t, json!({})).await;
    assert_eq!(r.status, 201);
    assert_ne!(r.json["id"], id.as_str());

    assert_eq!(s.get("/v1/apps", &t).await.json["count"], 2);
    assert_eq!(s.get(&format!("/v1/apps/{id}"), &t).await.status, 200);
    let r = s
        .call(
            "PATCH",
            &format!("/v1/apps/{id}"),
            Some(&t),
            json!({"id": "new"}),
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(s.delete(&format!("/v1/apps/{id}"), &t).await.status, 204);
}

#[tokio::test]
async fn an_app_is_created_with_its_representation_and_location() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let r = s.post("/v1/apps", &t, json!({"id": "test"})).await;
    assert_eq!(r.status, 201);
    let keys: Vec<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "uuid",
            "id",
            "owner",
            "url",
            "structure",
            "created",
            "updated"
        ]
    );
    assert_eq!(r.json["id"], "test");
    assert_eq!(r.json["owner"], "autotest");
    assert_eq!(r.json["url"], "test.coxswain.test");
    assert_eq!(r.json["structure"], json!({}));
    assert_eq!(r.json["uuid"].as_str().unwrap().len(), 36);
    let created = r.json["created"].as_str().unwrap();
    assert_eq!(created.len(), "2015-06-15T17:14:27UTC".len(), "{created}");
    assert!(created.ends_with("UTC"), "{created}");
    assert_eq!(r.header("deis-release"), None);
    let host = s.api.to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("http://{host}/v1/test.coxswain.test").as_str())
    );

    let r = s.post("/v1/apps/", &t, json!({"id": "test2"})).await;
    assert_eq!(
        r.header("location"),
        Some(format!("http://{host}/v1/apps/test2.coxswain.test").as_str())
    );

    // Creation made release v1 with the initial summary.
    let r = s.get("/v1/apps/test/releases", &t).await;
    assert_eq!(r.json["count"], 1);
    assert_eq!(r.json["results"][0]["version"], 1);
    assert_eq!(
        r.json["results"][0]["summary"],
        "autotest created initial release"
    );
    assert_eq!(r.json["results"][0]["build"], Value::Null);

    // Leading hyphens and all digits are fine.
    for id in ["-lead", "123", &"a".repeat(64)] {
        let r = s.post("/v1/apps", &t, json!({ "id": id })).await;
        assert_eq!(r.status, 201, "{id}: {}", r.text);
    }
}

#[tokio::test]
async fn invalid_app_ids_are_refused_with_every_message() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "myid").await;
    let cases = [
        (json!(null), json!(["This field may not be null."])),
        (json!(""), json!(["This field may not be blank."])),
        (json!("myid"), json!(["This field must be unique."])),
        (json!("camelCase"), json!([APP_ID])),
        (json!("foo bar"), json!([APP_ID, SLUG])),
        (json!("foo\n"), json!([APP_ID, SLUG])),
        (json!("foo.bar"), json!([APP_ID, SLUG])),
        (json!("deis"), json!(["deis is a reserved name."])),
        (
            json!("a".repeat(65)),
            json!(["Ensure this field has no more than 64 characters."]),
        ),
    ];
    for (id, messages) in cases {
        let r = s.post("/v1/apps", &t, json!({ "id": id })).await;
        assert_eq!(r.status, 400, "{id}: {}", r.text);
        assert_eq!(r.json, json!({ "id": messages }), "{id}");
    }
    assert_eq!(s.get("/v1/apps", &t).await.json["count"], 1);
}

#[tokio::test]
async fn structure_sent_on_create_is_ignored() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    let r = s
        .post(
            "/v1/apps",
            &t,
            json!({"id": "shop", "structure": {"web": -3}}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json["structure"], json!({}));
}

#[tokio::test]
async fn users_see_their_own_and_shared_apps_and_admins_see_all() {
    let s = TestServer::start().await;
    let one = s.user("autotest-1").await;
    let two = s.user("autotest-2").await;
    s.app(&one, "a").await;
    s.app(&two, "b").await;
    assert_eq!(s.get("/v1/apps", &one).await.json["count"], 2);
    let r = s.get("/v1/apps", &two).await;
    assert_eq!(r.json["count"], 1);
    assert_eq!(r.json["results"][0]["id"], "b");

    for sub in ["builds/", "config/", "containers/", "releases/"] {
        let r = s.get(&format!("/v1/apps/a/{sub}"), &two).await;
        assert_eq!(r.status, 403, "{sub}");
        assert_eq!(r.json, json!({ "detail": FORBIDDEN }));
    }
    let r = s
        .post("/v1/apps/a/perms", &one, json!({"username": "autotest-2"}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(s.get("/v1/apps", &two).await.json["count"], 2);
    for sub in ["builds/", "containers/"] {
        let r = s.get(&format!("/v1/apps/a/{sub}"), &two).await;
        assert_eq!(r.status, 200, "{sub}");
        assert_eq!(r.json["results"], json!([]), "{sub}");
    }
    let r = s.get("/v1/apps/a/releases/", &two).await;
    assert_eq!(r.json["count"], 1);
}

#[tokio::test]
async fn an_admin_reads_the_logs_of_another_users_app() {
    let s = TestServer::start().await;
    let admin = s.user("autotest").await;
    let two = s.user("autotest2").await;
    s.app(&two, "autotest").await;
    assert_eq!(s.get("/v1/apps/autotest", &admin).await.status, 200);
    let r = s.get("/v1/apps/autotest/logs", &admin).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert!(r.text.starts_with('"'), "{}", r.text);
    let text = r.json.as_str().expect("a JSON string");
    assert!(text.contains("autotest2 created initial release"), "{text}");
    for line in text.lines() {
        let (ts, rest) = line.split_once(' ').unwrap();
        assert_eq!(ts.len(), "2015-06-15T17:14:27UTC".len(), "{line}");
        assert!(ts.ends_with("UTC"), "{line}");
        assert!(rest.starts_with("deis[api]: "), "{line}");
    }
    assert_eq!(s.delete("/v1/apps/autotest", &admin).await.status, 204);
}

#[tokio::test]
async fn sharing_is_granted_listed_and_revoked_by_the_owner() {
    let s = TestServer::start().await;
    let one = s.user("autotest-1").await;
    let two = s.user("autotest-2").await;
    s.app(&one, "a").await;

    let r = s.get("/v1/apps/a/perms", &two).await;
    assert_eq!(r.status, 403);
    let r = s
        .post("/v1/apps/a/perms", &one, json!({"username": "ghost"}))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json, json!({"detail": "Not found"}));
    let r = s.post("/v1/apps/a/perms", &one, json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"username": ["This field is required."]}));
    assert_eq!(
        s.get("/v1/apps/a/perms", &one).await.json,
        json!({"users": []})
    );

    let r = s
        .post("/v1/apps/a/perms", &one, json!({"username": "autotest-2"}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.text, "");
    let r = s
        .post("/v1/apps/a/perms", &one, json!({"username": "autotest-2"}))
        .await;
    assert_eq!(r.status, 201);
    let r = s.get("/v1/apps/a/perms", &one).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, r#"{"users":["autotest-2"]}"#);
    let r = s.get("/v1/apps/a/logs", &one).await;
    assert!(r
        .json
        .as_str()
        .unwrap()
        .contains("User autotest-2 was granted access to a"));

    let r = s.delete("/v1/apps/a/perms/autotest-2", &two).await;
    assert_eq!(r.status, 403);
    let r = s.delete("/v1/apps/a/perms/ghost", &one).await;
    assert_eq!(r.status, 404);
    let r = s.delete("/v1/apps/a/perms/autotest-2", &one).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    assert_eq!(s.get("/v1/apps", &two).await.json["count"], 0);
    let r = s.delete("/v1/apps/a/perms/autotest-2", &one).await;
    assert_eq!(r.status, 403);
    let r = s.get("/v1/apps/a/logs", &one).await;
    assert!(r
        .json
        .as_str()
        .unwrap()
        .contains("User autotest-2 was revoked access to a"));
}

#[tokio::test]
async fn destroying_an_app_stops_its_processes_and_removes_its_records() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    s.app(&t, "other").await;
    let dir = python_app(s.data.path(), "hello from shop");
    s.build(&t, "shop", json!({"image": dir.to_str().unwrap()}))
        .await;
    let r = s
        .wait_routed("shop.coxswain.test", Duration::from_secs(10))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "hello from shop");

    let r = s.delete("/v1/apps/shop", &t).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");

    let r = s.route("shop.coxswain.test", "/").await;
    assert_eq!(r.status, 404);
    for sub in [
        "",
        "/containers",
        "/config",
        "/releases",
        "/builds",
        "/logs",
    ] {
        let r = s.get(&format!("/v1/apps/shop{sub}"), &t).await;
        assert_eq!(r.status, 404, "{sub}");
        assert_eq!(r.json, json!({"detail": "Not found"}));
    }
    assert!(!s.data.path().join("logs/shop.log").exists());
    assert_eq!(s.get("/v1/apps", &t).await.json["count"], 1);
    let r = s.get("/v1/apps/foo", &t).await;
    assert_eq!(r.status, 404);

    // The name is free again.
    s.app(&t, "shop").await;
    assert_eq!(s.release_count(&t, "shop").await, 1);
}
