//! Rows as the store hands them out.

use serde_json::{Map, Value};

pub type JsonMap = Map<String, Value>;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// An Argon2id PHC string.
    pub password: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_superuser: i64,
    pub is_active: i64,
    pub last_login: i64,
    pub date_joined: i64,
}

impl User {
    pub fn is_superuser(&self) -> bool {
        self.is_superuser != 0
    }

    pub fn is_active(&self) -> bool {
        self.is_active != 0
    }
}

pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct App {
    pub uuid: String,
    pub id: String,
    pub owner_id: i64,
    pub owner: String,
    /// JSON object `{process type: count}`.
    pub structure: String,
    pub created: i64,
    pub updated: i64,
}

impl App {
    pub fn structure(&self) -> JsonMap {
        serde_json::from_str(&self.structure).unwrap_or_default()
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Release {
    pub uuid: String,
    pub app: String,
    pub owner: String,
    pub version: i64,
    pub summary: String,
    pub config: String,
    pub build: Option<String>,
    pub created: i64,
    pub updated: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigMaps {
    pub values: JsonMap,
    pub memory: JsonMap,
    pub cpu: JsonMap,
    pub tags: JsonMap,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub uuid: String,
    pub app: String,
    pub owner: String,
    pub maps: ConfigMaps,
    pub created: i64,
    pub updated: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct ConfigRow {
    uuid: String,
    app: String,
    owner: String,
    vals: String,
    memory: String,
    cpu: String,
    tags: String,
    created: i64,
    updated: i64,
}

impl ConfigRow {
    pub(super) fn decode(self) -> serde_json::Result<Config> {
        Ok(Config {
            uuid: self.uuid,
            app: self.app,
            owner: self.owner,
            maps: ConfigMaps {
                values: serde_json::from_str(&self.vals)?,
                memory: serde_json::from_str(&self.memory)?,
                cpu: serde_json::from_str(&self.cpu)?,
                tags: serde_json::from_str(&self.tags)?,
            },
            created: self.created,
            updated: self.updated,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Build {
    pub uuid: String,
    pub app: String,
    pub owner: String,
    pub image: String,
    pub sha: String,
    pub procfile: Value,
    pub dockerfile: String,
    pub created: i64,
    pub updated: i64,
}

impl Build {
    /// The process types the build declares (keys of an object procfile).
    pub fn process_types(&self) -> Vec<String> {
        match &self.procfile {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    pub fn command(&self, process_type: &str) -> Option<String> {
        match self.procfile.get(process_type)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct BuildRow {
    uuid: String,
    app: String,
    owner: String,
    image: String,
    sha: String,
    procfile: String,
    dockerfile: String,
    created: i64,
    updated: i64,
}

impl BuildRow {
    pub(super) fn decode(self) -> serde_json::Result<Build> {
        Ok(Build {
            uuid: self.uuid,
            app: self.app,
            owner: self.owner,
            image: self.image,
            sha: self.sha,
            procfile: serde_json::from_str(&self.procfile)?,
            dockerfile: self.dockerfile,
            created: self.created,
            updated: self.updated,
        })
    }
}

pub struct NewBuild {
    pub uuid: String,
    pub image: String,
    pub sha: String,
    pub procfile: Value,
    pub dockerfile: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Container {
    pub uuid: String,
    pub app: String,
    /// The app owner's username.
    pub owner: String,
    /// Version of the container's release.
    pub version: i64,
    pub release: String,
    #[sqlx(rename = "type")]
    pub process_type: String,
    pub num: i64,
    pub created: i64,
    pub updated: i64,
}

impl Container {
    /// The scheduler's name for it: `<app>_v<version>.<type>.<num>`.
    pub fn job_name(&self) -> String {
        format!(
            "{}_v{}.{}.{}",
            self.app, self.version, self.process_type, self.num
        )
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Domain {
    pub app: String,
    pub owner: String,
    pub domain: String,
    pub created: i64,
    pub updated: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Key {
    pub uuid: String,
    pub owner: String,
    pub id: String,
    pub public: String,
    pub fingerprint: String,
    pub created: i64,
    pub updated: i64,
}

#[derive(Clone, sqlx::FromRow)]
pub struct Cert {
    pub id: i64,
    pub owner: String,
    pub certificate: String,
    pub key: String,
    pub common_name: String,
    pub expires: i64,
    pub created: i64,
    pub updated: i64,
}

impl std::fmt::Debug for Cert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cert")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("common_name", &self.common_name)
            .field("key", &"<redacted>")
            .finish()
    }
}

pub struct NewCert {
    pub certificate: String,
    pub key: String,
    pub common_name: String,
    pub expires: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Push {
    pub uuid: String,
    pub app: String,
    pub owner: String,
    pub sha: String,
    pub fingerprint: String,
    pub receive_user: String,
    pub receive_repo: String,
    pub ssh_connection: String,
    pub ssh_original_command: String,
    pub created: i64,
    pub updated: i64,
}

pub struct NewPush {
    pub sha: String,
    pub fingerprint: String,
    pub receive_user: String,
    pub receive_repo: String,
    pub ssh_connection: String,
    pub ssh_original_command: String,
}
