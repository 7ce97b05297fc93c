//! `http`: one request, and what its answer must be.
//!
//! Theory of operation: the request is sent with the run's client and a total timeout of the
//! step's own limit, so a slow server fails with its own reason before the engine's timeout
//! drops the step. At most [`MAX_BODY`] of the body is read; checks run on what was read and
//! say so when they needed more. Every message names the method and URL and goes through
//! the redactor as a whole, since reqwest's error texts may repeat the URL.

use std::error::Error as _;
use std::time::{Duration, Instant};

use reqwest::Method;

use super::kind::Kind;
use super::sql::describe_sql;
use super::{Excerpt, Failure, StepContext, StepOutcome};
use crate::runbook::Runbook;
use crate::runbook::duration;
use crate::runbook::model::{Check, HttpCheck, HttpMethod};

/// The most body read from one answer.
const MAX_BODY: usize = 1024 * 1024;
/// How much of an unexpected JSON value a message shows.
const SHOWN_VALUE_CHARS: usize = 100;

impl Kind for HttpCheck {
    fn describe(&self, _runbook: &Runbook) -> String {
        describe_http(self)
    }

    /// Sent only when its method is GET or HEAD: a request that may change things is not
    /// a probe.
    async fn probe(&self, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
        if !matches!(self.method, HttpMethod::Get | HttpMethod::Head) {
            return None;
        }
        Some(match self.execute(ctx).await {
            StepOutcome::Done { detail, .. } => Ok(format!("answered: {}", detail.unwrap_or_default())),
            StepOutcome::Failed { reason, hint, .. } => Err(Failure { reason, hint }),
        })
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let url = self.url.render(ctx.run_id);
        let target = format!("{} {url}", reqwest_method(self.method));
        let outcome = match fetch(self, &url, ctx).await {
            Ok(answer) => judge(self, &answer, ctx),
            Err(reason) => Err((reason, None)),
        };
        match outcome {
            Ok(detail) => StepOutcome::Done {
                detail: Some(detail),
                output: None,
            },
            Err((reason, output)) => {
                StepOutcome::failed_with_output(ctx.redactor.mask(&format!("{target}: {reason}")).into_owned(), output)
            }
        }
    }
}

/// A monitor probe's result: whether it passed, and how long the answer took when one came.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Probed {
    /// Time to a complete answer; `None` when nothing answered (refused, timed out, reset).
    pub answered_in: Option<Duration>,
    /// Why it counts as an error (redacted, naming the target); `None` when it passed.
    pub failure: Option<String>,
}

/// One monitor probe: like [`check`], but keeps the latency of any answer, good or bad, since
/// latency percentiles are computed over the probes that got an answer.
pub(crate) async fn probe(check: &Check, ctx: &StepContext<'_>) -> Probed {
    match check {
        Check::Http(http) => {
            let url = http.url.render(ctx.run_id);
            let target = format!("{} {url}", reqwest_method(http.method));
            let mask = |reason: String| Some(ctx.redactor.mask(&format!("{target}: {reason}")).into_owned());
            match fetch(http, &url, ctx).await {
                Ok(answer) => Probed {
                    answered_in: Some(answer.elapsed),
                    failure: judge(http, &answer, ctx).err().and_then(|(reason, _)| mask(reason)),
                },
                Err(reason) => Probed {
                    answered_in: None,
                    failure: mask(reason),
                },
            }
        }
        Check::Sql(sql) => {
            // A query answers or it does not; the time of a failed one says little.
            let started = Instant::now();
            match sql.execute(ctx).await {
                StepOutcome::Done { .. } => Probed {
                    answered_in: Some(started.elapsed()),
                    failure: None,
                },
                StepOutcome::Failed { reason, .. } => Probed {
                    answered_in: None,
                    failure: Some(reason),
                },
            }
        }
    }
}

