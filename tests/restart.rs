//! The real `coxswain serve` binary: restarts keep apps running, bad configuration stops it.
//!
//! | test | spec |
//! |---|---|
//! | a_terminated_controller_stops_its_apps_and_restores_them_on_start | DESIGN restart, §4.4 |
//! | a_killed_controller_takes_its_apps_along_and_restores_them_once | DESIGN restart |
//! | the_app_processes_die_with_a_killed_controller | DESIGN restart (PDEATHSIG) |
//! | bad_configuration_exits_2_with_one_line | DESIGN command line |

mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::python_app;
use serde_json::{json, Value};

struct Controller {
    child: Child,
    api: String,
    router: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data: &Path, api_port: u16, router_port: u16) -> Controller {
    let child = Command::new(env!("CARGO_BIN_EXE_coxswain"))
        .args(["serve", "--domain", "coxswain.test", "--builder-key", "k"])
        .arg("--listen")
        .arg(format!("127.0.0.1:{api_port}"))
        .arg("--router-listen")
        .arg(format!("127.0.0.1:{router_port}"))
        .arg("--data-dir")
        .arg(data)
        .env("COXSWAIN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    Controller {
        child,
        api: format!("http://127.0.0.1:{api_port}"),
        router: format!("http://127.0.0.1:{router_port}"),
    }
}

async fn wait_healthy(c: &Controller, http: &reqwest::Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{}/healthz", c.api)).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the controller never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn call(
    http: &reqwest::Client,
    c: &Controller,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = http
        .request(method.parse().unwrap(), format!("{}{path}", c.api))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.header("authorization", format!("token {t}"));
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls the router for the app's page.
async fn served(http: &reqwest::Client, c: &Controller, page: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http
            .get(format!("{}/", c.router))
            .header("host", "shop.coxswain.test")
            .send()
            .await
        {
            if r.status() == 200 && r.text().await.unwrap_or_default() == page {
                return true;
            }
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pids of the app's web processes: python processes running in the data directory.
fn app_processes(data: &Path) -> BTreeSet<u32> {
    let mut pids = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if cwd.starts_with(data) && comm.starts_with("python") && cmdline.contains("http.server") {
            pids.insert(pid);
        }
    }
    pids
}

/// Every process (of any kind) whose working directory is in the data directory.
fn any_processes(data: &Path) -> usize {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
                .filter(|e| {
                    std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(data))
                })
                .count()
        })
        .unwrap_or(0)
}

async fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A controller in a fresh data directory with app `shop` deployed on two web containers.
async fn deployed(root: &Path) -> (PathBuf, Controller, reqwest::Client, String) {
    let data = root.join("data");
    let http = reqwest::Client::new();
    let c = start(&data, free_port(), free_port());
    wait_healthy(&c, &http).await;
    let body = json!({"username": "admin", "password": "pw", "email": ""});
    let (status, _) = call(&http, &c, "POST", "/v1/auth/register", None, body).await;
    assert_eq!(status, 201);
    let body = json!({"username": "admin", "password": "pw"});
    let (_, login) = call(&http, &c, "POST", "/v1/auth/login/", None, body).await;
    let token = login["token"].as_str().unwrap().to_string();
    let t = Some(token.as_str());
    let (status, _) = call(&http, &c, "POST", "/v1/apps", t, json!({"id": "shop"})).await;
    assert_eq!(status, 201);
    let dir = python_app(root, "survivor");
    let body = json!({"image": dir.to_str().unwrap()});
    let (status, _) = call(&http, &c, "POST", "/v1/apps/shop/builds", t, body).await;
    assert_eq!(status, 201);
    let (status, _) = call(
        &http,
        &c,
        "POST",
        "/v1/apps/shop/scale",
        t,
        json!({"web": 2}),
    )
    .await;
    assert_eq!(status, 204);
    assert!(served(&http, &c, "survivor").await);
    assert_eq!(app_processes(&data).len(), 2);
    (data, c, http, token)
}

