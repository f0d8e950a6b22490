//! The external system's process: run with `sh -c` in its own process
//! group, its stdout read line by line on a thread, its stderr kept on
//! another thread in a ring of its last lines (so a crash can be reported
//! with them), and the whole group killed and reaped on demand.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How many stderr lines are kept for error reports.
pub const STDERR_TAIL_LINES: usize = 20;

/// A running child process speaking on its stdin/stdout.
pub struct ChildProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<io::Result<String>>,
    stderr: StderrRing,
}

impl ChildProcess {
    /// Runs `sh -c command` with piped stdio, in its own process group.
    pub fn spawn(command: &str) -> io::Result<ChildProcess> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group, so the whole tree can be killed at once.
            .process_group(0);
        // Killed with this process (a SIGINT, SIGTERM or SIGKILL of the
        // harness leaves no system under test running; `crate::interrupt`).
        // The signal comes when the spawning *thread* ends: the executor
        // spawns and reaps a system in the thread that runs the case.
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = StderrRing::default();
        stderr.spawn_reader(child.stderr.take().expect("piped stderr"));
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
                        if tx.send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        Ok(ChildProcess { child, stdin, lines: rx, stderr })
    }

    /// The child's pid (the process group's id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Writes `line` (with its newline) to the child's stdin and flushes.
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        match self.stdin.as_mut() {
            Some(w) => w.write_all(format!("{line}\n").as_bytes()).and_then(|()| w.flush()),
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed")),
        }
    }

    /// Writes `last` (if any) and closes stdin: EOF ends the session.
    pub fn close_stdin(&mut self, last: Option<&str>) {
        if let (Some(w), Some(line)) = (self.stdin.as_mut(), last) {
            let _ = w.write_all(format!("{line}\n").as_bytes());
        }
        self.stdin = None;
    }

    /// The next stdout line, waiting at most `bound`.
    pub fn next_line(&self, bound: Duration) -> Result<io::Result<String>, RecvTimeoutError> {
        self.lines.recv_timeout(bound)
    }

    /// The last stderr lines, after waiting (bounded) for stderr to close.
    pub fn stderr_tail(&self, wait: Duration) -> String {
        self.stderr.tail(wait)
    }

    /// Bounded wait for the child to exit on its own: poll(2) on a pidfd,
    /// which becomes readable when the process exits.
    pub fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        if let Ok(Some(st)) = self.child.try_wait() {
            return Some(st);
        }
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: pidfd_open has no memory-safety preconditions.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
        if fd >= 0 {
            let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
            let ms = bound.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: one valid pollfd; fd is ours and closed right after.
            unsafe {
                libc::poll(&mut pfd, 1, ms);
                libc::close(fd);
            }
        }
        self.child.try_wait().ok().flatten()
    }

    /// Kills the child's whole process group and reaps the child.
    pub fn kill(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain syscalls on a process group we created.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a child ended, for error messages.
pub fn describe_status(st: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => format!("{st}"),
    }
}

// --- stderr ring buffer ----------------------------------------------------------------------

#[derive(Default)]
struct StderrTail {
    lines: VecDeque<String>,
    dropped: usize,
    done: bool,
}

#[derive(Clone, Default)]
struct StderrRing(Arc<(Mutex<StderrTail>, Condvar)>);

impl StderrRing {
    fn spawn_reader(&self, stderr: impl Read + Send + 'static) {
        let ring = self.clone();
        thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
                        let (m, _) = &*ring.0;
                        let mut t = m.lock().unwrap();
                        t.lines.push_back(line);
                        if t.lines.len() > STDERR_TAIL_LINES {
                            t.lines.pop_front();
                            t.dropped += 1;
                        }
                    }
                }
            }
            let (m, cv) = &*ring.0;
            m.lock().unwrap().done = true;
            cv.notify_all();
        });
    }

    /// The last lines, after waiting (bounded) for the writer to close stderr.
    fn tail(&self, wait: Duration) -> String {
        let (m, cv) = &*self.0;
        let deadline = Instant::now() + wait;
        let mut t = m.lock().unwrap();
        while !t.done {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            t = cv.wait_timeout(t, deadline - now).unwrap().0;
        }
        if t.lines.is_empty() {
            return "(stderr empty)".into();
        }
        let mut s = String::new();
        if t.dropped > 0 {
            s.push_str(&format!("… {} earlier lines dropped …\n", t.dropped));
        }
        for l in &t.lines {
            s.push_str("  | ");
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}