/// A request and what its answer must be, in one line, for plans.
pub(crate) fn describe_http(h: &HttpCheck) -> String {
    let status = h.expect_status.map_or_else(|| "2xx".to_string(), |s| s.to_string());
    let latency = h.max_ms.map_or_else(String::new, |ms| format!(" within {ms}ms"));
    format!("{} {} → {status}{latency}", reqwest_method(h.method), h.url.display())
}

/// A read-only check in one line, for plans.
pub(crate) fn describe_check(check: &Check) -> String {
    match check {
        Check::Http(h) => describe_http(h),
        Check::Sql(q) => describe_sql(q),
    }
}

/// Runs a read-only check (`verify` on resume, `wait.until`).
pub(crate) async fn check(check: &Check, ctx: &StepContext<'_>) -> StepOutcome {
    match check {
        Check::Http(http) => http.execute(ctx).await,
        Check::Sql(sql) => sql.execute(ctx).await,
    }
}

/// What came back.
struct Answer {
    status: u16,
    body: Vec<u8>,
    /// The body was longer than [`MAX_BODY`]; the rest was not read.
    truncated: bool,
    elapsed: Duration,
}

async fn fetch(http: &HttpCheck, url: &str, ctx: &StepContext<'_>) -> Result<Answer, String> {
    let mut request = ctx.http.request(reqwest_method(http.method), url).timeout(ctx.timeout);
    for (name, value) in &http.headers {
        request = request.header(name, value.render(ctx.run_id));
    }
    if let Some(body) = &http.body {
        request = request.body(body.render(ctx.run_id));
    }
    let started = Instant::now();
    let mut response = request.send().await.map_err(|e| describe_error(&e, ctx.timeout))?;
    let status = response.status().as_u16();
    let (mut body, mut truncated) = (Vec::new(), false);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_BODY - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(format!(
                    "answered {status}, then reading the body failed: {}",
                    describe_error(&e, ctx.timeout)
                ));
            }
        }
    }
    Ok(Answer {
        status,
        body,
        truncated,
        elapsed: started.elapsed(),
    })
}

/// The Done detail, or the reason (without the target) and a body excerpt.
fn judge(http: &HttpCheck, answer: &Answer, ctx: &StepContext<'_>) -> Result<String, (String, Option<String>)> {
    let excerpt = || {
        let mut e = Excerpt::new();
        e.push(&answer.body);
        e.render(ctx.redactor)
    };
    let status_ok = match http.expect_status {
        Some(expected) => answer.status == expected,
        None => (200..300).contains(&answer.status),
    };
    if !status_ok {
        let expected = http.expect_status.map_or("2xx".to_owned(), |s| s.to_string());
        return Err((format!("answered {}, expected {expected}", answer.status), excerpt()));
    }
    let mut problems = Vec::new();
    let partial = if answer.truncated {
        " (only the first 1 MiB was read)"
    } else {
        ""
    };
    if let Some(needle) = &http.body_contains {
        let needle = needle.render(ctx.run_id);
        if !String::from_utf8_lossy(&answer.body).contains(&needle) {
            problems.push(format!("body does not contain `{needle}`{partial}"));
        }
    }
    if !http.json.is_empty() {
        problems.extend(json_problems(&http.json, &answer.body, answer.truncated));
    }
    let ms = answer.elapsed.as_millis();
    if let Some(max) = http.max_ms
        && ms > u128::from(max)
    {
        problems.push(format!("took {ms}ms, over max_ms {max}"));
    }
    if !problems.is_empty() {
        return Err((problems.join("; "), excerpt()));
    }
    Ok(format!("{} in {ms}ms{partial}", answer.status))
}

fn json_problems(
    expected: &std::collections::BTreeMap<String, serde_json::Value>,
    body: &[u8],
    truncated: bool,
) -> Vec<String> {
    if truncated {
        return vec!["body is over 1 MiB, too large to check its JSON".into()];
    }
    let document: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return vec![format!("body is not JSON ({e})")],
    };
    expected
        .iter()
        .filter_map(|(pointer, want)| match document.pointer(pointer) {
            None => Some(format!("{pointer} is missing, expected {}", shown(want))),
            Some(got) if !json_equal(got, want) => {
                Some(format!("{pointer} is {}, expected {}", shown(got), shown(want)))
            }
            Some(_) => None,
        })
        .collect()
}

