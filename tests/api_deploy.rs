//! Builds, config, releases, scale, restart, logs and run against real processes.
//!
//! | test | spec |
//! |---|---|
//! | a_directory_build_runs_web_1_and_the_router_serves_it | §3.5.3, §4.4, B.6 #60–61, #65, #69 |
//! | an_archive_build_is_served_too | §3.5.3, DESIGN local scheduler |
//! | an_image_reference_is_refused_and_changes_nothing | DESIGN local scheduler |
//! | scaling_numbers_containers_like_the_spec | §4.5, §3.7, B.9 #89, #100 |
//! | scale_errors_are_refused_and_change_nothing | §3.3.8, §9.15–16, B.9 #93, #95 |
//! | a_config_change_recreates_the_containers_with_the_new_values | §3.4.3, §4.4, B.8 #77, #88, B.9 #91 |
//! | invalid_config_is_refused_and_changes_nothing | §3.4.3, §9.10, §9.15, §9.45, B.8 #84, #86 |
//! | config_values_are_coerced_to_strings_and_cpu_to_integers | §9.9 |
//! | deis_app_and_release_appear_in_the_post_only_with_a_build | §3.4.3, §9.39 |
//! | release_summaries_say_what_changed | §4.2, §9.12, B.13 #128, #130 |
//! | rollback_restores_the_old_config_in_the_running_containers | §3.6.4, §4.3, §9.11, §9.14–15 |
//! | builds_and_releases_are_looked_up_exactly | §3.5.4, §3.6.3, §9.13–14, B.13 #127 |
//! | a_new_build_prunes_process_types_it_no_longer_has | §3.5.3, §9.18, B.9 #98 |
//! | restart_answers_the_restarted_containers | §3.7.2, §4.7, §9.31, B.9 #99 |
//! | logs_hold_controller_events_and_process_output | §3.3.6, §4.8, §4.10, B.4 #45–49 |
//! | run_answers_exit_code_and_output | §3.3.7, §4.9, B.4 #44 |
//! | a_procfile_that_is_not_a_regular_file_is_refused_promptly | DESIGN local scheduler |
//! | procfile_process_types_are_validated_like_posted_ones | DESIGN local scheduler |
//! | an_image_on_a_kernel_filesystem_is_refused | DESIGN local scheduler |
//! | an_image_inside_the_controllers_builds_or_logs_is_refused | DESIGN local scheduler |
//! | a_config_value_with_a_nul_is_refused_and_the_app_keeps_serving | §3.4.3, §4.4 |

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{eventually, ps, python_app, TestServer};
use serde_json::{json, Value};

/// A web process that answers every GET with its environment as JSON, and a worker.
const ENV_SERVER: &str = r#"
import http.server, json, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(dict(os.environ)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
print("env server on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

const WORKER: &str = "sh -c 'while true; do sleep 1; done'";

fn env_app(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.py"), ENV_SERVER).unwrap();
    std::fs::write(
        dir.join("Procfile"),
        format!("web: python3 server.py\nworker: {WORKER}\n"),
    )
    .unwrap();
    dir
}

/// The environment the app's web process shows through the router.
async fn routed_env(s: &TestServer, host: &str) -> Value {
    let r = s.wait_routed(host, Duration::from_secs(10)).await;
    assert_eq!(r.status, 200, "{host}: {}", r.text);
    r.json
}

/// Variables python3 (or a pyenv shim in front of it) sets for itself.
fn is_python_own(name: &str) -> bool {
    name == "LC_CTYPE" || name.starts_with("PYENV") || name.starts_with("_PYENV")
}

async fn structure(s: &TestServer, t: &str, app: &str) -> Value {
    s.get(&format!("/v1/apps/{app}"), t).await.json["structure"].clone()
}

async fn config(s: &TestServer, t: &str, app: &str) -> Value {
    s.get(&format!("/v1/apps/{app}/config"), t).await.json
}

#[tokio::test]
async fn a_directory_build_runs_web_1_and_the_router_serves_it() {
    let s = TestServer::start().await;
    let t = s.user("autotest").await;
    s.app(&t, "shop").await;
    let dir = python_app(s.data.path(), "hello from shop");
    let image = dir.to_str().unwrap();

    assert_eq!(s.get("/v1/apps/shop/builds", &t).await.json["count"], 0);
    let r = s.build(&t, "shop", json!({ "image": image })).await;
    assert_eq!(r.header("deis-release"), Some("2"));
    assert_eq!(r.header("x-deis-release"), Some("2"));
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
            "owner",
            "app",
            "image",
            "sha",
            "procfile",
            "dockerfile",
            "created",
            "updated",
            "uuid"
        ]
    );
    assert_eq!(r.json["owner"], "autotest");
    assert_eq!(r.json["app"], "shop");
    assert_eq!(r.json["image"], image);
    assert_eq!(r.json["sha"], "");
    // The procfile is the one the build's Procfile declares.
    assert_eq!(
        r.json["procfile"],
        json!({"web": "python3 -m http.server $PORT --bind 127.0.0.1"})
    );
    assert_eq!(r.json["dockerfile"], "");

    let containers = s.containers(&t, "shop").await;
    assert_eq!(ps(&containers), ["web.1 up"]);
    let c = &containers[0];
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        ["owner", "app", "release", "type", "num", "state", "created", "updated", "uuid"]
    );
    assert_eq!(c["release"], "v2");
    assert_eq!(c["owner"], "autotest");
    assert_eq!(structure(&s, &t, "shop").await, json!({"web": 1}));

    let r = s.route("shop.coxswain.test", "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "hello from shop");
    // Port and case of the Host do not matter.
    let r = s.route("SHOP.coxswain.test:8080", "/").await;
    assert_eq!(r.text, "hello from shop");

    let r = s.get("/v1/apps/shop/releases/v2", &t).await;
    assert_eq!(r.json["summary"], format!("autotest deployed {image}"));

    // A second build makes v3 and moves web.1 onto it.
    let r = s
        .build(&t, "shop", json!({ "image": image, "sha": "a".repeat(40) }))
        .await;
    assert_eq!(r.header("deis-release"), Some("3"));
    let r = s.get("/v1/apps/shop/releases/v3", &t).await;
    assert_eq!(r.json["summary"], "autotest deployed aaaaaaa");
    let containers = s.containers(&t, "shop").await;
    assert_eq!(ps(&containers), ["web.1 up"]);
    assert_eq!(containers[0]["release"], "v3");
    let r = s
        .wait_routed("shop.coxswain.test", Duration::from_secs(5))
        .await;
    assert_eq!(r.text, "hello from shop");
}

