//! Accounts: registration, login, password, cancel, admin permissions and the user list.
//!
//! | test | spec |
//! |---|---|
//! | the_first_user_becomes_superuser_and_later_ones_do_not | §3.2.1, B.2 #11, #19 |
//! | registration_validates_every_field | §3.2.1, §9.37, B.2 #20, #22 |
//! | registration_can_be_disabled | §3.2.1, B.2 #12 |
//! | registration_can_be_limited_to_admins | §3.2.1, B.2 #13–14 |
//! | login_accepts_json_and_form_bodies | §3.2.2, B.2 #11, #23 |
//! | login_refuses_wrong_missing_and_blank_credentials | §3.2.2, B.2 #23 |
//! | a_user_changes_their_own_password | §3.2.4, B.2 #17 |
//! | passwd_checks_the_target_and_the_fields | §3.2.4, §9.15, §9.34 |
//! | cancel_deletes_the_account | §3.2.3, B.2 #16 |
//! | cancel_is_refused_while_the_user_owns_apps | §4.11, §9.32 |
//! | a_collaborator_who_cancels_leaves_the_other_app_intact | §4.11, §9.32 |
//! | only_superusers_list_users | §3.14, B.3 #30–31 |
//! | admin_permissions_are_granted_listed_and_revoked | §3.13, B.3 #26–29 |
//! | usernames_may_hold_dots_at_signs_and_pluses | §2, §3.9 |
//! | concurrent_registrations_all_succeed_with_one_admin | §3.2.1 |
//! | non_ascii_usernames_are_refused | §2, §3.2.1, §3.9 |

mod common;

use common::TestServer;
use serde_json::{json, Value};

const FORBIDDEN: &str = "You do not have permission to perform this action.";

async fn register(s: &TestServer, token: Option<&str>, body: Value) -> common::Resp {
    s.call("POST", "/v1/auth/register", token, body).await
}

async fn login(s: &TestServer, user: &str, password: &str) -> common::Resp {
    s.call(
        "POST",
        "/v1/auth/login/",
        None,
        json!({"username": user, "password": password}),
    )
    .await
}

