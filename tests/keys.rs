//! `/v1/keys` against the real server.
//!
//! | test | spec |
//! |---|---|
//! | a_superuser_adds_lists_shows_and_deletes_an_rsa_key | B.12 #121, §3.10.2–3.10.4 |
//! | an_ordinary_user_manages_an_ecdsa_key | B.12 #121/#122, §9 item 25 |
//! | an_ed25519_key_is_accepted | §3.10.3, §9 item 27 |
//! | the_fingerprint_of_the_suite_key_is_the_known_one | B.12 #125 |
//! | a_key_is_represented_with_the_original_fields_in_order | B.12 #126, §3.10.1, §1.11 |
//! | a_badly_padded_key_is_refused_with_incorrect_padding | B.12 #123, §9 item 27 |
//! | malformed_keys_are_refused_and_nothing_is_stored | §9 item 27 |
//! | a_key_without_id_is_refused | B.12 #126 |
//! | a_blank_or_too_long_id_is_refused | §3.10.3 |
//! | a_key_without_public_is_refused | §3.10.3 |
//! | the_same_key_text_twice_is_refused | §3.10.3 (test_key duplicate) |
//! | the_same_key_text_of_another_user_is_refused | §3.10.3 (global uniqueness) |
//! | a_duplicate_key_with_another_comment_is_refused | §9 item 26 |
//! | another_users_key_is_not_found_even_for_a_superuser | §1.5, §3.10.4 |
//! | a_trailing_slash_is_not_part_of_the_key_id | §9 item 28 |
//! | an_ambiguous_key_id_returns_the_newest | §9 item 14 |
//! | keys_need_a_user | §1.4 |
//! | a_key_id_no_url_can_name_is_refused | §3.10.3–3.10.4, §9 item 28 |

mod common;

use common::TestServer;
use serde_json::{json, Value};

const SUITE_RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCfQkkUUoxpvcNMkvv7jqnfodgs37M2eBO\
    APgLK+KNBMaZaaKB4GF1QhTCMfFhoiTW3rqa0J75bHJcdkoobtTHlK8XUrFqsquWyg3XhsT\
    Yr/3RQQXvO86e2sF7SVDJqVtpnbQGc5SgNrHCeHJmf5HTbXSIjCO/AJSvIjnituT/SIAMGe\
    Bw0Nq/iSltwYAek1hiKO7wSmLcIQ8U4A00KEUtalaumf2aHOcfjgPfzlbZGP0S0cuBwSqLr\
    8b5XGPmkASNdUiuJY4MJOce7bFU14B7oMAy2xacODUs1momUeYtGI9T7X2WMowJaO7tP3Gl\
    sgBMP81VfYTfYChAyJpKp2yoP autotest@autotesting comment";

const SUITE_RSA2: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC4xELdubosJ2/bQuiSUyWclVVa71pXpmq\
    aXTwfau/XFLgD5yE+TOFbVT22xvEr4AwZqS9w0TBMp4RLfi4pTdjoIK+lau2lDMuEpbF4xg\
    PWAveAqKuLcKJbJrZQdo5VWn5//7+M1RHQCPqjeN2iS9I3C8yiPg3mMPT2mKuyZYB9VD3hK\
    mhT4xRAsS6vfKZr7CmFHgAmRBqdaU1RetR5nfTj0R5yyAv7Z2BkE8UhUAseFZ0djBs6kzjs\
    5ddgM4Gv2Zajs7qVvpVPzZpq3vFB16Q5TMj2YtoYF6UZFFf4u/4KAW8xfYJAFdpNsvh279s\
    dJS08nTeElUg6pn83A3hqWX+J testing";

const SUITE_ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAAB\
    BBCGB0x9lmubbLJTF5NekCI0Cgjyip6jJh/t/qQQi1LAZisbREBJ8Wy+hwSn3tnbf/Imh9X\
    +MQnrrza0jaQ3QUAQ= autotest@autotesting comment";

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBP7tUF9jAqoTsoLWwikROF2hlltDDYx/RoWndD2Y7VX dev@box";

