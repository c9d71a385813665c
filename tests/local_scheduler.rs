//! The local scheduler against real processes: builds, container states, environment,
//! logs, crash restarts, process-tree cleanup, one-off runs, and the fault wrapper.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coxswain::applog::AppLog;
use coxswain::scheduler::faulty::{Faults, Faulty};
use coxswain::scheduler::local::{LocalOptions, LocalScheduler};
use coxswain::scheduler::{ContainerSpec, ContainerState, RunSpec, Scheduler, SchedulerError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Fixture {
    dir: tempfile::TempDir,
    scheduler: Arc<LocalScheduler>,
    log: AppLog,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_options(LocalOptions::default())
    }

    fn with_options(options: LocalOptions) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let log = AppLog::new(dir.path().join("data/logs")).unwrap();
        let scheduler = LocalScheduler::new(dir.path().join("data"), log.clone(), options).unwrap();
        Fixture {
            dir,
            scheduler,
            log,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// An app directory with the given files, prepared as build `b1` of app `app`.
    async fn app(&self, files: &[(&str, &str)]) -> String {
        let src = self.path("src");
        fs::create_dir_all(&src).unwrap();
        for (name, body) in files {
            fs::write(src.join(name), body).unwrap();
        }
        let image = src.to_str().unwrap().to_string();
        self.scheduler
            .prepare_build("app", "b1", &image)
            .await
            .unwrap();
        image
    }

    fn spec(&self, process_type: &str, num: u32, command: &str) -> ContainerSpec {
        let mut env = BTreeMap::new();
        env.insert("DEIS_APP".to_string(), "app".to_string());
        env.insert("DEIS_RELEASE".to_string(), "v2".to_string());
        ContainerSpec {
            name: format!("app_v2.{process_type}.{num}"),
            app: "app".into(),
            process_type: process_type.into(),
            num,
            version: 2,
            image: self.path("src").to_str().unwrap().into(),
            build: "b1".into(),
            command: Some(command.into()),
            env,
            memory: None,
            cpu: None,
        }
    }

    fn run_spec(&self, command: &str) -> RunSpec {
        RunSpec {
            name: "app_v2.run.1".into(),
            app: "app".into(),
            version: 2,
            image: self.path("src").to_str().unwrap().into(),
            build: "b1".into(),
            command: command.into(),
            env: BTreeMap::new(),
        }
    }

    fn app_log(&self) -> String {
        fs::read_to_string(self.log.path("app")).unwrap_or_default()
    }
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn state_becomes(
    s: &dyn Scheduler,
    name: &str,
    want: ContainerState,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if s.state(name).await == want {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A process that is gone or only a zombie no longer runs.
fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .unwrap()
            .1
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

const HTTP_SERVER: &str = "exec python3 -m http.server --bind 127.0.0.1 $PORT";

#[tokio::test]
async fn a_directory_build_is_copied_with_exec_bits_links_and_its_procfile() {
    let f = Fixture::new();
    let src = f.path("src");
    fs::create_dir_all(src.join("bin")).unwrap();
    fs::write(
        src.join("Procfile"),
        "# processes\n\nweb: ./bin/serve\nworker: sleep 1\n",
    )
    .unwrap();
    fs::write(src.join("bin/serve"), "#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(src.join("bin/serve"), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("bin/serve", src.join("link")).unwrap();

    let prepared = f
        .scheduler
        .prepare_build("app", "b1", src.to_str().unwrap())
        .await
        .unwrap();
    let procfile = prepared.procfile.unwrap();
    assert_eq!(procfile["web"], "./bin/serve");
    assert_eq!(procfile["worker"], "sleep 1");

    let build = f.path("data/builds/app/b1");
    let mode = fs::metadata(build.join("bin/serve"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111);
    assert_eq!(
        fs::read_link(build.join("link")).unwrap(),
        Path::new("bin/serve")
    );

    // Preparing again replaces the copy; a file:// URL works the same.
    fs::remove_file(src.join("link")).unwrap();
    let url = format!("file://{}", src.display());
    f.scheduler.prepare_build("app", "b1", &url).await.unwrap();
    assert!(fs::symlink_metadata(build.join("link")).is_err());

    f.scheduler.remove_app("app").await.unwrap();
    assert!(!f.path("data/builds/app").exists());
}

fn tar_gz(path: &Path, entries: &[(&str, &str, u32)]) {
    let file = fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, body, mode) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(*mode);
        header.set_cksum();
        tar.append_data(&mut header, name, body.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

#[tokio::test]
async fn an_archive_build_is_unpacked_and_a_single_top_directory_is_its_root() {
    let f = Fixture::new();
    let archive = f.path("app.tar.gz");
    tar_gz(
        &archive,
        &[
            ("myapp/Procfile", "web: ./run\n", 0o644),
            ("myapp/run", "#!/bin/sh\n", 0o755),
        ],
    );

    let prepared = f
        .scheduler
        .prepare_build("app", "b1", archive.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(prepared.procfile.unwrap()["web"], "./run");
    let run = f.path("data/builds/app/b1/run");
    assert_eq!(
        fs::metadata(&run).unwrap().permissions().mode() & 0o111,
        0o111
    );

    // Several top-level entries: the archive root is the build root.
    let flat = f.path("flat.tgz");
    tar_gz(
        &flat,
        &[("Procfile", "worker: true\n", 0o644), ("other", "x", 0o644)],
    );
    let prepared = f
        .scheduler
        .prepare_build("app", "b2", flat.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(prepared.procfile.unwrap()["worker"], "true");
    assert!(f.path("data/builds/app/b2/other").is_file());
}

#[tokio::test]
async fn image_references_missing_paths_and_corrupt_archives_are_refused() {
    let f = Fixture::new();
    let err = f
        .scheduler
        .prepare_build("app", "b1", "deis/example-go:latest")
        .await
        .unwrap_err();
    assert!(matches!(err, SchedulerError::Invalid(_)));
    assert!(
        err.to_string()
            .contains("runs directories and .tar.gz/.tgz archives"),
        "{err}"
    );

    let missing = f.path("nowhere");
    let err = f
        .scheduler
        .prepare_build("app", "b1", missing.to_str().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, SchedulerError::Invalid(_)));
    assert!(err.to_string().contains("does not exist"), "{err}");

    let plain = f.path("notes.txt");
    fs::write(&plain, "hello").unwrap();
    let err = f
        .scheduler
        .prepare_build("app", "b1", plain.to_str().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, SchedulerError::Invalid(_)), "{err}");

    let corrupt = f.path("broken.tgz");
    fs::write(&corrupt, b"\x1f\x8bnot really gzip").unwrap();
    let err = f
        .scheduler
        .prepare_build("app", "b1", corrupt.to_str().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, SchedulerError::Invalid(_)), "{err}");
    assert!(!f.path("data/builds/app/b1").exists());
}

#[tokio::test]
async fn an_archive_entry_escaping_the_build_is_refused() {
    let f = Fixture::new();
    let archive = f.path("evil.tgz");
    // tar::Builder refuses `..` in names, so write the name into the header directly.
    let file = fs::File::create(&archive).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..12].copy_from_slice(b"../escaped.t");
    header.set_size(1);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append(&header, &b"x"[..]).unwrap();
    tar.into_inner().unwrap().finish().unwrap();

    let err = f
        .scheduler
        .prepare_build("app", "b1", archive.to_str().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, SchedulerError::Invalid(_)), "{err}");
    assert!(!f.path("data/builds/escaped.t").exists());
}

#[tokio::test]
async fn a_web_container_is_up_and_answers_http_on_its_port() {
    let f = Fixture::new();
    f.app(&[("index.html", "hello web")]).await;
    let spec = f.spec("web", 1, HTTP_SERVER);
    assert_eq!(
        f.scheduler.state(&spec.name).await,
        ContainerState::Initialized
    );

    f.scheduler.create(&spec).await.unwrap();
    assert_eq!(f.scheduler.state(&spec.name).await, ContainerState::Created);
    assert!(f.scheduler.endpoints("app").is_empty());

    f.scheduler.start(&spec.name).await.unwrap();
    assert_eq!(f.scheduler.state(&spec.name).await, ContainerState::Up);
    let endpoints = f.scheduler.endpoints("app");
    assert_eq!(endpoints.len(), 1);
    // start returned only once the port answers.
    let response = http_get(endpoints[0], "/index.html").await;
    assert!(response.ends_with("hello web"), "{response}");

    f.scheduler.stop(&spec.name).await.unwrap();
    assert_eq!(f.scheduler.state(&spec.name).await, ContainerState::Down);
    assert!(f.scheduler.endpoints("app").is_empty());
    f.scheduler.destroy(&spec.name).await.unwrap();
    assert_eq!(
        f.scheduler.state(&spec.name).await,
        ContainerState::Destroyed
    );
}

#[tokio::test]
async fn a_container_sees_only_its_config_port_and_path() {
    std::env::set_var("COXSWAIN_TEST_CONTROLLER_SECRET", "do-not-leak");
    let f = Fixture::new();
    f.app(&[]).await;
    let out = f.path("env.out");
    let mut spec = f.spec(
        "worker",
        1,
        &format!(
            "env > {}.tmp; mv {0}.tmp {0}; exec sleep 1000",
            out.display()
        ),
    );
    spec.env.insert("GREETING".into(), "hello world".into());
    f.scheduler.create(&spec).await.unwrap();
    f.scheduler.start(&spec.name).await.unwrap();
    assert!(eventually(Duration::from_secs(5), || out.exists()).await);

    let env = fs::read_to_string(&out).unwrap();
    let names: BTreeSet<&str> = env
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| !["PWD", "SHLVL", "_", "OLDPWD"].contains(k)) // the shell's own
        .collect();
    let expected: BTreeSet<&str> = ["DEIS_APP", "DEIS_RELEASE", "GREETING", "PATH", "PORT"].into();
    assert_eq!(names, expected, "{env}");
    assert!(env.contains("GREETING=hello world\n"));
    assert!(env.contains(&format!("PWD={}", f.path("data/builds/app/b1").display())));
    f.scheduler.destroy(&spec.name).await.unwrap();
}

#[tokio::test]
async fn process_output_reaches_the_app_log_as_app_type_num_lines() {
    let f = Fixture::new();
    f.app(&[]).await;
    let spec = f.spec(
        "worker",
        3,
        "echo hello from worker; echo on stderr >&2; exec sleep 1000",
    );
    f.scheduler.create(&spec).await.unwrap();
    f.scheduler.start(&spec.name).await.unwrap();

    let line = regex::Regex::new(
        r"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dUTC app\[worker\.3\]: hello from worker$",
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || line.is_match(&f.app_log())).await,
        "{}",
        f.app_log()
    );
    assert!(
        eventually(Duration::from_secs(5), || f
            .app_log()
            .contains("app[worker.3]: on stderr\n"))
        .await
    );
    f.scheduler.destroy(&spec.name).await.unwrap();
}

#[tokio::test]
async fn a_crashed_container_is_restarted_after_a_delay() {
    let f = Fixture::new();
    f.app(&[]).await;
    let spec = f.spec("worker", 1, "echo started; exit 3");
    f.scheduler.create(&spec).await.unwrap();
    f.scheduler.start(&spec.name).await.unwrap();

    assert!(
        state_becomes(
            &*f.scheduler,
            &spec.name,
            ContainerState::Crashed,
            Duration::from_secs(5)
        )
        .await
    );
    let starts = || f.app_log().matches("app[worker.1]: started").count();
    assert!(
        eventually(Duration::from_secs(5), || starts() >= 2).await,
        "{}",
        f.app_log()
    );
    let log = f.app_log();
    assert!(
        log.contains("deis[api]: app_v2.worker.1 crashed (exit status 3), restarting in 1s"),
        "{log}"
    );

    // Stop cancels the pending restart.
    f.scheduler.stop(&spec.name).await.unwrap();
    assert_eq!(f.scheduler.state(&spec.name).await, ContainerState::Down);
    let count = starts();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(starts(), count);
}

#[tokio::test]
async fn stopping_a_container_ends_its_whole_process_tree() {
    let f = Fixture::new();
    f.app(&[]).await;
    let pidfile = f.path("child.pid");
    let command = format!(
        "sleep 1000 & echo $! > {}.tmp; mv {0}.tmp {0}; wait",
        pidfile.display()
    );
    let spec = f.spec("worker", 1, &command);
    f.scheduler.create(&spec).await.unwrap();
    f.scheduler.start(&spec.name).await.unwrap();
    assert!(eventually(Duration::from_secs(5), || pidfile.exists()).await);
    let child: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(child));

    f.scheduler.stop(&spec.name).await.unwrap();
    assert_eq!(f.scheduler.state(&spec.name).await, ContainerState::Down);
    assert!(eventually(Duration::from_secs(2), || !alive(child)).await);

    // A stopped container starts again.
    fs::remove_file(&pidfile).unwrap();
    f.scheduler.start(&spec.name).await.unwrap();
    assert_eq!(f.scheduler.state(&spec.name).await, ContainerState::Up);
    assert!(eventually(Duration::from_secs(5), || pidfile.exists()).await);
    f.scheduler.destroy(&spec.name).await.unwrap();
    assert_eq!(
        f.scheduler.state(&spec.name).await,
        ContainerState::Destroyed
    );
}

#[tokio::test]
async fn a_container_without_a_command_fails_to_create_with_state_error() {
    let f = Fixture::new();
    f.app(&[]).await;
    let mut spec = f.spec("cmd", 1, "");
    spec.command = None;
    let err = f.scheduler.create(&spec).await.unwrap_err();
    assert_eq!(err.to_string(), "no command for process type cmd");
    assert_eq!(f.scheduler.state(&spec.name).await, ContainerState::Error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_web_containers_stop_together_quickly() {
    let f = Fixture::new();
    f.app(&[]).await;
    let specs: Vec<ContainerSpec> = (1..=20).map(|n| f.spec("web", n, HTTP_SERVER)).collect();
    let s = &f.scheduler;
    futures::future::join_all(specs.iter().map(|spec| async move {
        s.create(spec).await.unwrap();
        s.start(&spec.name).await.unwrap();
    }))
    .await;
    assert_eq!(s.endpoints("app").len(), 20);

    let began = Instant::now();
    futures::future::join_all(specs.iter().map(|spec| s.destroy(&spec.name))).await;
    // Speed is the benchmark's business (bench/); what is checked here is that they all
    // went on SIGTERM together, well before a stop's 10 s grace ran out for any of them.
    let took = began.elapsed();
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(s.endpoints("app").is_empty());
}

#[tokio::test]
async fn run_returns_the_exit_code_and_the_combined_output_in_order() {
    let f = Fixture::new();
    f.app(&[("data.txt", "from the build")]).await;
    let (code, output) = f
        .scheduler
        .run(&f.run_spec("echo out; echo err >&2; cat data.txt; echo; exit 7"))
        .await
        .unwrap();
    assert_eq!(code, 7);
    assert_eq!(output, "out\nerr\nfrom the build\n");

    let (code, _) = f.scheduler.run(&f.run_spec("kill -9 $$")).await.unwrap();
    assert_eq!(code, 128 + 9);
}

#[tokio::test]
async fn run_is_killed_after_its_timeout_and_its_output_is_capped() {
    let f = Fixture::with_options(LocalOptions {
        run_timeout: Duration::from_millis(500),
        run_output_cap: 100,
    });
    f.app(&[]).await;
    let began = Instant::now();
    let (code, output) = f
        .scheduler
        .run(&f.run_spec("echo before; sleep 30"))
        .await
        .unwrap();
    // Killed at its timeout, long before the `sleep 30` would have ended.
    assert!(began.elapsed() < Duration::from_secs(20));
    assert_eq!(code, 124);
    assert!(output.starts_with("before\n[timed out after"), "{output}");

    let (code, output) = f
        .scheduler
        .run(&f.run_spec("head -c 100000 /dev/zero | tr '\\0' x"))
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(output, format!("{}\n[output truncated]\n", "x".repeat(100)));
}

#[tokio::test]
async fn the_fault_wrapper_leaves_the_states_of_the_chaos_scheduler() {
    let f = Fixture::new();
    f.app(&[]).await;
    let faulty = Faulty::new(f.scheduler.clone());
    let spec = f.spec("worker", 1, "exec sleep 1000");

    faulty.set(Faults {
        create: 1.0,
        ..Faults::default()
    });
    assert!(matches!(
        faulty.create(&spec).await,
        Err(SchedulerError::Failed(_))
    ));
    assert_eq!(faulty.state(&spec.name).await, ContainerState::Error);
    assert_eq!(
        f.scheduler.state(&spec.name).await,
        ContainerState::Initialized
    );

    faulty.set(Faults {
        start: 1.0,
        ..Faults::default()
    });
    faulty.create(&spec).await.unwrap();
    assert_eq!(faulty.state(&spec.name).await, ContainerState::Created);
    assert!(faulty.start(&spec.name).await.is_err());
    assert_eq!(faulty.state(&spec.name).await, ContainerState::Crashed);

    faulty.set(Faults {
        stop: 1.0,
        destroy: 1.0,
        run: 1.0,
        ..Faults::default()
    });
    assert!(faulty.stop(&spec.name).await.is_err());
    assert_eq!(faulty.state(&spec.name).await, ContainerState::Error);
    assert!(faulty.destroy(&spec.name).await.is_err());
    assert_eq!(faulty.state(&spec.name).await, ContainerState::Error);
    let err = faulty.run(&f.run_spec("true")).await.unwrap_err();
    assert_eq!(err.to_string(), "exit code 1");

    faulty.set(Faults::default());
    faulty.start(&spec.name).await.unwrap();
    assert_eq!(faulty.state(&spec.name).await, ContainerState::Up);
    faulty.destroy(&spec.name).await.unwrap();
    assert_eq!(faulty.state(&spec.name).await, ContainerState::Destroyed);
}

/// When set, this test binary plays a controller that is then killed with SIGKILL.
const CONTROLLER_ROLE: &str = "COXSWAIN_TEST_KILLED_CONTROLLER_DIR";

#[tokio::test]
async fn a_new_scheduler_kills_what_a_killed_controller_left_running() {
    if let Ok(dir) = std::env::var(CONTROLLER_ROLE) {
        return play_the_killed_controller(PathBuf::from(dir)).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let (mut controller, child) = start_the_controller_role(
        "a_new_scheduler_kills_what_a_killed_controller_left_running",
        dir.path(),
    )
    .await;

    // Take the warden out first, as if it had been killed too, so that only the record
    // is left to clean up after the controller.
    kill_warden_of(controller.id() as i32);
    controller.kill().unwrap(); // SIGKILL: no shutdown, no cleanup
    controller.wait().unwrap();
    // The shell died with the controller (parent-death signal), its child did not.
    assert!(
        alive(child),
        "the background child should have outlived the controller"
    );

    let log = AppLog::new(dir.path().join("data/logs")).unwrap();
    let _next = LocalScheduler::new(dir.path().join("data"), log, LocalOptions::default()).unwrap();
    assert!(
        eventually(Duration::from_secs(2), || !alive(child)).await,
        "leftover {child} still runs"
    );
    let record = fs::read_to_string(dir.path().join("data/run/containers")).unwrap();
    assert_eq!(record, "");
}

/// Runs this test binary's test `name` as the controller role in `dir`; returns it once
/// its container has started a background child, with that child's pid.
async fn start_the_controller_role(name: &str, dir: &Path) -> (std::process::Child, i32) {
    let controller = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture"])
        .env(CONTROLLER_ROLE, dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pidfile = dir.join("child.pid");
    assert!(eventually(Duration::from_secs(8), || pidfile.exists()).await);
    let child = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (controller, child)
}

/// SIGKILLs the warden shell the scheduler of process `controller` started.
fn kill_warden_of(controller: i32) {
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        let cmdline = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == Some(controller) && cmdline.contains("sleep 3600") {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// The warden alone: a killed controller's containers die with it, whole process trees
/// included, before any new controller starts.
#[tokio::test]
async fn the_warden_kills_every_container_process_when_the_controller_dies() {
    if let Ok(dir) = std::env::var(CONTROLLER_ROLE) {
        return play_the_killed_controller(PathBuf::from(dir)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut controller, child) = start_the_controller_role(
        "the_warden_kills_every_container_process_when_the_controller_dies",
        dir.path(),
    )
    .await;
    controller.kill().unwrap();
    controller.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(3), || !alive(child)).await,
        "the background child {child} outlived the controller"
    );
}

async fn play_the_killed_controller(dir: PathBuf) {
    let log = AppLog::new(dir.join("data/logs")).unwrap();
    let scheduler = LocalScheduler::new(dir.join("data"), log, LocalOptions::default()).unwrap();
    let src = dir.join("src");
    fs::create_dir_all(&src).unwrap();
    scheduler
        .prepare_build("app", "b1", src.to_str().unwrap())
        .await
        .unwrap();
    let pidfile = dir.join("child.pid");
    let spec = ContainerSpec {
        name: "app_v1.worker.1".into(),
        app: "app".into(),
        process_type: "worker".into(),
        num: 1,
        version: 1,
        image: src.to_str().unwrap().into(),
        build: "b1".into(),
        command: Some(format!(
            "sleep 1000 & echo $! > {}.tmp; mv {0}.tmp {0}; wait",
            pidfile.display()
        )),
        env: BTreeMap::new(),
        memory: None,
        cpu: None,
    };
    scheduler.create(&spec).await.unwrap();
    scheduler.start(&spec.name).await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await; // until killed
}

#[tokio::test]
async fn a_run_whose_caller_gives_up_is_killed() {
    let f = Fixture::new();
    f.app(&[]).await;
    let pidfile = f.path("run-child.pid");
    let command = format!(
        "sleep 1000 & echo $! > {}.tmp; mv {0}.tmp {0}; wait",
        pidfile.display()
    );
    let spec = f.run_spec(&command);
    let gave_up = tokio::time::timeout(Duration::from_millis(700), f.scheduler.run(&spec)).await;
    assert!(gave_up.is_err());
    let child: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(eventually(Duration::from_secs(2), || !alive(child)).await);
}