#[tokio::test]
async fn an_archive_build_is_served_too() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "tgz").await;
    let dir = python_app(s.data.path(), "packed");
    let archive = s.data.path().join("app.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&dir)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    s.build(&t, "tgz", json!({"image": archive.to_str().unwrap()}))
        .await;
    assert_eq!(ps(&s.containers(&t, "tgz").await), ["web.1 up"]);
    let r = s
        .wait_routed("tgz.coxswain.test", Duration::from_secs(10))
        .await;
    assert_eq!(r.text, "packed");
}

#[tokio::test]
async fn an_image_reference_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    for image in ["deis/example-go:latest", "relative/dir", "/does/not/exist"] {
        let r = s
            .post("/v1/apps/shop/builds", &t, json!({ "image": image }))
            .await;
        assert_eq!(r.status, 400, "{image}: {}", r.text);
        let message = r.json["image"][0].as_str().unwrap_or_else(|| {
            r.json["detail"]
                .as_str()
                .unwrap_or_else(|| panic!("{image}: {}", r.text))
        });
        if image == "deis/example-go:latest" {
            assert!(
                message.contains("the local scheduler runs directories and .tar.gz/.tgz archives"),
                "{message}"
            );
        }
    }
    for (body, expected) in [
        (json!({}), json!({"image": ["This field is required."]})),
        (
            json!({"image": ""}),
            json!({"image": ["This field may not be blank."]}),
        ),
    ] {
        let r = s.post("/v1/apps/shop/builds", &t, body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json, expected, "{body}");
    }
    assert_eq!(s.get("/v1/apps/shop/builds", &t).await.json["count"], 0);
    assert_eq!(s.release_count(&t, "shop").await, 1);
    assert!(s.containers(&t, "shop").await.is_empty());
    let r = s
        .call("PUT", "/v1/apps/shop/builds", Some(&t), json!({}))
        .await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn scaling_numbers_containers_like_the_spec() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let dir = env_app(s.data.path(), "envapp");
    s.build(&t, "shop", json!({"image": dir.to_str().unwrap()}))
        .await;

    let r = s.post("/v1/apps/shop/scale", &t, json!({"web": 4})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.text, "");
    let r = s
        .post("/v1/apps/shop/scale/", &t, json!({"worker": "2"}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let containers = s.containers(&t, "shop").await;
    assert_eq!(
        ps(&containers),
        [
            "web.1 up",
            "web.2 up",
            "web.3 up",
            "web.4 up",
            "worker.1 up",
            "worker.2 up"
        ]
    );
    assert_eq!(
        structure(&s, &t, "shop").await,
        json!({"web": 4, "worker": 2})
    );
    // Oldest first.
    let created: Vec<&str> = containers
        .iter()
        .map(|c| c["created"].as_str().unwrap())
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted);
    let r = s.get("/v1/apps/shop/containers/web", &t).await;
    assert_eq!(r.json["count"], 4);
    let r = s.get("/v1/apps/shop/containers/web/3", &t).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["num"], 3);
    assert_eq!(r.json["type"], "web");
    for path in ["web/9", "web/x", "nope/1"] {
        let r = s.get(&format!("/v1/apps/shop/containers/{path}"), &t).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json, json!({"detail": "Not found"}));
    }
    let r = s.get("/v1/apps/shop/containers/nope", &t).await;
    assert_eq!(r.json["count"], 0);

    let r = s
        .post("/v1/apps/shop/scale", &t, json!({"web": 2, "worker": 1.7}))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        ps(&s.containers(&t, "shop").await),
        ["web.1 up", "web.2 up", "worker.1 up"]
    );
    assert_eq!(
        structure(&s, &t, "shop").await,
        json!({"web": 2, "worker": 1})
    );
    let r = s.post("/v1/apps/shop/scale", &t, json!({"web": 3})).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        ps(&s.containers(&t, "shop").await),
        ["web.1 up", "web.2 up", "web.3 up", "worker.1 up"]
    );
    // Every web container serves.
    let r = s
        .wait_routed("shop.coxswain.test", Duration::from_secs(5))
        .await;
    assert_eq!(r.status, 200);

    let r = s.post("/v1/apps/shop/scale", &t, json!({})).await;
    assert_eq!(r.status, 204);
    let r = s
        .post(
            "/v1/apps/shop/scale",
            &t,
            json!({"web": 0, "worker": false}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(s.containers(&t, "shop").await.is_empty());
    assert_eq!(
        structure(&s, &t, "shop").await,
        json!({"web": 0, "worker": 0})
    );
    let r = s.route("shop.coxswain.test", "/").await;
    assert_eq!(r.status, 503);
    // Scaling makes no release.
    assert_eq!(s.release_count(&t, "shop").await, 2);
}

#[tokio::test]
async fn scale_errors_are_refused_and_change_nothing() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let r = s.post("/v1/apps/shop/scale", &t, json!({"web": "1"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"detail": "No build associated with this release"})
    );
    let dir = env_app(s.data.path(), "envapp");
    s.build(&t, "shop", json!({"image": dir.to_str().unwrap()}))
        .await;
    let before = ps(&s.containers(&t, "shop").await);
    assert_eq!(before, ["web.1 up"]);

    let cases = [
        (
            json!({"web": -1}),
            json!({"detail": "Must be greater than or equal to zero"}),
        ),
        (
            json!({"web": "one"}),
            json!({"detail": "Invalid scaling format: invalid literal for int() with base 10: 'one'"}),
        ),
        (
            json!({"web": [1]}),
            json!({"detail": "Invalid scaling format: int() argument must be a string or a number, not 'list'"}),
        ),
        (
            json!({"web": null}),
            json!({"detail": "Invalid scaling format: int() argument must be a string or a number, not 'NoneType'"}),
        ),
        (
            json!({"web": {}}),
            json!({"detail": "Invalid scaling format: int() argument must be a string or a number, not 'dict'"}),
        ),
        (
            json!({"db": 1}),
            json!({"detail": "Container type db does not exist in application"}),
        ),
        (
            json!({"web": 2, "db": 1}),
            json!({"detail": "Container type db does not exist in application"}),
        ),
        (
            json!([1]),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ),
    ];
    for (body, expected) in cases {
        let r = s.post("/v1/apps/shop/scale", &t, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.json, expected, "{body}");
        assert_eq!(ps(&s.containers(&t, "shop").await), before, "{body}");
        assert_eq!(structure(&s, &t, "shop").await, json!({"web": 1}), "{body}");
    }
    let r = s.post("/v1/apps/shop/scale", &t, json!({"web": 1})).await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn a_config_change_recreates_the_containers_with_the_new_values() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let dir = env_app(s.data.path(), "envapp");
    s.build(&t, "shop", json!({"image": dir.to_str().unwrap()}))
        .await;
    let env = routed_env(&s, "shop.coxswain.test").await;
    assert_eq!(env["DEIS_APP"], "shop");
    assert_eq!(env["DEIS_RELEASE"], "v2");
    assert!(env.get("FOO").is_none());
    let mut names: Vec<&str> = env
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    names.sort();
    // Nothing of the controller's own environment leaks in (python may add a few of its own).
    for name in names.iter().filter(|n| !is_python_own(n)) {
        assert!(
            [
                "DEIS_APP",
                "DEIS_RELEASE",
                "PATH",
                "PORT",
                "PWD",
                "SHLVL",
                "_"
            ]
            .contains(name),
            "unexpected {name} in {names:?}"
        );
    }

    let r = s
        .post(
            "/v1/apps/shop/config",
            &t,
            json!({"values": "{\"FOO\": \"bar\"}"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("deis-release"), Some("3"));
    assert_eq!(r.header("x-deis-release"), Some("3"));
    let containers = s.containers(&t, "shop").await;
    assert_eq!(ps(&containers), ["web.1 up"]);
    assert_eq!(containers[0]["release"], "v3");
    let env = routed_env(&s, "shop.coxswain.test").await;
    assert_eq!(env["FOO"], "bar");
    assert_eq!(env["DEIS_RELEASE"], "v3");
    let c = config(&s, &t, "shop").await;
    assert_eq!(c["values"], json!({"FOO": "bar"}));

    let r = s
        .post(
            "/v1/apps/shop/config",
            &t,
            json!({"values": {"FOO": null, "GONE": null}}),
        )
        .await;
    assert_eq!(r.status, 201);
    let env = routed_env(&s, "shop.coxswain.test").await;
    assert!(env.get("FOO").is_none(), "{env}");
    assert_eq!(env["DEIS_RELEASE"], "v4");
    assert_eq!(config(&s, &t, "shop").await["values"], json!({}));
    assert_eq!(s.release_count(&t, "shop").await, 4);

    // An empty change is still a release, and the containers move to it.
    let r = s.post("/v1/apps/shop/config", &t, json!({})).await;
    assert_eq!(r.status, 201);
    assert_eq!(s.containers(&t, "shop").await[0]["release"], "v5");
    let r = s
        .call("POST", "/v1/apps/shop/config", Some(&t), Value::Null)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("deis-release"), Some("6"));
    for method in ["PUT", "PATCH", "DELETE"] {
        let r = s
            .call(method, "/v1/apps/shop/config", Some(&t), json!({}))
            .await;
        assert_eq!(r.status, 405, "{method}");
    }
}

#[tokio::test]
async fn invalid_config_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let r = s
        .post(
            "/v1/apps/shop/config",
            &t,
            json!({"values": {"KEEP": "1"}, "memory": {"web": "1G"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    let before = config(&s, &t, "shop").await;

    const LIMIT: &str = "Limit format: <number><unit>, where unit = B, K, M or G";
    const KEYS: &str =
        "Config keys must start with a letter or underscore and only contain [A-z0-9_]";
    let cases = [
        (
            json!({"memory": {"web": "20MK"}}),
            json!({"memory": [LIMIT]}),
        ),
        (
            json!({"memory": {"web": "20gK"}}),
            json!({"memory": [LIMIT]}),
        ),
        (json!({"memory": {"web": "1X"}}), json!({"memory": [LIMIT]})),
        (
            json!({"memory": {"web": "1G\n"}}),
            json!({"memory": [LIMIT]}),
        ),
        (
            json!({"memory": {"Web": "1G"}}),
            json!({"memory": ["Process types can only contain [a-z]"]}),
        ),
        (
            json!({"cpu": {"web": "-1"}}),
            json!({"cpu": ["CPU shares must be an integer"]}),
        ),
        (
            json!({"cpu": {"web": "x"}}),
            json!({"cpu": ["CPU shares must be an integer"]}),
        ),
        (
            json!({"cpu": {"web": 1025}}),
            json!({"cpu": ["CPU shares must be between 0 and 1024"]}),
        ),
        (
            json!({"cpu": {"1web": 5}}),
            json!({"cpu": ["Process types can only contain [a-z]"]}),
        ),
        (
            json!({"tags": {"valid": "in\nvalid"}}),
            json!({"tags": ["Invalid tag value"]}),
        ),
        (
            json!({"tags": {"env": "dev-1"}}),
            json!({"tags": ["Invalid tag value"]}),
        ),
        (
            json!({"tags": {"env": "dev\n"}}),
            json!({"tags": ["Invalid tag value"]}),
        ),
        (
            json!({"tags": {"in.valid": "valid"}}),
            json!({"tags": ["Tag keys can only contain [a-z]"]}),
        ),
        (json!({"values": {"1ABC": "x"}}), json!({"values": [KEYS]})),
        (
            json!({"values": {"MY KEY": "x"}}),
            json!({"values": [KEYS]}),
        ),
        (json!({"values": {"A-B": "x"}}), json!({"values": [KEYS]})),
        (
            json!({"values": "{not json"}),
            json!({"values": ["Value must be valid JSON."]}),
        ),
        (
            json!({"memory": "[1]"}),
            json!({"memory": ["Expected a dictionary of items but got type \"list\"."]}),
        ),
        (
            json!({"cpu": 5}),
            json!({"cpu": ["Expected a dictionary of items but got type \"int\"."]}),
        ),
        (
            json!({"tags": null}),
            json!({"tags": ["This field may not be null."]}),
        ),
        (
            json!({"memory": {"web": "20MK"}, "tags": {"env": "a b"}}),
            json!({"memory": [LIMIT], "tags": ["Invalid tag value"]}),
        ),
    ];
    for (body, expected) in cases {
        let r = s.post("/v1/apps/shop/config", &t, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.json, expected, "{body}");
    }
    assert_eq!(config(&s, &t, "shop").await, before);
    assert_eq!(s.release_count(&t, "shop").await, 2);

    for ok in ["20MB", "20gb", "512m", "1G", "7B"] {
        let r = s
            .post("/v1/apps/shop/config", &t, json!({"memory": {"web": ok}}))
            .await;
        assert_eq!(r.status, 201, "{ok}: {}", r.text);
    }
}

#[tokio::test]
async fn config_values_are_coerced_to_strings_and_cpu_to_integers() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let r = s
        .post(
            "/v1/apps/shop/config",
            &t,
            json!({
                "values": {"N": 1, "F": 1.5, "B": true, "S": "x", "O": {"a": 1}, "L": [1, 2]},
                "cpu": {"web": "1024", "worker": 512},
                "memory": {"web": "1G"},
                "tags": {"rack": 1}
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let expected_values =
        json!({"N": "1", "F": "1.5", "B": "true", "S": "x", "O": "{\"a\":1}", "L": "[1,2]"});
    assert_eq!(r.json["values"], expected_values);
    assert_eq!(r.json["cpu"], json!({"web": 1024, "worker": 512}));
    assert_eq!(r.json["tags"], json!({"rack": "1"}));
    let c = config(&s, &t, "shop").await;
    assert_eq!(c["values"], expected_values);
    assert_eq!(c["cpu"], json!({"web": 1024, "worker": 512}));
    assert_eq!(c["memory"], json!({"web": "1G"}));
    assert_eq!(c["tags"], json!({"rack": "1"}));
    assert_eq!(c["app"], "shop");
    assert_eq!(c["owner"], "admin");
    assert_eq!(c["uuid"], r.json["uuid"]);
}

#[tokio::test]
async fn deis_app_and_release_appear_in_the_post_only_with_a_build() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let r = s
        .post(
            "/v1/apps/shop/config",
            &t,
            json!({"values": {"PORT_X": "5000"}}),
        )
        .await;
    assert_eq!(r.json["values"], json!({"PORT_X": "5000"}));

    let dir = python_app(s.data.path(), "x");
    s.build(&t, "shop", json!({"image": dir.to_str().unwrap()}))
        .await;
    let r = s
        .post("/v1/apps/shop/config", &t, json!({"values": {"A": "1"}}))
        .await;
    assert_eq!(
        r.json["values"],
        json!({"PORT_X": "5000", "A": "1", "DEIS_APP": "shop", "DEIS_RELEASE": "v4"})
    );
    assert_eq!(
        config(&s, &t, "shop").await["values"],
        json!({"PORT_X": "5000", "A": "1"})
    );
}

#[tokio::test]
async fn release_summaries_say_what_changed() {
    let s = TestServer::start().await;
    let t = s.user("bob").await;
    s.app(&t, "shop").await;
    let steps = [
        (json!({"values": {"FOO": "1"}}), "bob added FOO"),
        (
            json!({"values": {"N": "1", "BAZ": "2"}}),
            "bob added BAZ, N",
        ),
        (json!({"values": {"FOO": "2"}}), "bob changed FOO"),
        (json!({"values": {"FOO": null}}), "bob deleted FOO"),
        (
            json!({"values": {"N": "9", "NEW": "x", "BAZ": null}}),
            "bob added NEW, changed N, deleted BAZ",
        ),
        (json!({}), "bob changed nothing"),
        (json!({"values": {"NEW": "x"}}), "bob changed nothing"),
        (
            json!({"memory": {"web": "1G"}}),
            "bob changed limits for memory",
        ),
        (json!({"cpu": {"web": 5}}), "bob changed limits for cpu"),
        (
            json!({"memory": {"web": "2G"}, "cpu": {"web": 6}}),
            "bob changed limits for memory, cpu",
        ),
        (json!({"tags": {"env": "dev"}}), "bob added tag env"),
        (json!({"tags": {"env": "prod"}}), "bob changed tag env"),
        (json!({"tags": {"env": null}}), "bob deleted tag env"),
        (
            json!({"values": {"NEWV": "1"}, "memory": {"web": "3G"}, "tags": {"rack": "a"}}),
            "bob added NEWV and bob changed limits for memory and bob added tag rack",
        ),
    ];
    for (i, (body, summary)) in steps.iter().enumerate() {
        let r = s.post("/v1/apps/shop/config", &t, body.clone()).await;
        assert_eq!(r.status, 201, "{body}: {}", r.text);
        let version = i + 2;
        let r = s
            .get(&format!("/v1/apps/shop/releases/v{version}"), &t)
            .await;
        assert_eq!(r.json["summary"], *summary, "{body}");
    }
    let r = s.get("/v1/apps/shop/releases/v2", &t).await;
    let keys: Vec<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        ["uuid", "app", "owner", "created", "updated", "version", "summary", "config", "build"]
    );
    let log = s.get("/v1/apps/shop/logs", &t).await;
    assert!(log
        .json
        .as_str()
        .unwrap()
        .contains("deis[api]: bob deleted tag env\n"));
}

#[tokio::test]
async fn rollback_restores_the_old_config_in_the_running_containers() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;

    let r = s
        .post("/v1/apps/shop/releases/rollback", &t, json!({}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"detail": "version cannot be below 0"}));

    let dir = env_app(s.data.path(), "envapp");
    s.build(&t, "shop", json!({"image": dir.to_str().unwrap()}))
        .await; // v2
    for value in ["one", "two"] {
        let r = s
            .post(
                "/v1/apps/shop/config",
                &t,
                json!({"values": {"FOO": value}}),
            )
            .await;
        assert_eq!(r.status, 201);
    } // v3 FOO=one, v4 FOO=two
    assert_eq!(routed_env(&s, "shop.coxswain.test").await["FOO"], "two");

    let refused = [
        (
            json!({"version": -1}),
            400,
            json!({"detail": "version cannot be below 0"}),
        ),
        (json!({"version": 99}), 404, json!({"detail": "Not found"})),
        (
            json!({"version": "x"}),
            400,
            json!({"version": ["A valid integer is required."]}),
        ),
    ];
    for (body, status, expected) in refused {
        let r = s
            .post("/v1/apps/shop/releases/rollback", &t, body.clone())
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        if body["version"] != "x" {
            assert_eq!(r.json, expected, "{body}");
        } else {
            assert!(r.json.is_object(), "{body}: {}", r.text);
        }
    }
    assert_eq!(s.release_count(&t, "shop").await, 4);

    // Default: the previous release.
    let r = s
        .post("/v1/apps/shop/releases/rollback/", &t, json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, r#"{"version":5}"#);
    assert_eq!(r.header("deis-release"), None);
    let env = routed_env(&s, "shop.coxswain.test").await;
    assert_eq!(env["FOO"], "one");
    assert_eq!(env["DEIS_RELEASE"], "v5");
    assert_eq!(
        config(&s, &t, "shop").await["values"],
        json!({"FOO": "one"})
    );
    let v5 = s.get("/v1/apps/shop/releases/v5", &t).await.json;
    let v3 = s.get("/v1/apps/shop/releases/v3", &t).await.json;
    assert_eq!(v5["summary"], "admin rolled back to v3");
    assert_eq!(v5["config"], v3["config"]);
    assert_eq!(v5["build"], v3["build"]);

    // Explicit version, as a string too.
    let r = s
        .post(
            "/v1/apps/shop/releases/rollback",
            &t,
            json!({"version": "2"}),
        )
        .await;
    assert_eq!(r.json, json!({"version": 6}));
    let env = routed_env(&s, "shop.coxswain.test").await;
    assert!(env.get("FOO").is_none(), "{env}");
    assert_eq!(s.containers(&t, "shop").await[0]["release"], "v6");

    // The next change merges onto the release's config, not the newest config row.
    let r = s
        .post("/v1/apps/shop/config", &t, json!({"values": {"BAR": "1"}}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(config(&s, &t, "shop").await["values"], json!({"BAR": "1"}));
}

#[tokio::test]
async fn builds_and_releases_are_looked_up_exactly() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let r = s
        .post(
            "/v1/apps/shop/config",
            &t,
            json!({"values": {"NEW_URL1": "x"}}),
        )
        .await;
    let config_uuid = r.json["uuid"].clone();
    let dir = python_app(s.data.path(), "x");
    let image = dir.to_str().unwrap();
    let first = s.build(&t, "shop", json!({ "image": image })).await.json;
    let second = s
        .build(&t, "shop", json!({ "image": image, "sha": "b".repeat(40) }))
        .await
        .json;
    assert_ne!(first["uuid"], second["uuid"]);

    let r = s.get("/v1/apps/shop/builds", &t).await;
    assert_eq!(r.json["count"], 2);
    assert_eq!(r.json["results"][0]["uuid"], second["uuid"]);
    let r = s
        .get(
            &format!("/v1/apps/shop/builds/{}", first["uuid"].as_str().unwrap()),
            &t,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json, first);
    for uuid in ["00000000-0000-0000-0000-000000000000", "nope"] {
        let r = s.get(&format!("/v1/apps/shop/builds/{uuid}"), &t).await;
        assert_eq!(r.status, 404, "{uuid}");
        assert_eq!(r.json, json!({"detail": "Not found"}));
    }

    let r = s.get("/v1/apps/shop/releases", &t).await;
    assert_eq!(r.json["count"], 4);
    let versions: Vec<i64> = r.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [4, 3, 2, 1]);
    let v1 = s.get("/v1/apps/shop/releases/v1", &t).await.json;
    let v2 = s.get("/v1/apps/shop/releases/v2", &t).await.json;
    let v3 = s.get("/v1/apps/shop/releases/v3", &t).await.json;
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["build"], Value::Null);
    assert_eq!(v2["build"], Value::Null);
    assert_ne!(v1["config"], v2["config"]);
    assert_eq!(v2["config"], config_uuid);
    assert_eq!(v2["summary"], "admin added NEW_URL1");
    assert_eq!(v3["build"], first["uuid"]);
    assert_eq!(v3["config"], v2["config"]);
    for path in ["v5", "v0", "v99999999999999999999"] {
        let r = s.get(&format!("/v1/apps/shop/releases/{path}"), &t).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json, json!({"detail": "Not found"}));
    }
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let r = s
            .call(method, "/v1/apps/shop/releases", Some(&t), json!({}))
            .await;
        assert_eq!(r.status, 405, "{method}");
    }
}

