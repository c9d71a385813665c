//! A fault-injecting wrapper around a real scheduler, for testing the platform's failure
//! paths against real containers.
//!
//! Like the spec's chaos scheduler (§4.6), each operation fails with a set probability and
//! leaves the container in the state such a failure would: a failed create → `error`, a
//! failed start → `crashed`, a failed stop or destroy → `error`, a failed run → "exit code 1".
//! A failed operation is not passed on to the wrapped scheduler; the state it leaves is an
//! override that `state` reports until the next successful operation on that container.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rand::Rng;

use super::*;

/// Probabilities, from 0.0 (never) to 1.0 (always), that an operation fails.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    pub create: f64,
    pub start: f64,
    pub stop: f64,
    pub destroy: f64,
    pub run: f64,
}

pub struct Faulty {
    inner: Arc<dyn Scheduler>,
    faults: Mutex<Faults>,
    /// States left by injected failures, by container name.
    overrides: Mutex<HashMap<String, ContainerState>>,
}

impl Faulty {
    /// Wraps `inner`; no operation fails until [`Faulty::set`] says so.
    pub fn new(inner: Arc<dyn Scheduler>) -> Arc<Faulty> {
        Arc::new(Faulty {
            inner,
            faults: Mutex::default(),
            overrides: Mutex::default(),
        })
    }

    /// Replaces the failure probabilities.
    pub fn set(&self, faults: Faults) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    pub fn faults(&self) -> Faults {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The wrapped scheduler.
    pub fn inner(&self) -> &Arc<dyn Scheduler> {
        &self.inner
    }

    /// Whether an operation with failure probability `p` fails this time.
    fn strikes(p: f64) -> bool {
        p >= 1.0 || (p > 0.0 && rand::thread_rng().gen_bool(p))
    }

    /// Records the state an injected failure leaves and returns the failure.
    fn fail(&self, name: &str, operation: &str, state: ContainerState) -> SchedulerError {
        self.overrides
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), state);
        tracing::warn!(container = name, operation, "injected scheduler failure");
        SchedulerError::Failed(format!("injected failure: {operation} {name}"))
    }

    fn clear(&self, name: &str) {
        self.overrides
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}

#[async_trait]
impl Scheduler for Faulty {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn prepare_build(&self, app: &str, build: &str, image: &str) -> Result<PreparedBuild> {
        self.inner.prepare_build(app, build, image).await
    }

    async fn remove_app(&self, app: &str) -> Result<()> {
        self.inner.remove_app(app).await
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<()> {
        if Self::strikes(self.faults().create) {
            return Err(self.fail(&spec.name, "create", ContainerState::Error));
        }
        self.clear(&spec.name);
        self.inner.create(spec).await
    }

    async fn start(&self, name: &str) -> Result<()> {
        if Self::strikes(self.faults().start) {
            return Err(self.fail(name, "start", ContainerState::Crashed));
        }
        self.clear(name);
        self.inner.start(name).await
    }

    async fn stop(&self, name: &str) -> Result<()> {
        if Self::strikes(self.faults().stop) {
            return Err(self.fail(name, "stop", ContainerState::Error));
        }
        self.clear(name);
        self.inner.stop(name).await
    }

    async fn destroy(&self, name: &str) -> Result<()> {
        if Self::strikes(self.faults().destroy) {
            return Err(self.fail(name, "destroy", ContainerState::Error));
        }
        self.clear(name);
        self.inner.destroy(name).await
    }

    async fn state(&self, name: &str) -> ContainerState {
        let overridden = self
            .overrides
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied();
        match overridden {
            Some(state) => state,
            None => self.inner.state(name).await,
        }
    }

    async fn run(&self, spec: &RunSpec) -> Result<(i32, String)> {
        if Self::strikes(self.faults().run) {
            tracing::warn!(container = %spec.name, operation = "run", "injected scheduler failure");
            return Err(SchedulerError::Failed("exit code 1".to_string()));
        }
        self.inner.run(spec).await
    }

    fn endpoints(&self, app: &str) -> Vec<SocketAddr> {
        self.inner.endpoints(app)
    }

    async fn shutdown(&self) {
        self.inner.shutdown().await
    }
}
