//! End to end with the real Deis v1.7.3 command-line client (issue #4).
//!
//! Every test starts a fresh controller in-process and drives it with the client that
//! `../shared/harness/setup.sh` installs, exactly as a user would: each command is run as
//! a process with stdin at EOF, every answer given as an option, and a fresh client home
//! (`DEIS_HARNESS_HOME`). The checks read what the client prints, not only its exit code.
//!
//! The harness is looked for at `<CARGO_MANIFEST_DIR>/../shared/harness/deis` (CI clones
//! the repository next to `shared/`), or wherever `COXSWAIN_DEIS_HARNESS` points. In CI
//! a missing harness or client is a failure; in a clone without `shared/` beside it the
//! tests say "NOT RUN" and return.
//!
//! `DEIS_HARNESS_PY=2` (after `setup.sh --py2`) runs the same checks with the client
//! unmodified on Python 2.7 instead of Python 3 with the harness's shims.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use reqwest::StatusCode;

const WEB: &str = "web: python3 -m http.server $PORT --bind 127.0.0.1";

/// The `deis` wrapper of the harness, checked: it must run and be version 1.7.3.
///
/// Without the `shared/` folder beside the repository (a clone on its own) these tests
/// say so on stderr and pass without running, so that `cargo test` works anywhere; in CI
/// (`CI` set) or with `COXSWAIN_DEIS_HARNESS` given, a missing harness is a failure.
fn harness() -> Option<PathBuf> {
    let (path, required) = match std::env::var_os("COXSWAIN_DEIS_HARNESS") {
        Some(p) => (PathBuf::from(p), true),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/harness/deis"),
            std::env::var_os("CI").is_some(),
        ),
    };
    let setup = "run ../shared/harness/setup.sh (next to this repository) to install \
                 the Deis 1.7.3 client, then run this test again";
    if !path.is_file() && !required {
        eprintln!(
            "NOT RUN: the Deis client harness is not at {} ({setup})",
            path.display()
        );
        return None;
    }
    assert!(
        path.is_file(),
        "the Deis client harness is missing at {}: {setup}",
        path.display()
    );
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(&path)
        .arg("--version")
        .env("DEIS_HARNESS_HOME", home.path())
        .current_dir(home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {setup}", path.display()));
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && version.trim() == "1.7.3",
        "`{} --version` did not print 1.7.3 (exit {:?}): {}{}\n{setup}",
        path.display(),
        out.status.code(),
        version,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(path)
}

/// One client home (`~/.deis`), shared by several profiles (`DEIS_PROFILE`).
struct Deis {
    bin: PathBuf,
    home: tempfile::TempDir,
    url: String,
}

/// What one command printed and how it exited.
struct Out {
    cmd: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn context(&self) -> String {
        format!(
            "`deis {}` exited {:?}\n--- stdout\n{}--- stderr\n{}",
            self.cmd, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts exit status 0; returns stdout.
    fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "{}", self.context());
        self.no_warning();
        &self.stdout
    }

    /// The client warns when the `X_DEIS_API_VERSION`/`DEIS_API_VERSION` it reads is not
    /// `1.4`; it never should against us.
    fn no_warning(&self) {
        assert!(
            !self.stdout.contains("API versions do not match"),
            "{}",
            self.context()
        );
    }

    /// Asserts the exit status; returns stdout.
    fn exits(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "{}", self.context());
        self.no_warning();
        &self.stdout
    }

    /// Asserts exit status 0 and that stdout holds every one of `parts`.
    fn ok_with(&self, parts: &[&str]) -> &str {
        self.ok();
        self.has(parts)
    }

    /// Asserts exit status 1 (the client's "unexpected status" exit) and that stdout
    /// holds every one of `parts`.
    fn fails_with(&self, parts: &[&str]) -> &str {
        self.exits(1);
        self.has(parts)
    }

    fn has(&self, parts: &[&str]) -> &str {
        for part in parts {
            assert!(
                self.stdout.contains(part),
                "expected {part:?} in the output of {}",
                self.context()
            );
        }
        &self.stdout
    }

    /// Asserts exit status 0 and that stdout does not hold `part`.
    fn ok_without(&self, part: &str) -> &str {
        self.ok();
        assert!(
            !self.stdout.contains(part),
            "did not expect {part:?} in the output of {}",
            self.context()
        );
        &self.stdout
    }
}