#[tokio::test]
async fn a_new_build_prunes_process_types_it_no_longer_has() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let dir = env_app(s.data.path(), "envapp");
    let image = dir.to_str().unwrap();
    let r = s
        .post("/v1/apps/shop/builds", &t, json!({ "image": image }))
        .await;
    if r.status != 201 {
        panic!(
            "{}",
            std::fs::read_to_string(s.data.path().join("logs/shop.log")).unwrap()
        );
    }
    let r = s
        .post("/v1/apps/shop/scale", &t, json!({"web": 2, "worker": 2}))
        .await;
    assert_eq!(r.status, 204);

    let r = s
        .post(
            "/v1/apps/shop/builds",
            &t,
            json!({"image": image, "procfile": {"web": "python3 server.py"}}),
        )
        .await;
    if r.status != 201 {
        panic!(
            "{}",
            std::fs::read_to_string(s.data.path().join("logs/shop.log")).unwrap()
        );
    }
    assert_eq!(
        ps(&s.containers(&t, "shop").await),
        ["web.1 up", "web.2 up"]
    );
    assert_eq!(structure(&s, &t, "shop").await, json!({"web": 2}));
    let r = s
        .post("/v1/apps/shop/scale", &t, json!({"worker": 1}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"detail": "Container type worker does not exist in application"})
    );

    // A build with only a worker removes the web containers; the router has none left,
    // and the app is not scaled to a default again.
    s.build(
        &t,
        "shop",
        json!({"image": image, "procfile": {"worker": WORKER}}),
    )
    .await;
    assert!(s.containers(&t, "shop").await.is_empty());
    assert_eq!(
        s.get("/v1/apps/shop/containers/web", &t).await.json["count"],
        0
    );
    let r = s.route("shop.coxswain.test", "/").await;
    assert_eq!(r.status, 503);
}