async fn count(s: &TestServer, token: &str) -> u64 {
    let r = s.get("/v1/keys", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["count"].as_u64().unwrap()
}

async fn add(s: &TestServer, token: &str, id: &str, public: &str) -> common::Resp {
    s.post("/v1/keys", token, json!({ "id": id, "public": public }))
        .await
}

async fn manage_key(s: &TestServer, token: &str, public: &str) {
    let r = add(s, token, "mykey@box.local", public).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = s.get("/v1/keys", token).await;
    assert_eq!(r.json["results"].as_array().unwrap().len(), 1);
    let r = s.get("/v1/keys/mykey@box.local", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["id"], "mykey@box.local");
    assert_eq!(r.json["public"], public);
    let r = s.delete("/v1/keys/mykey@box.local", token).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(count(s, token).await, 0);
}

#[tokio::test]
async fn a_superuser_adds_lists_shows_and_deletes_an_rsa_key() {
    let s = TestServer::start().await;
    let admin = s.user("autotest").await;
    manage_key(&s, &admin, SUITE_RSA).await;
}

#[tokio::test]
async fn an_ordinary_user_manages_an_ecdsa_key() {
    let s = TestServer::start().await;
    s.user("autotest").await;
    let t2 = s.user("autotest2").await;
    manage_key(&s, &t2, SUITE_ECDSA).await;
    manage_key(&s, &t2, SUITE_RSA).await;
}

#[tokio::test]
async fn an_ed25519_key_is_accepted() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let r = add(&s, &t, "ed", ED25519).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json["fingerprint"],
        "f6:c1:54:55:33:fa:8e:58:44:9d:b2:59:e0:f9:a2:d3"
    );
}

#[tokio::test]
async fn the_fingerprint_of_the_suite_key_is_the_known_one() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let r = add(&s, &t, "mykey@box.local", SUITE_RSA).await;
    assert_eq!(
        r.json["fingerprint"],
        "54:6d:da:1f:91:b5:2b:6f:a2:83:90:c4:f9:73:76:f5"
    );
}

#[tokio::test]
async fn a_key_is_represented_with_the_original_fields_in_order() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let r = add(&s, &t, "mykey@box.local", SUITE_RSA).await;
    let keys: Vec<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "uuid",
            "owner",
            "fingerprint",
            "created",
            "updated",
            "id",
            "public"
        ]
    );
    // The raw text keeps the order on the wire, too.
    assert!(r.text.starts_with("{\"uuid\":"), "{}", r.text);
    assert_eq!(r.json["owner"], "autotest");
    assert_eq!(r.json["uuid"].as_str().unwrap().len(), 36);
    let created = r.json["created"].as_str().unwrap();
    assert!(created.ends_with("UTC") && created.len() == 22, "{created}");
}

#[tokio::test]
async fn a_badly_padded_key_is_refused_with_incorrect_padding() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let r = add(&s, &t, "mykey@box.local", "ssh-rsa foo_bar").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"public": ["Incorrect padding"]}));
    assert_eq!(count(&s, &t).await, 0);
}

#[tokio::test]
async fn malformed_keys_are_refused_and_nothing_is_stored() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let data = SUITE_RSA.split_whitespace().nth(1).unwrap();
    let truncated = format!("ssh-rsa {}", &data[..data.len() - 8]);
    let cases: [(&str, &str); 6] = [
        ("ssh-rsa", "Not an SSH public key: expected \"<key type> <base64 key data> [comment]\"."),
        ("ssh-rsa AAAA*AAA", "The key data is not valid base64 (character '*' at position 4)."),
        ("ssh-rsa AAAA", "The key data is not a valid ssh-rsa key (length invalid)."),
        (&truncated, ""),
        ("ssh-foo AAAA", "Unsupported key type \"ssh-foo\": use one of ssh-rsa, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-ed25519."),
        (
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBP7tUF9jAqoTsoLWwikROF2hlltDDYx/RoWndD2Y7VX",
            "The key data does not hold a ssh-rsa key.",
        ),
    ];
    for (public, message) in cases {
        let r = add(&s, &t, "bad", public).await;
        assert_eq!(r.status, 400, "{public}: {}", r.text);
        let messages = r.json["public"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{}", r.text);
        if !message.is_empty() {
            assert_eq!(messages[0], message, "{public}");
        } else {
            let m = messages[0].as_str().unwrap();
            assert!(
                m.starts_with("Incorrect padding") || m.starts_with("The key data"),
                "{m}"
            );
        }
    }
    assert_eq!(count(&s, &t).await, 0);
}

#[tokio::test]
async fn a_key_without_id_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let r = s.post("/v1/keys", &t, json!({ "public": SUITE_RSA })).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"id": ["This field is required."]}));
    assert_eq!(count(&s, &t).await, 0);
}

#[tokio::test]
async fn a_blank_or_too_long_id_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let r = add(&s, &t, "  ", SUITE_RSA).await;
    assert_eq!(r.json, json!({"id": ["This field may not be blank."]}));
    let r = add(&s, &t, &"x".repeat(129), SUITE_RSA).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"id": ["Ensure this field has no more than 128 characters."]})
    );
    assert_eq!(count(&s, &t).await, 0);
    let r = add(&s, &t, &"x".repeat(128), SUITE_RSA).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn a_key_without_public_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    let r = s.post("/v1/keys", &t, json!({ "id": "k" })).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"public": ["This field is required."]}));
    let r = s.post("/v1/keys", &t, json!({})).await;
    assert_eq!(
        r.json,
        json!({"id": ["This field is required."], "public": ["This field is required."]})
    );
    assert_eq!(count(&s, &t).await, 0);
}

