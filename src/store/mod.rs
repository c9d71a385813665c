//! The store: every piece of state Coxswain keeps, behind one interface.
//!
//! The SQL is written once, for sqlx's `Any` driver, and runs on SQLite (the embedded
//! default: one file in the data directory, WAL, foreign keys on) and on PostgreSQL
//! (selected by a `postgres://` URL). Each backend has its own migrations.

mod models;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use models::*;

use crate::time::now_micros;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (the name of the constraint or column, when known).
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt stored JSON: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Turns a unique-constraint violation into `Conflict`, leaving other errors as they are.
fn unique(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() {
            return StoreError::Conflict(db.message().to_string());
        }
    }
    StoreError::Db(err)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Store {
    /// Opens the store named by `database` (a `postgres://` URL), or the SQLite file
    /// `coxswain.db` in `data_dir` when `database` is `None`, and applies migrations.
    pub async fn open(database: Option<&str>, data_dir: &Path) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match database {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                (url.to_string(), Backend::Postgres)
            }
            Some(url) => (url.to_string(), Backend::Sqlite),
            None => {
                let path = data_dir.join("coxswain.db");
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Backend::Sqlite,
                )
            }
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`), so that concurrent transactions wait on `busy_timeout` instead of
    /// failing with "database is locked" when a read snapshot cannot be upgraded.
    async fn begin(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _ => self.pool.begin().await?,
        })
    }

    // ---------------------------------------------------------------- users and tokens

    pub async fn superuser_count(&self) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE is_superuser = 1 AND is_active = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Creates a user; the user becomes a superuser when `superuser` is true, or when no
    /// active superuser exists at that moment (decided inside the transaction).
    pub async fn create_user(&self, new: &NewUser, superuser: bool) -> Result<User> {
        let mut tx = self.begin().await?;
        let admins: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE is_superuser = 1 AND is_active = 1",
        )
        .fetch_one(&mut *tx)
        .await?;
        let is_superuser = superuser || admins == 0;
        let now = now_micros();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, password, email, first_name, last_name, \
             is_superuser, is_active, last_login, date_joined) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id",
        )
        .bind(&new.username)
        .bind(&new.password_hash)
        .bind(&new.email)
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(is_superuser as i64)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(unique)?;
        tx.commit().await?;
        self.user_by_id(id)
            .await?
            .ok_or(StoreError::Db(sqlx::Error::RowNotFound))
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        Ok(
            sqlx::query_as::<_, User>("SELECT * FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok(
            sqlx::query_as::<_, User>("SELECT * FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn user_by_token_hash(&self, hash: &str) -> Result<Option<User>> {
        Ok(sqlx::query_as::<_, User>(
            "SELECT users.* FROM users JOIN tokens ON tokens.user_id = users.id \
             WHERE tokens.hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn add_token(&self, user_id: i64, hash: &str) -> Result<()> {
        sqlx::query("INSERT INTO tokens (hash, user_id, created) VALUES ($1, $2, $3)")
            .bind(hash)
            .bind(user_id)
            .bind(now_micros())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_password(&self, user_id: i64, hash: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_superuser(&self, user_id: i64, on: bool) -> Result<()> {
        sqlx::query("UPDATE users SET is_superuser = $1 WHERE id = $2")
            .bind(on as i64)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        Ok(sqlx::query_as::<_, User>("SELECT * FROM users ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn list_superusers(&self) -> Result<Vec<User>> {
        Ok(sqlx::query_as::<_, User>(
            "SELECT * FROM users WHERE is_superuser = 1 AND is_active = 1 ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn apps_owned_count(&self, user_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM apps WHERE owner_id = $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Deletes a user with their tokens, keys, certificates and app permissions. Objects
    /// they created on other users' apps keep their owner's name as a tombstone.
    pub async fn delete_user(&self, user_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- apps

    /// Creates an app with its initial config and release v1, in one transaction.
    pub async fn create_app(&self, id: &str, owner: &User, summary: &str) -> Result<App> {
        let mut tx = self.begin().await?;
        let now = now_micros();
        let uuid = new_uuid();
        sqlx::query(
            "INSERT INTO apps (uuid, id, owner_id, structure, created, updated) \
             VALUES ($1, $2, $3, '{}', $4, $4)",
        )
        .bind(&uuid)
        .bind(id)
        .bind(owner.id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(unique)?;
        let config = new_uuid();
        sqlx::query(
            "INSERT INTO configs (uuid, app, owner, vals, memory, cpu, tags, created, updated) \
             VALUES ($1, $2, $3, '{}', '{}', '{}', '{}', $4, $4)",
        )
        .bind(&config)
        .bind(&uuid)
        .bind(&owner.username)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO releases (uuid, app, owner, version, summary, config, build, created, updated) \
             VALUES ($1, $2, $3, 1, $4, $5, NULL, $6, $6)",
        )
        .bind(new_uuid())
        .bind(&uuid)
        .bind(&owner.username)
        .bind(summary)
        .bind(&config)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.app(id)
            .await?
            .ok_or(StoreError::Db(sqlx::Error::RowNotFound))
    }

    const APP_SELECT: &'static str = "SELECT apps.uuid, apps.id, apps.owner_id, \
        users.username AS owner, apps.structure, apps.created, apps.updated \
        FROM apps JOIN users ON users.id = apps.owner_id";

    pub async fn app(&self, id: &str) -> Result<Option<App>> {
        let sql = format!("{} WHERE apps.id = $1", Self::APP_SELECT);
        Ok(sqlx::query_as::<_, App>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn app_exists(&self, id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM apps WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    pub async fn all_app_ids(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM apps ORDER BY seq")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Apps a user may see: all of them for a superuser, else owned or shared ones.
    pub async fn apps_visible_to(&self, user: &User) -> Result<Vec<App>> {
        let sql = if user.is_superuser() {
            format!("{} ORDER BY apps.seq", Self::APP_SELECT)
        } else {
            format!(
                "{} WHERE apps.owner_id = $1 OR apps.uuid IN \
                 (SELECT app FROM app_perms WHERE user_id = $1) ORDER BY apps.seq",
                Self::APP_SELECT
            )
        };
        let mut q = sqlx::query_as::<_, App>(&sql);
        if !user.is_superuser() {
            q = q.bind(user.id);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    pub async fn delete_app(&self, app: &App) -> Result<()> {
        sqlx::query("DELETE FROM apps WHERE uuid = $1")
            .bind(&app.uuid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_structure(&self, app: &App, structure: &serde_json::Value) -> Result<()> {
        sqlx::query("UPDATE apps SET structure = $1, updated = $2 WHERE uuid = $3")
            .bind(structure.to_string())
            .bind(now_micros())
            .bind(&app.uuid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- sharing

    pub async fn is_collaborator(&self, app: &App, user_id: i64) -> Result<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM app_perms WHERE app = $1 AND user_id = $2")
                .bind(&app.uuid)
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(n > 0)
    }

    pub async fn grant(&self, app: &App, user_id: i64) -> Result<()> {
        if self.is_collaborator(app, user_id).await? {
            return Ok(());
        }
        sqlx::query("INSERT INTO app_perms (app, user_id) VALUES ($1, $2)")
            .bind(&app.uuid)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(unique)
            .or_else(|e| match e {
                StoreError::Conflict(_) => Ok(Default::default()),
                e => Err(e),
            })?;
        Ok(())
    }

    /// Removes a user's access; false when they had none.
    pub async fn revoke(&self, app: &App, user_id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM app_perms WHERE app = $1 AND user_id = $2")
            .bind(&app.uuid)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn collaborators(&self, app: &App) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT users.username FROM app_perms JOIN users ON users.id = app_perms.user_id \
             WHERE app_perms.app = $1 ORDER BY app_perms.seq",
        )
        .bind(&app.uuid)
        .fetch_all(&self.pool)
        .await?)
    }

    // ---------------------------------------------------------------- releases, configs, builds

    pub async fn latest_release(&self, app: &App) -> Result<Release> {
        let sql = format!(
            "{} WHERE r.app = $1 ORDER BY r.version DESC LIMIT 1",
            RELEASE_SELECT
        );
        Ok(sqlx::query_as::<_, Release>(&sql)
            .bind(&app.uuid)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn release(&self, app: &App, version: i64) -> Result<Option<Release>> {
        let sql = format!("{} WHERE r.app = $1 AND r.version = $2", RELEASE_SELECT);
        Ok(sqlx::query_as::<_, Release>(&sql)
            .bind(&app.uuid)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn release_by_uuid(&self, uuid: &str) -> Result<Option<Release>> {
        let sql = format!("{} WHERE r.uuid = $1", RELEASE_SELECT);
        Ok(sqlx::query_as::<_, Release>(&sql)
            .bind(uuid)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Newest first.
    pub async fn releases(&self, app: &App) -> Result<Vec<Release>> {
        let sql = format!(
            "{} WHERE r.app = $1 ORDER BY r.version DESC",
            RELEASE_SELECT
        );
        Ok(sqlx::query_as::<_, Release>(&sql)
            .bind(&app.uuid)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn config(&self, uuid: &str) -> Result<Config> {
        let sql = format!("{} WHERE c.uuid = $1", CONFIG_SELECT);
        let row = sqlx::query_as::<_, ConfigRow>(&sql)
            .bind(uuid)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.decode()?)
    }

    pub async fn build(&self, uuid: &str) -> Result<Option<Build>> {
        let sql = format!("{} WHERE b.uuid = $1", BUILD_SELECT);
        let row = sqlx::query_as::<_, BuildRow>(&sql)
            .bind(uuid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(BuildRow::decode).transpose()?)
    }

    pub async fn app_build(&self, app: &App, uuid: &str) -> Result<Option<Build>> {
        let sql = format!("{} WHERE b.uuid = $1 AND b.app = $2", BUILD_SELECT);
        let row = sqlx::query_as::<_, BuildRow>(&sql)
            .bind(uuid)
            .bind(&app.uuid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(BuildRow::decode).transpose()?)
    }

    /// Newest first.
    pub async fn builds(&self, app: &App) -> Result<Vec<Build>> {
        let sql = format!("{} WHERE b.app = $1 ORDER BY b.seq DESC", BUILD_SELECT);
        let rows = sqlx::query_as::<_, BuildRow>(&sql)
            .bind(&app.uuid)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(BuildRow::decode)
            .collect::<std::result::Result<_, _>>()?)
    }

    pub async fn insert_config(&self, app: &App, owner: &str, maps: &ConfigMaps) -> Result<Config> {
        let now = now_micros();
        let uuid = new_uuid();
        sqlx::query(
            "INSERT INTO configs (uuid, app, owner, vals, memory, cpu, tags, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&uuid)
        .bind(&app.uuid)
        .bind(owner)
        .bind(serde_json::to_string(&maps.values)?)
        .bind(serde_json::to_string(&maps.memory)?)
        .bind(serde_json::to_string(&maps.cpu)?)
        .bind(serde_json::to_string(&maps.tags)?)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.config(&uuid).await
    }

    pub async fn insert_build(&self, app: &App, owner: &str, new: &NewBuild) -> Result<Build> {
        let now = now_micros();
        let uuid = new.uuid.clone();
        sqlx::query(
            "INSERT INTO builds (uuid, app, owner, image, sha, procfile, dockerfile, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&uuid)
        .bind(&app.uuid)
        .bind(owner)
        .bind(&new.image)
        .bind(&new.sha)
        .bind(new.procfile.to_string())
        .bind(&new.dockerfile)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.build(&uuid)
            .await?
            .ok_or(StoreError::Db(sqlx::Error::RowNotFound))
    }

    /// Adds a release with the next version number of the app.
    pub async fn insert_release(
        &self,
        app: &App,
        owner: &str,
        config: &str,
        build: Option<&str>,
        summary: &str,
    ) -> Result<Release> {
        let mut tx = self.begin().await?;
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM releases WHERE app = $1")
                .bind(&app.uuid)
                .fetch_one(&mut *tx)
                .await?;
        let version = latest.unwrap_or(0) + 1;
        let uuid = new_uuid();
        let now = now_micros();
        sqlx::query(
            "INSERT INTO releases (uuid, app, owner, version, summary, config, build, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&uuid)
        .bind(&app.uuid)
        .bind(owner)
        .bind(version)
        .bind(summary)
        .bind(config)
        .bind(build)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(unique)?;
        tx.commit().await?;
        self.release_by_uuid(&uuid)
            .await?
            .ok_or(StoreError::Db(sqlx::Error::RowNotFound))
    }

    /// Deletes a release and, with it, the container rows that belong to it.
    pub async fn delete_release(&self, release: &Release) -> Result<()> {
        sqlx::query("DELETE FROM releases WHERE uuid = $1")
            .bind(&release.uuid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- containers

    /// Containers of an app, oldest first; `process_type` narrows to one type, and `run`
    /// containers are left out unless asked for by type.
    pub async fn containers(
        &self,
        app: &App,
        process_type: Option<&str>,
    ) -> Result<Vec<Container>> {
        let rows = match process_type {
            Some(t) => {
                let sql = format!(
                    "{} WHERE c.app = $1 AND c.type = $2 ORDER BY c.seq",
                    CONTAINER_SELECT
                );
                sqlx::query_as::<_, Container>(&sql)
                    .bind(&app.uuid)
                    .bind(t)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!(
                    "{} WHERE c.app = $1 AND c.type <> 'run' ORDER BY c.seq",
                    CONTAINER_SELECT
                );
                sqlx::query_as::<_, Container>(&sql)
                    .bind(&app.uuid)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows)
    }

    /// Every container of every app that is not a one-off, oldest first (for reconciling).
    pub async fn all_containers(&self) -> Result<Vec<Container>> {
        let sql = format!("{} WHERE c.type <> 'run' ORDER BY c.seq", CONTAINER_SELECT);
        Ok(sqlx::query_as::<_, Container>(&sql)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn max_container_num(&self, app: &App, process_type: &str) -> Result<i64> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT MAX(num) FROM containers WHERE app = $1 AND type = $2")
                .bind(&app.uuid)
                .bind(process_type)
                .fetch_one(&self.pool)
                .await?;
        Ok(n.unwrap_or(0))
    }

    pub async fn insert_container(
        &self,
        app: &App,
        release: &Release,
        process_type: &str,
        num: i64,
    ) -> Result<Container> {
        let now = now_micros();
        let uuid = new_uuid();
        sqlx::query(
            "INSERT INTO containers (uuid, app, release, type, num, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&uuid)
        .bind(&app.uuid)
        .bind(&release.uuid)
        .bind(process_type)
        .bind(num)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let sql = format!("{} WHERE c.uuid = $1", CONTAINER_SELECT);
        Ok(sqlx::query_as::<_, Container>(&sql)
            .bind(&uuid)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn delete_container(&self, container: &Container) -> Result<()> {
        sqlx::query("DELETE FROM containers WHERE uuid = $1")
            .bind(&container.uuid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- domains

    pub async fn domains(&self, app: &App) -> Result<Vec<Domain>> {
        let sql = format!("{} WHERE d.app = $1 ORDER BY d.seq", DOMAIN_SELECT);
        Ok(sqlx::query_as::<_, Domain>(&sql)
            .bind(&app.uuid)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn all_domains(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT domains.domain, apps.id FROM domains JOIN apps ON apps.uuid = domains.app",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub async fn domain_taken(&self, domain: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM domains WHERE domain = $1")
            .bind(domain)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    pub async fn add_domain(&self, app: &App, owner: &str, domain: &str) -> Result<Domain> {
        let now = now_micros();
        sqlx::query(
            "INSERT INTO domains (app, owner, domain, created, updated) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(&app.uuid)
        .bind(owner)
        .bind(domain)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(unique)?;
        let sql = format!("{} WHERE d.domain = $1", DOMAIN_SELECT);
        Ok(sqlx::query_as::<_, Domain>(&sql)
            .bind(domain)
            .fetch_one(&self.pool)
            .await?)
    }

    /// False when the app has no such domain.
    pub async fn remove_domain(&self, app: &App, domain: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM domains WHERE app = $1 AND domain = $2")
            .bind(&app.uuid)
            .bind(domain)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // ---------------------------------------------------------------- keys

    pub async fn keys(&self, user: &User) -> Result<Vec<Key>> {
        let sql = format!("{} WHERE k.owner_id = $1 ORDER BY k.seq", KEY_SELECT);
        Ok(sqlx::query_as::<_, Key>(&sql)
            .bind(user.id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The newest of the user's keys with that label.
    pub async fn key(&self, user: &User, id: &str) -> Result<Option<Key>> {
        let sql = format!(
            "{} WHERE k.owner_id = $1 AND k.id = $2 ORDER BY k.seq DESC",
            KEY_SELECT
        );
        Ok(sqlx::query_as::<_, Key>(&sql)
            .bind(user.id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn key_fingerprint_taken(&self, user: &User, fingerprint: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM keys WHERE owner_id = $1 AND fingerprint = $2",
        )
        .bind(user.id)
        .bind(fingerprint)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    pub async fn key_public_taken(&self, public: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM keys WHERE public = $1")
            .bind(public)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    pub async fn add_key(
        &self,
        user: &User,
        id: &str,
        public: &str,
        fingerprint: &str,
    ) -> Result<Key> {
        let now = now_micros();
        let uuid = new_uuid();
        sqlx::query(
            "INSERT INTO keys (uuid, owner_id, id, public, fingerprint, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&uuid)
        .bind(user.id)
        .bind(id)
        .bind(public)
        .bind(fingerprint)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(unique)?;
        let sql = format!("{} WHERE k.uuid = $1", KEY_SELECT);
        Ok(sqlx::query_as::<_, Key>(&sql)
            .bind(&uuid)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn delete_key(&self, key: &Key) -> Result<()> {
        sqlx::query("DELETE FROM keys WHERE uuid = $1")
            .bind(&key.uuid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- certificates

    pub async fn certs(&self, user: &User) -> Result<Vec<Cert>> {
        let sql = format!("{} WHERE c.owner_id = $1 ORDER BY c.id", CERT_SELECT);
        Ok(sqlx::query_as::<_, Cert>(&sql)
            .bind(user.id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn cert(&self, user: &User, common_name: &str) -> Result<Option<Cert>> {
        let sql = format!(
            "{} WHERE c.owner_id = $1 AND c.common_name = $2",
            CERT_SELECT
        );
        Ok(sqlx::query_as::<_, Cert>(&sql)
            .bind(user.id)
            .bind(common_name)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn cert_name_taken(&self, common_name: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM certs WHERE common_name = $1")
            .bind(common_name)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    pub async fn add_cert(&self, user: &User, new: &NewCert) -> Result<Cert> {
        let now = now_micros();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO certs (owner_id, certificate, key, common_name, expires, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(user.id)
        .bind(&new.certificate)
        .bind(&new.key)
        .bind(&new.common_name)
        .bind(new.expires)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(unique)?;
        let sql = format!("{} WHERE c.id = $1", CERT_SELECT);
        Ok(sqlx::query_as::<_, Cert>(&sql)
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn delete_cert(&self, cert: &Cert) -> Result<()> {
        sqlx::query("DELETE FROM certs WHERE id = $1")
            .bind(cert.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- pushes

    pub async fn add_push(&self, app: &App, owner: &str, new: &NewPush) -> Result<Push> {
        let now = now_micros();
        let uuid = new_uuid();
        sqlx::query(
            "INSERT INTO pushes (uuid, app, owner, sha, fingerprint, receive_user, receive_repo, \
             ssh_connection, ssh_original_command, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(&uuid)
        .bind(&app.uuid)
        .bind(owner)
        .bind(&new.sha)
        .bind(&new.fingerprint)
        .bind(&new.receive_user)
        .bind(&new.receive_repo)
        .bind(&new.ssh_connection)
        .bind(&new.ssh_original_command)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let sql = format!("{} WHERE p.uuid = $1", PUSH_SELECT);
        Ok(sqlx::query_as::<_, Push>(&sql)
            .bind(&uuid)
            .fetch_one(&self.pool)
            .await?)
    }
}

const RELEASE_SELECT: &str = "SELECT r.uuid, apps.id AS app, r.owner, r.version, r.summary, \
    r.config, r.build, r.created, r.updated FROM releases r JOIN apps ON apps.uuid = r.app";
const CONFIG_SELECT: &str = "SELECT c.uuid, apps.id AS app, c.owner, c.vals, c.memory, c.cpu, \
    c.tags, c.created, c.updated FROM configs c JOIN apps ON apps.uuid = c.app";
const BUILD_SELECT: &str = "SELECT b.uuid, apps.id AS app, b.owner, b.image, b.sha, b.procfile, \
    b.dockerfile, b.created, b.updated FROM builds b JOIN apps ON apps.uuid = b.app";
const CONTAINER_SELECT: &str = "SELECT c.uuid, apps.id AS app, users.username AS owner, \
    r.version AS version, c.release, c.type, c.num, c.created, c.updated FROM containers c \
    JOIN apps ON apps.uuid = c.app JOIN users ON users.id = apps.owner_id \
    JOIN releases r ON r.uuid = c.release";
const DOMAIN_SELECT: &str = "SELECT apps.id AS app, d.owner, d.domain, d.created, d.updated \
    FROM domains d JOIN apps ON apps.uuid = d.app";
const KEY_SELECT: &str = "SELECT k.uuid, users.username AS owner, k.id, k.public, k.fingerprint, \
    k.created, k.updated FROM keys k JOIN users ON users.id = k.owner_id";
const CERT_SELECT: &str = "SELECT c.id, users.username AS owner, c.certificate, c.key, \
    c.common_name, c.expires, c.created, c.updated FROM certs c JOIN users ON users.id = c.owner_id";
const PUSH_SELECT: &str = "SELECT p.uuid, apps.id AS app, p.owner, p.sha, p.fingerprint, \
    p.receive_user, p.receive_repo, p.ssh_connection, p.ssh_original_command, p.created, \
    p.updated FROM pushes p JOIN apps ON apps.uuid = p.app";
