//! A real HTTP server on 127.0.0.1:0 whose answers a test controls, and which records what
//! it was sent. Stopped when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    /// When not empty, the statuses answered in turn (a flapping service), then again.
    pub cycle: Vec<u16>,
    pub answered: usize,
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Request {
    #[allow(dead_code)]
    pub method: String,
    pub path: String,
    #[allow(dead_code)]
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The server.
pub struct TestHttp {
    pub port: u16,
    answer: Arc<Mutex<Answer>>,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestHttp {
    /// Starts answering 200 "ok".
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let answer = Arc::new(Mutex::new(Answer {
            status: 200,
            body: "ok".into(),
            delay: Duration::ZERO,
            cycle: Vec::new(),
            answered: 0,
        }));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, r, s) = (answer.clone(), requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (a, r) = (a.clone(), r.clone());
                        std::thread::spawn(move || serve(stream, &a, &r));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TestHttp {
            port,
            answer,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn answer(&self, status: u16, body: &str) {
        let mut a = self.answer.lock().expect("lock");
        a.status = status;
        a.body = body.into();
    }

    /// Answers these statuses in turn, over and over (a flapping service).
    pub fn cycle(&self, statuses: &[u16]) {
        let mut a = self.answer.lock().expect("lock");
        a.cycle = statuses.to_vec();
        a.answered = 0;
    }

    /// Answers after this delay from now on.
    pub fn delay(&self, delay: Duration) {
        self.answer.lock().expect("lock").delay = delay;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for TestHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, answer: &Mutex<Answer>, requests: &Mutex<Vec<Request>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.lock().expect("lock").push(Request {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into(),
        });
        let a = {
            let mut shared = answer.lock().expect("lock");
            let mut a = shared.clone();
            if !a.cycle.is_empty() {
                a.status = a.cycle[a.answered % a.cycle.len()];
            }
            shared.answered += 1;
            a
        };
        if !a.delay.is_zero() {
            std::thread::sleep(a.delay);
        }
        let response = format!(
            "HTTP/1.1 {} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{}",
            a.status,
            a.body.len(),
            a.body
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
