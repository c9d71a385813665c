//! The local scheduler: every container is a supervised OS process on this machine.
//!
//! A container runs `sh -c <command>` in its build's directory, in its own process group,
//! with an environment made only of its config, `PORT` and `PATH`. Its output goes to the
//! app log line by line. A supervisor task per running container restarts it with a
//! growing delay when it exits on its own.

mod build;
mod process;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::io::AsyncReadExt;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use self::process::{signal_group, Launch, Record, Spawner};
use super::*;
use crate::applog::AppLog;

/// Knobs of the local scheduler.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// Longest a one-off `run` may take before it is killed.
    pub run_timeout: Duration,
    /// Most bytes of output a one-off `run` returns.
    pub run_output_cap: usize,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            run_timeout: Duration::from_secs(600),
            run_output_cap: 1 << 20,
        }
    }
}

/// How long a stopped container gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The same at controller shutdown, where waiting long holds up the exit.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// The first and the longest delay before a crashed container is started again.
const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);
/// A container that ran this long before crashing starts over at the first delay.
const STABLE_RUN: Duration = Duration::from_secs(30);
/// How long `start` waits for a web container to accept connections on its port.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
const READY_POLL: Duration = Duration::from_millis(20);
/// The exit code `run` reports when the command was killed for taking too long (as
/// coreutils' `timeout` does).
pub const RUN_TIMEOUT_EXIT_CODE: i32 = 124;
/// How many destroyed container names keep answering `destroyed`.
const TOMBSTONES: usize = 4096;
/// `PATH` of the processes when the controller has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Longest line of process output written to the app log as one line.
const MAX_LOG_LINE: usize = 16 * 1024;

pub struct LocalScheduler {
    builds: PathBuf,
    options: LocalOptions,
    core: Arc<Core>,
    /// Known containers by name. A BTreeMap, so that an app's containers (`<app>_v…`) are
    /// one range of it.
    containers: Mutex<BTreeMap<String, Arc<Container>>>,
    /// Recently destroyed container names, oldest first, so `state` says `destroyed`.
    tombstones: Mutex<Tombstones>,
}

/// What supervisors share with the scheduler.
struct Core {
    log: AppLog,
    spawner: Spawner,
    record: Record,
    /// The controller's `PATH`, given to every process.
    path: String,
}

struct Container {
    spec: ContainerSpec,
    dir: PathBuf,
    /// Whether the router sends traffic to it (process type `web` or `cmd`).
    serves: bool,
    /// Serialises start, stop and destroy of this container.
    op: tokio::sync::Mutex<()>,
    live: Mutex<Live>,
}

struct Live {
    state: ContainerState,
    /// Process group and port of the process running now, if any.
    pgid: Option<i32>,
    port: Option<u16>,
    /// Present from start to stop, including while a crashed process waits to restart.
    supervisor: Option<Supervisor>,
}

struct Supervisor {
    /// Set to the grace period to ask the supervisor to stop its process and end.
    stop: watch::Sender<Option<Duration>>,
    task: JoinHandle<()>,
}

/// A process a supervisor watches.
struct Running {
    pgid: i32,
    started: Instant,
    exit: oneshot::Receiver<ExitStatus>,
}

#[derive(Default)]
struct Tombstones {
    names: HashSet<String>,
    order: VecDeque<String>,
}

impl LocalScheduler {
    /// `data_dir` is the controller's data directory: builds go under `builds/`, and the
    /// scheduler keeps its runtime record under `run/`. Process groups a previous
    /// controller recorded there and left running are killed first.
    pub fn new(
        data_dir: PathBuf,
        log: AppLog,
        options: LocalOptions,
    ) -> std::io::Result<Arc<Self>> {
        let builds = data_dir.join("builds");
        std::fs::create_dir_all(&builds)?;
        let record = Record::new(&data_dir.join("run"))?;
        let killed = record.kill_leftovers();
        if killed > 0 {
            tracing::warn!(
                groups = killed,
                "killed processes left behind by a previous controller"
            );
        }

        let path = std::env::var("PATH").ok().filter(|p| !p.is_empty());
        let core = Core {
            log,
            spawner: Spawner::new(&data_dir.join("run").join("containers"))?,
            record,
            path: path.unwrap_or_else(|| DEFAULT_PATH.to_string()),
        };
        Ok(Arc::new(LocalScheduler {
            builds,
            options,
            core: Arc::new(core),
            containers: Mutex::default(),
            tombstones: Mutex::default(),
        }))
    }

