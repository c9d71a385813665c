//! Builds of the local scheduler: a build's `image` is a directory or a `.tar.gz`/`.tgz`
//! archive of one, copied or unpacked once into `builds/<app>/<build uuid>/`.
//!
//! The image may carry a Docker-style `:tag` after its last path component
//! (`/srv/apps/web:v1`, `file:///srv/apps/web.tgz:latest`). The Deis client's
//! `builds:create` refuses an image "without a tag" before it sends anything (its
//! `parse_repository_tag` wants a `:` whose suffix holds no `/`), so a bare path could not
//! be deployed with it. The tag is only a label: it stays in the build's `image` and the
//! release summary (`alice deployed /srv/apps/web:v1`) but does not select anything. A
//! path that exists exactly as given wins, so a directory really named `web:v1` is still
//! that directory.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::scheduler::SchedulerError;

/// What the local scheduler accepts, for error messages.
const ACCEPTED: &str = "the local scheduler runs directories and .tar.gz/.tgz archives, \
                        given as an absolute path or a file:// URL, optionally followed \
                        by a :tag";

/// Where a build's files come from.
#[derive(Debug)]
pub(super) enum Source {
    Directory(PathBuf),
    Archive(PathBuf),
}

/// Reads a build's `image` as the local scheduler understands it, or says in one line why
/// it cannot run it.
pub(super) fn classify(image: &str) -> Result<Source, SchedulerError> {
    let invalid = |why: String| SchedulerError::Invalid(why);
    let path = if image.starts_with("file:") {
        url::Url::parse(image)
            .ok()
            .and_then(|url| url.to_file_path().ok())
            .ok_or_else(|| invalid(format!("{image} is not a usable file:// URL; {ACCEPTED}")))?
    } else {
        PathBuf::from(image)
    };
    if !path.is_absolute() {
        return Err(invalid(format!("{image} is not a path; {ACCEPTED}")));
    }
    let path = without_tag(path);

    let meta = match fs::metadata(&path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(invalid(format!(
                "{} does not exist; {ACCEPTED}",
                path.display()
            )));
        }
        Err(err) => {
            return Err(invalid(format!(
                "{} cannot be read ({err}); {ACCEPTED}",
                path.display()
            )));
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase());
    let is_archive = name.is_some_and(|n| n.ends_with(".tar.gz") || n.ends_with(".tgz"));
    if meta.is_dir() && on_kernel_filesystem(&path) {
        Err(invalid(format!(
            "{} is on a kernel filesystem (proc, sysfs, ...) whose files never end; \
             {ACCEPTED}",
            path.display()
        )))
    } else if meta.is_dir() {
        Ok(Source::Directory(path))
    } else if meta.is_file() && is_archive {
        Ok(Source::Archive(path))
    } else {
        Err(invalid(format!(
            "{} is neither a directory nor a .tar.gz/.tgz archive; {ACCEPTED}",
            path.display()
        )))
    }
}

/// `path` without a trailing Docker-style `:tag`, unless the path exists as given. A tag is what Docker allows: `[A-Za-z0-9_][A-Za-z0-9_.-]*`,
/// at most 128 characters, after the last `:` of the last path component.
fn without_tag(path: PathBuf) -> PathBuf {
    if fs::symlink_metadata(&path).is_ok() {
        return path;
    }
    let Some(text) = path.to_str() else {
        return path;
    };
    let Some((base, tag)) = text.rsplit_once(':') else {
        return path;
    };
    let valid_tag = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    let untagged = PathBuf::from(base);
    if valid_tag && untagged.is_absolute() && untagged.file_name().is_some() {
        untagged
    } else {
        path
    }
}

/// A name used as one path component under `builds/` (an app id or a build uuid).
pub(super) fn check_component(what: &str, value: &str) -> Result<(), SchedulerError> {
    let bad = value.is_empty()
        || value == "."
        || value == ".."
        || value.starts_with('.')
        || value.contains(['/', '\0']);
    if bad {
        return Err(SchedulerError::Invalid(format!(
            "{what} {value:?} cannot name a build directory"
        )));
    }
    Ok(())
}

