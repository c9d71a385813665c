//! The three operations that make releases (a build, a config change, a rollback) and
//! the deploy that follows each of them (spec §4.1–4.4).

use serde_json::Value;

use super::{Platform, PlatformError, ReleaseContext, Result};
use crate::domain::config::summary as config_summary;
use crate::domain::ConfigChange;
use crate::scheduler::SchedulerError;
use crate::store::{App, Build, Config, NewBuild, Release, StoreError, User};

/// A build as posted, before the scheduler has seen it.
pub struct NewBuildRequest {
    pub image: String,
    pub sha: String,
    pub procfile: Value,
    pub dockerfile: String,
}

impl Platform {
    /// Stores a build, makes its release and deploys it; on a failed deploy the release
    /// is removed again and the build row stays.
    pub async fn create_build(
        &self,
        app: &App,
        user: &User,
        req: NewBuildRequest,
    ) -> Result<(Build, Release)> {
        let uuid = crate::store::new_uuid();
        let prepared = self
            .scheduler
            .prepare_build(&app.id, &uuid, &req.image)
            .await
            .map_err(|err| match err {
                SchedulerError::Invalid(msg) => PlatformError::InvalidField("image".into(), msg),
                SchedulerError::Failed(msg) => PlatformError::Unavailable(msg),
            })?;
        let posted_types = matches!(&req.procfile, Value::Object(m) if !m.is_empty());
        let procfile = match prepared.procfile {
            Some(found) if !posted_types => {
                // The rule of a posted procfile: types name containers and URL parts.
                if let Some(bad) = found.keys().find(|t| !crate::domain::valid_process_type(t)) {
                    return Err(PlatformError::InvalidField(
                        "image".into(),
                        format!(
                            "the build's Procfile declares process type {bad:?}; process \
                             types can only contain [a-z0-9_-]"
                        ),
                    ));
                }
                Value::Object(
                    found
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                )
            }
            _ => req.procfile,
        };

        let _guard = self.lock(&app.id).await;
        let latest = self.latest(app).await?;
        // An app whose structure only pruning emptied has been scaled before: it is not
        // scaled to the default again (as when it is scaled to zero).
        let mut may_default_scale = true;
        if let Some(previous) = &latest.build {
            may_default_scale = !self.prune_types(app, previous, &procfile).await?;
        }
        let build = self
            .store
            .insert_build(
                app,
                &user.username,
                &NewBuild {
                    uuid,
                    image: req.image,
                    sha: req.sha,
                    procfile,
                    dockerfile: req.dockerfile,
                },
            )
            .await?;
        let deployed = if build.sha.is_empty() {
            &build.image
        } else {
            build.sha.get(..7).unwrap_or(&build.sha)
        };
        let summary = format!("{} deployed {deployed}", user.username);
        let release = self
            .new_release(app, user, &latest.config.uuid, Some(&build.uuid), &summary)
            .await?;
        self.deploy_or_undo(app, user, release.clone(), may_default_scale)
            .await?;
        Ok((build, release))
    }

    /// Destroys the containers of process types the new build no longer declares, and
    /// drops those types from the app's structure. Says whether that left the structure
    /// empty.
    async fn prune_types(&self, app: &App, previous: &Build, procfile: &Value) -> Result<bool> {
        let keep = |t: &str| procfile.as_object().is_some_and(|m| m.contains_key(t));
        let gone: Vec<String> = previous
            .process_types()
            .into_iter()
            .filter(|t| !keep(t))
            .collect();
        if gone.is_empty() {
            return Ok(false);
        }
        let doomed: Vec<_> = self
            .store
            .containers(app, None)
            .await?
            .into_iter()
            .filter(|c| gone.contains(&c.process_type))
            .collect();
        self.destroy_group(&app.id, &doomed).await?;
        let mut structure = app.structure();
        for t in &gone {
            structure.remove(t);
        }
        let emptied = structure.is_empty();
        self.store
            .set_structure(app, &Value::Object(structure))
            .await?;
        Ok(emptied)
    }

    /// Lays a config change over the latest release's config, makes the release and
    /// deploys it. Returns the new config and release.
    pub async fn change_config(
        &self,
        app: &App,
        user: &User,
        change: &ConfigChange,
    ) -> Result<(Config, ReleaseContext)> {
        let _guard = self.lock(&app.id).await;
        let latest = self.latest(app).await?;
        let maps = change.apply(&latest.config.maps);
        if !crate::domain::config::values_fit(&maps.values) {
            return Err(PlatformError::InvalidField(
                "values".into(),
                format!(
                    "Config values may take at most {} bytes together",
                    crate::domain::config::MAX_VALUES_TOTAL
                ),
            ));
        }
        let config = self.store.insert_config(app, &user.username, &maps).await?;
        let mut summary = config_summary(&user.username, &latest.config.maps, &maps);
        if summary.is_empty() {
            summary = format!("{} changed nothing", user.username);
        }
        let release = self
            .new_release(
                app,
                user,
                &config.uuid,
                latest.release.build.as_deref(),
                &summary,
            )
            .await?;
        let ctx = self.deploy_or_undo(app, user, release, true).await?;
        Ok((config, ctx))
    }

