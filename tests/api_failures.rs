//! Scheduler failures, injected around the real local scheduler, and concurrent changes.
//!
//! | test | spec |
//! |---|---|
//! | failed_creates_abort_a_scale_and_leave_nothing_behind | §3.3.8, §4.5, §9.17, B.14 #134 |
//! | failed_starts_leave_crashed_containers_and_succeed | §4.4 step 3, B.14 #135 |
//! | failed_destroys_abort_a_scale_that_eventually_succeeds | §4.4 step 4, B.14 #137 |
//! | a_failed_build_deploy_keeps_the_old_release_serving | §3.5.3, §4.4, B.14 #138 |
//! | a_failed_config_deploy_keeps_the_old_release_serving | §3.4.3, §4.4, §9.11, B.14 #139 |
//! | a_failed_rollback_deploy_answers_503_and_leaves_no_release | §3.6.4, §9.19 |
//! | a_failed_run_answers_503_exit_code_1 | §3.3.7, B.14 #140 |
//! | concurrent_config_changes_get_unique_contiguous_versions | §4.1, §9.38, DESIGN |
//! | changes_racing_an_app_destroy_answer_404_not_500 | §3.3.5, DESIGN |

mod common;

use std::time::Duration;

use common::{ps, python_app, TestServer};
use coxswain::scheduler::faulty::Faults;
use serde_json::{json, Value};

const CREATE_FAILED: &str = "aborting, failed to create some containers";
const DESTROY_FAILED: &str = "aborting, failed to destroy some containers";
const WORKER: &str = "sh -c 'while true; do sleep 1; done'";

/// An app with a web process (a static page) and a cheap worker, deployed once.
async fn deployed(s: &TestServer, t: &str, app: &str, page: &str) -> String {
    s.app(t, app).await;
    let dir = python_app(s.data.path(), page);
    std::fs::write(
        dir.join("Procfile"),
        format!("web: python3 -m http.server $PORT --bind 127.0.0.1\nworker: {WORKER}\n"),
    )
    .unwrap();
    let image = dir.to_str().unwrap().to_string();
    s.build(t, app, json!({ "image": image })).await;
    image
}

