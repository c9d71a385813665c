//! `/v1/certs` against the real server. Certificates are made by `openssl` per test.
//!
//! | test | spec |
//! |---|---|
//! | a_certificate_with_its_key_is_added | B.7 #71, §3.11.3 |
//! | an_explicit_common_name_overrides_the_certificate_name | B.7 #72 |
//! | a_certificate_is_shown_with_its_expiry_in_the_deis_format | B.7 #73, §1.11, §9 item 8 |
//! | put_and_patch_are_not_allowed | B.7 #74 |
//! | certificates_are_deleted_by_common_name_including_wildcards | B.7 #75, §9 item 29 |
//! | the_name_comes_from_the_subject_alternative_name_without_a_cn | §3.11.3 |
//! | an_ec_certificate_is_accepted | §3.11.3 |
//! | a_bad_certificate_is_refused_and_nothing_is_stored | §3.11.3 |
//! | a_missing_or_blank_field_is_refused | §3.11.3 |
//! | a_key_that_is_not_the_certificates_is_refused | §9 item 29 (key validated) |
//! | a_garbage_key_is_refused | §9 item 29 |
//! | a_duplicate_explicit_common_name_is_refused | §3.11.3 |
//! | a_duplicate_derived_common_name_is_refused_not_a_500 | §9 item 29 |
//! | another_users_certificate_is_not_found_even_for_a_superuser | §1.5, §3.11.4, §9 item 14 |
//! | an_ordinary_user_lists_shows_and_deletes_their_certificate | §3.11.2–3.11.4 |
//! | the_key_and_certificate_are_never_returned | §3.11.1 |
//! | certificates_need_a_user | §1.4 |
//! | a_common_name_no_url_can_name_is_refused | §3.11.3–3.11.4 |

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::TestServer;
use serde_json::{json, Value};

/// A certificate and its key from `openssl req -x509` with extra arguments.
fn openssl(args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("k"), dir.path().join("c"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "30", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(args)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    (
        std::fs::read_to_string(cert).unwrap(),
        std::fs::read_to_string(key).unwrap(),
    )
}

fn rsa(cn: &str) -> (String, String) {
    openssl(&["-newkey", "rsa:2048", "-subj", &format!("/CN={cn}")])
}

/// The notAfter of a PEM certificate, in the Deis format, as openssl reads it.
fn openssl_expiry(cert: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path: &Path = &dir.path().join("c");
    std::fs::write(path, cert).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-in"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let date = text.trim().strip_prefix("notAfter=").unwrap();
    let parsed = chrono::NaiveDateTime::parse_from_str(date, "%b %e %H:%M:%S %Y GMT").unwrap();
    parsed.format("%Y-%m-%dT%H:%M:%SUTC").to_string()
}

async fn count(s: &TestServer, token: &str) -> u64 {
    let r = s.get("/v1/certs", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["count"].as_u64().unwrap()
}

async fn add(s: &TestServer, token: &str, body: Value) -> common::Resp {
    s.post("/v1/certs", token, body).await
}

#[tokio::test]
async fn a_certificate_with_its_key_is_added() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = rsa("autotest.example.com");
    let r = add(&s, &t, json!({"certificate": cert, "key": key})).await;
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
            "id",
            "owner",
            "expires",
            "created",
            "updated",
            "common_name"
        ]
    );
    assert_eq!(r.json["common_name"], "autotest.example.com");
    assert_eq!(r.json["owner"], "autotest");
    assert!(r.json["id"].is_i64());
    // The create response has the zone suffix too (the original's lacked it).
    assert_eq!(r.json["expires"], openssl_expiry(&cert));
    assert_eq!(count(&s, &t).await, 1);
}

#[tokio::test]
async fn an_explicit_common_name_overrides_the_certificate_name() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = rsa("autotest.example.com");
    let body = json!({"certificate": cert, "key": key, "common_name": "foo.example.com"});
    let r = add(&s, &t, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["common_name"], "foo.example.com");
    assert_eq!(s.get("/v1/certs/foo.example.com", &t).await.status, 200);
    assert_eq!(
        s.get("/v1/certs/autotest.example.com", &t).await.status,
        404
    );
}

#[tokio::test]
async fn a_certificate_is_shown_with_its_expiry_in_the_deis_format() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = rsa("autotest.example.com");
    assert_eq!(
        add(&s, &t, json!({"certificate": cert, "key": key}))
            .await
            .status,
        201
    );
    let r = s.get("/v1/certs/autotest.example.com", &t).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["common_name"], "autotest.example.com");
    assert_eq!(r.json["expires"], openssl_expiry(&cert));
    assert!(r.json["expires"].as_str().unwrap().ends_with("UTC"));
}

