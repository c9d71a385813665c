//! Coxswain: a Heroku-style platform controller, wire-compatible with the Deis v1
//! Controller REST API 1.4, that really runs the apps it deploys.

pub mod applog;
pub mod hosts;
pub mod router;
pub mod scheduler;
pub mod time;
