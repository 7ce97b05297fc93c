//! Test helpers for steps: a tiny HTTP/1.1 server with programmable answers that records
//! what it was sent, and a [`Fixture`] that owns what a [`StepContext`] borrows.
//!
//! The server reads one request per connection (headers, then `Content-Length` bytes of
//! body), waits the programmed delay, answers, and closes. That is all steps need.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::kind::Kind;
use super::{StepContext, StepOutcome};
use crate::redact::Redactor;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct State {
    status: u16,
    body: String,
    delay: Duration,
    /// A `location` header for later answers (a redirect).
    location: Option<String>,
    requests: Vec<Recorded>,
}

/// A server on `127.0.0.1:<free port>`; it stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Starts answering `200 ok` at once.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State {
            status: 200,
            body: "ok".into(),
            delay: Duration::ZERO,
            location: None,
            requests: Vec::new(),
        }));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        TestServer { addr, state, task }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What later requests get.
    pub fn reply(&self, status: u16, body: &str) {
        let mut state = lock(&self.state);
        state.status = status;
        state.body = body.to_owned();
    }

    /// Later requests get `302 Found` to `location`.
    pub fn redirect(&self, location: &str) {
        let mut state = lock(&self.state);
        state.status = 302;
        state.body = String::new();
        state.location = Some(location.to_owned());
    }

    /// How long later requests wait before the answer.
    pub fn delay(&self, delay: Duration) {
        lock(&self.state).delay = delay;
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state).requests.clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    let (status, reply, delay, location) = {
        let mut state = lock(&state);
        state.requests.push(Recorded {
            method,
            path,
            headers,
            body,
        });
        let location = state.location.as_ref().map(|l| format!("location: {l}\r\n"));
        (
            state.status,
            state.body.clone(),
            state.delay,
            location.unwrap_or_default(),
        )
    };
    tokio::time::sleep(delay).await;
    let answer = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: text/plain\r\n{location}connection: close\r\n\r\n",
        reply.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A URL on which nothing listens (a port just freed).
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    format!("http://{addr}")
}

/// Owns what a [`StepContext`] borrows.
pub struct Fixture {
    pub redactor: Redactor,
    pub http: reqwest::Client,
    pub databases: crate::steps::Databases,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_redactor(Redactor::default())
    }

    pub fn with_redactor(redactor: Redactor) -> Self {
        Fixture {
            redactor,
            http: reqwest::Client::new(),
            databases: crate::steps::Databases::default(),
        }
    }

    /// A context for run `r-1` of runbook `demo`, step `announce`.
    pub fn ctx(&self, timeout: Duration) -> StepContext<'_> {
        StepContext {
            run_id: "r-1",
            runbook: "demo",
            step_id: "announce",
            redactor: &self.redactor,
            http: &self.http,
            databases: &self.databases,
            timeout,

            clock: crate::clock::Clock::system(),
            live: None,
        }
    }

    /// Runs one attempt with a 10s limit.
    pub async fn run(&self, step: &impl Kind) -> StepOutcome {
        step.execute(&self.ctx(Duration::from_secs(10))).await
    }
}