    fn build_dir(&self, app: &str, build: &str) -> PathBuf {
        self.builds.join(app).join(build)
    }

    /// The build's directory, preparing it from `image` when it is missing (a data
    /// directory restored without its builds, say).
    async fn ensure_build(&self, app: &str, build: &str, image: &str) -> Result<PathBuf> {
        build::check_component("app", app)?;
        build::check_component("build", build)?;
        let dir = self.build_dir(app, build);
        if !dir.is_dir() {
            self.prepare_build(app, build, image).await?;
        }
        Ok(dir)
    }

    fn container(&self, name: &str) -> Result<Arc<Container>> {
        self.containers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| SchedulerError::Failed(format!("no container named {name}")))
    }

    fn bury(&self, name: &str) {
        let mut t = self.tombstones.lock().unwrap_or_else(|e| e.into_inner());
        if t.names.insert(name.to_string()) {
            t.order.push_back(name.to_string());
        }
        while t.order.len() > TOMBSTONES {
            if let Some(old) = t.order.pop_front() {
                t.names.remove(&old);
            }
        }
    }

    fn unbury(&self, name: &str) {
        let mut t = self.tombstones.lock().unwrap_or_else(|e| e.into_inner());
        if t.names.remove(name) {
            t.order.retain(|n| n != name);
        }
    }

    /// Stops a container's process (if it has one) and waits for its supervisor to end.
    async fn halt(&self, container: &Container, grace: Duration) {
        let supervisor = container.lock().supervisor.take();
        if let Some(supervisor) = supervisor {
            let _ = supervisor.stop.send(Some(grace));
            if let Err(err) = supervisor.task.await {
                tracing::warn!(container = %container.spec.name, error = %err, "container supervisor failed");
            }
        }
        let mut live = container.lock();
        live.pgid = None;
        live.port = None;
    }
}

impl Container {
    fn lock(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_state(&self, state: ContainerState) {
        self.lock().state = state;
    }
}

impl Core {
    /// Starts the container's process on a fresh port and marks the container `up`.
    async fn launch(&self, container: &Container) -> std::io::Result<Running> {
        let spec = &container.spec;
        let command = spec.command.clone().unwrap_or_default();
        let port = free_port()?;
        let spawned = self
            .spawner
            .spawn(Launch {
                command,
                dir: container.dir.clone(),
                env: self.env(&spec.env, port),
            })
            .await?;
        self.record.add(spawned.pid, spawned.start_time, &spec.name);
        self.pump_output(container, spawned.output);

        let mut live = container.lock();
        live.state = ContainerState::Up;
        live.pgid = Some(spawned.pid);
        live.port = Some(port);
        Ok(Running {
            pgid: spawned.pid,
            started: Instant::now(),
            exit: spawned.exit,
        })
    }

    /// The whole environment of a process: its config (with `DEIS_APP`, `DEIS_RELEASE`),
    /// `PATH` unless the config sets one, and the `PORT` the scheduler picked.
    fn env(&self, config: &BTreeMap<String, String>, port: u16) -> BTreeMap<String, String> {
        let mut env = config.clone();
        env.entry("PATH".to_string())
            .or_insert_with(|| self.path.clone());
        env.insert("PORT".to_string(), port.to_string());
        env
    }