#[tokio::test]
async fn put_and_patch_are_not_allowed() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    for method in ["PUT", "PATCH"] {
        let r = s.call(method, "/v1/certs", Some(&t), json!({})).await;
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(
            r.json,
            json!({"detail": format!("Method '{method}' not allowed.")})
        );
    }
}

#[tokio::test]
async fn certificates_are_deleted_by_common_name_including_wildcards() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    for cn in ["autotest.example.com", "*.example.com"] {
        let (cert, key) = rsa(cn);
        let r = add(&s, &t, json!({"certificate": cert, "key": key})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["common_name"], cn);
    }
    assert_eq!(s.get("/v1/certs/*.example.com", &t).await.status, 200);
    assert_eq!(
        s.delete("/v1/certs/autotest.example.com", &t).await.status,
        204
    );
    assert_eq!(s.delete("/v1/certs/*.example.com", &t).await.status, 204);
    assert_eq!(count(&s, &t).await, 0);
    assert_eq!(s.get("/v1/certs/*.example.com", &t).await.status, 404);
}

#[tokio::test]
async fn the_name_comes_from_the_subject_alternative_name_without_a_cn() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = openssl(&[
        "-newkey",
        "rsa:2048",
        "-subj",
        "/",
        "-addext",
        "subjectAltName=DNS:san.example.com,DNS:other.example.com",
    ]);
    let r = add(&s, &t, json!({"certificate": cert, "key": key})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["common_name"], "san.example.com");
}

#[tokio::test]
async fn an_ec_certificate_is_accepted() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = openssl(&[
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-subj",
        "/CN=ec.example.com",
    ]);
    let r = add(&s, &t, json!({"certificate": cert, "key": key})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["common_name"], "ec.example.com");
}

#[tokio::test]
async fn a_bad_certificate_is_refused_and_nothing_is_stored() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = rsa("a.example.com");
    let truncated = cert.replace(&cert[100..200], "");
    for (bad, message) in [
        (
            "garbage".to_string(),
            "Could not load certificate: no PEM block (\"-----BEGIN ...-----\") found",
        ),
        (
            key.clone(),
            "Could not load certificate: expected a CERTIFICATE PEM block, found PRIVATE KEY",
        ),
        (truncated, ""),
    ] {
        let r = add(&s, &t, json!({"certificate": bad, "key": key})).await;
        assert_eq!(r.status, 400, "{}", r.text);
        let fields: Vec<&str> = r
            .json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, ["certificate"], "{}", r.text);
        let got = r.json["certificate"][0].as_str().unwrap();
        if message.is_empty() {
            assert!(got.starts_with("Could not load certificate: "), "{got}");
        } else {
            assert_eq!(got, message);
        }
    }
    assert_eq!(count(&s, &t).await, 0);
}

#[tokio::test]
async fn a_missing_or_blank_field_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = rsa("a.example.com");
    let r = add(&s, &t, json!({})).await;
    assert_eq!(
        r.json,
        json!({"certificate": ["This field is required."], "key": ["This field is required."]})
    );
    let r = add(&s, &t, json!({"certificate": cert})).await;
    assert_eq!(r.json, json!({"key": ["This field is required."]}));
    let r = add(&s, &t, json!({"certificate": cert, "key": "  "})).await;
    assert_eq!(r.json, json!({"key": ["This field may not be blank."]}));
    let r = add(
        &s,
        &t,
        json!({"certificate": cert, "key": key, "common_name": ""}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"common_name": ["This field may not be blank."]})
    );
    assert_eq!(count(&s, &t).await, 0);
}

#[tokio::test]
async fn a_key_that_is_not_the_certificates_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, _) = rsa("a.example.com");
    let (_, other_key) = rsa("b.example.com");
    let r = add(&s, &t, json!({"certificate": cert, "key": other_key})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"key": ["The private key does not belong to the certificate."]})
    );
    assert_eq!(count(&s, &t).await, 0);
}

#[tokio::test]
async fn a_garbage_key_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, _) = rsa("a.example.com");
    let r = add(&s, &t, json!({"certificate": cert, "key": "not a key"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"key": ["Could not load private key: no PEM block (\"-----BEGIN ...-----\") found"]})
    );
    let r = add(&s, &t, json!({"certificate": cert, "key": cert})).await;
    assert_eq!(
        r.json,
        json!({"key": ["Could not load private key: expected a PRIVATE KEY PEM block, found CERTIFICATE"]})
    );
    assert_eq!(count(&s, &t).await, 0);
}