#[tokio::test]
async fn restart_answers_the_restarted_containers() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let dir = env_app(s.data.path(), "envapp");
    s.build(&t, "shop", json!({"image": dir.to_str().unwrap()}))
        .await;
    let r = s
        .post("/v1/apps/shop/scale", &t, json!({"web": 2, "worker": 2}))
        .await;
    assert_eq!(r.status, 204);
    let r = s
        .post("/v1/apps/shop/run", &t, json!({"command": "true"}))
        .await;
    assert_eq!(r.status, 200);

    let r = s
        .call(
            "POST",
            "/v1/apps/shop/containers/restart",
            Some(&t),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = r.json.as_array().expect("a plain array").clone();
    assert_eq!(
        ps(&all),
        ["web.1 up", "web.2 up", "worker.1 up", "worker.2 up"]
    );
    let r = s
        .call(
            "POST",
            "/v1/apps/shop/containers/worker/restart",
            Some(&t),
            Value::Null,
        )
        .await;
    assert_eq!(
        ps(r.json.as_array().unwrap()),
        ["worker.1 up", "worker.2 up"]
    );
    let r = s
        .call(
            "POST",
            "/v1/apps/shop/containers/web/2/restart/",
            Some(&t),
            Value::Null,
        )
        .await;
    assert_eq!(ps(r.json.as_array().unwrap()), ["web.2 up"]);
    for path in ["nope/restart", "web/7/restart", "web/x/restart"] {
        let r = s
            .call(
                "POST",
                &format!("/v1/apps/shop/containers/{path}"),
                Some(&t),
                Value::Null,
            )
            .await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.text, "[]", "{path}");
    }
    let r = s
        .wait_routed("shop.coxswain.test", Duration::from_secs(5))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(s.release_count(&t, "shop").await, 2);
}