    /// Copies each line the process prints to the app log, on a thread of its own so a
    /// chatty process never holds up the async runtime. The thread ends when every
    /// process of the group has closed its output.
    fn pump_output(&self, container: &Container, output: OwnedFd) {
        let log = self.log.clone();
        let (app, kind, num) = (
            container.spec.app.clone(),
            container.spec.process_type.clone(),
            container.spec.num,
        );
        let pump = std::thread::Builder::new()
            .name(format!("coxswain-log-{}", container.spec.name))
            .stack_size(128 * 1024)
            .spawn(move || {
                let mut reader = BufReader::new(std::fs::File::from(output));
                let mut line = Vec::new();
                loop {
                    line.clear();
                    let mut limited = std::io::Read::take(&mut reader, MAX_LOG_LINE as u64);
                    match limited.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            log.process_line(&app, &kind, num, &String::from_utf8_lossy(&line))
                        }
                    }
                }
            });
        if let Err(err) = pump {
            tracing::warn!(container = %container.spec.name, error = %err, "could not follow the container's output");
        }
    }

    /// Asks the process group to end (SIGTERM), kills it after `grace`, and kills whatever
    /// the shell left running in the group.
    async fn terminate(&self, running: &mut Running, grace: Duration) {
        signal_group(running.pgid, libc::SIGTERM);
        if tokio::time::timeout(grace, &mut running.exit)
            .await
            .is_err()
        {
            signal_group(running.pgid, libc::SIGKILL);
            let _ = (&mut running.exit).await;
        }
        signal_group(running.pgid, libc::SIGKILL);
        self.record.remove(running.pgid);
    }
}

/// Watches one container's process from start to stop, restarting it when it exits on
/// its own: after 1 s, then 2 s, 4 s … up to 30 s; back to 1 s once it ran for 30 s.
async fn supervise(
    core: Arc<Core>,
    container: Arc<Container>,
    mut running: Running,
    mut stop: watch::Receiver<Option<Duration>>,
) {
    let name = container.spec.name.clone();
    let app = container.spec.app.clone();
    let mut delay = FIRST_RESTART_DELAY;
    loop {
        let status = tokio::select! {
            status = &mut running.exit => status,
            _ = stop.changed() => {
                let grace = (*stop.borrow()).unwrap_or(STOP_GRACE);
                core.terminate(&mut running, grace).await;
                return;
            }
        };

        // It exited on its own: clear out what the shell left and mark it crashed.
        signal_group(running.pgid, libc::SIGKILL);
        core.record.remove(running.pgid);
        if running.started.elapsed() >= STABLE_RUN {
            delay = FIRST_RESTART_DELAY;
        }
        {
            let mut live = container.lock();
            live.state = ContainerState::Crashed;
            live.pgid = None;
            live.port = None;
        }
        let how = status
            .map(process::describe)
            .unwrap_or_else(|_| "exited".to_string());
        tracing::warn!(container = %name, app = %app, "{how}, restarting in {}s", delay.as_secs());
        core.log.event(
            &app,
            &format!("{name} crashed ({how}), restarting in {}s", delay.as_secs()),
        );

        // Wait, then start it again; a failed start counts as another crash.
        loop {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => return,
            }
            delay = (delay * 2).min(MAX_RESTART_DELAY);
            match core.launch(&container).await {
                Ok(next) => {
                    running = next;
                    break;
                }
                Err(err) => {
                    container.set_state(ContainerState::Error);
                    tracing::warn!(container = %name, app = %app, error = %err, "could not restart the container");
                    core.log
                        .event(&app, &format!("{name} could not be restarted: {err}"));
                }
            }
        }
    }
}

