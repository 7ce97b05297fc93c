//! Notifications that reach people: Slack-format and generic webhooks on a real HTTP
//! server, e-mail through a real SMTP server (aiosmtpd), run-level channels that hear only
//! their `events:`, and the `approval_requested` notice with the exact command to type.

use crate::harness::Workspace;
use crate::http_server::TestHttp;
use crate::smtp_server::TestSmtp;

const PASSWORD: &str = "s3cr3t-smtp-pw";

fn runbook(http: &TestHttp, smtp: &TestSmtp) -> String {
    let smtp_url = smtp.url(Some(&format!("ops:{PASSWORD}")));
    format!(
        r#"deployctl: 1
name: people
title: TECH-DEBT-001.1 RLS
notify:
  - {{ webhook: "{slack}", format: slack, events: [approval_requested, run_finished] }}
  - webhook: "{generic}"
  - email: {{ smtp: "{smtp_url}", from: "deployctl@example.com", to: ["morgan@example.com"], subject: "TECH-DEBT-001.1 RLS - Ready for Production" }}
    events: [approval_requested]
contacts:
  business: {{ primary: "@pm (Morgan)" }}
phases:
  - id: p
    steps:
      - id: announce
        notify: {{ webhook: "{slack}", format: slack, message: "deployment starting (run ${{run.id}})", required: true }}
      - id: stakeholders
        notify:
          email: {{ smtp: "{smtp_url}", from: "deployctl@example.com", to: ["pm@example.com", "ops-lead@example.com"], subject: "TECH-DEBT-001.1 RLS - Production Deployment Scheduled" }}
          message: "Scheduled: run ${{run.id}}"
          required: true
      - {{ id: pm, approval: {{ role: "@pm" }} }}
"#,
        slack = http.url("/slack/T0K3N"),
        generic = http.url("/generic"),
    )
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn slack_generic_and_email_reach_their_receivers_with_the_approval_request() {
    let (http, smtp) = (TestHttp::start(), TestSmtp::start(Some(&format!("ops:{PASSWORD}"))));
    let ws = Workspace::new(&runbook(&http, &smtp));
    let out = ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run();
    assert_eq!(out.code, 3, "paused at the gate: {}{}", out.stdout, out.stderr);
    assert!(!out.stderr.contains("was not told"), "{}", out.stderr);
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(PASSWORD), "the SMTP password leaked: {text}");
    }
    let run_id = ws.journal("people")[0]["run_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let requests = http.requests();
    let slack: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/slack/T0K3N")
        .map(|r| json(&r.body))
        .collect();
    assert_eq!(slack.len(), 2, "the step and approval_requested only: {slack:?}");
    assert_eq!(
        slack[0],
        serde_json::json!({ "text": format!("deployment starting (run {run_id})") })
    );
    let asked = slack[1]["text"].as_str().unwrap_or_default();
    assert!(asked.contains("approval requested at `pm`"), "{asked}");
    assert!(
        asked.contains("needs an approval by role @pm for runbook sha256 "),
        "{asked}"
    );
    assert!(
        asked.contains("approve with: deployctl approve r.yaml pm --by \"YOUR NAME\""),
        "{asked}"
    );
    assert!(asked.contains("contacts: business: @pm (Morgan)"), "{asked}");

    let generic: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/generic")
        .map(|r| json(&r.body))
        .collect();
    let events: Vec<_> = generic.iter().map(|g| g["event"].as_str().unwrap_or("")).collect();
    assert_eq!(events, ["run_started", "approval_requested"], "{generic:?}");
    assert_eq!(generic[1]["request"]["role"], "@pm");
    assert_eq!(
        generic[1]["request"]["command"],
        "deployctl approve r.yaml pm --by \"YOUR NAME\""
    );
    assert_eq!(generic[1]["request"]["runbook_sha256"].as_str().map(str::len), Some(64));

    let mails = smtp.wait_for(2);
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(
        mails[0].header("Subject"),
        Some("TECH-DEBT-001.1 RLS - Production Deployment Scheduled")
    );
    assert_eq!(
        mails[0].header("X-Envelope-To"),
        Some("pm@example.com,ops-lead@example.com")
    );
    assert_eq!(mails[0].body.trim(), format!("Scheduled: run {run_id}"));
    assert_eq!(
        mails[1].header("Subject"),
        Some("TECH-DEBT-001.1 RLS - Ready for Production")
    );
    assert_eq!(mails[1].header("X-Envelope-To"), Some("morgan@example.com"));
    assert!(
        mails[1].body.contains("deployctl approve r.yaml pm --by \"YOUR NAME\""),
        "{}",
        mails[1].body
    );
    let journal = std::fs::read_to_string(ws.journal_path("people")).unwrap_or_default();
    assert!(!journal.contains(PASSWORD), "the journal holds no password");
}