async fn ps(http: &reqwest::Client, c: &Controller, token: &str) -> Vec<String> {
    let (status, r) = call(
        http,
        c,
        "GET",
        "/v1/apps/shop/containers",
        Some(token),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let mut v: Vec<String> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}.{} {}",
                c["type"].as_str().unwrap(),
                c["num"],
                c["state"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0);
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts again on the same directory and ports and checks that exactly the two web
/// containers run, none of them one of `old`.
async fn restarted_once(
    data: &Path,
    c: &Controller,
    http: &reqwest::Client,
    token: &str,
    old: &BTreeSet<u32>,
) -> Controller {
    let api_port: u16 = c.api.rsplit(':').next().unwrap().parse().unwrap();
    let router_port: u16 = c.router.rsplit(':').next().unwrap().parse().unwrap();
    let c2 = start(data, api_port, router_port);
    wait_healthy(&c2, http).await;
    assert!(served(http, &c2, "survivor").await, "served after restart");
    assert_eq!(ps(http, &c2, token).await, ["web.1 up", "web.2 up"]);
    let now = app_processes(data);
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.is_disjoint(old), "old {old:?}, now {now:?}");
    c2
}

#[tokio::test]
async fn a_terminated_controller_stops_its_apps_and_restores_them_on_start() {
    let root = tempfile::tempdir().unwrap();
    let (data, mut c, http, token) = deployed(root.path()).await;
    let old = app_processes(&data);

    signal(&c.child, libc::SIGTERM);
    let status = wait_exit(&mut c.child, Duration::from_secs(20)).expect("exits on SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(
        wait_until(Duration::from_secs(5), || any_processes(&data) == 0).await,
        "no app process remains"
    );

    let mut c2 = restarted_once(&data, &c, &http, &token, &old).await;
    signal(&c2.child, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut c2.child, Duration::from_secs(20)).and_then(|s| s.code()),
        Some(0)
    );
    assert!(wait_until(Duration::from_secs(5), || any_processes(&data) == 0).await);
}

#[tokio::test]
async fn a_killed_controller_takes_its_apps_along_and_restores_them_once() {
    let root = tempfile::tempdir().unwrap();
    let (data, mut c, http, token) = deployed(root.path()).await;
    let old = app_processes(&data);

    signal(&c.child, libc::SIGKILL);
    wait_exit(&mut c.child, Duration::from_secs(5)).expect("killed");

    let mut c2 = restarted_once(&data, &c, &http, &token, &old).await;
    signal(&c2.child, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut c2.child, Duration::from_secs(20)).and_then(|s| s.code()),
        Some(0)
    );
    assert!(wait_until(Duration::from_secs(5), || any_processes(&data) == 0).await);
}

#[tokio::test]
async fn the_app_processes_die_with_a_killed_controller() {
    let root = tempfile::tempdir().unwrap();
    let (data, mut c, _http, _token) = deployed(root.path()).await;
    let old = app_processes(&data);
    signal(&c.child, libc::SIGKILL);
    wait_exit(&mut c.child, Duration::from_secs(5)).expect("killed");
    let gone = wait_until(Duration::from_secs(5), || {
        app_processes(&data).is_disjoint(&old)
    })
    .await;
    // Clean up what is left before asserting.
    for pid in app_processes(&data) {
        // SAFETY: kill(2) of a leftover web process of this test's own data directory.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    assert!(gone, "the app processes die with their controller");
}

#[test]
fn bad_configuration_exits_2_with_one_line() {
    let data = tempfile::tempdir().unwrap();
    for args in [
        ["--listen", "nonsense"],
        ["--registration", "maybe"],
        ["--database", "mysql://x"],
        ["--router-listen", "1.2.3.4"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_coxswain"))
            .arg("serve")
            .args(args)
            .arg("--data-dir")
            .arg(data.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
}
