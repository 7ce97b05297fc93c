//! A real SMTP server on 127.0.0.1 for the tests: `scripts/smtp-sink` (Python's aiosmtpd,
//! installed by `scripts/ensure-smtp`), started per test and killed when dropped. Messages
//! arrive as files; [`TestSmtp::wait_for`] polls for them with a deadline.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::repo;

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Header lines (envelope first), unfolded.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The server.
pub struct TestSmtp {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl TestSmtp {
    /// Starts it, with `auth` (`user:password`) required when given.
    pub fn start(auth: Option<&str>) -> Self {
        match auth {
            Some(auth) => Self::start_with(&["--auth", auth]),
            None => Self::start_with(&[]),
        }
    }

    /// Starts it with `scripts/smtp-sink` options (`--tls CERT KEY`, `--implicit-tls`).
    pub fn start_with(options: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new("python3");
        cmd.arg(repo().join("scripts/smtp-sink")).arg(dir.path()).args(options);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs scripts/smtp-sink (scripts/ensure-smtp installs aiosmtpd)");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("smtp-sink prints its port");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!("smtp-sink did not start (is aiosmtpd installed? scripts/ensure-smtp): {line:?}")
            });
        TestSmtp { port, dir, child }
    }

    /// `smtp://[user:password@]127.0.0.1:PORT`.
    pub fn url(&self, credentials: Option<&str>) -> String {
        let who = credentials.map(|c| format!("{c}@")).unwrap_or_default();
        format!("smtp://{who}127.0.0.1:{}", self.port)
    }

    /// The messages received so far, in order.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read mail dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| parse(&std::fs::read_to_string(p).expect("read mail")))
            .collect()
    }

    /// Waits (10 s at most) until `n` messages arrived, and returns them.
    pub fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mails = self.mails();
            if mails.len() >= n || Instant::now() > deadline {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse(text: &str) -> Mail {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    Mail {
        headers,
        body: body.to_owned(),
    }
}
