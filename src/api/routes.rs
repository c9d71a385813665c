//! The route table of Appendix A, in matching order. Each pattern is anchored at the
//! start only, so a route matches a prefix of the path, as in the original.

use std::collections::HashMap;
use std::sync::LazyLock;

use http::Method;
use regex::Regex;

use super::error::ApiError;
use super::{apps, auth, builds, certs, config, containers, domains, hooks, keys, perms, releases};
use super::{ApiResult, Ctx, Reply};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Root,
    Config,
    BuildDetail,
    Builds,
    ReleaseDetail,
    Rollback,
    Releases,
    RestartAll,
    RestartType,
    RestartOne,
    ContainerDetail,
    ContainersOfType,
    Containers,
    DomainDetail,
    Domains,
    Scale,
    Logs,
    Run,
    PermDetail,
    Perms,
    App,
    Apps,
    KeyDetail,
    Keys,
    HookPush,
    HookBuild,
    HookConfig,
    Register,
    Cancel,
    Passwd,
    Login,
    AdminPermDetail,
    AdminPerms,
    CertDetail,
    Certs,
    Users,
}

const APP: &str = r"apps/(?P<app>[a-z0-9-]+)";
const W: &str = "A-Za-z0-9_"; // Python 2's ASCII \w

struct Entry {
    route: Route,
    pattern: Regex,
    names: &'static [&'static str],
    methods: &'static [&'static str],
}

static TABLE: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    let app = |rest: &str| format!("^{APP}/{rest}");
    let specs: Vec<(
        Route,
        String,
        &'static [&'static str],
        &'static [&'static str],
    )> = vec![
        (Route::Root, "^$".into(), &[], &["GET"]),
        (Route::Config, app("config/?"), &["app"], &["GET", "POST"]),
        (
            Route::BuildDetail,
            app(&format!("builds/(?P<uuid>[-{W}]+)/?")),
            &["app", "uuid"],
            &["GET"],
        ),
        (Route::Builds, app("builds/?"), &["app"], &["GET", "POST"]),
        (
            Route::ReleaseDetail,
            app("releases/v(?P<version>[0-9]+)/?"),
            &["app", "version"],
            &["GET"],
        ),
        (
            Route::Rollback,
            app("releases/rollback/?"),
            &["app"],
            &["POST"],
        ),
        (Route::Releases, app("releases/?"), &["app"], &["GET"]),
        (
            Route::RestartAll,
            app("containers/restart/?"),
            &["app"],
            &["POST"],
        ),
        (
            Route::RestartType,
            app(&format!("containers/(?P<type>[-{W}.]+)/restart/?")),
            &["app", "type"],
            &["POST"],
        ),
        (
            Route::RestartOne,
            app(&format!(
                "containers/(?P<type>[-{W}]+)/(?P<num>[-{W}]+)/restart/?"
            )),
            &["app", "type", "num"],
            &["POST"],
        ),
        (
            Route::ContainerDetail,
            app(&format!("containers/(?P<type>[-{W}]+)/(?P<num>[-{W}]+)/?")),
            &["app", "type", "num"],
            &["GET"],
        ),
        (
            Route::ContainersOfType,
            app(&format!("containers/(?P<type>[-{W}.]+)/?")),
            &["app", "type"],
            &["GET"],
        ),
        (Route::Containers, app("containers/?"), &["app"], &["GET"]),
        (
            Route::DomainDetail,
            app(&format!(r"domains/(?P<domain>[-.{W}]+)/?")),
            &["app", "domain"],
            &["DELETE"],
        ),
        (Route::Domains, app("domains/?"), &["app"], &["GET", "POST"]),
        (Route::Scale, app("scale/?"), &["app"], &["POST"]),
        (Route::Logs, app("logs/?"), &["app"], &["GET"]),
        (Route::Run, app("run/?"), &["app"], &["POST"]),
        // Usernames may hold `.`, `@` and `+`, so the pattern takes them too.
        (
            Route::PermDetail,
            app(&format!("perms/(?P<username>[-.@+{W}]+)/?")),
            &["app", "username"],
            &["DELETE"],
        ),
        (Route::Perms, app("perms/?"), &["app"], &["GET", "POST"]),
        (
            Route::App,
            format!("^{APP}/?"),
            &["app"],
            &["GET", "DELETE"],
        ),
        (Route::Apps, "^apps/?".into(), &[], &["GET", "POST"]),
        (
            Route::KeyDetail,
            "^keys/(?P<id>.+)".into(),
            &["id"],
            &["GET", "DELETE"],
        ),
        (Route::Keys, "^keys/?".into(), &[], &["GET", "POST"]),
        (Route::HookPush, "^hooks/push/?".into(), &[], &["POST"]),
        (Route::HookBuild, "^hooks/build/?".into(), &[], &["POST"]),
        (Route::HookConfig, "^hooks/config/?".into(), &[], &["POST"]),
        (Route::Register, "^auth/register/?".into(), &[], &["POST"]),
        (Route::Cancel, "^auth/cancel/?".into(), &[], &["DELETE"]),
        (Route::Passwd, "^auth/passwd/?".into(), &[], &["POST"]),
        (Route::Login, "^auth/login/?".into(), &[], &["POST"]),
        (
            Route::AdminPermDetail,
            format!("^admin/perms/(?P<username>[-.@+{W}]+)/?"),
            &["username"],
            &["DELETE"],
        ),
        (
            Route::AdminPerms,
            "^admin/perms/?".into(),
            &[],
            &["GET", "POST"],
        ),
        (
            Route::CertDetail,
            format!(r"^certs/(?P<common_name>[-*.{W}]+)/?"),
            &["common_name"],
            &["GET", "DELETE"],
        ),
        (Route::Certs, "^certs/?".into(), &[], &["GET", "POST"]),
        (Route::Users, "^users/?".into(), &[], &["GET"]),
    ];
    specs
        .into_iter()
        .map(|(route, pattern, names, methods)| Entry {
            route,
            pattern: Regex::new(&pattern).expect("route patterns are valid regexes"),
            names,
            methods,
        })
        .collect()
});

