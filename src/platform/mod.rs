//! What the API asks of the world: create and destroy apps, make releases and deploy
//! them, scale, restart and run containers, and bring everything back after a restart.
//! The rules are those of spec §4 with the corrections of §9.

mod deploy;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tokio::sync::OwnedMutexGuard;

use crate::applog::AppLog;
use crate::hosts::HostTable;
use crate::scheduler::{ContainerSpec, ContainerState, RunSpec, Scheduler, SchedulerError};
use crate::store::{App, Build, Config, Container, Release, Store, StoreError, User};

pub use deploy::NewBuildRequest;

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// 400 `{"detail": …}`
    #[error("{0}")]
    Invalid(String),
    /// 400 `{"<field>": […]}`
    #[error("{0}: {1}")]
    InvalidField(String, String),
    /// 503 `{"detail": …}`: the scheduler failed.
    #[error("{0}")]
    Unavailable(String),
    #[error("not found")]
    NotFound,
    /// 409: another change to the same app won the race.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, PlatformError>;

pub const CREATE_FAILED: &str = "aborting, failed to create some containers";
pub const DESTROY_FAILED: &str = "aborting, failed to destroy some containers";

/// A release with the build and config it points at.
#[derive(Clone, Debug)]
pub struct ReleaseContext {
    pub release: Release,
    pub build: Option<Build>,
    pub config: Config,
}