    /// Makes a release with the build and config of an earlier one and deploys it.
    /// `target` of `None` means the release before the latest.
    pub async fn rollback(&self, app: &App, user: &User, target: Option<i64>) -> Result<i64> {
        let _guard = self.lock(&app.id).await;
        let latest = self.latest_release(app).await?;
        let target = target.unwrap_or(latest.version - 1);
        if target < 1 {
            return Err(PlatformError::Invalid("version cannot be below 0".into()));
        }
        let Some(old) = self.store.release(app, target).await? else {
            return Err(PlatformError::NotFound);
        };
        if old.build.is_none() && !self.store.containers(app, None).await?.is_empty() {
            // Its containers would have nothing to run.
            return Err(PlatformError::Invalid(format!(
                "v{target} has no build: the running containers cannot be rolled back to it"
            )));
        }
        let summary = format!("{} rolled back to v{target}", user.username);
        let release = self
            .new_release(app, user, &old.config, old.build.as_deref(), &summary)
            .await?;
        let ctx = self.deploy_or_undo(app, user, release, true).await?;
        Ok(ctx.release.version)
    }

    async fn new_release(
        &self,
        app: &App,
        user: &User,
        config: &str,
        build: Option<&str>,
        summary: &str,
    ) -> Result<Release> {
        let release = self
            .store
            .insert_release(app, &user.username, config, build, summary)
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => PlatformError::Busy(
                    "Another change to this app is in progress; try again.".into(),
                ),
                other => other.into(),
            })?;
        self.log.event(&app.id, summary);
        tracing::info!(app = %app.id, version = release.version, summary, "release created");
        Ok(release)
    }

    /// Deploys a new release; if that fails the release is deleted (the app keeps its
    /// previous release and containers) and the error is returned.
    async fn deploy_or_undo(
        &self,
        app: &App,
        user: &User,
        release: Release,
        may_default_scale: bool,
    ) -> Result<ReleaseContext> {
        let ctx = self.context(release).await?;
        if let Err(err) = self.deploy(app, user, &ctx, may_default_scale).await {
            tracing::warn!(app = %app.id, version = ctx.release.version, error = %err, "deploy failed; release removed");
            self.store.delete_release(&ctx.release).await?;
            return Err(err);
        }
        tracing::info!(app = %app.id, version = ctx.release.version, "release deployed");
        Ok(ctx)
    }

    /// Spec §4.4: clone every container into the new release, bring the clones up, then
    /// destroy the old ones; on the first build, scale to the default structure.
    async fn deploy(
        &self,
        app: &App,
        user: &User,
        ctx: &ReleaseContext,
        may_default_scale: bool,
    ) -> Result<()> {
        let existing = self.store.containers(app, None).await?;
        let mut clones = Vec::with_capacity(existing.len());
        for c in &existing {
            clones.push(
                self.store
                    .insert_container(app, &ctx.release, &c.process_type, c.num)
                    .await?,
            );
        }
        self.start_group(ctx, &clones).await?;
        if let Err(err) = self.destroy_group(&app.id, &existing).await {
            self.discard(&clones).await;
            return Err(err);
        }

        let fresh = self
            .store
            .app(&app.id)
            .await?
            .ok_or(PlatformError::NotFound)?;
        let unscaled = may_default_scale && fresh.structure().is_empty();
        if let (true, Some(build)) = (unscaled, &ctx.build) {
            let default = default_process_type(build);
            let declared = build.process_types();
            if default != "cmd" && !declared.iter().any(|t| t == default) {
                return Err(PlatformError::Invalid(format!(
                    "Container type {default} does not exist in application"
                )));
            }
            self.scale_locked(&fresh, &user.username, &[(default.to_string(), 1)])
                .await?;
        }
        Ok(())
    }
}

/// The process type the first build of an app is scaled to (spec §4.4 step 5), with one
/// change: a build that declares a `web` type starts as `web` even without a sha, since
/// a local build's Procfile says what its processes are.
fn default_process_type(build: &Build) -> &'static str {
    let has_procfile = matches!(&build.procfile, Value::Object(m) if !m.is_empty());
    if has_procfile {
        if build.procfile.get("web").is_some() {
            "web"
        } else {
            "cmd"
        }
    } else if !build.sha.is_empty() && build.dockerfile.is_empty() {
        "web"
    } else {
        "cmd"
    }
}
