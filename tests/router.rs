//! The router in front of real web containers of the local scheduler.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::SocketAddr;
use std::sync::Arc;

use coxswain::applog::AppLog;
use coxswain::hosts::HostTable;
use coxswain::scheduler::local::{LocalOptions, LocalScheduler};
use coxswain::scheduler::{ContainerSpec, Scheduler};

/// A small web app: GET answers with its NAME, the path and the headers it saw; POST
/// echoes the body (plain or chunked).
const SERVER: &str = r#"
import http.server, json, os, time

NAME = os.environ.get("NAME", "?")

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, body, kind):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", NAME)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stream":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"6\r\nfirst\n\r\n")
            self.wfile.flush()
            time.sleep(3)
            self.wfile.write(b"7\r\nsecond\n\r\n0\r\n\r\n")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.reply(json.dumps({"name": NAME, "path": self.path, "headers": headers}).encode(), "application/json")

    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(parts)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.reply(body, "application/octet-stream")

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

struct Setup {
    _dir: tempfile::TempDir,
    scheduler: Arc<LocalScheduler>,
    hosts: Arc<HostTable>,
    router: SocketAddr,
    image: String,
}

impl Setup {
    async fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("server.py"), SERVER).unwrap();
        let log = AppLog::new(dir.path().join("data/logs")).unwrap();
        let scheduler =
            LocalScheduler::new(dir.path().join("data"), log, LocalOptions::default()).unwrap();
        let image = src.to_str().unwrap().to_string();
        scheduler.prepare_build("app", "b1", &image).await.unwrap();

        let hosts = Arc::new(HostTable::new("localhost"));
        hosts.add_app("app");
        hosts.add_app("idle");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let router = listener.local_addr().unwrap();
        let dyn_scheduler: Arc<dyn Scheduler> = scheduler.clone();
        tokio::spawn(coxswain::router::serve(
            listener,
            hosts.clone(),
            dyn_scheduler,
        ));
        Setup {
            _dir: dir,
            scheduler,
            hosts,
            router,
            image,
        }
    }

    /// Starts web container `num` of app `app`, answering as `name`.
    async fn web(&self, num: u32, name: &str, command: &str) {
        let mut env = BTreeMap::new();
        env.insert("NAME".to_string(), name.to_string());
        let spec = ContainerSpec {
            name: format!("app_v1.web.{num}"),
            app: "app".into(),
            process_type: "web".into(),
            num,
            version: 1,
            image: self.image.clone(),
            build: "b1".into(),
            command: Some(command.into()),
            env,
            memory: None,
            cpu: None,
        };
        self.scheduler.create(&spec).await.unwrap();
        self.scheduler.start(&spec.name).await.unwrap();
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.router)
    }
}

const PYTHON_APP: &str = "exec python3 server.py";

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_spread_over_the_apps_web_containers_with_forwarding_headers() {
    let s = Setup::new().await;
    s.web(1, "one", PYTHON_APP).await;
    s.web(2, "two", PYTHON_APP).await;

    let mut seen = BTreeSet::new();
    for _ in 0..6 {
        let response = client()
            .get(s.url("/some/path?x=1&y=two"))
            .header("Host", "App.LocalHost:8080")
            .header("X-Forwarded-For", "203.0.113.9")
            .header("X-Custom", "kept")
            .header("Connection", "keep-alive, X-Drop-Me")
            .header("X-Drop-Me", "hop")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let seen_by_app: serde_json::Value = response.json().await.unwrap();
        seen.insert(seen_by_app["name"].as_str().unwrap().to_string());
        assert_eq!(seen_by_app["path"], "/some/path?x=1&y=two");
        let headers = &seen_by_app["headers"];
        assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-host"], "App.LocalHost:8080");
        assert_eq!(headers["host"], "App.LocalHost:8080");
        assert_eq!(headers["x-custom"], "kept");
        assert!(headers.get("x-drop-me").is_none(), "{headers}");
    }
    assert_eq!(seen, BTreeSet::from(["one".to_string(), "two".to_string()]));
}

#[tokio::test]
async fn unknown_hosts_get_404_and_apps_without_running_web_containers_503() {
    let s = Setup::new().await;
    let response = client()
        .get(s.url("/"))
        .header("Host", "nope.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(!response.text().await.unwrap().is_empty());

    let response = client()
        .get(s.url("/"))
        .header("Host", "idle.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);

    // A custom domain of the app routes the same way.
    s.hosts.add_domain("shop.example.com", "idle");
    let response = client()
        .get(s.url("/"))
        .header("Host", "shop.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_body_goes_to_the_app_and_back_intact() {
    let s = Setup::new().await;
    s.web(1, "one", PYTHON_APP).await;

    let body: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let response = client()
        .post(s.url("/echo"))
        .header("Host", "app.localhost")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-served-by"], "one");
    let echoed = response.bytes().await.unwrap();
    assert_eq!(echoed.len(), body.len());
    assert!(echoed.as_ref() == body.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_that_refuses_connections_is_skipped_and_none_reachable_gives_502() {
    let s = Setup::new().await;
    // Up, but never listens on its port (start gives up waiting after a few seconds).
    s.web(1, "deaf", "exec sleep 1000").await;
    let response = client()
        .get(s.url("/"))
        .header("Host", "app.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);

    s.web(2, "two", PYTHON_APP).await;
    for _ in 0..4 {
        let response = client()
            .get(s.url("/"))
            .header("Host", "app.localhost")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-served-by"], "two");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_streams_to_the_client_as_the_app_writes_it() {
    let s = Setup::new().await;
    s.web(1, "one", PYTHON_APP).await;

    let mut response = client()
        .get(s.url("/stream"))
        .header("Host", "app.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The app waits 3 s before its second chunk; the first must arrive well before that.
    let first = tokio::time::timeout(std::time::Duration::from_millis(1500), response.chunk())
        .await
        .expect("the first chunk was held back")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"first\n");
}
