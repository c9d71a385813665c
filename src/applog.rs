//! App log files: one per app, `logs/<app>.log` in the data directory, holding the
//! controller's events (`deis[api]`) and every line the app's processes print.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::time::deis_now;

#[derive(Clone, Debug)]
pub struct AppLog {
    dir: PathBuf,
}

impl AppLog {
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<AppLog> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(AppLog { dir })
    }

    pub fn path(&self, app: &str) -> PathBuf {
        self.dir.join(format!("{app}.log"))
    }

    /// Appends a controller event: `<ts> deis[api]: <message>`.
    pub fn event(&self, app: &str, message: &str) {
        self.append(app, &format!("{} deis[api]: {message}\n", deis_now()));
    }

    /// Appends one line a container printed: `<ts> <app>[<type>.<num>]: <line>`.
    pub fn process_line(&self, app: &str, process_type: &str, num: u32, line: &str) {
        let line = line.trim_end_matches(['\n', '\r']);
        self.append(
            app,
            &format!("{} {app}[{process_type}.{num}]: {line}\n", deis_now()),
        );
    }

    fn append(&self, app: &str, text: &str) {
        let result = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(app))
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(err) = result {
            tracing::warn!(app, error = %err, "could not write the app log");
        }
    }

    /// The last `lines` lines of the app's log, or `None` when it has no log file.
    pub fn tail(&self, app: &str, lines: usize) -> io::Result<Option<String>> {
        match fs::File::open(self.path(app)) {
            Ok(file) => tail_of(file, lines).map(Some),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    pub fn remove(&self, app: &str) {
        let _ = fs::remove_file(self.path(app));
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Reads backwards in blocks until `lines` complete lines are found, so a large log is
/// never read whole.
fn tail_of(mut file: fs::File, lines: usize) -> io::Result<String> {
    if lines == 0 {
        return Ok(String::new());
    }
    let len = file.seek(SeekFrom::End(0))?;
    let mut start = len;
    let mut buf: Vec<u8> = Vec::new();
    const BLOCK: u64 = 64 * 1024;
    loop {
        let newlines = buf.iter().filter(|&&b| b == b'\n').count();
        let ends_with_newline = buf.last() == Some(&b'\n');
        let complete = if ends_with_newline {
            newlines
        } else {
            newlines + 1
        };
        if start == 0 || complete > lines {
            break;
        }
        let step = BLOCK.min(start);
        start -= step;
        file.seek(SeekFrom::Start(start))?;
        let mut block = vec![0u8; step as usize];
        file.read_exact(&mut block)?;
        block.extend_from_slice(&buf);
        buf = block;
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let parts: Vec<&str> = text.split_inclusive('\n').collect();
    let keep = parts.len().saturating_sub(lines);
    Ok(parts[keep..].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines_with_their_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let log = AppLog::new(dir.path()).unwrap();
        fs::write(log.path("a"), "\none\ntwo\nthree\n").unwrap();
        assert_eq!(log.tail("a", 1).unwrap().unwrap(), "three\n");
        assert_eq!(log.tail("a", 2).unwrap().unwrap(), "two\nthree\n");
        assert_eq!(log.tail("a", 100).unwrap().unwrap(), "\none\ntwo\nthree\n");
        assert_eq!(log.tail("a", 0).unwrap().unwrap(), "");
        assert!(log.tail("missing", 5).unwrap().is_none());
    }
}