pub struct Platform {
    pub store: Store,
    pub scheduler: Arc<dyn Scheduler>,
    pub log: AppLog,
    pub hosts: Arc<HostTable>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Platform {
    pub fn new(
        store: Store,
        scheduler: Arc<dyn Scheduler>,
        log: AppLog,
        hosts: Arc<HostTable>,
    ) -> Platform {
        Platform {
            store,
            scheduler,
            log,
            hosts,
            locks: Mutex::default(),
        }
    }

    /// Serialises the operations that change an app's releases or containers.
    // LIMITATION: the lock is per controller process; several controllers sharing one
    // PostgreSQL database rely on the unique (app, version) constraint, which turns a
    // lost race into a 409 instead of waiting.
    pub async fn lock(&self, app: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(app.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// Loads a release with its build and config.
    pub async fn context(&self, release: Release) -> Result<ReleaseContext> {
        let build = match &release.build {
            Some(uuid) => self.store.build(uuid).await?,
            None => None,
        };
        let config = self.store.config(&release.config).await?;
        Ok(ReleaseContext {
            release,
            build,
            config,
        })
    }

    pub async fn latest(&self, app: &App) -> Result<ReleaseContext> {
        let release = self.latest_release(app).await?;
        self.context(release).await
    }

    /// The app's latest release; `NotFound` when the app has none because it was
    /// destroyed while the caller waited for the app's lock.
    async fn latest_release(&self, app: &App) -> Result<crate::store::Release> {
        match self.store.latest_release(app).await {
            Err(crate::store::StoreError::Db(sqlx::Error::RowNotFound)) => {
                Err(PlatformError::NotFound)
            }
            other => Ok(other?),
        }
    }

    // ---------------------------------------------------------------- apps

    pub async fn create_app(&self, id: &str, owner: &User) -> Result<App> {
        let summary = format!("{} created initial release", owner.username);
        let app = self.store.create_app(id, owner, &summary).await?;
        self.log.event(&app.id, &summary);
        self.hosts.add_app(&app.id);
        Ok(app)
    }

    /// Destroys every container of the app (failures are logged, not fatal), its build
    /// files, its log and its rows.
    pub async fn destroy_app(&self, app: &App) -> Result<()> {
        let _guard = self.lock(&app.id).await;
        let mut containers = self.store.containers(app, None).await?;
        containers.extend(self.store.containers(app, Some("run")).await?);
        let results = futures::future::join_all(
            containers
                .iter()
                .map(|c| async move { (c, self.scheduler.destroy(&c.job_name()).await) }),
        )
        .await;
        for (c, result) in results {
            if let Err(err) = result {
                tracing::warn!(app = %app.id, container = %c.job_name(), error = %err, "destroy failed");
            }
        }
        if let Err(err) = self.scheduler.remove_app(&app.id).await {
            tracing::warn!(app = %app.id, error = %err, "removing the app's builds failed");
        }
        self.store.delete_app(app).await?;
        self.log.remove(&app.id);
        self.hosts.remove_app(&app.id);
        Ok(())
    }

    // ---------------------------------------------------------------- containers

    pub async fn state(&self, container: &Container) -> ContainerState {
        self.scheduler.state(&container.job_name()).await
    }

    /// What the scheduler needs to create `container` of the release in `ctx`.
    pub fn spec(&self, ctx: &ReleaseContext, container: &Container) -> ContainerSpec {
        let version = ctx.release.version;
        let build = ctx.build.as_ref();
        let process_type = container.process_type.as_str();
        let command = build.and_then(|b| {
            b.command(process_type).or_else(|| {
                // The local analogue of an image's default command.
                (process_type == "cmd").then(|| b.command("web")).flatten()
            })
        });
        let memory = ctx.config.maps.memory.get(process_type).map(value_text);
        let cpu = ctx.config.maps.cpu.get(process_type).and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
        ContainerSpec {
            name: container.job_name(),
            app: container.app.clone(),
            process_type: process_type.to_string(),
            num: container.num as u32,
            version: version as u32,
            image: build.map(|b| b.image.clone()).unwrap_or_default(),
            build: build.map(|b| b.uuid.clone()).unwrap_or_default(),
            command,
            env: env_of(ctx),
            memory,
            cpu,
        }
    }

    /// Creates and starts `containers` (all of the release in `ctx`). If any cannot be
    /// created, all of them are destroyed again and the operation fails; containers that
    /// were created but did not come up only earn a warning in the app log.
    async fn start_group(&self, ctx: &ReleaseContext, containers: &[Container]) -> Result<()> {
        if containers.is_empty() {
            return Ok(());
        }
        let app = &ctx.release.app;
        let created = futures::future::join_all(containers.iter().map(|c| async move {
            let spec = self.spec(ctx, c);
            let result = self.scheduler.create(&spec).await;
            if let Err(err) = &result {
                self.log
                    .event(app, &format!("{} (create): {err}", spec.name));
                tracing::warn!(app = %app, container = %spec.name, error = %err, "create failed");
            }
            let state = self.scheduler.state(&spec.name).await;
            (result, state)
        }))
        .await;
        if created
            .iter()
            .any(|(_, state)| *state != ContainerState::Created)
        {
            self.log.event(app, CREATE_FAILED);
            self.discard(containers).await;
            let invalid = created.iter().find_map(|(r, _)| match r {
                Err(SchedulerError::Invalid(msg)) => Some(msg.clone()),
                _ => None,
            });
            return Err(match invalid {
                Some(msg) => PlatformError::Invalid(msg),
                None => PlatformError::Unavailable(CREATE_FAILED.into()),
            });
        }
        let started = futures::future::join_all(containers.iter().map(|c| async move {
            let name = c.job_name();
            if let Err(err) = self.scheduler.start(&name).await {
                self.log.event(app, &format!("{name} (start): {err}"));
                tracing::warn!(app = %app, container = %name, error = %err, "start failed");
            }
            self.scheduler.state(&name).await
        }))
        .await;
        if started.iter().any(|s| *s != ContainerState::Up) {
            self.log
                .event(app, "warning, some containers failed to start");
        }
        Ok(())
    }

    /// Destroys containers in the scheduler and deletes the rows of those that are gone;
    /// fails if any could not be destroyed.
    async fn destroy_group(&self, app: &str, containers: &[Container]) -> Result<()> {
        let results = futures::future::join_all(containers.iter().map(|c| async move {
            let name = c.job_name();
            if let Err(err) = self.scheduler.destroy(&name).await {
                self.log.event(app, &format!("{name} (destroy): {err}"));
                tracing::warn!(app, container = %name, error = %err, "destroy failed");
            }
            (c, self.scheduler.state(&name).await)
        }))
        .await;
        let mut failed = false;
        for (c, state) in results {
            if state == ContainerState::Destroyed {
                self.store.delete_container(c).await?;
            } else {
                failed = true;
            }
        }
        if failed {
            self.log.event(app, DESTROY_FAILED);
            return Err(PlatformError::Unavailable(DESTROY_FAILED.into()));
        }
        Ok(())
    }

    /// Destroys containers that are being given up after a failure, and their rows.
    async fn discard(&self, containers: &[Container]) {
        futures::future::join_all(containers.iter().map(|c| async move {
            let _ = self.scheduler.destroy(&c.job_name()).await;
            let _ = self.store.delete_container(c).await;
        }))
        .await;
    }

    /// Scales to `requested` (already validated as counts ≥ 0), by spec §4.5. The caller
    /// holds the app lock.
    async fn scale_locked(&self, app: &App, user: &str, requested: &[(String, i64)]) -> Result<()> {
        let latest = self.latest(app).await?;
        let Some(build) = &latest.build else {
            return Err(PlatformError::Invalid(
                "No build associated with this release".into(),
            ));
        };
        let types = build.process_types();
        for (t, _) in requested {
            if t != "cmd" && !types.contains(t) {
                return Err(PlatformError::Invalid(format!(
                    "Container type {t} does not exist in application"
                )));
            }
        }
        let phrase: String = requested.iter().map(|(t, n)| format!("{t}={n} ")).collect();
        self.log.event(
            &app.id,
            &format!("{user} scaled containers {}", phrase.trim_end()),
        );

        let mut added = Vec::new();
        let mut removed = Vec::new();
        for (t, n) in requested {
            let current = self.store.containers(app, Some(t)).await?;
            let n = *n as usize;
            if n < current.len() {
                removed.extend(current[n..].iter().cloned());
            } else if n > current.len() {
                let next = self.store.max_container_num(app, t).await? + 1;
                for i in 0..(n - current.len()) as i64 {
                    added.push(
                        self.store
                            .insert_container(app, &latest.release, t, next + i)
                            .await?,
                    );
                }
            }
        }
        if !added.is_empty() {
            self.start_group(&latest, &added).await?;
        }
        if !removed.is_empty() {
            self.destroy_group(&app.id, &removed).await?;
        }

        let mut structure: Map<String, Value> = requested
            .iter()
            .map(|(t, n)| (t.clone(), Value::from(*n)))
            .collect();
        structure.extend(self.container_counts(app).await?);
        self.store
            .set_structure(app, &Value::Object(structure))
            .await?;
        Ok(())
    }

    /// How many containers of each type the app has (never `run`).
    async fn container_counts(&self, app: &App) -> Result<Map<String, Value>> {
        let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
        for c in self.store.containers(app, None).await? {
            *counts.entry(c.process_type).or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|(t, n)| (t, Value::from(n)))
            .collect())
    }

    pub async fn scale(&self, app: &App, user: &User, requested: &[(String, i64)]) -> Result<()> {
        let _guard = self.lock(&app.id).await;
        self.scale_locked(app, &user.username, requested).await
    }

    /// Stops and starts the selected containers (never `run` ones) and returns them.
    pub async fn restart(
        &self,
        app: &App,
        process_type: Option<&str>,
        num: Option<&str>,
    ) -> Result<Vec<Container>> {
        let _guard = self.lock(&app.id).await;
        let selected: Vec<Container> = self
            .store
            .containers(app, None)
            .await?
            .into_iter()
            .filter(|c| process_type.is_none_or(|t| c.process_type == t))
            .filter(|c| num.is_none_or(|n| c.num.to_string() == n))
            .collect();
        let stopped = futures::future::join_all(selected.iter().map(|c| async move {
            let name = c.job_name();
            if let Err(err) = self.scheduler.stop(&name).await {
                self.log.event(&app.id, &format!("{name} (stop): {err}"));
            }
            self.scheduler.state(&name).await
        }))
        .await;
        if stopped.iter().any(|s| *s != ContainerState::Down) {
            self.log
                .event(&app.id, "warning, some containers failed to stop");
        }
        let started = futures::future::join_all(selected.iter().map(|c| async move {
            let name = c.job_name();
            if let Err(err) = self.scheduler.start(&name).await {
                self.log.event(&app.id, &format!("{name} (start): {err}"));
            }
            self.scheduler.state(&name).await
        }))
        .await;
        if started.iter().any(|s| *s != ContainerState::Up) {
            self.log
                .event(&app.id, "warning, some containers failed to start");
        }
        Ok(selected)
    }

    /// Runs a one-off command in the latest release; returns its exit code and output.
    pub async fn run(&self, app: &App, user: &User, command: &str) -> Result<(i32, String)> {
        let container = {
            let _guard = self.lock(&app.id).await;
            let latest = self.latest(app).await?;
            if latest.build.is_none() {
                return Err(PlatformError::Invalid(
                    "No build associated with this release to run this command".into(),
                ));
            }
            self.log
                .event(&app.id, &format!("{} runs '{command}'", user.username));
            let num = self.store.max_container_num(app, "run").await? + 1;
            let row = self
                .store
                .insert_container(app, &latest.release, "run", num)
                .await?;
            (row, latest)
        };
        let (row, latest) = container;
        let spec = RunSpec {
            name: row.job_name(),
            app: app.id.clone(),
            version: latest.release.version as u32,
            image: latest
                .build
                .as_ref()
                .map(|b| b.image.clone())
                .unwrap_or_default(),
            build: latest
                .build
                .as_ref()
                .map(|b| b.uuid.clone())
                .unwrap_or_default(),
            command: command.to_string(),
            env: env_of(&latest),
        };
        match self.scheduler.run(&spec).await {
            Ok(result) => Ok(result),
            Err(SchedulerError::Invalid(msg)) => Err(PlatformError::Invalid(msg)),
            Err(SchedulerError::Failed(msg)) => {
                self.log
                    .event(&app.id, &format!("{} (run): {msg}", spec.name));
                Err(PlatformError::Unavailable(msg))
            }
        }
    }

    /// After a controller start: every container the store records is created and
    /// started again, and the router learns every app and domain.
    pub async fn reconcile(&self) -> Result<()> {
        self.hosts.load(
            self.store.all_app_ids().await?,
            self.store.all_domains().await?,
        );
        let containers = self.store.all_containers().await?;
        let mut contexts: HashMap<String, ReleaseContext> = HashMap::new();
        for c in &containers {
            if !contexts.contains_key(&c.release) {
                if let Some(release) = self.store.release_by_uuid(&c.release).await? {
                    contexts.insert(c.release.clone(), self.context(release).await?);
                }
            }
        }
        let total = containers.len();
        futures::future::join_all(containers.iter().filter_map(|c| {
            let ctx = contexts.get(&c.release)?;
            Some(async move {
                let spec = self.spec(ctx, c);
                let result = match self.scheduler.create(&spec).await {
                    Ok(()) => self.scheduler.start(&spec.name).await,
                    Err(err) => Err(err),
                };
                if let Err(err) = result {
                    tracing::warn!(app = %c.app, container = %spec.name, error = %err, "could not restore a container");
                }
            })
        }))
        .await;
        tracing::info!(containers = total, "containers restored");
        Ok(())
    }
}

/// The environment of a release's containers: its config values as text, plus
/// `DEIS_APP` and `DEIS_RELEASE`.
fn env_of(ctx: &ReleaseContext) -> std::collections::BTreeMap<String, String> {
    let mut env: std::collections::BTreeMap<String, String> = ctx
        .config
        .maps
        .values
        .iter()
        .map(|(k, v)| (k.clone(), value_text(v)))
        .collect();
    env.insert("DEIS_APP".into(), ctx.release.app.clone());
    env.insert("DEIS_RELEASE".into(), format!("v{}", ctx.release.version));
    env
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
