//! Flags and environment of `coxswain serve`, validated once at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "coxswain",
    version,
    about = "A Heroku-style platform controller, wire-compatible with the Deis v1 API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the app router, and run the apps.
    Serve(Settings),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Registration {
    /// Anyone may register.
    Enabled,
    /// Nobody may register.
    Disabled,
    /// Only a superuser may register new users.
    AdminOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchedulerKind {
    /// Every container is a supervised process on this machine.
    Local,
}

#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
    /// Address of the API.
    #[arg(long, env = "COXSWAIN_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,

    /// Address of the app router.
    #[arg(long, env = "COXSWAIN_ROUTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub router_listen: SocketAddr,

    /// Where state, builds and logs are kept.
    #[arg(long, env = "COXSWAIN_DATA_DIR", default_value = "./coxswain-data")]
    pub data_dir: PathBuf,

    /// A `postgres://` URL selects PostgreSQL; by default an SQLite file in the data directory.
    #[arg(long, env = "COXSWAIN_DATABASE")]
    pub database: Option<String>,

    /// Platform domain: app `web` is reached as `web.<domain>`.
    #[arg(long, env = "COXSWAIN_DOMAIN", default_value = "localhost", value_parser = parse_domain)]
    pub domain: String,

    /// What runs the containers.
    #[arg(long, env = "COXSWAIN_SCHEDULER", value_enum, default_value = "local")]
    pub scheduler: SchedulerKind,

    /// Who may register.
    #[arg(
        long,
        env = "COXSWAIN_REGISTRATION",
        value_enum,
        default_value = "enabled"
    )]
    pub registration: Registration,

    /// Shared key of the builder hooks; generated once and kept in the data directory
    /// when not given.
    #[arg(long, env = "COXSWAIN_BUILDER_KEY", hide_env_values = true)]
    pub builder_key: Option<String>,
}

fn parse_domain(s: &str) -> Result<String, String> {
    let d = s.trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!("{s:?} is not a valid domain name"))
    }
}

impl Settings {
    /// Checks what clap cannot: a usable database URL and builder key.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(db) = &self.database {
            let known = ["postgres://", "postgresql://", "sqlite:"];
            if !known.iter().any(|p| db.starts_with(p)) {
                return Err(format!(
                    "--database must be a postgres:// URL (or sqlite:), got {:?}",
                    redact_url(db)
                ));
            }
        }
        if let Some(key) = &self.builder_key {
            if key.trim().is_empty() {
                return Err("--builder-key must not be empty".into());
            }
        }
        Ok(())
    }
}

/// A database URL with its password replaced, fit for an error message.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.split('@').next_back().unwrap_or_default().to_string(),
    }
}