#[test]
fn a_wrong_smtp_password_fails_a_required_email_without_showing_it() {
    let smtp = TestSmtp::start(Some("ops:right-password"));
    let url = smtp.url(Some("ops:wr0ng-pa55"));
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: mail
phases:
  - id: p
    steps:
      - id: tell
        notify: {{ email: {{ smtp: "{url}", from: "d@example.com", to: ["a@example.com"] }}, message: hi, required: true }}
"#
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("e-mail failed: SMTP 127.0.0.1:"), "{all}");
    assert!(!all.contains("wr0ng-pa55"), "{all}");
    assert!(smtp.mails().is_empty());
}

#[test]
fn starttls_required_is_never_sent_in_clear() {
    let smtp = TestSmtp::start(None);
    let url = format!("smtp://127.0.0.1:{}?tls=required", smtp.port);
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: mail
phases:
  - id: p
    steps:
      - id: tell
        notify: {{ email: {{ smtp: "{url}", from: "d@example.com", to: ["a@example.com"] }}, message: hi, required: true }}
"#
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(
        out.code, 1,
        "the server offers no STARTTLS: {}{}",
        out.stdout, out.stderr
    );
    assert!(smtp.mails().is_empty(), "nothing was sent in clear");
}

#[test]
fn plain_smtp_to_another_machine_and_bad_addresses_are_refused_at_validation() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: mail
notify:
  - { email: { smtp: "smtp://u:pw-in-clear@mail.example.com:25", from: "d@example.com", to: ["not an address"] }, events: [nonsense] }
phases:
  - id: p
    steps:
      - { id: s, notify: { webhook: "http://127.0.0.1:9/x", format: teams } }
"#,
    );
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("sends in clear to another machine"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("is not an e-mail address"), "{}", out.stderr);
    assert!(out.stderr.contains("unknown run event `nonsense`"), "{}", out.stderr);
    assert!(out.stderr.contains("unknown notify format `teams`"), "{}", out.stderr);
    assert!(!out.stderr.contains("pw-in-clear"), "{}", out.stderr);
}

/// A self-signed certificate for 127.0.0.1 (`openssl`), its key, in `dir`.
fn certificate(dir: &std::path::Path) -> (String, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (cert.display().to_string(), key.display().to_string())
}

fn tls_runbook(url: &str, ca: Option<&str>) -> String {
    let ca = ca.map(|c| format!(", ca: \"{c}\"")).unwrap_or_default();
    format!(
        r#"deployctl: 1
name: mail
phases:
  - id: p
    steps:
      - id: tell
        notify: {{ email: {{ smtp: "{url}", from: "d@example.com", to: ["a@example.com"]{ca} }}, message: hi, required: true }}
"#
    )
}

#[test]
fn starttls_and_implicit_tls_deliver_with_the_relays_ca_and_refuse_without_it() {
    let certs = tempfile::tempdir().expect("tempdir");
    let (cert, key) = certificate(certs.path());
    for (scheme, extra) in [("smtp", None), ("smtps", Some("--implicit-tls"))] {
        let mut options = vec!["--tls", cert.as_str(), key.as_str()];
        options.extend(extra);
        let smtp = TestSmtp::start_with(&options);
        let url = match scheme {
            "smtps" => format!("smtps://127.0.0.1:{}", smtp.port),
            _ => format!("smtp://127.0.0.1:{}?tls=required", smtp.port),
        };
        let untrusted = Workspace::new(&tls_runbook(&url, None));
        let out = untrusted.deployctl().args(["run", "r.yaml"]).run();
        assert_eq!(
            out.code, 1,
            "{scheme}: a certificate no one vouches for: {}",
            out.stdout
        );
        assert!(smtp.mails().is_empty(), "{scheme}");
        let trusted = Workspace::new(&tls_runbook(&url, Some(&cert)));
        let out = trusted.deployctl().args(["run", "r.yaml"]).run();
        assert_eq!(out.code, 0, "{scheme}: {}{}", out.stdout, out.stderr);
        let mails = smtp.wait_for(1);
        assert_eq!(mails.len(), 1, "{scheme}");
        assert_eq!(mails[0].body.trim(), "hi");
    }
}
