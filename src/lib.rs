//! Coxswain: a Heroku-style platform controller, wire-compatible with the Deis v1
//! Controller REST API 1.4, that really runs the apps it deploys.

pub mod api;
pub mod applog;
pub mod auth;
pub mod domain;
pub mod hosts;
pub mod platform;
pub mod router;
pub mod scheduler;
pub mod server;
pub mod settings;
pub mod store;
pub mod time;
