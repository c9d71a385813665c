//! Processes of the local scheduler: the spawner thread, process groups, reaping, and the
//! runtime record that lets a restarted controller clean up after a killed one.
//!
//! Every process is started as `sh -c <command>` in its own session (so its process group
//! holds everything the shell starts and one signal reaches the whole tree) with a
//! parent-death signal, so that a controller killed outright takes its shells with it.
//! The kernel sends that signal when the *thread* that forked the child ends, which is why
//! all forking happens on one thread that lives as long as the scheduler.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex};
use std::thread;

use tokio::sync::oneshot;

/// What to start.
pub(super) struct Launch {
    pub command: String,
    pub dir: PathBuf,
    pub env: BTreeMap<String, String>,
}

/// A started process group.
pub(super) struct Spawned {
    /// The shell's pid, which is also the process group id.
    pub pid: i32,
    /// Field 22 of `/proc/<pid>/stat`, to recognise this process after pid reuse.
    pub start_time: u64,
    /// Read end of the one pipe the process writes its stdout and stderr to.
    pub output: OwnedFd,
    /// Resolves with the shell's exit status once it has been reaped.
    pub exit: oneshot::Receiver<ExitStatus>,
}

struct Request {
    launch: Launch,
    reply: oneshot::Sender<io::Result<Spawned>>,
}

/// Hands spawn requests to the one long-lived thread that forks every process.
pub(super) struct Spawner {
    requests: Mutex<mpsc::Sender<Request>>,
}

impl Spawner {
    /// Starts the spawner thread; it ends when the spawner is dropped, and the processes it
    /// started then receive SIGKILL from the kernel. The thread first starts the warden
    /// (see `spawn_warden`), which watches over the process groups listed in `record`.
    pub fn new(record: &Path) -> io::Result<Spawner> {
        let (tx, rx) = mpsc::channel::<Request>();
        let record = record.to_path_buf();
        let (ready, warden) = mpsc::channel::<io::Result<()>>();
        thread::Builder::new()
            .name("coxswain-spawner".into())
            .spawn(move || {
                let _ = ready.send(spawn_warden(&record));
                for request in rx {
                    let result = spawn_group(&request.launch);
                    if let Err(Ok(orphan)) = request.reply.send(result) {
                        // Nobody waits for it any more: do not leave it running unrecorded.
                        signal_group(orphan.pid, libc::SIGKILL);
                    }
                }
            })?;
        warden
            .recv()
            .map_err(|_| io::Error::other("the spawner thread ended at start"))??;
        Ok(Spawner {
            requests: Mutex::new(tx),
        })
    }

    /// Starts `sh -c <command>` in a new process group on the spawner thread.
    pub async fn spawn(&self, launch: Launch) -> io::Result<Spawned> {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(Request { launch, reply });
        if sent.is_err() {
            return Err(io::Error::other("the spawner thread has ended"));
        }
        answer
            .await
            .map_err(|_| io::Error::other("the spawner thread has ended"))?
    }
}

/// Forks and execs one process group. Runs on the spawner thread only.
fn spawn_group(launch: &Launch) -> io::Result<Spawned> {
    let (output, stdout) = pipe()?;
    let stderr = stdout.try_clone()?;

    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(&launch.command)
        .current_dir(&launch.dir)
        .env_clear()
        .envs(&launch.env)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr));
    own_session_with_parent_death(&mut command, libc::SIGKILL);
    let child = command.spawn()?;
    drop(command); // closes the controller's copies of the pipe's write end

    let pid = child.id() as i32;
    let start_time = stat_of(pid).map(|s| s.start_time).unwrap_or(0);
    let (done, exit) = oneshot::channel();
    let reaper = thread::Builder::new()
        .name(format!("coxswain-reap-{pid}"))
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = done.send(wait_for(pid));
        });
    if let Err(err) = reaper {
        signal_group(pid, libc::SIGKILL);
        wait_for(pid);
        return Err(err);
    }
    Ok(Spawned {
        pid,
        start_time,
        output,
        exit,
    })
}

/// What the warden runs: on SIGTERM it SIGKILLs every process group in the record file
/// (its `$0`), then exits. `wait` returns at once when the signal arrives.
/// Its last act kills its own process group, its `sleep` included.
const WARDEN: &str = r#"trap 'while read -r pgid rest; do kill -s KILL -- "-$pgid" 2>/dev/null; done < "$0"
kill -s KILL 0' TERM
while :; do sleep 3600 & wait "$!"; done"#;

/// Starts the warden: a small shell that gets SIGTERM from the kernel when this thread
/// ends (its parent-death signal), that is when the controller dies, however it dies.
/// It then kills every container process group still in the runtime record. The
/// parent-death signal of each container's shell only reaches that shell, not what the
/// shell started; the warden reaches the whole group. Runs on the spawner thread only.
fn spawn_warden(record: &Path) -> io::Result<()> {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(WARDEN)
        .arg(record)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    own_session_with_parent_death(&mut command, libc::SIGTERM);
    let child = command.spawn()?;
    let pid = child.id() as i32;
    thread::Builder::new()
        .name("coxswain-warden".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            wait_for(pid);
        })?;
    Ok(())
}

/// Makes the child lead a session of its own (so one signal to its process group reaches
/// everything it starts) and receive `signal` when the spawning thread ends.
fn own_session_with_parent_death(command: &mut Command, signal: libc::c_int) {
    // SAFETY: getpid has no preconditions.
    let controller = unsafe { libc::getpid() };
    // SAFETY: the hook only makes async-signal-safe system calls (setsid, prctl, getppid)
    // between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The controller may have died before the signal was armed.
            if libc::getppid() != controller {
                return Err(io::Error::other("the controller is gone"));
            }
            Ok(())
        });
    }
}

