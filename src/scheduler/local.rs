//! The local scheduler: every container is a supervised OS process. (Being written.)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

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
        LocalOptions { run_timeout: Duration::from_secs(600), run_output_cap: 1 << 20 }
    }
}

pub struct LocalScheduler {
    #[allow(dead_code)]
    data_dir: PathBuf,
    #[allow(dead_code)]
    log: AppLog,
    #[allow(dead_code)]
    options: LocalOptions,
}

impl LocalScheduler {
    /// `data_dir` is the controller's data directory: builds go under `builds/`, and the
    /// scheduler keeps its own runtime records there.
    pub fn new(data_dir: PathBuf, log: AppLog, options: LocalOptions) -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(LocalScheduler { data_dir, log, options }))
    }
}

#[async_trait]
impl Scheduler for LocalScheduler {
    fn kind(&self) -> &'static str {
        "local"
    }
    async fn prepare_build(&self, _app: &str, _build: &str, _image: &str) -> Result<PreparedBuild> {
        Err(SchedulerError::Failed("not yet".into()))
    }
    async fn remove_app(&self, _app: &str) -> Result<()> {
        Ok(())
    }
    async fn create(&self, _spec: &ContainerSpec) -> Result<()> {
        Err(SchedulerError::Failed("not yet".into()))
    }
    async fn start(&self, _name: &str) -> Result<()> {
        Err(SchedulerError::Failed("not yet".into()))
    }
    async fn stop(&self, _name: &str) -> Result<()> {
        Err(SchedulerError::Failed("not yet".into()))
    }
    async fn destroy(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    async fn state(&self, _name: &str) -> ContainerState {
        ContainerState::Initialized
    }
    async fn run(&self, _spec: &RunSpec) -> Result<(i32, String)> {
        Err(SchedulerError::Failed("not yet".into()))
    }
    fn endpoints(&self, _app: &str) -> Vec<std::net::SocketAddr> {
        Vec::new()
    }
    async fn shutdown(&self) {}
}