/// Waits until a web container accepts connections on its port, so that traffic can move
/// to it; gives up when its process exits or after a while.
async fn wait_until_serving(container: &Container, pgid: i32, port: u16) {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if container.lock().pgid != Some(pgid) {
            return; // it exited (the supervisor marked it crashed) or was stopped
        }
        if tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .is_ok()
        {
            return;
        }
        if Instant::now() >= deadline {
            tracing::warn!(container = %container.spec.name, port, "container is up but does not accept connections on its port yet");
            return;
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
///
// LIMITATION: the port is free when picked, not reserved; another program may take it
// before the container binds it, and the container then crashes and is restarted on a
// fresh port.
fn free_port() -> std::io::Result<u16> {
    let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

#[async_trait]
impl Scheduler for LocalScheduler {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn prepare_build(&self, app: &str, build: &str, image: &str) -> Result<PreparedBuild> {
        build::check_component("app", app)?;
        build::check_component("build", build)?;
        let source = build::classify(image)?;
        let target = self.build_dir(app, build);
        let procfile = tokio::task::spawn_blocking(move || build::prepare(&source, &target))
            .await
            .map_err(|e| SchedulerError::Failed(format!("preparing the build failed: {e}")))??;
        Ok(PreparedBuild { procfile })
    }

    async fn remove_app(&self, app: &str) -> Result<()> {
        build::check_component("app", app)?;
        let dir = self.builds.join(app);
        let removed = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir))
            .await
            .map_err(|e| {
                SchedulerError::Failed(format!("removing the app's builds failed: {e}"))
            })?;
        match removed {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(SchedulerError::Failed(format!(
                "could not remove the builds of {app}: {err}"
            ))),
        }
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<()> {
        self.unbury(&spec.name);
        if let Ok(existing) = self.container(&spec.name) {
            let _op = existing.op.lock().await;
            let mut live = existing.lock();
            if live.supervisor.is_none() {
                live.state = ContainerState::Created;
            }
            return Ok(());
        }

        let dir = self.build_dir(&spec.app, &spec.build);
        let container = Arc::new(Container {
            spec: spec.clone(),
            dir: dir.clone(),
            serves: spec.process_type == "web" || spec.process_type == "cmd",
            op: tokio::sync::Mutex::new(()),
            live: Mutex::new(Live {
                state: ContainerState::Created,
                pgid: None,
                port: None,
                supervisor: None,
            }),
        });
        self.containers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(spec.name.clone(), container.clone());

        let problem = match (
            &spec.command,
            self.ensure_build(&spec.app, &spec.build, &spec.image).await,
        ) {
            (None, _) => Some(format!("no command for process type {}", spec.process_type)),
            (_, Err(err)) => Some(format!("build {} is not available: {err}", spec.build)),
            (Some(_), Ok(_)) => None,
        };
        if let Some(problem) = problem {
            tracing::warn!(container = %spec.name, "could not create the container: {problem}");
            container.set_state(ContainerState::Error);
            return Err(SchedulerError::Failed(problem));
        }
        Ok(())
    }

    async fn start(&self, name: &str) -> Result<()> {
        let container = self.container(name)?;
        let _op = container.op.lock().await;
        if container.lock().supervisor.is_some() {
            return Ok(()); // running, or waiting to restart after a crash
        }
        if container.spec.command.is_none() {
            container.set_state(ContainerState::Error);
            let problem = format!(
                "no command for process type {}",
                container.spec.process_type
            );
            return Err(SchedulerError::Failed(problem));
        }

        let running = match self.core.launch(&container).await {
            Ok(running) => running,
            Err(err) => {
                tracing::warn!(container = %name, error = %err, "could not start the container");
                container.set_state(ContainerState::Error);
                return Err(SchedulerError::Failed(format!(
                    "could not start {name}: {err}"
                )));
            }
        };
        let (pgid, port) = {
            let live = container.lock();
            (running.pgid, live.port)
        };
        let (stop, stopped) = watch::channel(None);
        let task = tokio::spawn(supervise(
            self.core.clone(),
            container.clone(),
            running,
            stopped,
        ));
        container.lock().supervisor = Some(Supervisor { stop, task });

        if let (true, Some(port)) = (container.serves, port) {
            wait_until_serving(&container, pgid, port).await;
        }
        Ok(())
    }

    async fn stop(&self, name: &str) -> Result<()> {
        let container = self.container(name)?;
        let _op = container.op.lock().await;
        self.halt(&container, STOP_GRACE).await;
        container.set_state(ContainerState::Down);
        Ok(())
    }

    async fn destroy(&self, name: &str) -> Result<()> {
        if let Ok(container) = self.container(name) {
            let _op = container.op.lock().await;
            self.halt(&container, STOP_GRACE).await;
            container.set_state(ContainerState::Destroyed);
            self.containers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(name);
        }
        self.bury(name);
        Ok(())
    }

    async fn state(&self, name: &str) -> ContainerState {
        if let Ok(container) = self.container(name) {
            return container.lock().state;
        }
        let tombstones = self.tombstones.lock().unwrap_or_else(|e| e.into_inner());
        if tombstones.names.contains(name) {
            ContainerState::Destroyed
        } else {
            ContainerState::Initialized
        }
    }

    async fn run(&self, spec: &RunSpec) -> Result<(i32, String)> {
        let dir = self
            .ensure_build(&spec.app, &spec.build, &spec.image)
            .await?;
        let port = free_port().map_err(|e| SchedulerError::Failed(format!("no free port: {e}")))?;
        let launch = Launch {
            command: spec.command.clone(),
            dir,
            env: self.core.env(&spec.env, port),
        };
        let spawned = self.core.spawner.spawn(launch).await.map_err(|err| {
            tracing::warn!(container = %spec.name, error = %err, "could not run the command");
            SchedulerError::Failed(format!("could not run {}: {err}", spec.name))
        })?;
        self.core
            .record
            .add(spawned.pid, spawned.start_time, &spec.name);
        // Should the caller give up waiting (a client hanging up), the command dies too.
        let _guard = KillOnDrop {
            pgid: spawned.pid,
            record: &self.core.record,
        };

        let output = Arc::new(Mutex::new(Output::new(self.options.run_output_cap)));
        let reader = tokio::spawn(collect_output(spawned.output, output.clone()));
        let mut exit = spawned.exit;
        let timeout = self.options.run_timeout;
        let status = match tokio::time::timeout(timeout, &mut exit).await {
            Ok(status) => Some(status),
            Err(_) => {
                signal_group(spawned.pid, libc::SIGKILL);
                let _ = exit.await;
                None
            }
        };
        // One-off: nothing it started outlives it. Then the output pipe closes.
        signal_group(spawned.pid, libc::SIGKILL);
        if tokio::time::timeout(Duration::from_secs(2), reader)
            .await
            .is_err()
        {
            tracing::warn!(container = %spec.name, "output of the command stayed open after it ended");
        }

        let mut output = output.lock().unwrap_or_else(|e| e.into_inner()).finish();
        let code = match status {
            Some(Ok(status)) => process::exit_code(status),
            Some(Err(_)) => 128 + libc::SIGKILL,
            None => {
                note(
                    &mut output,
                    &format!("[timed out after {}s]", timeout.as_secs_f64()),
                );
                RUN_TIMEOUT_EXIT_CODE
            }
        };
        Ok((code, output))
    }

    fn endpoints(&self, app: &str) -> Vec<SocketAddr> {
        let prefix = format!("{app}_");
        let containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        containers
            .range(prefix.clone()..)
            .take_while(|(name, _)| name.starts_with(&prefix))
            .filter(|(_, c)| c.serves && c.spec.app == app)
            .filter_map(|(_, c)| {
                let live = c.lock();
                let port = live.port.filter(|_| live.state == ContainerState::Up)?;
                Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            })
            .collect()
    }

    async fn shutdown(&self) {
        let all: Vec<Arc<Container>> = self
            .containers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let stops = all.iter().map(|container| async move {
            self.halt(container, SHUTDOWN_GRACE).await;
            container.set_state(ContainerState::Down);
        });
        futures::future::join_all(stops).await;
        self.core.record.clear();
    }
}

/// Kills a one-off run's process group and forgets it, however `run` ends.
struct KillOnDrop<'a> {
    pgid: i32,
    record: &'a Record,
}

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        signal_group(self.pgid, libc::SIGKILL);
        self.record.remove(self.pgid);
    }
}

/// The combined output of a one-off run, kept up to a cap.
struct Output {
    bytes: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Output {
    fn new(cap: usize) -> Output {
        Output {
            bytes: Vec::new(),
            cap,
            truncated: false,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn finish(&mut self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.truncated {
            note(&mut text, "[output truncated]");
        }
        text
    }
}

/// Appends a line of the scheduler's own to a run's output.
fn note(output: &mut String, line: &str) {
    if !output.is_empty() && !output.ends_with('\n') {
        output.push('\n');
    }
    output.push_str(line);
    output.push('\n');
}

/// Reads a run's output pipe to its end; past the cap the bytes are read and dropped, so
/// the command never blocks on a full pipe.
async fn collect_output(fd: OwnedFd, output: Arc<Mutex<Output>>) {
    let mut pipe = match tokio::net::unix::pipe::Receiver::from_owned_fd(fd) {
        Ok(pipe) => pipe,
        Err(err) => {
            tracing::warn!(error = %err, "could not read the output of a run");
            return;
        }
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => output
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(&chunk[..n]),
        }
    }
}
