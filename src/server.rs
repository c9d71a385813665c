//! `coxswain serve`: opens the store, starts the scheduler, restores the containers the
//! store records, and serves the API and the router until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::api::{self, State};
use crate::applog::AppLog;
use crate::hosts::HostTable;
use crate::platform::Platform;
use crate::scheduler::local::{LocalOptions, LocalScheduler};
use crate::scheduler::Scheduler;
use crate::settings::{SchedulerKind, Settings};
use crate::store::Store;

/// Entry point of the `serve` command.
pub fn main(settings: Settings) -> ExitCode {
    init_logging();
    if let Err(message) = settings.validate() {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let server = Server::start(&settings, None).await?;
        tracing::info!(
            api = %server.api_addr,
            router = %server.router_addr,
            data_dir = %settings.data_dir.display(),
            "coxswain is serving"
        );
        shutdown_signal().await;
        tracing::info!("shutting down");
        server.stop().await;
        anyhow::Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COXSWAIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// A running controller: the API and router listeners and what they share.
pub struct Server {
    pub api_addr: SocketAddr,
    pub router_addr: SocketAddr,
    pub platform: Arc<Platform>,
    pub state: Arc<State>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Starts a controller. `scheduler` replaces the one the settings name (tests wrap
    /// the local scheduler in a fault injector this way).
    pub async fn start(
        settings: &Settings,
        scheduler: Option<Arc<dyn Scheduler>>,
    ) -> anyhow::Result<Server> {
        let data_dir = &settings.data_dir;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let log = AppLog::new(data_dir.join("logs")).context("cannot create the log directory")?;
        let store = Store::open(settings.database.as_deref(), data_dir)
            .await
            .context("cannot open the store")?;
        let builder_key = match &settings.builder_key {
            Some(key) => key.clone(),
            None => builder_key(data_dir)?,
        };
        let scheduler = match scheduler {
            Some(s) => s,
            None => match settings.scheduler {
                SchedulerKind::Local => {
                    let local =
                        LocalScheduler::new(data_dir.clone(), log.clone(), LocalOptions::default())
                            .context("cannot start the local scheduler")?;
                    local as Arc<dyn Scheduler>
                }
            },
        };
        let hosts = Arc::new(HostTable::new(&settings.domain));
        let platform = Arc::new(Platform::new(store.clone(), scheduler, log, hosts.clone()));

        let api_listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let router_listener = TcpListener::bind(settings.router_listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.router_listen))?;
        let api_addr = api_listener.local_addr()?;
        let router_addr = router_listener.local_addr()?;

        platform
            .reconcile()
            .await
            .context("cannot restore the containers")?;

        let state = Arc::new(State {
            store,
            platform: platform.clone(),
            registration: settings.registration,
            builder_key,
            reserved_names: vec!["deis".into()],
        });
        let app = api::app(state.clone());
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(async move {
            if let Err(err) = axum::serve(api_listener, app).await {
                tracing::error!(error = %err, "the API server stopped");
            }
        }));
        let router_scheduler = platform.scheduler.clone();
        tasks.push(tokio::spawn(crate::router::serve(
            router_listener,
            hosts,
            router_scheduler,
        )));
        Ok(Server {
            api_addr,
            router_addr,
            platform,
            state,
            tasks,
        })
    }

    /// Stops serving and stops every container.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.platform.scheduler.shutdown().await;
    }
}

/// The builder key kept in the data directory, made on first use.
fn builder_key(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("builder.key");
    match std::fs::read_to_string(&path) {
        Ok(key) if !key.trim().is_empty() => Ok(key.trim().to_string()),
        _ => {
            let key = crate::auth::random_key(32);
            write_private(&path, &key)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(key)
        }
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}
