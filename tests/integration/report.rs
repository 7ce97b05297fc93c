//! The evidence report (`status --format markdown|json|html`) of one representative run:
//! gates approved by named people, a rolling restart, a step that failed and was continued,
//! a monitor that trips, and the rollback. Real binary, real HTTP servers on 127.0.0.1.

use crate::harness::Workspace;
use crate::http_server::TestHttp;

/// Runs the scenario to its rollback (exit 4) and returns the workspace.
fn rolled_back_run(ok: &TestHttp, bad: &TestHttp) -> Workspace {
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: evidence
title: "Evidence <b>report</b> ✅"
services:
  community: {{ health: "{ok}", restart: "echo community >> restarts.log" }}
  marketplace: {{ health: "{ok}", restart: "echo marketplace >> restarts.log" }}
phases:
  - id: approvals
    title: Pre-Deployment Approvals
    steps:
      - {{ id: pm-approval, title: "@pm (Morgan) - Business Approval", approval: {{ role: "@pm" }} }}
      - {{ id: cto-approval, approval: {{ role: cto }} }}
      - {{ id: briefing, manual: "Operations team briefed" }}
  - id: deploy
    title: Deployment Execution
    steps:
      - {{ id: change, shell: "echo deploying", undo: {{ shell: "echo undo-change >> rollback.log" }} }}
      - {{ id: smoke, shell: "echo '<script>alert(1)</script>'; exit 2", on_failure: continue }}
      - id: restart
        rolling_restart: {{ services: [community, marketplace], batch: 1, health_timeout: 5s }}
  - id: monitor
    title: Post-Deployment Monitoring
    steps:
      - id: watch
        monitor:
          duration: 30s
          interval: 200ms
          probes:
            - http: "{ok}"
            - http: "{bad}"
          rollback_when:
            - {{ metric: error_rate, above: 0.05, for: 600ms }}
            - {{ metric: p99_ms, above: 1000, consecutive: 3 }}
  - id: signoff
    title: Sign-Off
    steps:
      - {{ id: technical-signoff, title: "Technical Sign-Off", approval: {{ role: "@devops" }} }}
rollback:
  steps:
    - {{ id: restore, shell: "echo restore >> rollback.log" }}
"#,
        ok = ok.url("/health"),
        bad = bad.url("/health"),
    ));
    let gates = [
        (
            "pm-approval",
            "Morgan",
            Some("<script>alert('note')</script> go for Tuesday"),
        ),
        ("cto-approval", "Alex", None),
        ("briefing", "Dara", None),
    ];
    for (step, by, note) in gates {
        let paused = ws.deployctl().args(["run", "r.yaml"]).run();
        assert_eq!(paused.code, 3, "paused at {step}: {}\n{}", paused.stdout, paused.stderr);
        let mut args = vec!["approve", "r.yaml", step, "--by", by];
        if let Some(note) = note {
            args.extend(["--note", note]);
        }
        let approved = ws.deployctl().args(args).run();
        assert_eq!(approved.code, 0, "{}", approved.stderr);
    }
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    ws
}