impl Deis {
    fn new(s: &TestServer, bin: PathBuf) -> Deis {
        Deis {
            bin,
            home: tempfile::tempdir().unwrap(),
            url: format!("http://{}", s.api),
        }
    }

    /// Runs `deis <args>` as the default profile.
    async fn run(&self, args: &[&str]) -> Out {
        self.run_as(None, args).await
    }

    /// Runs `deis <args>` with `DEIS_PROFILE=<profile>` (a second user in the same home).
    /// The command runs in the (git-free) home directory, with stdin at EOF, off the
    /// runtime's worker threads so the in-process server keeps serving.
    async fn run_as(&self, profile: Option<&str>, args: &[&str]) -> Out {
        self.run_in(self.home.path(), profile, args).await
    }

    /// Runs `deis <args>` in `dir` (where the client looks for a git remote).
    async fn run_in(&self, dir: &Path, profile: Option<&str>, args: &[&str]) -> Out {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("DEIS_HARNESS_HOME", self.home.path())
            .env_remove("DEIS_PROFILE")
            .current_dir(dir)
            .stdin(Stdio::null());
        if let Some(p) = profile {
            cmd.env("DEIS_PROFILE", p);
        }
        let line = args.join(" ");
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("cannot run deis {line}: {e}"));
        Out {
            cmd: args.join(" "),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn register(&self, profile: Option<&str>, user: &str, password: &str) {
        let email = format!("--email={user}@example.com");
        self.run_as(
            profile,
            &[
                "register",
                &self.url,
                &format!("--username={user}"),
                &format!("--password={password}"),
                &email,
            ],
        )
        .await
        .ok_with(&[
            &format!("Registered {user}"),
            &format!("Logged in as {user}"),
        ]);
    }

    /// A directory holding a small web app (its index says `body`); the image given to
    /// `builds:create` is `<dir>:v1` because the client insists on a tag.
    fn app_dir(&self, body: &str) -> String {
        let dir = common::python_app(self.home.path(), body);
        format!("{}:v1", dir.display())
    }
}

/// Polls `deis <args>` (at most `timeout`) until its output holds `part`.
async fn until_printed(deis: &Deis, args: &[&str], part: &str, timeout: Duration) -> Out {
    let deadline = Instant::now() + timeout;
    loop {
        let out = deis.run(args).await;
        if out.code == Some(0) && out.stdout.contains(part) || Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The lines of `ps` output that describe processes, e.g. `web.1 up (v2)`.
fn process_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.contains(" (v"))
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_commands_and_admin_permissions() {
    let Some(bin) = harness() else { return };
    let mut s = TestServer::start().await;
    let deis = Deis::new(&s, bin);
    let url = deis.url.clone();
    let bob = Some("bob");

    // Before anyone logs in.
    deis.run(&["apps:list"])
        .await
        .fails_with(&["Could not find token"]);
    // Something that is not a controller (the router answers GET /v1/ with no 401).
    let router = format!("http://{}", s.router);
    deis.run(&["login", &router, "--username=x", "--password=y"])
        .await
        .fails_with(&["does not appear to be a valid Deis controller"]);

    // The first user is the administrator.
    deis.register(None, "alice", "s3cret").await;
    deis.run(&["whoami"])
        .await
        .ok_with(&[&format!("You are alice at {url}")]);
    deis.run(&[
        "register",
        &url,
        "--username=alice",
        "--password=x",
        "--email=a@example.com",
    ])
    .await
    .fails_with(&["Registration failed:", "username"]);

    // Wrong password: the 400 and its body are printed.
    deis.run(&["login", &url, "--username=alice", "--password=wrong"])
        .await
        .fails_with(&["400 Bad Request", "non_field_errors", "Unable to log in"]);
    deis.run(&["login", &url, "--username=alice", "--password=s3cret"])
        .await
        .ok_with(&["Logged in as alice"]);

    // Password change, then only the new password works.
    deis.run(&["auth:passwd", "--password=wrong", "--new-password=n3w"])
        .await
        .fails_with(&["Password change failed:"]);
    deis.run(&["auth:passwd", "--password=s3cret", "--new-password=n3w"])
        .await
        .ok_with(&["Password change succeeded."]);
    deis.run(&["logout"]).await.ok_with(&["Logged out"]);
    deis.run(&["whoami"]).await.ok_with(&["Not logged in"]);
    deis.run(&["apps:list"])
        .await
        .fails_with(&["Could not find token"]);
    deis.run(&["login", &url, "--username=alice", "--password=s3cret"])
        .await
        .fails_with(&["400 Bad Request"]);
    deis.run(&["login", &url, "--username=alice", "--password=n3w"])
        .await
        .ok_with(&["Logged in as alice"]);

    // A second user is no administrator.
    deis.register(bob, "bob", "pw").await;
    deis.run_as(bob, &["whoami"])
        .await
        .ok_with(&["You are bob at"]);
    deis.run(&["whoami"]).await.ok_with(&["You are alice at"]);
    deis.run_as(bob, &["users:list"])
        .await
        .fails_with(&["403 Forbidden", "You do not have permission"]);
    deis.run_as(bob, &["perms:list", "--admin"])
        .await
        .fails_with(&["403 Forbidden"]);
    deis.run(&["users:list"])
        .await
        .ok_with(&["=== Users", "alice", "bob"]);

    // Admin permissions.
    deis.run(&["perms:list", "--admin"])
        .await
        .ok_with(&["\"username\": \"alice\"", "\"is_superuser\": true"]);
    deis.run(&["perms:list", "--admin"])
        .await
        .ok_without("\"bob\"");
    deis.run(&["perms:create", "bob", "--admin"])
        .await
        .ok_with(&["Adding bob to system administrators... done"]);
    deis.run(&["perms:list", "--admin"])
        .await
        .ok_with(&["\"username\": \"bob\""]);
    deis.run_as(bob, &["users:list"])
        .await
        .ok_with(&["alice", "bob"]);
    deis.run(&["perms:delete", "bob", "--admin"])
        .await
        .ok_with(&["bob from system administrators... done"]);
    deis.run(&["perms:list", "--admin"])
        .await
        .ok_without("\"bob\"");
    deis.run_as(bob, &["users:list"])
        .await
        .fails_with(&["403 Forbidden"]);

    // Bob cancels his account (it logs in again first).
    deis.run_as(
        bob,
        &["auth:cancel", "--username=bob", "--password=pw", "--yes"],
    )
    .await
    .ok_with(&["Logged in as bob", "Account cancelled"]);
    deis.run_as(bob, &["apps:list"])
        .await
        .fails_with(&["Could not find token"]);
    deis.run(&["users:list"]).await.ok_without("bob");
    deis.run_as(bob, &["login", &url, "--username=bob", "--password=pw"])
        .await
        .fails_with(&["400 Bad Request"]);

    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_lifecycle_from_create_to_destroy() {
    let Some(bin) = harness() else { return };
    let mut s = TestServer::start().await;
    let deis = Deis::new(&s, bin);
    deis.register(None, "alice", "s3cret").await;
    let host = "myapp.coxswain.test";

    // apps:create, list, info, open.
    deis.run(&["apps:create", "myapp", "--no-remote"])
        .await
        .ok_with(&["done, created myapp", "remote available at"]);
    deis.run(&["apps:list"])
        .await
        .ok_with(&["=== Apps\nmyapp\n"]);
    deis.run(&["apps:info", "-a", "myapp"]).await.ok_with(&[
        "=== myapp Application",
        "\"id\": \"myapp\"",
        "\"owner\": \"alice\"",
        &format!("\"url\": \"{host}\""),
        "=== myapp Processes",
        "=== myapp Domains",
        "No domains",
    ]);
    deis.run(&["apps:open", "-a", "myapp"])
        .await
        .ok_with(&[&format!("http://{host}/")]);
    deis.run(&["builds:list", "-a", "myapp"])
        .await
        .ok_with(&["=== myapp Builds"]);
    deis.run(&["ps:list", "-a", "myapp"])
        .await
        .ok_without(" (v");

    // builds:create: a bare directory is refused by the client itself (no tag); the
    // same directory with a tag deploys.
    let image = deis.app_dir("hello from myapp");
    let bare = image.trim_end_matches(":v1");
    deis.run(&["builds:create", bare, "-a", "myapp", "--procfile", WEB])
        .await
        .fails_with(&["<image> must contain a tag"]);
    deis.run(&["builds:create", &image, "-a", "myapp", "--procfile", WEB])
        .await
        .ok_with(&["Creating build... done, v2"]);
    let builds = deis.run(&["builds:list", "-a", "myapp"]).await;
    let build_lines: Vec<&str> = builds.ok().lines().filter(|l| l.ends_with("UTC")).collect();
    assert_eq!(build_lines.len(), 1, "{}", builds.context());
    let ps = deis.run(&["ps:list", "-a", "myapp"]).await;
    ps.ok_with(&["=== myapp Processes", "--- web:"]);
    assert_eq!(
        process_lines(&ps.stdout),
        ["web.1 up (v2)"],
        "{}",
        ps.context()
    );

    // The app answers through the router.
    let r = s.wait_routed(host, Duration::from_secs(10)).await;
    assert_eq!(r.status, StatusCode::OK, "router: {}", r.text);
    assert_eq!(r.text, "hello from myapp");
    // The web process's own output line (http.server logs the request) is in the logs.
    until_printed(
        &deis,
        &["apps:logs", "-a", "myapp"],
        "myapp[web.1]:",
        Duration::from_secs(5),
    )
    .await
    .ok_with(&[
        "deis[api]: alice created initial release",
        "deis[api]: alice deployed",
        "myapp[web.1]:",
        "\"GET / HTTP/1.1\" 200",
    ]);
    let tail = deis.run(&["apps:logs", "-a", "myapp", "-n", "1"]).await;
    assert_eq!(tail.ok().lines().count(), 1, "{}", tail.context());

    // apps:run prints the output and exits with the command's status.
    deis.run(&["apps:run", "-a", "myapp", "echo hi"])
        .await
        .ok_with(&["Running `echo hi`...", "hi\n"]);
    deis.run(&["apps:run", "-a", "myapp", "--", "cat", "index.html"])
        .await
        .ok_with(&["hello from myapp"]);
    let failed = deis.run(&["apps:run", "-a", "myapp", "exit 3"]).await;
    failed.exits(3);
    failed.has(&["Running `exit 3`..."]);

    // config.
    deis.run(&["config:list", "-a", "myapp"])
        .await
        .ok_with(&["=== myapp Config", "No configuration"]);
    deis.run(&["config:set", "FOO=bar", "N=3", "-a", "myapp"])
        .await
        .ok_with(&["done, v3", "=== myapp", "FOO: bar", "N: 3"]);
    let config = deis.run(&["config:list", "-a", "myapp"]).await;
    config.ok_with(&["=== myapp Config"]);
    let lines: Vec<String> = config
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(lines, ["FOO bar", "N 3"], "{}", config.context());
    deis.run(&["config:list", "-a", "myapp", "--oneline"])
        .await
        .ok_with(&["FOO=bar N=3"]);
    deis.run(&["apps:run", "-a", "myapp", "echo $FOO"])
        .await
        .ok_with(&["bar\n"]);
    let unset = deis.run(&["config:unset", "N", "-a", "myapp"]).await;
    unset.ok_without("N: 3");
    unset.has(&["done, v4", "FOO: bar"]);
    let ps = deis.run(&["ps:list", "-a", "myapp"]).await;
    assert_eq!(
        process_lines(ps.ok()),
        ["web.1 up (v4)"],
        "{}",
        ps.context()
    );

    // limits.
    deis.run(&["limits:list", "-a", "myapp"])
        .await
        .ok_with(&["--- Memory\nUnlimited", "--- CPU\nUnlimited"]);
    deis.run(&["limits:set", "web=512M", "-a", "myapp"])
        .await
        .ok_with(&["done, v5", "--- Memory\nweb      512M"]);
    deis.run(&["limits:set", "-c", "web=512", "-a", "myapp"])
        .await
        .ok_with(&["done, v6", "--- CPU\nweb      512"]);
    deis.run(&["limits:list", "-a", "myapp"])
        .await
        .ok_with(&["web      512M", "--- CPU\nweb      512"]);
    deis.run(&["limits:unset", "web", "-a", "myapp"])
        .await
        .ok_with(&["done, v7", "--- Memory\nUnlimited"]);
    deis.run(&["limits:unset", "-c", "web", "-a", "myapp"])
        .await
        .ok_with(&["done, v8", "--- CPU\nUnlimited"]);

    // tags.
    deis.run(&["tags:list", "-a", "myapp"])
        .await
        .ok_with(&["=== myapp Tags", "No tags defined"]);
    deis.run(&["tags:set", "env=prod", "-a", "myapp"])
        .await
        .ok_with(&["done, v9", "env      prod"]);
    deis.run(&["tags:list", "-a", "myapp"])
        .await
        .ok_with(&["env      prod"]);
    deis.run(&["tags:unset", "env", "-a", "myapp"])
        .await
        .ok_with(&["done, v10", "No tags defined"]);

    // releases.
    let releases = deis.run(&["releases:list", "-a", "myapp"]).await;
    releases.ok_with(&["=== myapp Releases"]);
    let summaries: Vec<String> = releases
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(summaries.len(), 10, "{}", releases.context());
    assert!(
        summaries[0].starts_with("v10 Just now alice"),
        "{}",
        releases.context()
    );
    for expected in [
        "v4 Just now alice deleted N",
        "v3 Just now alice added FOO, N",
        &format!("v2 Just now alice deployed {image}"),
        "v1 Just now alice created initial release",
    ] {
        assert!(
            summaries.iter().any(|l| l == expected),
            "no {expected:?} in {}",
            releases.context()
        );
    }
    deis.run(&["releases:info", "v3", "-a", "myapp"])
        .await
        .ok_with(&["\"version\": 3", "\"summary\": \"alice added FOO, N\""]);
    deis.run(&["releases:info", "99", "-a", "myapp"])
        .await
        .fails_with(&["404 Not Found"]);
    deis.run(&["releases:rollback", "-a", "myapp"])
        .await
        .ok_with(&["Rolling back one release... done, v11"]);
    deis.run(&["releases:rollback", "v2", "-a", "myapp"])
        .await
        .ok_with(&["Rolling back to v2... done, v12"]);
    deis.run(&["releases:list", "-a", "myapp"])
        .await
        .ok_with(&["alice rolled back to v2", "alice rolled back to v9"]);
    // v2's config is the empty one.
    deis.run(&["config:list", "-a", "myapp"])
        .await
        .ok_with(&["No configuration"]);
    let ps = deis.run(&["ps:list", "-a", "myapp"]).await;
    assert_eq!(
        process_lines(ps.ok()),
        ["web.1 up (v12)"],
        "{}",
        ps.context()
    );

    // ps:scale and ps:restart (all, a type, one process).
    let scaled = deis.run(&["ps:scale", "web=2", "-a", "myapp"]).await;
    scaled.ok_with(&["Scaling processes..."]);
    assert_eq!(
        process_lines(&scaled.stdout),
        ["web.1 up (v12)", "web.2 up (v12)"],
        "{}",
        scaled.context()
    );
    for target in [None, Some("web"), Some("web.2")] {
        let mut args = vec!["ps:restart", "-a", "myapp"];
        args.extend(target);
        let restarted = deis.run(&args).await;
        restarted.ok_with(&["Restarting processes..."]);
        assert_eq!(
            process_lines(&restarted.stdout),
            ["web.1 up (v12)", "web.2 up (v12)"],
            "{}",
            restarted.context()
        );
    }
    let r = s.wait_routed(host, Duration::from_secs(10)).await;
    assert_eq!(r.status, StatusCode::OK, "router after restart: {}", r.text);
    let scaled = deis.run(&["ps:scale", "web=0", "-a", "myapp"]).await;
    assert!(
        process_lines(scaled.ok()).is_empty(),
        "{}",
        scaled.context()
    );
    deis.run(&["ps:scale", "web=1", "-a", "myapp"])
        .await
        .ok_with(&["web.1 up (v12)"]);

    // domains.
    deis.run(&["domains:add", "www.example.com", "-a", "myapp"])
        .await
        .ok_with(&["Adding www.example.com to myapp... done"]);
    deis.run(&["domains:list", "-a", "myapp"])
        .await
        .ok_with(&["=== myapp Domains\nwww.example.com"]);
    let r = s
        .wait_routed("www.example.com", Duration::from_secs(10))
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "router, custom domain: {}",
        r.text
    );
    assert_eq!(r.text, "hello from myapp");
    deis.run(&["apps:info", "-a", "myapp"])
        .await
        .ok_with(&["www.example.com", "web.1 up (v12)"]);
    deis.run(&["domains:remove", "www.example.com", "-a", "myapp"])
        .await
        .ok_with(&["Removing www.example.com from myapp... done"]);
    deis.run(&["domains:list", "-a", "myapp"])
        .await
        .ok_with(&["No domains"]);

    // apps:destroy.
    deis.run(&["apps:destroy", "-a", "myapp", "--confirm=myapp"])
        .await
        .ok_with(&["Destroying myapp...", "done in"]);
    deis.run(&["apps:list"]).await.ok_without("myapp");
    deis.run(&["apps:info", "-a", "myapp"])
        .await
        .fails_with(&["404 Not Found"]);
    let r = s.route(host, "/").await;
    assert_ne!(r.status, StatusCode::OK, "destroyed app still routed");

    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collaborators_strangers_and_missing_apps() {
    let Some(bin) = harness() else { return };
    let mut s = TestServer::start().await;
    let deis = Deis::new(&s, bin);
    let (bob, carol) = (Some("bob"), Some("carol"));
    deis.register(None, "alice", "s3cret").await;
    deis.register(bob, "bob", "pw").await;
    deis.register(carol, "carol", "pw").await;

    deis.run(&["apps:create", "shared", "--no-remote"])
        .await
        .ok_with(&["done, created shared"]);
    let image = deis.app_dir("hello from shared");
    deis.run(&["builds:create", &image, "-a", "shared", "--procfile", WEB])
        .await
        .ok_with(&["done, v2"]);

    // A missing app is a 404, someone else's app a 403.
    deis.run(&["apps:info", "-a", "nosuch"])
        .await
        .fails_with(&["404 Not Found", "Not found"]);
    deis.run(&["ps:list", "-a", "nosuch"])
        .await
        .fails_with(&["404 Not Found"]);
    deis.run_as(bob, &["apps:list"]).await.ok_without("shared");
    for args in [
        &["apps:info", "-a", "shared"][..],
        &["ps:list", "-a", "shared"],
        &["config:list", "-a", "shared"],
        &["perms:list", "-a", "shared"],
    ] {
        deis.run_as(bob, args)
            .await
            .fails_with(&["403 Forbidden", "You do not have permission"]);
    }

    // Alice shares the app with bob.
    deis.run(&["perms:list", "-a", "shared"])
        .await
        .ok_with(&["\"users\": []"]);
    deis.run(&["perms:create", "bob", "-a", "shared"])
        .await
        .ok_with(&["Adding bob to shared collaborators... done"]);
    deis.run(&["perms:list", "-a", "shared"])
        .await
        .ok_with(&["\"users\": [", "\"bob\""]);
    deis.run(&["perms:create", "nobody", "-a", "shared"])
        .await
        .fails_with(&["404 Not Found"]);

    // The collaborator can list and scale, not destroy or share.
    deis.run_as(bob, &["apps:list"])
        .await
        .ok_with(&["=== Apps\nshared"]);
    let ps = deis
        .run_as(bob, &["ps:scale", "web=2", "-a", "shared"])
        .await;
    assert_eq!(
        process_lines(ps.ok()),
        ["web.1 up (v2)", "web.2 up (v2)"],
        "{}",
        ps.context()
    );
    deis.run_as(bob, &["config:set", "WHO=bob", "-a", "shared"])
        .await
        .ok_with(&["done, v3"]);
    deis.run_as(bob, &["apps:destroy", "-a", "shared", "--confirm=shared"])
        .await
        .fails_with(&["403 Forbidden", "You do not have permission"]);
    deis.run_as(bob, &["perms:create", "carol", "-a", "shared"])
        .await
        .fails_with(&["403 Forbidden"]);
    deis.run(&["apps:info", "-a", "shared"])
        .await
        .ok_with(&["\"id\": \"shared\""]);

    // A stranger still gets 403.
    deis.run_as(carol, &["ps:scale", "web=1", "-a", "shared"])
        .await
        .fails_with(&["403 Forbidden"]);
    deis.run_as(carol, &["apps:destroy", "-a", "shared", "--confirm=shared"])
        .await
        .fails_with(&["403 Forbidden"]);

    // Alice takes the permission back.
    deis.run(&["perms:delete", "bob", "-a", "shared"])
        .await
        .ok_with(&["Removing bob from shared collaborators... done"]);
    deis.run(&["perms:list", "-a", "shared"])
        .await
        .ok_with(&["\"users\": []"]);
    deis.run_as(bob, &["ps:list", "-a", "shared"])
        .await
        .fails_with(&["403 Forbidden"]);

    deis.run(&["apps:destroy", "-a", "shared", "--confirm=shared"])
        .await
        .ok_with(&["done in"]);

    // Inside a git repository the client sends no id (the server names the app), adds
    // a `deis` remote, infers the app from it, and removes it on destroy.
    let repo = deis.home.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    tool(&repo, &["git", "init", "-q"]);
    let created = deis.run_in(&repo, None, &["apps:create"]).await;
    created.ok_with(&["Git remote deis added"]);
    let name = created
        .stdout
        .split("done, created ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no app name in {}", created.context()))
        .to_string();
    deis.run_in(&repo, None, &["apps:info"])
        .await
        .ok_with(&[&format!("=== {name} Application")]);
    deis.run_in(&repo, None, &["apps:destroy", &format!("--confirm={name}")])
        .await
        .ok_with(&[&format!("Destroying {name}..."), "Git remote deis removed"]);
    s.stop().await;
}

/// Runs `argv` (ssh-keygen, openssl) in `dir`, asserting success.
fn tool(dir: &Path, argv: &[&str]) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", argv[0]));
    assert!(
        out.status.success(),
        "{argv:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_add_list_remove() {
    let Some(bin) = harness() else { return };
    let mut s = TestServer::start().await;
    let deis = Deis::new(&s, bin);
    deis.register(None, "alice", "s3cret").await;
    let dir = deis.home.path();
    tool(
        dir,
        &[
            "ssh-keygen",
            "-q",
            "-t",
            "rsa",
            "-b",
            "2048",
            "-N",
            "",
            "-C",
            "alice@laptop",
            "-f",
            "rsa",
        ],
    );
    tool(
        dir,
        &[
            "ssh-keygen",
            "-q",
            "-t",
            "ecdsa",
            "-b",
            "256",
            "-N",
            "",
            "-C",
            "alice@desk",
            "-f",
            "ecdsa",
        ],
    );
    let rsa = dir.join("rsa.pub").display().to_string();
    let ecdsa = dir.join("ecdsa.pub").display().to_string();

    deis.run(&["keys:list"]).await.ok_with(&["No keys found"]);
    deis.run(&["keys:add", &rsa])
        .await
        .ok_with(&["Uploading alice@laptop to Deis...done"]);
    deis.run(&["keys:add", &ecdsa])
        .await
        .ok_with(&["Uploading alice@desk to Deis...done"]);
    // The same key again is refused.
    deis.run(&["keys:add", &rsa])
        .await
        .fails_with(&["400 Bad Request"]);
    deis.run(&["keys:list"]).await.ok_with(&[
        "=== alice Keys",
        "alice@laptop ssh-rsa AAAAB3Nz...",
        "alice@desk ecdsa-sha2-nistp...",
    ]);
    deis.run(&["keys:remove", "alice@laptop"])
        .await
        .ok_with(&["Removing alice@laptop SSH Key... done"]);
    deis.run(&["keys:list"]).await.ok_without("alice@laptop");
    deis.run(&["keys:remove", "alice@laptop"])
        .await
        .fails_with(&["404 Not Found"]);
    deis.run(&["keys:remove", "alice@desk"])
        .await
        .ok_with(&["done"]);
    deis.run(&["keys:list"]).await.ok_with(&["No keys found"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certs_add_list_remove() {
    let Some(bin) = harness() else { return };
    let mut s = TestServer::start().await;
    let deis = Deis::new(&s, bin);
    deis.register(None, "alice", "s3cret").await;
    let dir = deis.home.path();
    tool(
        dir,
        &[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=www.example.com",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ],
    );
    let cert = dir.join("cert.pem").display().to_string();
    let key = dir.join("key.pem").display().to_string();

    deis.run(&["certs:list"]).await.ok_with(&["No certs"]);
    // Without --common-name the server takes it from the certificate.
    deis.run(&["certs:add", &cert, &key])
        .await
        .ok_with(&["Adding SSL endpoint... done", "www.example.com"]);
    deis.run(&["certs:add", &cert, &key, "--common-name=alt.example.com"])
        .await
        .ok_with(&["Adding SSL endpoint alt.example.com...done"]);
    let list = deis.run(&["certs:list"]).await;
    list.ok_with(&[
        "Common Name",
        "Expires",
        "www.example.com",
        "alt.example.com",
    ]);
    // `expires` is shown as the server sends it: with its zone, like every timestamp.
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("www.example.com"))
        .unwrap();
    assert!(row.trim_end().ends_with("UTC"), "{}", list.context());
    deis.run(&["certs:remove", "alt.example.com"])
        .await
        .ok_with(&["Done."]);
    deis.run(&["certs:remove", "www.example.com"])
        .await
        .ok_with(&["Done."]);
    deis.run(&["certs:list"]).await.ok_with(&["No certs"]);
    deis.run(&["certs:remove", "www.example.com"])
        .await
        .fails_with(&["404 Not Found"]);
    s.stop().await;
}