fn states(containers: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = containers
        .iter()
        .map(|c| c["state"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[tokio::test]
async fn failed_creates_abort_a_scale_and_leave_nothing_behind() {
    let (s, faulty) = TestServer::start_faulty().await;
    let t = s.user("admin").await;
    deployed(&s, &t, "shop", "x").await;
    let r = s.post("/v1/apps/shop/scale", &t, json!({"web": 0})).await;
    assert_eq!(r.status, 204);

    faulty.set(Faults {
        create: 0.5,
        ..Default::default()
    });
    let r = s.post("/v1/apps/shop/scale", &t, json!({"web": 20})).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json, json!({ "detail": CREATE_FAILED }));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(s.containers(&t, "shop").await.is_empty());
    let r = s.get("/v1/apps/shop", &t).await;
    assert_eq!(r.json["structure"], json!({"web": 0}));
    let log = s.get("/v1/apps/shop/logs", &t).await;
    assert!(log.json.as_str().unwrap().contains(CREATE_FAILED));
}

#[tokio::test]
async fn failed_starts_leave_crashed_containers_and_succeed() {
    let (s, faulty) = TestServer::start_faulty().await;
    let t = s.user("admin").await;
    deployed(&s, &t, "shop", "x").await;
    faulty.set(Faults {
        start: 0.5,
        ..Default::default()
    });
    let r = s
        .post("/v1/apps/shop/scale", &t, json!({"worker": 20}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = s.get("/v1/apps/shop/containers/worker", &t).await;
    let workers = r.json["results"].as_array().unwrap().clone();
    assert_eq!(workers.len(), 20);
    assert_eq!(states(&workers), ["crashed", "up"]);
    assert_eq!(
        s.get("/v1/apps/shop", &t).await.json["structure"],
        json!({"web": 1, "worker": 20})
    );

    // A restart under the same faults still answers 200 with every container.
    faulty.set(Faults {
        start: 0.5,
        stop: 0.5,
        ..Default::default()
    });
    let r = s
        .call(
            "POST",
            "/v1/apps/shop/containers/worker/restart",
            Some(&t),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json.as_array().unwrap().len(), 20);

    faulty.set(Faults::default());
    let r = s
        .call(
            "POST",
            "/v1/apps/shop/containers/restart",
            Some(&t),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(states(r.json.as_array().unwrap()), ["up"]);
}

#[tokio::test]
async fn failed_destroys_abort_a_scale_that_eventually_succeeds() {
    let (s, faulty) = TestServer::start_faulty().await;
    let t = s.user("admin").await;
    deployed(&s, &t, "shop", "x").await;
    let r = s
        .post("/v1/apps/shop/scale", &t, json!({"worker": 10}))
        .await;
    assert_eq!(r.status, 204);

    faulty.set(Faults {
        destroy: 0.5,
        ..Default::default()
    });
    let r = s
        .post("/v1/apps/shop/scale", &t, json!({"worker": 0}))
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json, json!({ "detail": DESTROY_FAILED }));
    let r = s.get("/v1/apps/shop/containers/worker", &t).await;
    let left = r.json["results"].as_array().unwrap().clone();
    assert!(!left.is_empty());
    assert_eq!(states(&left), ["error"]);

    let mut tries = 0;
    loop {
        tries += 1;
        let r = s
            .post("/v1/apps/shop/scale", &t, json!({"worker": 0}))
            .await;
        if r.status == 204 {
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(tries < 40, "the scale never succeeded");
    }
    assert_eq!(ps(&s.containers(&t, "shop").await), ["web.1 up"]);
}

#[tokio::test]
async fn a_failed_build_deploy_keeps_the_old_release_serving() {
    let (s, faulty) = TestServer::start_faulty().await;
    let t = s.user("admin").await;
    let image = deployed(&s, &t, "shop", "old page").await;
    let r = s.post("/v1/apps/shop/scale", &t, json!({"web": 2})).await;
    assert_eq!(r.status, 204);

    faulty.set(Faults {
        create: 1.0,
        start: 0.5,
        ..Default::default()
    });
    let r = s
        .post(
            "/v1/apps/shop/builds",
            &t,
            json!({"image": image, "sha": "b".repeat(40)}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json, json!({ "detail": CREATE_FAILED }));
    assert_eq!(s.release_count(&t, "shop").await, 2);
    // The build row stays (spec §3.5.2: the list includes builds whose deploy failed).
    assert_eq!(s.get("/v1/apps/shop/builds", &t).await.json["count"], 2);
    let containers = s.containers(&t, "shop").await;
    assert_eq!(ps(&containers), ["web.1 up", "web.2 up"]);
    assert!(containers.iter().all(|c| c["release"] == "v2"));
    let r = s.route("shop.coxswain.test", "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "old page");

    // The next successful release takes the number the failed one would have had.
    faulty.set(Faults::default());
    let r = s.build(&t, "shop", json!({ "image": image })).await;
    assert_eq!(r.header("deis-release"), Some("3"));
}

#[tokio::test]
async fn a_failed_config_deploy_keeps_the_old_release_serving() {
    let (s, faulty) = TestServer::start_faulty().await;
    let t = s.user("admin").await;
    deployed(&s, &t, "shop", "old page").await;
    let before = s.get("/v1/apps/shop/config", &t).await.json;

    faulty.set(Faults {
        create: 1.0,
        ..Default::default()
    });
    let r = s
        .post(
            "/v1/apps/shop/config",
            &t,
            json!({"values": "{\"NEW_URL1\": \"http://localhost:8080/\"}"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json, json!({ "detail": CREATE_FAILED }));
    assert_eq!(r.header("deis-release"), None);
    assert_eq!(s.release_count(&t, "shop").await, 2);
    assert_eq!(s.get("/v1/apps/shop/config", &t).await.json, before);
    let containers = s.containers(&t, "shop").await;
    assert_eq!(ps(&containers), ["web.1 up"]);
    assert_eq!(containers[0]["release"], "v2");
    let r = s.route("shop.coxswain.test", "/").await;
    assert_eq!(r.text, "old page");

    // The failed values do not leak into the next change.
    faulty.set(Faults::default());
    let r = s
        .post(
            "/v1/apps/shop/config",
            &t,
            json!({"values": {"OTHER": "1"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        s.get("/v1/apps/shop/config", &t).await.json["values"],
        json!({"OTHER": "1"})
    );
    let r = s.get("/v1/apps/shop/releases/v3", &t).await;
    assert_eq!(r.json["summary"], "admin added OTHER");
}

#[tokio::test]
async fn a_failed_rollback_deploy_answers_503_and_leaves_no_release() {
    let (s, faulty) = TestServer::start_faulty().await;
    let t = s.user("admin").await;
    deployed(&s, &t, "shop", "page").await;
    let r = s
        .post("/v1/apps/shop/config", &t, json!({"values": {"A": "1"}}))
        .await;
    assert_eq!(r.status, 201);
    faulty.set(Faults {
        create: 1.0,
        ..Default::default()
    });
    let r = s
        .post("/v1/apps/shop/releases/rollback", &t, json!({}))
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json, json!({ "detail": CREATE_FAILED }));
    assert_eq!(s.release_count(&t, "shop").await, 3);
    assert_eq!(
        s.get("/v1/apps/shop/config", &t).await.json["values"],
        json!({"A": "1"})
    );
    assert_eq!(ps(&s.containers(&t, "shop").await), ["web.1 up"]);
}

#[tokio::test]
async fn a_failed_run_answers_503_exit_code_1() {
    let (s, faulty) = TestServer::start_faulty().await;
    let t = s.user("admin").await;
    deployed(&s, &t, "shop", "page").await;
    faulty.set(Faults {
        create: 1.0,
        run: 1.0,
        ..Default::default()
    });
    let r = s
        .post("/v1/apps/shop/run", &t, json!({"command": "ls -al"}))
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json, json!({"detail": "exit code 1"}));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn concurrent_config_changes_get_unique_contiguous_versions() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    deployed(&s, &t, "shop", "page").await;
    s.app(&t, "bare").await;

    for app in ["shop", "bare"] {
        let before = s.release_count(&t, app).await;
        let posts = (0..10).map(|i| {
            let s = &s;
            let t = &t;
            async move {
                s.post(
                    &format!("/v1/apps/{app}/config"),
                    t,
                    json!({ "values": { format!("K{i}"): "v" } }),
                )
                .await
            }
        });
        let answers = futures::future::join_all(posts).await;
        let mut versions = Vec::new();
        for r in &answers {
            assert!(
                r.status == 201 || r.status == 409,
                "{app}: {} {}",
                r.status,
                r.text
            );
            if r.status == 201 {
                versions.push(r.header("deis-release").unwrap().parse::<u64>().unwrap());
            }
        }
        versions.sort();
        let expected: Vec<u64> = (before + 1..=before + versions.len() as u64).collect();
        assert_eq!(versions, expected, "{app}");
        assert_eq!(
            s.release_count(&t, app).await,
            before + versions.len() as u64
        );
    }
    assert_eq!(ps(&s.containers(&t, "shop").await), ["web.1 up"]);
    let r = s
        .wait_routed("shop.coxswain.test", Duration::from_secs(5))
        .await;
    assert_eq!(r.status, 200);
}

/// Changes that wait for the app while it is being destroyed answer 404 once it is gone,
/// not a 500 ("no rows returned" for the destroyed app's latest release).
#[tokio::test]
async fn changes_racing_an_app_destroy_answer_404_not_500() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    // A worker that ignores SIGTERM keeps the destroy busy (and the app locked) for the
    // stop grace period.
    let dir = python_app(s.data.path(), "page");
    std::fs::write(
        dir.join("Procfile"),
        "web: python3 -m http.server $PORT --bind 127.0.0.1\n\
         worker: trap '' TERM; while true; do sleep 1; done\n",
    )
    .unwrap();
    let image = dir.to_str().unwrap().to_string();
    s.build(&t, "shop", json!({ "image": image })).await;
    let r = s
        .post("/v1/apps/shop/scale", &t, json!({"worker": 1}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    let destroy = s.delete("/v1/apps/shop", &t);
    let changes = async {
        // Let the destroy take the app's lock first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        futures::future::join_all((0..6).map(|i| {
            let (s, t, image) = (&s, &t, &image);
            async move {
                match i % 3 {
                    0 => {
                        s.post("/v1/apps/shop/config", t, json!({"values": {"K": "v"}}))
                            .await
                    }
                    1 => s.post("/v1/apps/shop/scale", t, json!({"web": 1})).await,
                    _ => {
                        s.post("/v1/apps/shop/builds", t, json!({ "image": image }))
                            .await
                    }
                }
            }
        }))
        .await
    };
    let (destroyed, answers) = tokio::join!(destroy, changes);
    assert_eq!(destroyed.status, 204, "{}", destroyed.text);
    for r in &answers {
        assert!(
            [201, 204, 404].contains(&r.status.as_u16()),
            "{} {}",
            r.status,
            r.text
        );
    }
    assert_eq!(s.get("/v1/apps/shop", &t).await.status, 404);
}