fn status(ws: &Workspace, format: &str) -> String {
    let out = ws.deployctl().args(["status", "r.yaml", "--format", format]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

#[test]
fn the_evidence_report_of_a_rolled_back_run() {
    let (ok, bad) = (TestHttp::start(), TestHttp::start());
    bad.answer(500, "boom");
    let ws = rolled_back_run(&ok, &bad);
    let json: serde_json::Value = serde_json::from_str(&status(&ws, "json")).expect("status json");
    let markdown = status(&ws, "markdown");
    let host = json["host"].as_str().expect("host");

    // JSON carries the facts the Markdown shows.
    assert_eq!(json["state"], "rolled_back");
    assert_eq!(json["exit_code"], 4);
    assert!(json["finished_at"].is_string() && json["elapsed_ms"].is_u64(), "{json}");
    assert!(
        json["outcome"]
            .as_str()
            .is_some_and(|o| o.starts_with("rolled back: monitor `watch`")),
        "{}",
        json["outcome"]
    );
    let digest = &json["runbook_sha256"];
    let approvals = json["approvals"].as_array().expect("approvals");
    let who: Vec<(&str, &str)> = approvals
        .iter()
        .map(|a| (a["by"].as_str().unwrap_or(""), a["role"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(who, [("Morgan", "@pm"), ("Alex", "cto"), ("Dara", "")]);
    assert!(approvals.iter().all(|a| &a["runbook_sha256"] == digest));
    assert_eq!(approvals[0]["note"], "<script>alert('note')</script> go for Tuesday");
    let gate = &json["phases"][0]["steps"][0]["gate"];
    assert_eq!(
        (gate["by"].as_str(), gate["role"].as_str()),
        (Some("Morgan"), Some("@pm"))
    );
    let sign_offs: Vec<(&str, Option<&str>)> = json["sign_offs"]
        .as_array()
        .expect("sign_offs")
        .iter()
        .map(|s| (s["role"].as_str().unwrap_or(""), s["by"].as_str()))
        .collect();
    assert_eq!(
        sign_offs,
        [("@pm", Some("Morgan")), ("cto", Some("Alex")), ("", None)],
        "one line per approval gate; the last was never reached"
    );
    let deploy = &json["phases"][1]["steps"];
    assert_eq!(deploy[1]["status"], "failed");
    assert_eq!(deploy[1]["output"], "<script>alert(1)</script>\n");
    let services: Vec<&str> = deploy[2]["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(|s| s["service"].as_str())
        .collect();
    assert_eq!(services, ["community", "marketplace"]);
    let monitor = &json["phases"][2]["steps"][0]["monitor"];
    assert_eq!(monitor["samples"].as_array().map(Vec::len), Some(3));
    assert_eq!(monitor["rules"][0]["metric"], "error_rate");
    assert_eq!(monitor["rules"][1]["above"], 1000.0);
    assert_eq!(monitor["trigger"]["windows"], serde_json::json!([1, 2, 3]));
    assert_eq!(json["rollback"]["cause"], "trigger");
    assert!(json["rollback"]["time_to_rollback_ms"].is_u64());
    assert!(json["rollback"]["cause_at"].is_string());

    // The Markdown, with what changes run to run filtered out.
    let markdown = markdown
        .replace(&format!("gage on {host} |"), "gage on [host] |")
        .replace(&format!("| {host} |"), "| [host] |")
        .replace(&ok.url(""), "http://[ok]")
        .replace(&bad.url(""), "http://[bad]");
    insta::with_settings!({filters => vec![
        (r"\d{8}T\d{6}Z-[0-9a-f]{4}", "[run-id]"),
        (r"[0-9a-f]{64}", "[sha256]"),
        (r"`[0-9a-f]{12}`", "`[digest]`"),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", "[time]"),
        (r" · \d{2}:\d{2}:\d{2}", " · [clock]"),
        (r"\(\d+(\.\d+)?(ms|s|m|h)(, \d+ attempts)?\)", "([took])"),
        (r"\*\*Duration\*\* \| [^|]+\|", "**Duration** | [duration] |"),
        (r"\*\*Time to rollback:\*\* \S+", "**Time to rollback:** [ttr]"),
        (r"\d+\.\d+s after restart", "[t] after restart"),
        (r"p99 \d+\.\d+ms", "p99 [ms]"),
        (r"p99        [▁▂▃▄▅▆▇█·]+", "p99        [spark]"),
    ]}, {
        insta::assert_snapshot!(markdown);
    });
}

#[test]
fn the_html_report_parses_carries_the_samples_and_escapes_journal_text() {
    let (ok, bad) = (TestHttp::start(), TestHttp::start());
    bad.answer(500, "boom");
    let ws = rolled_back_run(&ok, &bad);
    let html = status(&ws, "html");
    let json: serde_json::Value = serde_json::from_str(&status(&ws, "json")).expect("status json");

    // Self-contained: no scripts, no external anything.
    for banned in ["<script", "src=", "href=", "url(", "@import", "<link"] {
        assert!(!html.contains(banned), "`{banned}` in the HTML report");
    }
    // The `<script>` from a step's output and from an approval note come out as text.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "step output escaped"
    );
    assert!(
        html.contains("&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt; go for Tuesday"),
        "approval note escaped"
    );
    assert!(html.contains("Evidence &lt;b&gt;report&lt;/b&gt; ✅"), "title escaped");

    // Well-formed: it parses as XML (every element closed, every attribute quoted).
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&html, options)
        .unwrap_or_else(|e| panic!("HTML report does not parse: {e}\n{html}"));
    let class_has = |n: &roxmltree::Node, class: &str| {
        n.attribute("class")
            .is_some_and(|c| c.split_whitespace().any(|w| w == class))
    };
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("script")).count(), 0);
    let timeline: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("svg") && class_has(n, "timeline"))
        .collect();
    assert_eq!(timeline.len(), 1, "one timeline");
    let bars = timeline[0].descendants().filter(|n| class_has(n, "bar")).count();
    assert_eq!(
        bars, 9,
        "a bar per step that ran: 3 gates, 3 deploy steps, the watch, 2 rollback steps (not the unreached sign-off)"
    );

    let charts: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("svg") && class_has(n, "chart"))
        .collect();
    let metrics: Vec<&str> = charts.iter().filter_map(|c| c.attribute("data-metric")).collect();
    assert_eq!(metrics, ["error_rate", "p99_ms"]);
    let samples = json["phases"][2]["steps"][0]["monitor"]["samples"]
        .as_array()
        .expect("samples");
    let rules = json["phases"][2]["steps"][0]["monitor"]["rules"]
        .as_array()
        .expect("rules");
    let mut thresholds = Vec::new();
    for chart in &charts {
        let points: Vec<&str> = chart
            .descendants()
            .filter(|n| class_has(n, "point"))
            .filter_map(|n| n.attribute("data-window"))
            .collect();
        let journaled: Vec<String> = samples.iter().map(|s| s["window"].to_string()).collect();
        assert_eq!(points, journaled, "one point per journaled window");
        thresholds.extend(
            chart
                .descendants()
                .filter(|n| class_has(n, "threshold"))
                .filter_map(|n| n.attribute("data-rule").map(str::to_string)),
        );
        assert_eq!(
            chart.descendants().filter(|n| class_has(n, "rollback")).count(),
            1,
            "the moment the rollback fired is marked"
        );
    }
    let written: Vec<String> = rules
        .iter()
        .filter_map(|r| r["rule"].as_str().map(str::to_string))
        .collect();
    assert_eq!(thresholds, written, "a threshold line per rule");
    assert!(thresholds.contains(&"error_rate above 0.05 for 600ms".to_string()));
}