#[tokio::test]
async fn logs_hold_controller_events_and_process_output() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let dir = env_app(s.data.path(), "envapp");
    s.build(&t, "shop", json!({"image": dir.to_str().unwrap()}))
        .await;

    let seen = eventually(Duration::from_secs(5), || async {
        let r = s.get("/v1/apps/shop/logs", &t).await;
        r.json
            .as_str()
            .is_some_and(|text| text.contains(" shop[web.1]: env server on "))
    })
    .await;
    assert!(seen, "process output reaches the app log");

    let r = s.get("/v1/apps/shop/logs", &t).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let text = r.json.as_str().unwrap().to_string();
    assert!(text.ends_with('\n'));
    assert!(
        text.contains("deis[api]: admin created initial release\n"),
        "{text}"
    );
    for line in text.lines() {
        let (ts, rest) = line.split_once(' ').unwrap();
        assert!(ts.ends_with("UTC") && ts.len() == 22, "{line}");
        assert!(
            rest.starts_with("deis[api]: ") || rest.starts_with("shop["),
            "{line}"
        );
    }

    let r = s.get("/v1/apps/shop/logs?log_lines=1", &t).await;
    let last = r.json.as_str().unwrap();
    assert_eq!(last.lines().count(), 1, "{last}");
    assert!(last.ends_with('\n'));
    let r = s.get("/v1/apps/shop/logs?log_lines=0", &t).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "\"\"");
    for bad in ["x", "-1"] {
        let r = s
            .get(&format!("/v1/apps/shop/logs?log_lines={bad}"), &t)
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(
            r.json,
            json!({"log_lines": ["A valid non-negative integer is required."]})
        );
    }
}