/// The first route whose pattern matches the start of `path` (the part after `/v1/`).
pub fn find(path: &str) -> Option<(Route, HashMap<&'static str, String>)> {
    TABLE.iter().find_map(|entry| {
        let caps = entry.pattern.captures(path)?;
        let mut captures = super::captures_of(entry.names, &caps);
        if entry.route == Route::KeyDetail {
            // The id runs to the end of the path; one trailing slash is not part of it.
            if let Some(id) = captures.get_mut("id") {
                if id.len() > 1 && id.ends_with('/') {
                    id.pop();
                }
            }
        }
        Some((entry.route, captures))
    })
}

fn allowed(route: Route) -> Vec<&'static str> {
    let methods = TABLE
        .iter()
        .find(|e| e.route == route)
        .map(|e| e.methods)
        .unwrap_or(&[]);
    let mut allow: Vec<&'static str> = methods.to_vec();
    if methods.contains(&"GET") {
        allow.push("HEAD");
    }
    allow.push("OPTIONS");
    allow
}

/// Calls the handler of `route` for the request's method; HEAD is GET without a body.
pub async fn dispatch(route: Route, ctx: Ctx) -> ApiResult<Reply> {
    let method = if ctx.method == Method::HEAD {
        Method::GET
    } else {
        ctx.method.clone()
    };
    let allow = allowed(route);
    if method == Method::OPTIONS {
        ctx.user()?;
        return Ok(Reply::ok(serde_json::json!({})).header("Allow", allow.join(", ")));
    }
    let reply = match (route, method.as_str()) {
        (Route::Root, "GET") => auth::root(&ctx).await,
        (Route::Config, "GET") => config::show(&ctx).await,
        (Route::Config, "POST") => config::change(&ctx).await,
        (Route::BuildDetail, "GET") => builds::show(&ctx).await,
        (Route::Builds, "GET") => builds::list(&ctx).await,
        (Route::Builds, "POST") => builds::create(&ctx).await,
        (Route::ReleaseDetail, "GET") => releases::show(&ctx).await,
        (Route::Rollback, "POST") => releases::rollback(&ctx).await,
        (Route::Releases, "GET") => releases::list(&ctx).await,
        (Route::RestartAll | Route::RestartType | Route::RestartOne, "POST") => {
            containers::restart(&ctx).await
        }
        (Route::ContainerDetail, "GET") => containers::show(&ctx).await,
        (Route::ContainersOfType | Route::Containers, "GET") => containers::list(&ctx).await,
        (Route::DomainDetail, "DELETE") => domains::remove(&ctx).await,
        (Route::Domains, "GET") => domains::list(&ctx).await,
        (Route::Domains, "POST") => domains::add(&ctx).await,
        (Route::Scale, "POST") => containers::scale(&ctx).await,
        (Route::Logs, "GET") => apps::logs(&ctx).await,
        (Route::Run, "POST") => apps::run(&ctx).await,
        (Route::PermDetail, "DELETE") => perms::revoke(&ctx).await,
        (Route::Perms, "GET") => perms::list(&ctx).await,
        (Route::Perms, "POST") => perms::grant(&ctx).await,
        (Route::App, "GET") => apps::show(&ctx).await,
        (Route::App, "DELETE") => apps::destroy(&ctx).await,
        (Route::Apps, "GET") => apps::list(&ctx).await,
        (Route::Apps, "POST") => apps::create(&ctx).await,
        (Route::KeyDetail, "GET") => keys::show(&ctx).await,
        (Route::KeyDetail, "DELETE") => keys::remove(&ctx).await,
        (Route::Keys, "GET") => keys::list(&ctx).await,
        (Route::Keys, "POST") => keys::add(&ctx).await,
        (Route::HookPush, "POST") => hooks::push(&ctx).await,
        (Route::HookBuild, "POST") => hooks::build(&ctx).await,
        (Route::HookConfig, "POST") => hooks::config(&ctx).await,
        (Route::Register, "POST") => auth::register(&ctx).await,
        (Route::Cancel, "DELETE") => auth::cancel(&ctx).await,
        (Route::Passwd, "POST") => auth::passwd(&ctx).await,
        (Route::Login, "POST") => auth::login(&ctx).await,
        (Route::AdminPermDetail, "DELETE") => perms::admin_revoke(&ctx).await,
        (Route::AdminPerms, "GET") => perms::admin_list(&ctx).await,
        (Route::AdminPerms, "POST") => perms::admin_grant(&ctx).await,
        (Route::CertDetail, "GET") => certs::show(&ctx).await,
        (Route::CertDetail, "DELETE") => certs::remove(&ctx).await,
        (Route::Certs, "GET") => certs::list(&ctx).await,
        (Route::Certs, "POST") => certs::add(&ctx).await,
        (Route::Users, "GET") => auth::users(&ctx).await,
        _ => {
            // The original authenticates before it refuses the method.
            if route != Route::Register && route != Route::Login && !is_hook(route) {
                ctx.user()?;
            }
            return Err(ApiError::MethodNotAllowed(ctx.method.to_string(), allow));
        }
    }?;
    Ok(reply.header("Allow", allow.join(", ")))
}