/// Copies or unpacks `source` into `target`, replacing what was there, and reads its
/// `Procfile`. The files are assembled in a staging directory beside `target` and renamed
/// into place, so a failed preparation never leaves a half-filled build behind.
///
/// An archive whose only top-level entry is a directory has that directory as its build
/// root (`tar czf app.tgz app/` and `tar czf app.tgz -C app .` give the same build); a
/// directory image is always its own root.
pub(super) fn prepare(
    source: &Source,
    target: &Path,
) -> Result<Option<BTreeMap<String, String>>, SchedulerError> {
    let failed = |what: &str, err: io::Error| SchedulerError::Failed(format!("{what}: {err}"));
    let parent = target
        .parent()
        .ok_or_else(|| SchedulerError::Failed("the build directory has no parent".into()))?;
    fs::create_dir_all(parent).map_err(|e| failed("could not create the builds directory", e))?;
    let staging = parent.join(format!(
        ".staging-{}-{:016x}",
        target
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        rand::random::<u64>()
    ));

    let result = fill(source, &staging, target);
    let _ = fs::remove_dir_all(&staging);
    result?;

    read_procfile(&target.join("Procfile")).map_err(|e| {
        if e.kind() == io::ErrorKind::InvalidInput {
            SchedulerError::Invalid(format!("the build's Procfile {e}"))
        } else {
            failed("could not read the Procfile", e)
        }
    })
}

/// The most of a `Procfile` that is read.
const MAX_PROCFILE: u64 = 1 << 20;

/// Puts the build's files at `target` by way of `staging`.
fn fill(source: &Source, staging: &Path, target: &Path) -> Result<(), SchedulerError> {
    let failed = |what: &str, err: io::Error| SchedulerError::Failed(format!("{what}: {err}"));
    let root = match source {
        Source::Directory(dir) => {
            refuse_copying_into_itself(dir, target)?;
            fs::create_dir_all(staging).map_err(|e| failed("could not create the build", e))?;
            copy_tree(dir, staging).map_err(|e| {
                failed(
                    &format!("could not copy {} into the build", dir.display()),
                    e,
                )
            })?;
            staging.to_path_buf()
        }
        Source::Archive(archive) => {
            fs::create_dir_all(staging).map_err(|e| failed("could not create the build", e))?;
            unpack(archive, staging)?;
            single_top_directory(staging)
                .map_err(|e| failed("could not read the unpacked build", e))?
                .unwrap_or_else(|| staging.to_path_buf())
        }
    };

    match fs::remove_dir_all(target) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(failed(
                "could not replace the previous copy of the build",
                err,
            ))
        }
    }
    fs::rename(&root, target).map_err(|e| failed("could not move the build into place", e))
}

/// A directory image that contains the data directory would copy itself forever; the
/// builds and logs inside it are the controller's state, not builds.
fn refuse_copying_into_itself(dir: &Path, target: &Path) -> Result<(), SchedulerError> {
    let (Ok(dir), Some(Ok(builds))) = (
        dir.canonicalize(),
        target
            .parent()
            .and_then(Path::parent)
            .map(Path::canonicalize),
    ) else {
        return Ok(());
    };
    if builds.starts_with(&dir) {
        return Err(SchedulerError::Invalid(format!(
            "{} contains the controller's data directory and cannot be a build",
            dir.display()
        )));
    }
    // Inside the builds (an app's own builds would also copy themselves forever) or the
    // app logs: the controller's state of other apps, not a build.
    let logs = builds.parent().map(|data| data.join("logs"));
    if dir.starts_with(&builds) || logs.is_some_and(|logs| dir.starts_with(logs)) {
        return Err(SchedulerError::Invalid(format!(
            "{} is inside the controller's data directory and cannot be a build",
            dir.display()
        )));
    }
    Ok(())
}

/// Copies a directory tree: files with their permission bits, symbolic links as links,
/// directories recursively. Sockets, FIFOs and devices are left out.
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src)?, &dst)?;
        } else if kind.is_dir() && on_kernel_filesystem(&src) {
            continue; // a proc or sysfs mount inside the image: left out like devices
        } else if kind.is_dir() {
            fs::create_dir(&dst)?;
            copy_tree(&src, &dst)?;
            fs::set_permissions(&dst, fs::metadata(&src)?.permissions())?;
        } else if kind.is_file() {
            fs::copy(&src, &dst)?; // copies the permission bits too
        }
    }
    Ok(())
}