#[tokio::test]
async fn run_answers_exit_code_and_output() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let r = s
        .post("/v1/apps/shop/run", &t, json!({"command": "ls -al"}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"detail": "No build associated with this release to run this command"})
    );
    assert!(
        s.get("/v1/apps/shop/containers/run", &t).await.json["results"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let dir = env_app(s.data.path(), "envapp");
    s.build(&t, "shop", json!({"image": dir.to_str().unwrap()}))
        .await;
    let r = s
        .post(
            "/v1/apps/shop/config",
            &t,
            json!({"values": {"FOO": "it's"}}),
        )
        .await;
    assert_eq!(r.status, 201);

    let r = s
        .post("/v1/apps/shop/run", &t, json!({"command": "echo hi $FOO"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.json, json!([0, "hi it's\n"]));

    let r = s
        .post(
            "/v1/apps/shop/run",
            &t,
            json!({"command": "echo oops >&2; exit 3"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json, json!([3, "oops\n"]));

    // It runs in the build's directory with only the release's environment.
    let r = s
        .post(
            "/v1/apps/shop/run",
            &t,
            json!({"command": "ls server.py && env"}),
        )
        .await;
    assert_eq!(r.json[0], 0, "{}", r.text);
    let output = r.json[1].as_str().unwrap();
    let mut names: Vec<&str> = output
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    names.sort();
    for name in &names {
        assert!(
            [
                "DEIS_APP",
                "DEIS_RELEASE",
                "FOO",
                "PATH",
                "PORT",
                "PWD",
                "SHLVL",
                "_"
            ]
            .contains(name),
            "unexpected {name} in {output}"
        );
    }
    assert!(output.contains("DEIS_RELEASE=v3\n"), "{output}");
    assert!(output.contains("DEIS_APP=shop\n"), "{output}");

    let r = s.post("/v1/apps/shop/run", &t, json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json, json!({"command": ["This field is required."]}));

    // Each run is a `run` container, kept out of the default list and of the structure.
    let r = s.get("/v1/apps/shop/containers/run", &t).await;
    let runs = r.json["results"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[2]["num"], 3);
    assert_eq!(ps(&s.containers(&t, "shop").await), ["web.1 up"]);
    assert_eq!(structure(&s, &t, "shop").await, json!({"web": 1}));
    let log = s.get("/v1/apps/shop/logs", &t).await;
    assert!(log
        .json
        .as_str()
        .unwrap()
        .contains("deis[api]: admin runs 'echo hi $FOO'\n"));
    assert_eq!(s.release_count(&t, "shop").await, 3);
}

#[tokio::test]
async fn rolling_running_containers_back_to_a_release_without_a_build_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let r = s
        .post("/v1/apps/shop/config", &t, json!({"values": {"A": "1"}}))
        .await;
    assert_eq!(r.status, 201);
    let dir = tempfile::tempdir().unwrap();
    let app = python_app(dir.path(), "shop");
    let r = s
        .build(&t, "shop", json!({"image": app.display().to_string()}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    let r = s
        .post("/v1/apps/shop/releases/rollback", &t, json!({"version": 2}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"detail": "v2 has no build: the running containers cannot be rolled back to it"})
    );
    assert_eq!(s.release_count(&t, "shop").await, 3);
    let containers = s.containers(&t, "shop").await;
    assert_eq!(ps(&containers), ["web.1 up"]);
    assert_eq!(containers[0]["release"], "v3");
}

/// A build whose `Procfile` is a link to a FIFO (a read would block forever) or to a
/// device (a read would never end), or is a directory: 400 on `image`, promptly, and
/// nothing changes.
#[tokio::test]
async fn a_procfile_that_is_not_a_regular_file_is_refused_promptly() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let root = tempfile::tempdir().unwrap();
    let fifo = root.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (name, target) in [
        ("fifo", Some(fifo.clone())),
        ("dev", Some("/dev/null".into())),
        ("dir", None),
    ] {
        let dir = root.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        match target {
            Some(target) => std::os::unix::fs::symlink(target, dir.join("Procfile")).unwrap(),
            None => std::fs::create_dir(dir.join("Procfile")).unwrap(),
        }
        let post = s.post(
            "/v1/apps/shop/builds",
            &t,
            json!({ "image": dir.display().to_string() }),
        );
        let Ok(r) = tokio::time::timeout(Duration::from_secs(20), post).await else {
            // Release the server's blocked reader, so that the failure is reported.
            drop(std::fs::OpenOptions::new().write(true).open(&fifo));
            panic!("{name}: the build POST hangs");
        };
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        let message = r.json["image"][0].as_str().unwrap_or_default();
        assert!(message.contains("Procfile"), "{name}: {}", r.text);
    }
    assert_eq!(s.get("/v1/apps/shop/builds", &t).await.json["count"], 0);
    assert_eq!(s.release_count(&t, "shop").await, 1);
}

/// A Procfile's process types obey the rule of a posted procfile: `Web`, `web.x` or
/// `séance` in the file are refused with a 400 on `image`, not deployed as types that no
/// URL can name.
#[tokio::test]
async fn procfile_process_types_are_validated_like_posted_ones() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let root = tempfile::tempdir().unwrap();
    for bad in ["Web", "web.x", "séance"] {
        let dir = root.path().join(format!("app-{}", bad.len()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Procfile"), format!("{bad}: sleep 1000\n")).unwrap();
        let r = s
            .post(
                "/v1/apps/shop/builds",
                &t,
                json!({ "image": dir.display().to_string() }),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        let message = r.json["image"][0].as_str().unwrap_or_default();
        assert!(message.contains("[a-z0-9_-]"), "{bad}: {}", r.text);
    }
    assert_eq!(s.get("/v1/apps/shop/builds", &t).await.json["count"], 0);
    assert!(s.containers(&t, "shop").await.is_empty());
}

/// A directory image on proc or sysfs is refused with a 400 on `image`, quickly: files
/// there may never end (`/proc/self/pagemap` reads as gigabytes a second and would fill
/// the disk). The test uses finite directories only, so that a regression cannot do that.
#[tokio::test]
async fn an_image_on_a_kernel_filesystem_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    for image in ["/proc/sys", "/sys/class"] {
        if !Path::new(image).is_dir() {
            continue;
        }
        let post = s.post("/v1/apps/shop/builds", &t, json!({ "image": image }));
        let r = tokio::time::timeout(Duration::from_secs(20), post)
            .await
            .unwrap_or_else(|_| panic!("{image}: the build POST takes too long"));
        assert_eq!(r.status, 400, "{image}: {}", r.text);
        let message = r.json["image"][0].as_str().unwrap_or_default();
        assert!(message.contains("kernel filesystem"), "{image}: {}", r.text);
    }
    assert_eq!(s.get("/v1/apps/shop/builds", &t).await.json["count"], 0);
}

/// An image inside the controller's builds or logs is refused with a 400 on `image`:
/// an app's own builds directory used to copy itself into itself until the path was too
/// long (503), and another app's builds or the app logs are not the caller's to deploy.
#[tokio::test]
async fn an_image_inside_the_controllers_builds_or_logs_is_refused() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    s.app(&t, "other").await;
    let root = tempfile::tempdir().unwrap();
    let mut uuids = Vec::new();
    for app in ["shop", "other"] {
        let image = python_app(root.path(), app);
        let r = s
            .post(
                &format!("/v1/apps/{app}/builds"),
                &t,
                json!({ "image": image.display().to_string() }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        uuids.push(r.json["uuid"].as_str().unwrap().to_string());
    }
    let other_build = &uuids[1];
    let data = s.data.path();
    for image in [
        data.join("builds/shop"),
        data.join("builds/other"),
        data.join(format!("builds/other/{other_build}")),
        data.join("logs"),
    ] {
        let r = s
            .post(
                "/v1/apps/shop/builds",
                &t,
                json!({ "image": image.display().to_string() }),
            )
            .await;
        assert_eq!(r.status, 400, "{}: {}", image.display(), r.text);
        let message = r.json["image"][0].as_str().unwrap_or_default();
        assert!(message.contains("data directory"), "{}", r.text);
    }
    assert_eq!(s.get("/v1/apps/shop/builds", &t).await.json["count"], 1);
}

/// A config value holding a NUL can never be put in an environment: it is refused with
/// a 400 on `values`, and the running containers keep serving (it used to be a 201 that
/// replaced them with containers in `error`).
#[tokio::test]
async fn a_config_value_with_a_nul_is_refused_and_the_app_keeps_serving() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;
    let root = tempfile::tempdir().unwrap();
    let image = python_app(root.path(), "page");
    s.build(&t, "shop", json!({ "image": image.display().to_string() }))
        .await;
    let before = s.release_count(&t, "shop").await;
    for body in [
        json!({"values": {"K": "a\u{0}b"}}),
        json!({"values": "{\"K\": \"a\\u0000b\"}"}),
    ] {
        let r = s.post("/v1/apps/shop/config", &t, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(
            r.json,
            json!({"values": ["Config values cannot contain NUL characters"]})
        );
    }
    assert_eq!(s.release_count(&t, "shop").await, before);
    assert_eq!(ps(&s.containers(&t, "shop").await), ["web.1 up"]);
    let r = s
        .wait_routed("shop.coxswain.test", Duration::from_secs(5))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn config_values_too_large_for_a_process_environment_are_refused() {
    let s = TestServer::start().await;
    let t = s.user("admin").await;
    s.app(&t, "shop").await;

    let big = "x".repeat(70 * 1024);
    let r = s
        .post("/v1/apps/shop/config", &t, json!({"values": {"BIG": big}}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"values": ["Config values must be shorter than 65536 bytes"]})
    );

    // Each value fits, but together they would not: the ninth 60 KiB value is refused.
    let chunk = "y".repeat(60 * 1024);
    for i in 0..8 {
        let r = s
            .post(
                "/v1/apps/shop/config",
                &t,
                json!({"values": {format!("V{i}"): chunk}}),
            )
            .await;
        assert_eq!(r.status, 201, "value {i}: {}", r.text);
    }
    let r = s
        .post("/v1/apps/shop/config", &t, json!({"values": {"V8": chunk}}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"values": ["Config values may take at most 524288 bytes together"]})
    );
    assert_eq!(s.release_count(&t, "shop").await, 9);
}
