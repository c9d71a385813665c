//! Platform benchmarks: deploy latency, scaling time and controller memory.
//!
//! Run with `cargo bench --bench platform`. It starts the release `coxswain` binary on
//! free loopback ports with a temporary data directory, drives it over HTTP like a user
//! would, and prints one line per figure. Real processes (`python3 -m http.server`) are
//! deployed; nothing is simulated.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{json, Value};

const ROUNDS: usize = 5;

fn main() {
    let data = tempfile::tempdir().expect("temp dir");
    let api = free_port();
    let router = free_port();
    let mut controller = Command::new(env!("CARGO_BIN_EXE_coxswain"))
        .args(["serve", "--data-dir"])
        .arg(data.path().join("data"))
        .args(["--listen", &format!("127.0.0.1:{api}")])
        .args(["--router-listen", &format!("127.0.0.1:{router}")])
        .env("COXSWAIN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start coxswain");
    let http = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let base = format!("http://127.0.0.1:{api}");
    wait_until(|| {
        http.get(format!("{base}/healthz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss = rss_kib(&controller);

    http.post(format!("{base}/v1/auth/register"))
        .json(&json!({"username": "bench", "password": "bench-pass", "email": ""}))
        .send()
        .expect("register");
    let token: Value = http
        .post(format!("{base}/v1/auth/login/"))
        .json(&json!({"username": "bench", "password": "bench-pass"}))
        .send()
        .and_then(|r| r.json())
        .expect("login");
    let token = token["token"].as_str().expect("token").to_string();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .header("authorization", format!("token {token}"))
            .json(&body)
            .send()
            .expect("request")
    };

    let app_dir = data.path().join("app");
    std::fs::create_dir_all(&app_dir).expect("app dir");
    std::fs::write(app_dir.join("index.html"), "hello from the benchmark\n").expect("index");
    std::fs::write(
        app_dir.join("Procfile"),
        "web: python3 -m http.server $PORT --bind 127.0.0.1\n",
    )
    .expect("Procfile");

    // 1. Build POST to the first 200 through the router, on a fresh app each round.
    let mut deploys = Vec::new();
    for round in 0..ROUNDS {
        let app = format!("bench{round}");
        call(reqwest::Method::POST, "/v1/apps", json!({ "id": app }));
        let started = Instant::now();
        let r = call(
            reqwest::Method::POST,
            &format!("/v1/apps/{app}/builds"),
            json!({ "image": app_dir.display().to_string() }),
        );
        assert_eq!(r.status(), 201, "build: {}", r.text().unwrap_or_default());
        wait_until(|| {
            http.get(format!("http://127.0.0.1:{router}/"))
                .header("host", format!("{app}.localhost"))
                .send()
                .is_ok_and(|r| r.status() == 200)
        });
        deploys.push(started.elapsed());
    }
    report(
        "deploy: build POST to first 200 through the router",
        &deploys,
    );

    // 2. Scale web 0 → 20 → 0 on one app.
    let app = "bench0";
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    let mut busy_rss = 0;
    for _ in 0..3 {
        call(
            reqwest::Method::POST,
            &format!("/v1/apps/{app}/scale"),
            json!({"web": 0}),
        );
        let started = Instant::now();
        let r = call(
            reqwest::Method::POST,
            &format!("/v1/apps/{app}/scale"),
            json!({"web": 20}),
        );
        assert_eq!(r.status(), 204, "scale up");
        ups.push(started.elapsed());
        std::thread::sleep(Duration::from_millis(300));
        busy_rss = busy_rss.max(rss_kib(&controller));
        let started = Instant::now();
        let r = call(
            reqwest::Method::POST,
            &format!("/v1/apps/{app}/scale"),
            json!({"web": 0}),
        );
        assert_eq!(r.status(), 204, "scale down");
        downs.push(started.elapsed());
    }
    report("scale web 0 -> 20", &ups);
    report("scale web 20 -> 0", &downs);

    println!("controller RSS idle: {:.1} MiB", idle_rss as f64 / 1024.0);
    println!(
        "controller RSS with 20 containers: {:.1} MiB",
        busy_rss as f64 / 1024.0
    );

    stop(&mut controller);
}

fn report(what: &str, samples: &[Duration]) {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    println!(
        "{what}: median {median:.0} ms, min {:.0} ms, max {:.0} ms ({} runs)",
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_until(mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Resident memory of the controller process, in KiB.
fn rss_kib(child: &Child) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn stop(child: &mut Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
}
