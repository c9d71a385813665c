//! Test helpers: a real controller on port 0 with a temporary data directory, and an
//! HTTP client that speaks to it like the Deis client does.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coxswain::scheduler::Scheduler;
use coxswain::server::Server;
use coxswain::settings::{Registration, SchedulerKind, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct TestServer {
    pub server: Option<Server>,
    pub api: SocketAddr,
    pub router: SocketAddr,
    pub data: tempfile::TempDir,
    pub http: reqwest::Client,
}

pub fn settings(data_dir: &Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        router_listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        database: None,
        domain: "coxswain.test".into(),
        scheduler: SchedulerKind::Local,
        registration: Registration::Enabled,
        builder_key: Some("test-builder-key".into()),
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}, None).await
    }

    /// A server whose settings `tweak` adjusts and whose scheduler, when given, replaces
    /// the local one.
    pub async fn start_with(
        tweak: impl FnOnce(&mut Settings),
        scheduler: Option<Arc<dyn Scheduler>>,
    ) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let mut s = settings(data.path());
        tweak(&mut s);
        let server = Server::start(&s, scheduler).await.expect("server starts");
        TestServer {
            api: server.api_addr,
            router: server.router_addr,
            server: Some(server),
            data,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.api, path)
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }

    /// Sends a request; `body` of `Value::Null` sends none.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> Resp {
        let mut req = self
            .http
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                self.url(path),
            )
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("token {t}"));
        }
        if !body.is_null() {
            req = req.body(body.to_string());
        }
        Resp::from(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), Value::Null).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), body).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call("DELETE", path, Some(token), Value::Null).await
    }

    /// Registers a user and logs in; returns the token.
    pub async fn user(&self, name: &str) -> String {
        let r = self
            .call(
                "POST",
                "/v1/auth/register",
                None,
                json!({"username": name, "password": "s3cret", "email": format!("{name}@example.com")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "register {name}: {}", r.text);
        let r = self
            .call(
                "POST",
                "/v1/auth/login/",
                None,
                json!({"username": name, "password": "s3cret"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {name}: {}", r.text);
        r.json["token"].as_str().unwrap().to_string()
    }

    pub async fn app(&self, token: &str, id: &str) {
        let r = self.post("/v1/apps", token, json!({ "id": id })).await;
        assert_eq!(r.status, StatusCode::CREATED, "create app {id}: {}", r.text);
    }

    /// Sends a request to the router with the given Host header.
    pub async fn route(&self, host: &str, path: &str) -> Resp {
        let req = self
            .http
            .get(format!("http://{}{}", self.router, path))
            .header("host", host)
            .timeout(Duration::from_secs(10));
        Resp::from(req.send().await.expect("router request sent")).await
    }

    /// Polls the router until `host` answers 200 or `timeout` passes.
    pub async fn wait_routed(&self, host: &str, timeout: Duration) -> Resp {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.route(host, "/").await;
            if r.status == StatusCode::OK || Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A test that ends without `stop` leaves its containers running while the runtime winds
/// down, and the temporary data directory, runtime record included, is removed first: so
/// the groups the record names are killed here, while it still exists, and so is any
/// process still working in one of the data directory's builds (a container that was
/// starting as the test ended is not in the record yet).
impl Drop for TestServer {
    fn drop(&mut self) {
        let record = self.data.path().join("run").join("containers");
        let text = std::fs::read_to_string(record).unwrap_or_default();
        for pgid in text
            .lines()
            .filter_map(|l| l.split(' ').next()?.parse::<i32>().ok())
        {
            if pgid > 1 {
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
        }
        kill_processes_under(&self.data.path().join("builds"));
    }
}

/// SIGKILLs every process whose working directory is below `dir`.
pub fn kill_processes_under(dir: &Path) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd")) {
            if cwd.starts_with(dir) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    async fn from(r: reqwest::Response) -> Resp {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A directory holding a tiny Python web app whose pages say `body`, with a Procfile.
pub fn python_app(root: &Path, body: &str) -> PathBuf {
    let dir = root.join(format!("app-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), body).unwrap();
    std::fs::write(
        dir.join("Procfile"),
        "web: python3 -m http.server $PORT --bind 127.0.0.1\n",
    )
    .unwrap();
    dir
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `check` every 50 ms until it is true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestServer {
    /// A server whose local scheduler is wrapped in the fault injector; no fault is set.
    pub async fn start_faulty() -> (TestServer, Arc<coxswain::scheduler::faulty::Faulty>) {
        use coxswain::applog::AppLog;
        use coxswain::scheduler::faulty::Faulty;
        use coxswain::scheduler::local::{LocalOptions, LocalScheduler};

        let data = tempfile::tempdir().unwrap();
        let dir = data.path().to_path_buf();
        let local = LocalScheduler::new(
            dir.clone(),
            AppLog::new(dir.join("logs")).unwrap(),
            LocalOptions::default(),
        )
        .unwrap();
        let faulty = Faulty::new(local);
        let s = settings(&dir);
        let server = Server::start(&s, Some(faulty.clone() as Arc<dyn Scheduler>))
            .await
            .expect("server starts");
        let ts = TestServer {
            api: server.api_addr,
            router: server.router_addr,
            server: Some(server),
            data,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        (ts, faulty)
    }

    /// Sends a request with exactly the given headers and raw body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = self.http.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            self.url(path),
        );
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        Resp::from(req.send().await.expect("request sent")).await
    }

    /// Creates a build of `dir` (a directory or archive path) and asserts it succeeded.
    pub async fn build(&self, token: &str, app: &str, body: Value) -> Resp {
        let r = self
            .post(&format!("/v1/apps/{app}/builds"), token, body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "build {app}: {}", r.text);
        r
    }

    /// The app's containers (first page).
    pub async fn containers(&self, token: &str, app: &str) -> Vec<Value> {
        let r = self.get(&format!("/v1/apps/{app}/containers"), token).await;
        assert_eq!(r.status, StatusCode::OK, "containers {app}: {}", r.text);
        r.json["results"].as_array().cloned().unwrap_or_default()
    }

    /// The number of the app's releases.
    pub async fn release_count(&self, token: &str, app: &str) -> u64 {
        let r = self.get(&format!("/v1/apps/{app}/releases"), token).await;
        assert_eq!(r.status, StatusCode::OK, "releases {app}: {}", r.text);
        r.json["count"].as_u64().unwrap()
    }
}

/// `type.num state` of each container, sorted, for compact assertions.
pub fn ps(containers: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = containers
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
