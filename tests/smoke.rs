mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn a_registered_user_creates_and_lists_an_app() {
    let s = TestServer::start().await;
    let t = s.user("alice").await;
    s.app(&t, "shop").await;
    let r = s.get("/v1/apps", &t).await;
    assert_eq!(r.json["count"], 1);
    assert_eq!(r.json["results"][0]["url"], "shop.coxswain.test");
    let r = s
        .post("/v1/apps/shop/config", &t, json!({"values": "{\"A\": 1}"}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("deis-release"), Some("2"));
    assert_eq!(r.json["values"]["A"], "1");
}