async fn user_count(s: &TestServer, admin: &str) -> u64 {
    s.get("/v1/users/", admin).await.json["count"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn the_first_user_becomes_superuser_and_later_ones_do_not() {
    let s = TestServer::start().await;
    let r = register(
        &s,
        None,
        json!({"username": "firstuser", "password": "pw", "email": "first@example.com"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["is_superuser"], true);
    assert_eq!(r.json["is_staff"], true);

    let r = register(
        &s,
        None,
        json!({
            "username": "newuser", "password": "password", "first_name": "Otto",
            "last_name": "Test", "email": "autotest@deis.io",
            "is_superuser": true, "is_staff": true
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
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
            "email",
            "username",
            "first_name",
            "last_name",
            "is_superuser",
            "is_staff",
            "groups",
            "user_permissions",
            "last_login",
            "date_joined",
            "is_active"
        ]
    );
    assert_eq!(r.json["username"], "newuser");
    assert_eq!(r.json["email"], "autotest@deis.io");
    assert_eq!(r.json["first_name"], "Otto");
    assert_eq!(r.json["last_name"], "Test");
    assert_eq!(r.json["is_active"], true);
    assert_eq!(r.json["is_superuser"], false);
    assert_eq!(r.json["is_staff"], false);
    assert_eq!(r.json["groups"], json!([]));
    assert_eq!(r.json["user_permissions"], json!([]));
    let joined = r.json["date_joined"].as_str().unwrap();
    assert!(joined.ends_with('Z') && joined.contains('T'), "{joined}");

    // A missing email is an empty one.
    let r = register(&s, None, json!({"username": "noemail", "password": "pw"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["email"], "");
}

#[tokio::test]
async fn registration_validates_every_field() {
    let s = TestServer::start().await;
    let admin = s.user("admin").await;
    let cases = [
        (
            json!({}),
            json!({"username": ["This field is required."], "password": ["This field is required."]}),
        ),
        (
            json!({"username": "admin", "password": "pw"}),
            json!({"username": ["This field must be unique."]}),
        ),
        (
            json!({"username": "", "password": "pw"}),
            json!({"username": ["This field may not be blank."]}),
        ),
        (
            json!({"username": "bad name!", "password": "pw"}),
            json!({"username": ["Enter a valid username."]}),
        ),
        (
            json!({"username": "a".repeat(31), "password": "pw"}),
            json!({"username": ["Ensure this field has no more than 30 characters."]}),
        ),
        (
            json!({"username": "carol", "password": ""}),
            json!({"password": ["This field may not be blank."]}),
        ),
        (
            json!({"username": "carol", "password": "pw", "email": "a@b.c"}),
            json!({"email": ["Enter a valid email address."]}),
        ),
        (
            json!({"username": "carol", "password": "pw", "email": "nope"}),
            json!({"email": ["Enter a valid email address."]}),
        ),
    ];
    for (body, expected) in cases {
        let r = register(&s, None, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.json, expected, "{body}");
    }
    assert_eq!(user_count(&s, &admin).await, 1);

    // Thirty characters is fine; an empty email is fine.
    let r = register(
        &s,
        None,
        json!({"username": "a".repeat(30), "password": "pw", "email": ""}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn registration_can_be_disabled() {
    let s = TestServer::start_with(
        |c| c.registration = coxswain::settings::Registration::Disabled,
        None,
    )
    .await;
    let r = register(&s, None, json!({"username": "bob", "password": "pw"})).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json, json!({"detail": FORBIDDEN}));
    let r = login(&s, "bob", "pw").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn registration_can_be_limited_to_admins() {
    let s = TestServer::start_with(
        |c| c.registration = coxswain::settings::Registration::AdminOnly,
        None,
    )
    .await;
    let r = register(&s, None, json!({"username": "bob", "password": "pw"})).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json, json!({"detail": FORBIDDEN}));
    // An invalid token counts as anonymous here, not as a 401.
    let r = register(
        &s,
        Some("0123456789012345678901234567890123456789"),
        json!({"username": "bob", "password": "pw"}),
    )
    .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn an_admin_registers_users_when_registration_is_admin_only() {
    // The first user can only come from somewhere: with an enabled server, register the
    // admin, then restart the same data directory in admin_only mode.
    let mut s = TestServer::start().await;
    let admin = s.user("admin").await;
    let bob = s.user("bob").await;
    s.stop().await;
    let dir = s.data.path().to_path_buf();
    let settings = {
        let mut c = common::settings(&dir);
        c.registration = coxswain::settings::Registration::AdminOnly;
        c
    };
    let server = coxswain::server::Server::start(&settings, None)
        .await
        .unwrap();
    let s2 = TestServer {
        api: server.api_addr,
        router: server.router_addr,
        server: Some(server),
        data: tempfile::tempdir().unwrap(),
        http: s.http.clone(),
    };
    let r = register(
        &s2,
        Some(&bob),
        json!({"username": "carol", "password": "pw"}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = register(
        &s2,
        Some(&admin),
        json!({"username": "newuser_by_admin", "password": "pw", "is_superuser": true}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["is_superuser"], false);
    assert_eq!(r.json["is_staff"], false);
    assert_eq!(login(&s2, "newuser_by_admin", "pw").await.status, 200);
}

#[tokio::test]
async fn login_accepts_json_and_form_bodies() {
    let s = TestServer::start().await;
    s.user("admin").await;
    let r = login(&s, "admin", "s3cret").await;
    assert_eq!(r.status, 200);
    let token = r.json["token"].as_str().unwrap();
    assert_eq!(token.len(), 40);
    assert!(token
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(r.json.as_object().unwrap().len(), 1);

    let r = s
        .raw(
            "POST",
            "/v1/auth/login/",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(b"username=admin&password=s3cret".to_vec()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["token"].as_str().unwrap().len(), 40);
}

#[tokio::test]
async fn login_refuses_wrong_missing_and_blank_credentials() {
    let s = TestServer::start().await;
    s.user("admin").await;
    let cases = [
        (
            json!({"username": "admin", "password": "wrong"}),
            json!({"non_field_errors": ["Unable to log in with provided credentials."]}),
        ),
        (
            json!({"username": "nobody", "password": "s3cret"}),
            json!({"non_field_errors": ["Unable to log in with provided credentials."]}),
        ),
        (
            json!({}),
            json!({"username": ["This field is required."], "password": ["This field is required."]}),
        ),
        (
            json!({"username": "admin"}),
            json!({"password": ["This field is required."]}),
        ),
        (
            json!({"username": "admin", "password": ""}),
            json!({"password": ["This field may not be blank."]}),
        ),
    ];
    for (body, expected) in cases {
        let r = s.call("POST", "/v1/auth/login/", None, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.json, expected, "{body}");
    }
}

#[tokio::test]
async fn a_user_changes_their_own_password() {
    let s = TestServer::start().await;
    s.user("admin").await;
    let t = s.user("newuser").await;

    let r = s
        .post(
            "/v1/auth/passwd",
            &t,
            json!({"password": "wrong", "new_password": "password2"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"detail": "Current password does not match"}));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(login(&s, "newuser", "s3cret").await.status, 200);

    let r = s
        .post(
            "/v1/auth/passwd/",
            &t,
            json!({"password": "s3cret", "new_password": "password2"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json, json!({"status": "password set"}));
    assert_eq!(login(&s, "newuser", "s3cret").await.status, 400);
    assert_eq!(login(&s, "newuser", "password2").await.status, 200);
    // The token is unchanged.
    assert_eq!(s.get("/v1/", &t).await.status, 200);
}

#[tokio::test]
async fn passwd_checks_the_target_and_the_fields() {
    let s = TestServer::start().await;
    let admin = s.user("admin").await;
    let bob = s.user("bob").await;
    s.user("carol").await;

    // An admin changes another user's password without knowing it.
    let r = s
        .post(
            "/v1/auth/passwd",
            &admin,
            json!({"username": "carol", "new_password": "reset"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(login(&s, "carol", "reset").await.status, 200);

    let r = s
        .post(
            "/v1/auth/passwd",
            &bob,
            json!({"username": "carol", "password": "reset", "new_password": "mine"}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json, json!({"detail": FORBIDDEN}));
    assert_eq!(login(&s, "carol", "reset").await.status, 200);

    let r = s
        .post(
            "/v1/auth/passwd",
            &admin,
            json!({"username": "ghost", "new_password": "x"}),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json, json!({"detail": "Not found"}));

    let r = s.post("/v1/auth/passwd", &bob, json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"password": ["This field is required."], "new_password": ["This field is required."]})
    );
    let r = s
        .post("/v1/auth/passwd", &bob, json!({"password": "s3cret"}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"new_password": ["This field is required."]}));
    // An empty new password would lock the account for good.
    let r = s
        .post(
            "/v1/auth/passwd",
            &bob,
            json!({"password": "s3cret", "new_password": ""}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"new_password": ["This field may not be blank."]})
    );
    assert_eq!(login(&s, "bob", "s3cret").await.status, 200);

    let r = s
        .call(
            "POST",
            "/v1/auth/passwd",
            None,
            json!({"password": "a", "new_password": "b"}),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn cancel_deletes_the_account() {
    let s = TestServer::start().await;
    let admin = s.user("admin").await;
    let t = s.user("newuser").await;
    let r = s.delete("/v1/auth/cancel", &t).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    assert_eq!(r.header("content-type"), None);
    let r = s.get("/v1/", &t).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json, json!({"detail": "Invalid token"}));
    assert_eq!(login(&s, "newuser", "s3cret").await.status, 400);
    assert_eq!(user_count(&s, &admin).await, 1);
    let r = s
        .call("DELETE", "/v1/auth/cancel/", None, Value::Null)
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn cancel_is_refused_while_the_user_owns_apps() {
    let s = TestServer::start().await;
    let admin = s.user("admin").await;
    let bob = s.user("bob").await;
    s.app(&bob, "bobapp").await;
    let r = s.delete("/v1/auth/cancel", &bob).await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json,
        json!({"detail": "bob still has applications assigned. Delete or transfer ownership"})
    );
    assert_eq!(s.get("/v1/apps/bobapp", &bob).await.status, 200);
    assert_eq!(user_count(&s, &admin).await, 2);

    assert_eq!(s.delete("/v1/apps/bobapp", &bob).await.status, 204);
    assert_eq!(s.delete("/v1/auth/cancel", &bob).await.status, 204);
}

#[tokio::test]
async fn a_collaborator_who_cancels_leaves_the_other_app_intact() {
    let s = TestServer::start().await;
    let admin = s.user("admin").await;
    let bob = s.user("bob").await;
    let carol = s.user("carol").await;
    s.app(&bob, "shared").await;
    let r = s
        .post("/v1/apps/shared/perms", &bob, json!({"username": "carol"}))
        .await;
    assert_eq!(r.status, 201);
    let r = s
        .post(
            "/v1/apps/shared/config",
            &carol,
            json!({"values": {"FROM_CAROL": "1"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = s
        .post(
            "/v1/apps/shared/domains",
            &carol,
            json!({"domain": "carol.example.com"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    assert_eq!(s.delete("/v1/auth/cancel", &carol).await.status, 204);

    assert_eq!(s.release_count(&bob, "shared").await, 2);
    let r = s.get("/v1/apps/shared/releases/v2", &bob).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["summary"], "carol added FROM_CAROL");
    assert_eq!(r.json["owner"], "carol");
    let r = s.get("/v1/apps/shared/config", &bob).await;
    assert_eq!(r.json["values"], json!({"FROM_CAROL": "1"}));
    let r = s.get("/v1/apps/shared/domains", &bob).await;
    assert_eq!(r.json["count"], 1);
    let r = s.get("/v1/apps/shared/perms", &bob).await;
    assert_eq!(r.json, json!({"users": []}));
    assert_eq!(user_count(&s, &admin).await, 2);
}

#[tokio::test]
async fn only_superusers_list_users() {
    let s = TestServer::start().await;
    let admin = s.user("autotest").await;
    let t2 = s.user("autotest2").await;
    for path in ["/v1/users/", "/v1/users"] {
        let r = s.get(path, &admin).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json["count"], 2);
        assert_eq!(r.json["results"][0]["username"], "autotest");
        assert_eq!(r.json["results"][1]["username"], "autotest2");
        assert!(r.json["results"][0].get("password").is_none());
        let r = s.get(path, &t2).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.json, json!({"detail": FORBIDDEN}));
    }
    assert_eq!(
        s.call("GET", "/v1/users/", None, Value::Null).await.status,
        401
    );
}

#[tokio::test]
async fn admin_permissions_are_granted_listed_and_revoked() {
    let s = TestServer::start().await;
    let first = s.user("firstuser").await;
    let second = s.user("second").await;

    let r = s.get("/v1/admin/perms", &first).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["count"], 1);
    assert_eq!(
        r.json["results"][0],
        json!({"username": "firstuser", "is_superuser": true})
    );

    let r = s.get("/v1/admin/perms", &second).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json, json!({"detail": FORBIDDEN}));
    let r = s
        .post("/v1/admin/perms", &second, json!({"username": "second"}))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(s.get("/v1/users/", &second).await.status, 403);

    let r = s
        .post("/v1/admin/perms", &first, json!({"username": "ghost"}))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json, json!({"detail": "Not found"}));
    let r = s.post("/v1/admin/perms", &first, json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"username": ["This field is required."]}));
    assert_eq!(s.get("/v1/admin/perms", &first).await.json["count"], 1);

    let r = s
        .post("/v1/admin/perms", &first, json!({"username": "second"}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.text, "");
    assert_eq!(r.header("content-type"), None);
    // Granting twice is idempotent.
    let r = s
        .post("/v1/admin/perms/", &first, json!({"username": "second"}))
        .await;
    assert_eq!(r.status, 201);
    let r = s.get("/v1/admin/perms", &first).await;
    assert_eq!(r.json["count"], 2);
    assert_eq!(r.json["results"][1]["username"], "second");
    assert_eq!(s.get("/v1/users/", &second).await.status, 200);

    let r = s.delete("/v1/admin/perms/ghost", &first).await;
    assert_eq!(r.status, 404);
    let r = s.delete("/v1/admin/perms/second", &first).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    let r = s.get("/v1/admin/perms", &first).await;
    assert_eq!(r.json["count"], 1);
    assert_eq!(s.get("/v1/users/", &second).await.status, 403);
    let r = s.get("/v1/admin/perms/second", &first).await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn usernames_may_hold_dots_at_signs_and_pluses() {
    let s = TestServer::start().await;
    let admin = s.user("admin").await;
    let r = register(
        &s,
        None,
        json!({"username": "john.doe+x@box", "password": "pw", "email": "john@example.com"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let odd = login(&s, "john.doe+x@box", "pw").await.json["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.app(&admin, "shop").await;
    let r = s
        .post(
            "/v1/apps/shop/perms",
            &admin,
            json!({"username": "john.doe+x@box"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(s.get("/v1/apps/shop", &odd).await.status, 200);
    let r = s.get("/v1/apps/shop/perms", &admin).await;
    assert_eq!(r.json, json!({"users": ["john.doe+x@box"]}));
    let r = s.delete("/v1/apps/shop/perms/john.doe+x@box", &admin).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(s.get("/v1/apps/shop", &odd).await.status, 403);

    let r = s
        .post(
            "/v1/admin/perms",
            &admin,
            json!({"username": "john.doe+x@box"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = s.delete("/v1/admin/perms/john.doe+x@box", &admin).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = s
        .post(
            "/v1/auth/passwd",
            &admin,
            json!({"username": "john.doe+x@box", "new_password": "n"}),
        )
        .await;
    assert_eq!(r.status, 200);
}

/// Ten registrations at once on a fresh server: every one is a 201 and exactly one user
/// is the administrator (not a 500 "database is locked" for those that lost the race).
#[tokio::test]
async fn concurrent_registrations_all_succeed_with_one_admin() {
    let s = TestServer::start().await;
    let answers = futures::future::join_all((0..10).map(|i| {
        register(
            &s,
            None,
            json!({"username": format!("racer{i}"), "password": "pw", "email": format!("r{i}@example.com")}),
        )
    }))
    .await;
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let admins = answers
        .iter()
        .filter(|r| r.json["is_superuser"] == true)
        .count();
    assert_eq!(admins, 1);
}

/// Usernames are ASCII (`\w` of the original's Python 2): `jürgen` used to register, and
/// then could be granted an app or admin rights that no DELETE could revoke, since the
/// routes that name users match ASCII only (`/perms/jürgen` looked up `j`).
#[tokio::test]
async fn non_ascii_usernames_are_refused() {
    let s = TestServer::start().await;
    s.user("admin").await;
    for name in ["jürgen", "e\u{301}", "名前"] {
        let r = register(
            &s,
            None,
            json!({"username": name, "password": "pw", "email": "j@example.com"}),
        )
        .await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        assert_eq!(r.json, json!({"username": ["Enter a valid username."]}));
    }
}