fn is_hook(route: Route) -> bool {
    matches!(
        route,
        Route::HookPush | Route::HookBuild | Route::HookConfig
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_prefixes_in_the_spec_order() {
        let r = |p: &str| find(p).map(|(r, _)| r);
        assert_eq!(r(""), Some(Route::Root));
        assert_eq!(r("apps"), Some(Route::Apps));
        assert_eq!(r("apps/"), Some(Route::Apps));
        assert_eq!(r("apps/Bobapp"), Some(Route::Apps));
        assert_eq!(r("apps/bob/garbage/path"), Some(Route::App));
        assert_eq!(r("apps/x/releases/1"), Some(Route::Releases));
        assert_eq!(r("apps/x/releases/v1/"), Some(Route::ReleaseDetail));
        assert_eq!(
            r("apps/x/containers/web/2/restart"),
            Some(Route::RestartOne)
        );
        assert_eq!(
            r("apps/x/containers/web/restart/"),
            Some(Route::RestartType)
        );
        assert_eq!(r("apps/x/containers/web/2"), Some(Route::ContainerDetail));
        assert_eq!(r("hooks/builds"), Some(Route::HookBuild));
        assert_eq!(r("users"), Some(Route::Users));
        assert_eq!(r("auth/login"), Some(Route::Login));
        assert_eq!(r("nonexistent"), None);
        let (_, caps) = find("keys/a@b/").unwrap();
        assert_eq!(caps["id"], "a@b");
        let (_, caps) = find("apps/x/perms/john.doe").unwrap();
        assert_eq!(caps["username"], "john.doe");
    }
}
