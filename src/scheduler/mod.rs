//! The scheduler interface: what the platform asks of whatever runs containers.
//!
//! A container is one process of one process type of one release, named
//! `<app>_v<version>.<type>.<num>`. The platform decides what runs and when; a scheduler
//! only carries it out and reports container states.

pub mod faulty;
pub mod local;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

use async_trait::async_trait;

/// The states of the spec (§4.6), as the API shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContainerState {
    Initialized,
    Created,
    Up,
    Down,
    Destroyed,
    Crashed,
    Error,
}

impl ContainerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Initialized => "initialized",
            ContainerState::Created => "created",
            ContainerState::Up => "up",
            ContainerState::Down => "down",
            ContainerState::Destroyed => "destroyed",
            ContainerState::Crashed => "crashed",
            ContainerState::Error => "error",
        }
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a scheduler needs to create one container.
#[derive(Clone, Debug)]
pub struct ContainerSpec {
    /// `<app>_v<version>.<type>.<num>`
    pub name: String,
    pub app: String,
    pub process_type: String,
    pub num: u32,
    /// Release version the container belongs to.
    pub version: u32,
    /// The build's `image` as stored (local: a path or `file://` URL, optionally with a
    /// Docker-style `:tag` label, see `local/build.rs`; docker: a reference).
    pub image: String,
    /// The build's uuid; the local scheduler keeps each build's files under it.
    pub build: String,
    /// The command of the process type; `None` means "the image default" (docker) and is
    /// an error for the local scheduler.
    pub command: Option<String>,
    /// Config values plus `DEIS_APP` and `DEIS_RELEASE`. The scheduler adds `PORT` (and,
    /// for local processes, `PATH`).
    pub env: BTreeMap<String, String>,
    /// Memory limit of this process type from the release config (e.g. `512M`), if any.
    pub memory: Option<String>,
    /// CPU shares of this process type from the release config, if any.
    pub cpu: Option<i64>,
}

/// A one-off command (`deis run`).
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// `<app>_v<version>.run.<num>`
    pub name: String,
    pub app: String,
    pub version: u32,
    pub image: String,
    pub build: String,
    /// A shell command line, run with `sh -c`.
    pub command: String,
    pub env: BTreeMap<String, String>,
}

/// What preparing a build found in it.
#[derive(Clone, Debug, Default)]
pub struct PreparedBuild {
    /// Process types read from a `Procfile` at the root of the build, when there is one.
    pub procfile: Option<BTreeMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The request cannot be carried out as given (bad image for this scheduler, …);
    /// the API answers 400 with this text.
    #[error("{0}")]
    Invalid(String),
    /// The scheduler tried and failed; the API answers 503.
    #[error("{0}")]
    Failed(String),
}

pub type Result<T> = std::result::Result<T, SchedulerError>;

#[async_trait]
pub trait Scheduler: Send + Sync + 'static {
    /// Short name for logs and `/healthz`-style reports (`local`, `docker`).
    fn kind(&self) -> &'static str;

    /// Checks a build's `image` and makes it ready to run (the local scheduler copies or
    /// unpacks it once per build). Called before the build is stored, so an `Invalid`
    /// error changes nothing.
    async fn prepare_build(&self, app: &str, build: &str, image: &str) -> Result<PreparedBuild>;

    /// Forgets everything kept for an app (its builds' files). Called when the app is destroyed.
    async fn remove_app(&self, app: &str) -> Result<()>;

    /// Creates a container without starting it: state `created` afterwards.
    async fn create(&self, spec: &ContainerSpec) -> Result<()>;

    /// Starts a created or stopped container: state `up` afterwards.
    async fn start(&self, name: &str) -> Result<()>;

    /// Stops a running container: state `down` afterwards.
    async fn stop(&self, name: &str) -> Result<()>;

    /// Stops the container if needed and forgets it: state `destroyed` afterwards.
    async fn destroy(&self, name: &str) -> Result<()>;

    /// The live state of a container; `initialized` when the scheduler does not know it.
    async fn state(&self, name: &str) -> ContainerState;

    /// Runs a one-off command to completion and returns its exit code and combined output.
    async fn run(&self, spec: &RunSpec) -> Result<(i32, String)>;

    /// Where the router may send an app's traffic: the addresses of its `up` containers
    /// of type `web` or `cmd`.
    fn endpoints(&self, app: &str) -> Vec<SocketAddr>;

    /// Stops every container this scheduler runs; called once at controller shutdown.
    async fn shutdown(&self);
}