/// Blocks until `pid` (a child of this process) exits, and reaps it.
fn wait_for(pid: i32) -> ExitStatus {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return ExitStatus::from_raw(status);
        }
        if rc == -1 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            // Already reaped elsewhere: report it as killed, the best that is known.
            return ExitStatus::from_raw(libc::SIGKILL);
        }
    }
}

/// A pipe whose both ends are closed on exec (the child gets copies on fds 1 and 2).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sends `signal` to every process of the group `pgid`. A group that is already gone is fine.
pub(super) fn signal_group(pgid: i32, signal: libc::c_int) {
    if pgid > 1 {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(-pgid, signal) };
    }
}

/// The few fields of `/proc/<pid>/stat` the scheduler uses.
pub(super) struct Stat {
    pub state: char,
    pub pgrp: i32,
    pub start_time: u64,
}

pub(super) fn stat_of(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// One running process group, as written to the runtime record.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    start_time: u64,
    name: String,
}

/// The runtime record `run/containers`: one line `<pgid> <start time> <container>` per
/// running process group, rewritten (atomically) whenever a group starts or ends.
pub(super) struct Record {
    path: PathBuf,
    groups: Mutex<BTreeMap<i32, Group>>,
}

impl Record {
    pub fn new(run_dir: &Path) -> io::Result<Record> {
        fs::create_dir_all(run_dir)?;
        Ok(Record {
            path: run_dir.join("containers"),
            groups: Mutex::default(),
        })
    }

    pub fn add(&self, pgid: i32, start_time: u64, name: &str) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups.insert(
            pgid,
            Group {
                start_time,
                name: name.to_string(),
            },
        );
        self.write(&groups);
    }

    pub fn remove(&self, pgid: i32) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        if groups.remove(&pgid).is_some() {
            self.write(&groups);
        }
    }

    pub fn clear(&self) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups.clear();
        self.write(&groups);
    }

    fn write(&self, groups: &BTreeMap<i32, Group>) {
        let text: String = groups
            .iter()
            .map(|(pgid, g)| format!("{pgid} {} {}\n", g.start_time, g.name))
            .collect();
        let temp = self.path.with_extension("tmp");
        let result = fs::File::create(&temp)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .and_then(|()| fs::rename(&temp, &self.path));
        if let Err(err) = result {
            tracing::warn!(path = %self.path.display(), error = %err, "could not write the scheduler's runtime record");
        }
    }

    /// Kills what a previous controller recorded as running and clears the record. Called
    /// once, before this scheduler starts anything; returns how many process groups it
    /// killed.
    ///
    /// A recorded group is killed when its leader still runs with the recorded start
    /// time, or when its leader is gone but other processes are still in the group (the
    /// shell died with the old controller, what it started lives on). A leader with the
    /// same pid but another start time is an unrelated process and is left alone.
    ///
    // LIMITATION: when the whole recorded group died and an unrelated process later
    // became leader of a group with the same number, that group is killed too; this needs
    // a pid to be reused between the controller's death and its restart.
    pub fn kill_leftovers(&self) -> usize {
        let recorded = match fs::read_to_string(&self.path) {
            Ok(text) => parse_record(&text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(err) => {
                tracing::warn!(path = %self.path.display(), error = %err, "could not read the scheduler's runtime record");
                BTreeMap::new()
            }
        };

        let mut killed = 0;
        if !recorded.is_empty() {
            let members = group_members(&recorded);
            for (pgid, group) in &recorded {
                let leader_matches = match stat_of(*pgid) {
                    Some(stat) => stat.start_time == group.start_time && stat.pgrp == *pgid,
                    None => false,
                };
                let leader_alive = stat_of(*pgid).is_some_and(|s| s.state != 'Z');
                let orphans = members.get(pgid).copied().unwrap_or(0) > 0 && !leader_alive;
                if leader_matches || orphans {
                    tracing::warn!(container = %group.name, pgid, "killing a process group left behind by a previous controller");
                    signal_group(*pgid, libc::SIGKILL);
                    killed += 1;
                }
            }
        }
        self.clear();
        killed
    }
}

fn parse_record(text: &str) -> BTreeMap<i32, Group> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            let pgid = parts.next()?.parse().ok()?;
            let start_time = parts.next()?.parse().ok()?;
            let name = parts.next().unwrap_or_default().to_string();
            Some((pgid, Group { start_time, name }))
        })
        .collect()
}

/// How many live (non-zombie) processes each recorded process group still has.
fn group_members(recorded: &BTreeMap<i32, Group>) -> BTreeMap<i32, usize> {
    let mut members = BTreeMap::new();
    let Ok(proc) = fs::read_dir("/proc") else {
        return members;
    };
    for entry in proc.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(stat) = stat_of(pid) {
            if stat.state != 'Z' && recorded.contains_key(&stat.pgrp) {
                *members.entry(stat.pgrp).or_insert(0) += 1;
            }
        }
    }
    members
}

/// The exit code the API shows: the process's own, or 128 + the signal that killed it.
pub(super) fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// `exit status N` or `killed by signal N`, for log lines.
pub(super) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "exited".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_round_trip() {
        let parsed = parse_record("12 345 web_v2.web.1\nbad line\n13 346 web_v2.run.1\n");
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            parsed[&12],
            Group {
                start_time: 345,
                name: "web_v2.web.1".into()
            }
        );
    }

    #[test]
    fn own_stat_is_readable() {
        let stat = stat_of(std::process::id() as i32).unwrap();
        assert!(stat.start_time > 0);
        assert!(stat.pgrp > 0);
    }
}