/// Whether `dir` is on proc, sysfs or a similar kernel filesystem, whose files report no
/// size and may be read without end (`/proc/self/pagemap` gives gigabytes a second).
fn on_kernel_filesystem(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    let mut buf = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `c_path` is NUL-terminated and `buf` is a statfs buffer statfs may fill.
    if unsafe { libc::statfs(c_path.as_ptr(), buf.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: statfs succeeded, so it filled the buffer (which was zeroed anyway).
    let kind = unsafe { buf.assume_init() }.f_type;
    [
        libc::PROC_SUPER_MAGIC,
        libc::SYSFS_MAGIC,
        libc::DEBUGFS_MAGIC,
        libc::TRACEFS_MAGIC,
        libc::SECURITYFS_MAGIC,
        libc::CGROUP_SUPER_MAGIC,
        libc::CGROUP2_SUPER_MAGIC,
        libc::BPF_FS_MAGIC,
        libc::DEVPTS_SUPER_MAGIC,
    ]
    .contains(&kind)
}

/// Unpacks a gzip'd tar archive into `into`, refusing entries that would land outside it.
fn unpack(archive: &Path, into: &Path) -> Result<(), SchedulerError> {
    let invalid = |err: &dyn std::fmt::Display| {
        SchedulerError::Invalid(format!(
            "{} is not a readable .tar.gz archive: {err}",
            archive.display()
        ))
    };
    let file = fs::File::open(archive).map_err(|e| invalid(&e))?;
    let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    tar.set_preserve_permissions(true);
    tar.set_overwrite(true);
    for entry in tar.entries().map_err(|e| invalid(&e))? {
        let mut entry = entry.map_err(|e| invalid(&e))?;
        let inside = entry.unpack_in(into).map_err(|e| invalid(&e))?;
        if !inside {
            let path = entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            return Err(invalid(&format!("entry {path} points outside the archive")));
        }
    }
    Ok(())
}

/// The only entry of `dir` when it is a directory (not a link to one).
fn single_top_directory(dir: &Path) -> io::Result<Option<PathBuf>> {
    let mut entries = fs::read_dir(dir)?;
    let (Some(first), None) = (entries.next().transpose()?, entries.next().transpose()?) else {
        return Ok(None);
    };
    Ok(first.file_type()?.is_dir().then(|| first.path()))
}

/// Process types of a `Procfile`: `name: command` lines; blank lines and `#` comments are
/// skipped, as are lines without a name. `None` when the build has no Procfile.
fn read_procfile(path: &Path) -> io::Result<Option<BTreeMap<String, String>>> {
    // A link may point anywhere: only a regular file is opened (a FIFO would block the
    // read forever, a device or a proc file may never end), and only its first MiB is read.
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is not a regular file",
            ))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    }
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_PROCFILE)
        .read_to_end(&mut bytes)?;
    Ok(Some(parse_procfile(&String::from_utf8_lossy(&bytes))))
}

pub(super) fn parse_procfile(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once(':'))
        .map(|(name, command)| (name.trim().to_string(), command.trim().to_string()))
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procfile_lines_skip_comments_and_blanks() {
        let parsed = parse_procfile(
            "# comment\n\nweb: python3 -m http.server $PORT\nworker:sh -c 'a: b'\n: x\n",
        );
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed["web"], "python3 -m http.server $PORT");
        assert_eq!(parsed["worker"], "sh -c 'a: b'");
    }

    #[test]
    fn image_references_and_relative_paths_are_refused() {
        for image in ["deis/example-go:latest", "relative/dir", "file:relative"] {
            let err = classify(image).unwrap_err();
            assert!(matches!(err, SchedulerError::Invalid(_)), "{image}");
            assert!(err
                .to_string()
                .contains("directories and .tar.gz/.tgz archives"));
        }
    }

    #[test]
    fn a_tag_after_the_path_is_a_label() {
        let root = tempfile::tempdir().unwrap();
        let app = root.path().join("app");
        fs::create_dir(&app).unwrap();
        let tagged = root.path().join("tagged:v1");
        fs::create_dir(&tagged).unwrap();
        let dir = |image: String| match classify(&image) {
            Ok(Source::Directory(d)) => d,
            other => panic!("{image}: {other:?}"),
        };
        assert_eq!(dir(format!("{}:v1", app.display())), app);
        assert_eq!(dir(format!("{}:latest", app.display())), app);
        assert_eq!(dir(format!("file://{}:1.0_rc-2", app.display())), app);
        // A path that exists as given is taken as it is.
        assert_eq!(dir(tagged.display().to_string()), tagged);
        // Not a tag: refused as a missing path.
        for bad in [":", ":-x", ":a/b", ":v1:"] {
            let image = format!("{}{bad}", app.display());
            assert!(classify(&image).is_err(), "{image}");
        }
        let missing = format!("{}:v1", root.path().join("nope").display());
        assert!(classify(&missing)
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
    }
}