#[tokio::test]
async fn a_duplicate_explicit_common_name_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let t2 = s.user("autotest2").await;
    let (cert, key) = rsa("a.example.com");
    assert_eq!(
        add(&s, &t, json!({"certificate": cert, "key": key}))
            .await
            .status,
        201
    );
    let (cert2, key2) = rsa("b.example.com");
    let body = json!({"certificate": cert2, "key": key2, "common_name": "a.example.com"});
    for token in [&t, &t2] {
        let r = add(&s, token, body.clone()).await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json,
            json!({"common_name": ["This field must be unique."]})
        );
    }
    assert_eq!(count(&s, &t).await, 1);
    assert_eq!(count(&s, &t2).await, 0);
}

#[tokio::test]
async fn a_duplicate_derived_common_name_is_refused_not_a_500() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = rsa("a.example.com");
    assert_eq!(
        add(&s, &t, json!({"certificate": cert, "key": key}))
            .await
            .status,
        201
    );
    let (again, again_key) = rsa("a.example.com");
    let r = add(&s, &t, json!({"certificate": again, "key": again_key})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"common_name": ["This field must be unique."]})
    );
    assert_eq!(count(&s, &t).await, 1);
}

#[tokio::test]
async fn another_users_certificate_is_not_found_even_for_a_superuser() {
    let s = TestServer::start().await;
    let admin = s.user("autotest").await;
    let t2 = s.user("autotest2").await;
    let (cert, key) = rsa("theirs.example.com");
    assert_eq!(
        add(&s, &t2, json!({"certificate": cert, "key": key}))
            .await
            .status,
        201
    );
    assert_eq!(count(&s, &admin).await, 0);
    let r = s.get("/v1/certs/theirs.example.com", &admin).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json, json!({"detail": "Not found"}));
    assert_eq!(
        s.delete("/v1/certs/theirs.example.com", &admin)
            .await
            .status,
        404
    );
    assert_eq!(
        s.get("/v1/certs/nothing.example.com", &t2).await.status,
        404
    );
    assert_eq!(count(&s, &t2).await, 1);
}

#[tokio::test]
async fn an_ordinary_user_lists_shows_and_deletes_their_certificate() {
    let s = TestServer::start().await;
    s.user("autotest").await;
    let t2 = s.user("autotest2").await;
    let (cert, key) = rsa("mine.example.com");
    assert_eq!(
        add(&s, &t2, json!({"certificate": cert, "key": key}))
            .await
            .status,
        201
    );
    let r = s.get("/v1/certs", &t2).await;
    assert_eq!(r.json["count"], 1);
    assert_eq!(r.json["results"][0]["common_name"], "mine.example.com");
    assert_eq!(s.get("/v1/certs/mine.example.com/", &t2).await.status, 200);
    assert_eq!(
        s.delete("/v1/certs/mine.example.com", &t2).await.status,
        204
    );
    assert_eq!(count(&s, &t2).await, 0);
}

#[tokio::test]
async fn the_key_and_certificate_are_never_returned() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = rsa("a.example.com");
    let created = add(&s, &t, json!({"certificate": cert, "key": key})).await;
    let shown = s.get("/v1/certs/a.example.com", &t).await;
    let listed = s.get("/v1/certs", &t).await;
    for r in [created, shown, listed] {
        assert!(!r.text.contains("BEGIN"), "{}", r.text);
        assert!(!r.text.contains("\"key\""), "{}", r.text);
    }
}

#[tokio::test]
async fn certificates_need_a_user() {
    let s = TestServer::start().await;
    for (method, path) in [
        ("GET", "/v1/certs"),
        ("POST", "/v1/certs"),
        ("GET", "/v1/certs/a"),
    ] {
        let r = s.call(method, path, None, Value::Null).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.json,
            json!({"detail": "Authentication credentials were not provided."})
        );
    }
}

/// A common name the certificate routes cannot name (`a/b`, `a b`, non-ASCII, from the
/// body or from the certificate) is refused: such a certificate used to be stored (201)
/// and then could never be shown or deleted (404 or 405), its name taken for good.
#[tokio::test]
async fn a_common_name_no_url_can_name_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let (cert, key) = rsa("autotest.example.com");
    for name in ["a/b", "a b", "é.example.com", "x\u{0}"] {
        let body = json!({"certificate": cert, "key": key, "common_name": name});
        let r = add(&s, &t, body).await;
        assert_eq!(r.status, 400, "{name:?}: {}", r.text);
        assert!(r.json["common_name"][0].is_string(), "{}", r.text);
    }
    let (cert, key) = openssl(&["-newkey", "rsa:2048", "-utf8", "-subj", "/CN=é.example.com"]);
    let r = add(&s, &t, json!({"certificate": cert, "key": key})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.json["common_name"][0].is_string(), "{}", r.text);
    assert_eq!(count(&s, &t).await, 0);
}
