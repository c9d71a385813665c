//! The app router: sends `<app>.<domain>` traffic to the app's web containers. (Being written.)

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::hosts::HostTable;
use crate::scheduler::Scheduler;

/// Serves the router on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, hosts: Arc<HostTable>, scheduler: Arc<dyn Scheduler>) {
    let _ = (listener, hosts, scheduler);
    std::future::pending::<()>().await
}