/// Equality where `1` and `1.0` are the same number (YAML and servers disagree on floats).
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64()),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A JSON value as one short line.
fn shown(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(SHOWN_VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A request error as a short reason: connect problems, timeouts, and the rest told apart.
pub(super) fn describe_error(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {}", duration::format(timeout));
    }
    let io = io_source(e);
    if e.is_connect() {
        return match io.map(|io| io.kind()) {
            Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".into(),
            _ => format!("cannot connect: {}", root_cause(e)),
        };
    }
    if e.is_builder() {
        return format!("invalid request: {}", root_cause(e));
    }
    match io.map(|io| io.kind()) {
        Some(std::io::ErrorKind::ConnectionReset) => "connection reset by the server".into(),
        _ => format!("request failed: {}", root_cause(e)),
    }
}

/// The innermost I/O error behind a request error, if any.
fn io_source(e: &reqwest::Error) -> Option<&std::io::Error> {
    let mut source = e.source();
    let mut found = None;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            found = Some(io);
        }
        source = s.source();
    }
    found
}

/// The innermost error's text (reqwest's own texts say only "error sending request").
fn root_cause(e: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

fn reqwest_method(method: HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::redact::Redactor;
    use crate::runbook::model::Template;
    use crate::steps::test_server::{Fixture, TestServer, refused_url};

    fn get(url: &str) -> HttpCheck {
        HttpCheck {
            url: Template::literal(url),
            method: HttpMethod::Get,
            headers: BTreeMap::new(),
            body: None,
            expect_status: None,
            body_contains: None,
            json: BTreeMap::new(),
            max_ms: None,
        }
    }

    fn failure(outcome: StepOutcome) -> String {
        match outcome {
            StepOutcome::Failed { reason, .. } => reason,
            done => panic!("expected a failure, got {done:?}"),
        }
    }

    #[tokio::test]
    async fn any_2xx_passes_and_sends_method_headers_body() {
        let server = TestServer::start().await;
        server.reply(201, "created");
        let mut step = get(&server.url("/deploy"));
        step.method = HttpMethod::Post;
        step.headers.insert("x-run".into(), Template::literal("r-1"));
        step.body = Some(Template::literal("{\"go\":true}"));
        let outcome = Fixture::new().run(&step).await;
        let StepOutcome::Done {
            detail: Some(detail), ..
        } = outcome
        else {
            panic!("{outcome:?}")
        };
        assert!(detail.starts_with("201 in ") && detail.ends_with("ms"), "{detail}");
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/deploy");
        assert_eq!(requests[0].header("x-run"), Some("r-1"));
        assert_eq!(requests[0].body, b"{\"go\":true}");
    }

    #[tokio::test]
    async fn wrong_status_is_named() {
        let server = TestServer::start().await;
        server.reply(503, "down for maintenance");
        let mut step = get(&server.url("/health"));
        step.expect_status = Some(200);
        let outcome = Fixture::new().run(&step).await;
        assert_eq!(
            outcome,
            StepOutcome::failed_with_output(
                format!("GET {}: answered 503, expected 200", server.url("/health")),
                Some("down for maintenance".into())
            )
        );
        server.reply(404, "");
        let reason = failure(Fixture::new().run(&get(&server.url("/x"))).await);
        assert!(reason.ends_with("answered 404, expected 2xx"), "{reason}");
    }

    #[tokio::test]
    async fn body_contains() {
        let server = TestServer::start().await;
        server.reply(200, "all good");
        let mut step = get(&server.url("/health"));
        step.body_contains = Some(Template::literal("good"));
        assert!(matches!(Fixture::new().run(&step).await, StepOutcome::Done { .. }));
        step.body_contains = Some(Template::literal("ok"));
        let reason = failure(Fixture::new().run(&step).await);
        assert!(reason.ends_with(": body does not contain `ok`"), "{reason}");
    }

    #[tokio::test]
    async fn body_over_one_mib_is_cut_and_said_so() {
        let server = TestServer::start().await;
        server.reply(200, &format!("{}ok", "x".repeat(MAX_BODY + 10)));
        let mut step = get(&server.url("/big"));
        step.body_contains = Some(Template::literal("ok"));
        let reason = failure(Fixture::new().run(&step).await);
        assert!(
            reason.ends_with("body does not contain `ok` (only the first 1 MiB was read)"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn json_pointers() {
        let server = TestServer::start().await;
        server.reply(200, r#"{"status":"degraded","checks":{"db":1.0},"n":3}"#);
        let mut step = get(&server.url("/health"));
        step.json.insert("/checks/db".into(), json!(1));
        step.json.insert("/n".into(), json!(3));
        assert!(matches!(Fixture::new().run(&step).await, StepOutcome::Done { .. }));
        step.json.insert("/status".into(), json!("ok"));
        step.json.insert("/version".into(), json!("1.2"));
        let reason = failure(Fixture::new().run(&step).await);
        assert!(
            reason.ends_with(": /status is \"degraded\", expected \"ok\"; /version is missing, expected \"1.2\""),
            "{reason}"
        );
        server.reply(200, "<html>");
        let reason = failure(Fixture::new().run(&step).await);
        assert!(reason.contains(": body is not JSON ("), "{reason}");
    }

    #[tokio::test]
    async fn max_ms() {
        let server = TestServer::start().await;
        server.reply(200, "ok");
        server.delay(Duration::from_millis(150));
        let mut step = get(&server.url("/slow"));
        step.max_ms = Some(50);
        let reason = failure(Fixture::new().run(&step).await);
        assert!(
            reason.contains(": took ") && reason.ends_with("ms, over max_ms 50"),
            "{reason}"
        );
        step.max_ms = Some(5000);
        assert!(matches!(Fixture::new().run(&step).await, StepOutcome::Done { .. }));
    }

    #[tokio::test]
    async fn connection_refused() {
        let url = refused_url().await;
        let reason = failure(Fixture::new().run(&get(&url)).await);
        assert_eq!(reason, format!("GET {url}: connection refused"));
    }

    #[tokio::test]
    async fn timeout_is_its_own_reason() {
        let server = TestServer::start().await;
        server.reply(200, "late");
        server.delay(Duration::from_secs(5));
        let fixture = Fixture::new();
        let outcome = get(&server.url("/hang"))
            .execute(&fixture.ctx(Duration::from_millis(200)))
            .await;
        assert_eq!(
            failure(outcome),
            format!("GET {}: timed out after 200ms", server.url("/hang"))
        );
    }

    #[tokio::test]
    async fn secrets_are_masked_in_reasons_and_output() {
        let mut redactor = Redactor::default();
        redactor.register("canary-s3cret");
        let fixture = Fixture::with_redactor(redactor);
        let server = TestServer::start().await;
        server.reply(500, "bad token canary-s3cret");
        let url = server.url("/hook?token=canary-s3cret");
        let outcome = fixture.run(&get(&url)).await;
        let StepOutcome::Failed { reason, output, .. } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            reason,
            format!("GET {}: answered 500, expected 2xx", server.url("/hook?token=***"))
        );
        assert_eq!(output.as_deref(), Some("bad token ***"));
        let refused = refused_url().await;
        let reason = failure(fixture.run(&get(&format!("{refused}?token=canary-s3cret"))).await);
        assert!(!reason.contains("canary-s3cret"), "{reason}");
    }

    #[tokio::test]
    async fn sql_checks_name_an_unknown_database() {
        let sql = Check::Sql(crate::runbook::model::SqlCheck {
            database: "db".into(),
            query: "select 1".into(),
            params: vec![],
            expect: Default::default(),
        });
        let fixture = Fixture::new();
        assert_eq!(
            failure(check(&sql, &fixture.ctx(Duration::from_secs(1))).await),
            "database `db` is not declared"
        );
    }
}
