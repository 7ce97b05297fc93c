//! Secrets never reach output: a canary password in a database URL and a canary token in a
//! `*_TOKEN` variable, used by shell and http steps, are masked in every output.

use crate::harness::Deployctl;

const PASSWORD: &str = "canary-pw-7f3a9";
const TOKEN: &str = "canary-tok-51c2e";

fn runbook(dir: &std::path::Path, broken: bool) -> std::path::PathBuf {
    let extra = if broken {
        "      - { id: broken, sql: { database: nowhere, query: \"select 1\" } }\n"
    } else {
        ""
    };
    let text = format!(
        r#"deployctl: 1
name: secrets
databases:
  app: {{ url: "postgres://app:{PASSWORD}@127.0.0.1:5432/app" }}
  viaenv: {{ url: "${{env.SECRET_DB_URL}}" }}
phases:
  - id: p
    steps:
      - {{ id: sh, shell: "curl -H 'Authorization: Bearer ${{env.DEPLOY_TOKEN}}' http://127.0.0.1:9/x" }}
      - id: web
        http: {{ url: "http://127.0.0.1:9/health?token=${{env.DEPLOY_TOKEN}}", headers: {{ Authorization: "Bearer ${{env.DEPLOY_TOKEN}}" }} }}
      - {{ id: q, sql: {{ database: app, query: "select $1", params: ["${{env.DEPLOY_TOKEN}}"] }} }}
      - {{ id: n, notify: "http://hook:{PASSWORD}@127.0.0.1:9/${{env.DEPLOY_TOKEN}}" }}
{extra}rollback:
  steps:
    - {{ id: undo-all, shell: "echo {PASSWORD}" }}
"#
    );
    let path = dir.join("secrets.yaml");
    std::fs::write(&path, text).expect("write runbook");
    path
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(PASSWORD), "{what} leaks the database password:\n{text}");
    assert!(!text.contains(TOKEN), "{what} leaks the token:\n{text}");
}

#[test]
fn canaries_are_masked_in_every_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    for broken in [false, true] {
        let path = runbook(dir.path(), broken);
        for args in [
            vec!["validate"],
            vec!["run", "--dry-run", "--offline"],
            vec!["--output", "json", "run", "--dry-run", "--offline"],
            vec!["--output", "json", "validate"],
        ] {
            let out = Deployctl::new()
                .env("DEPLOY_TOKEN", TOKEN)
                .env("SECRET_DB_URL", &format!("postgres://other:{PASSWORD}@db/x"))
                .args(args.iter().map(|a| a.as_ref()).chain([path.as_os_str()]))
                .run();
            assert_eq!(out.code, if broken { 2 } else { 0 }, "{args:?}: {}", out.stderr);
            assert_clean(&format!("{args:?} stdout"), &out.stdout);
            assert_clean(&format!("{args:?} stderr"), &out.stderr);
            if !broken && args.contains(&"run") {
                assert!(
                    out.stdout.contains("***"),
                    "masked values are shown as ***:\n{}",
                    out.stdout
                );
            }
        }
    }
}

/// The same canaries through a real run: a shell step and an http step that use the token,
/// a failure, a resume, and every status rendering. None may show them; nor may the journal.
#[test]
fn canaries_never_reach_run_output_journal_or_reports() {
    use crate::harness::Workspace;
    use crate::http_server::TestHttp;

    let http = TestHttp::start();
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: canary
databases:
  app: {{ url: "postgres://app:{PASSWORD}@127.0.0.1:5432/app" }}
phases:
  - id: p
    steps:
      - {{ id: echo-token, shell: "echo token=$DEPLOY_TOKEN; echo inline=${{env.DEPLOY_TOKEN}}; echo url=postgres://app:{PASSWORD}@db/x" }}
      - id: call
        http: {{ url: "{url}?token=${{env.DEPLOY_TOKEN}}", headers: {{ Authorization: "Bearer ${{env.DEPLOY_TOKEN}}" }}, expect: {{ status: 200 }} }}
      - {{ id: gate, shell: "test -f go || (echo failing with $DEPLOY_TOKEN; exit 1)" }}
"#,
        url = http.url("/api")
    ));
    http.answer(200, "ok");
    let run = |args: &[&str]| {
        ws.deployctl()
            .env("DEPLOY_TOKEN", TOKEN)
            .args(args.iter().copied())
            .run()
    };
    let mut outputs = Vec::new();
    let failed = run(&["-v", "run", "r.yaml"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    outputs.push(failed);
    std::fs::write(ws.file("go"), "").expect("go");
    let resumed = run(&["--output", "json", "run", "r.yaml"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    outputs.push(resumed);
    for format in ["human", "json", "markdown"] {
        let status = run(&["status", "r.yaml", "--format", format]);
        assert_eq!(status.code, 0);
        outputs.push(status);
    }
    for (i, out) in outputs.iter().enumerate() {
        assert_clean(&format!("invocation {i} stdout"), &out.stdout);
        assert_clean(&format!("invocation {i} stderr"), &out.stderr);
    }
    let journal = std::fs::read_to_string(ws.journal_path("canary")).expect("journal");
    assert_clean("journal", &journal);
    assert!(journal.contains("token=***"), "masked, not dropped: {journal}");
    let lock = std::fs::read_to_string(ws.file(".deployctl/canary.jsonl.lock")).unwrap_or_default();
    assert_clean("lock holder record", &lock);
    assert!(
        http.requests().iter().any(|r| r.path.contains(TOKEN)),
        "the real value was used"
    );
}

/// sqlx and libpq also take a database password from a `?password=` parameter: it is as
/// secret as one in `user:password@`, in the plan, in step output and in the journal.
#[test]
fn a_password_given_as_a_url_parameter_is_masked_everywhere() {
    use crate::harness::Workspace;

    const QS_PASSWORD: &str = "canary-qs-pw-83b1";
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: qs
databases:
  app: {{ url: "postgres://app@127.0.0.1:1/app?sslmode=disable&password={QS_PASSWORD}" }}
phases:
  - id: p
    steps:
      - {{ id: ping, sql: {{ database: app, query: "select 1" }}, timeout: 5s }}
      - {{ id: echo, shell: "echo pw={QS_PASSWORD}" }}
"#
    ));
    let plan = ws.deployctl().args(["run", "r.yaml", "--dry-run", "--offline"]).run();
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let run = ws.deployctl().args(["-v", "run", "r.yaml"]).run();
    assert_eq!(run.code, 1, "nothing listens on port 1: {}\n{}", run.stdout, run.stderr);
    let status = ws.deployctl().args(["status", "r.yaml", "--format", "markdown"]).run();
    let journal = std::fs::read_to_string(ws.journal_path("qs")).expect("journal");
    for (what, text) in [
        ("plan", &plan.stdout),
        ("run stdout", &run.stdout),
        ("run stderr", &run.stderr),
        ("status", &status.stdout),
        ("journal", &journal),
    ] {
        assert!(!text.contains(QS_PASSWORD), "{what} leaks the password:\n{text}");
    }
    assert!(
        plan.stdout.contains("echo pw=***"),
        "masked, not dropped: {}",
        plan.stdout
    );
    assert!(journal.contains("pw=***"), "masked, not dropped: {journal}");
}