#[tokio::test]
async fn the_same_key_text_twice_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    assert_eq!(add(&s, &t, "mykey@box.local", SUITE_RSA).await.status, 201);
    for id in ["mykey@box.local", "mykey2@box.local"] {
        let r = add(&s, &t, id, SUITE_RSA).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json, json!({"public": ["This field must be unique."]}));
    }
    assert_eq!(
        add(&s, &t, "mykey2@box.local", SUITE_RSA2).await.status,
        201
    );
    assert_eq!(count(&s, &t).await, 2);
}

#[tokio::test]
async fn the_same_key_text_of_another_user_is_refused() {
    let s = TestServer::start().await;
    let t1 = s.user("autotest").await;
    let t2 = s.user("autotest2").await;
    assert_eq!(add(&s, &t1, "k", SUITE_RSA).await.status, 201);
    let r = add(&s, &t2, "k", SUITE_RSA).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"public": ["This field must be unique."]}));
    assert_eq!(count(&s, &t2).await, 0);
}

#[tokio::test]
async fn a_duplicate_key_with_another_comment_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    assert_eq!(add(&s, &t, "k1", SUITE_RSA).await.status, 201);
    let data = SUITE_RSA.split_whitespace().nth(1).unwrap();
    for other in [format!("ssh-rsa {data}"), format!("ssh-rsa {data} laptop")] {
        let r = add(&s, &t, "k2", &other).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.json, json!({"public": ["This field must be unique."]}));
    }
    assert_eq!(count(&s, &t).await, 1);
}

#[tokio::test]
async fn another_users_key_is_not_found_even_for_a_superuser() {
    let s = TestServer::start().await;
    let admin = s.user("autotest").await;
    let t2 = s.user("autotest2").await;
    assert_eq!(add(&s, &t2, "theirs", SUITE_ECDSA).await.status, 201);

    for token in [&admin] {
        assert_eq!(count(&s, token).await, 0);
        let r = s.get("/v1/keys/theirs", token).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json, json!({"detail": "Not found"}));
        let r = s.delete("/v1/keys/theirs", token).await;
        assert_eq!(r.status, 404);
    }
    assert_eq!(add(&s, &admin, "mine", SUITE_RSA).await.status, 201);
    assert_eq!(s.get("/v1/keys/mine", &t2).await.status, 404);
    assert_eq!(s.delete("/v1/keys/mine", &t2).await.status, 404);
    assert_eq!(count(&s, &t2).await, 1);
    assert_eq!(count(&s, &admin).await, 1);
}

#[tokio::test]
async fn a_trailing_slash_is_not_part_of_the_key_id() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    assert_eq!(add(&s, &t, "a@b", SUITE_RSA).await.status, 201);
    let r = s.get("/v1/keys/a@b/", &t).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.delete("/v1/keys/a@b/", &t).await.status, 204);
}

#[tokio::test]
async fn an_ambiguous_key_id_returns_the_newest() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    assert_eq!(add(&s, &t, "same", SUITE_RSA).await.status, 201);
    assert_eq!(add(&s, &t, "same", SUITE_ECDSA).await.status, 201);
    let r = s.get("/v1/keys/same", &t).await;
    assert_eq!(r.json["public"], SUITE_ECDSA);
    assert_eq!(s.delete("/v1/keys/same", &t).await.status, 204);
    let r = s.get("/v1/keys/same", &t).await;
    assert_eq!(r.json["public"], SUITE_RSA);
}

#[tokio::test]
async fn keys_need_a_user() {
    let s = TestServer::start().await;
    for (method, path) in [
        ("GET", "/v1/keys"),
        ("POST", "/v1/keys"),
        ("GET", "/v1/keys/x"),
    ] {
        let r = s.call(method, path, None, Value::Null).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.json,
            json!({"detail": "Authentication credentials were not provided."})
        );
    }
}

/// A key id that `/v1/keys/{id}` cannot name (a line break, a trailing slash) is refused:
/// such a key used to be stored (201) and could then never be shown or deleted, its key
/// material taken for good.
#[tokio::test]
async fn a_key_id_no_url_can_name_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    for id in ["a\nb", "mykey/", "a\n"] {
        let r = add(&s, &t, id, SUITE_RSA).await;
        assert_eq!(r.status, 400, "{id:?}: {}", r.text);
        assert!(r.json["id"][0].is_string(), "{id:?}: {}", r.text);
    }
    assert_eq!(s.get("/v1/keys", &t).await.json["count"], 0);
    // An id with a slash inside is still fine.
    assert_eq!(add(&s, &t, "a/b", SUITE_RSA).await.status, 201);
    assert_eq!(s.delete("/v1/keys/a/b", &t).await.status, 204);
}
