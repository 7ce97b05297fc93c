//! Signed approvals with real `ssh-keygen`: signing (key file, ssh-agent with a
//! passphrase-protected key), refusals under `require_signature`, `deployctl verify`, both
//! directions of interoperability with `ssh-keygen -Y verify`/`-Y sign`, tampered journals,
//! and withdrawing an approval.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{Outcome, Workspace};

const RUNBOOK: &str = r#"deployctl: 1
name: signed
approvals: { allowed_signers: allowed_signers, require_signature: true }
phases:
  - id: p
    steps:
      - { id: pm, approval: { role: "@pm" } }
      - { id: cto, approval: { role: cto } }
      - { id: go, shell: "echo went >> went" }
"#;

/// `ssh-keygen` with its output checked.
fn keygen(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new("ssh-keygen")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh-keygen runs (scripts/ensure-smtp installs openssh-client)");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("ssh-keygen finishes")
}

/// A new ed25519 key `dir/name` (passphrase `pass`) and its public line.
fn key(dir: &Path, name: &str, pass: &str) -> String {
    let path = dir.join(name);
    let out = keygen(
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            pass,
            "-C",
            name,
            "-f",
            path.to_str().unwrap_or(""),
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(path.with_extension("pub")).expect("public key")
}

/// `SHA256:...` of a public key file.
fn fingerprint(path: &Path) -> String {
    let out = keygen(&["-l", "-f", path.to_str().unwrap_or("")], None);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

/// A workspace with keys for morgan, casey and mallory; only the first two are allowed.
fn workspace() -> Workspace {
    let ws = Workspace::new(RUNBOOK);
    std::fs::create_dir_all(ws.file("keys")).expect("keys dir");
    let morgan = key(&ws.file("keys"), "morgan", "");
    let casey = key(&ws.file("keys"), "casey", "");
    key(&ws.file("keys"), "mallory", "");
    std::fs::write(
        ws.file("allowed_signers"),
        format!("morgan@example.com,mo {morgan}casey@example.com namespaces=\"deployctl-approval\" {casey}"),
    )
    .expect("allowed_signers");
    ws
}

fn approve(ws: &Workspace, step: &str, by: &str, key: Option<&str>) -> Outcome {
    let mut args = vec!["approve", "r.yaml", step, "--by", by, "--note", "looks good"];
    if let Some(k) = key {
        args.extend(["--sign", k]);
    }
    ws.deployctl().args(args).run()
}

/// The statement of an approval entry as documented in docs/approvals.md.
fn statement(entry: &serde_json::Value) -> String {
    let e = &entry["event"];
    let q = |v: &serde_json::Value| v.to_string();
    format!(
        "deployctl approval v1\nrunbook-sha256: {}\nrun: {}\nstep: {}\nrole: {}\nname: {}\ntime: {}\nnote: {}\n",
        q(&e["runbook_sha256"]),
        q(&entry["run_id"]),
        q(&e["step"]),
        q(&e["role"]),
        q(&e["by"]),
        entry["at"].as_str().unwrap_or_default(),
        q(&e["note"]),
    )
}

fn approval_entries(ws: &Workspace) -> Vec<serde_json::Value> {
    ws.journal("signed")
        .into_iter()
        .filter(|e| e["event"]["type"] == "approval")
        .collect()
}

#[test]
fn signed_approvals_pass_the_gates_and_verify_with_ssh_keygen() {
    let ws = workspace();
    assert_eq!(
        ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run().code,
        3
    );
    let out = approve(&ws, "pm", "morgan@example.com", Some("keys/morgan"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let morgan = fingerprint(&ws.file("keys/morgan.pub"));
    assert!(
        out.stdout.contains(&format!("(signed, key {morgan})")),
        "{}",
        out.stdout
    );
    assert_eq!(approve(&ws, "cto", "Casey@example.com", Some("keys/casey")).code, 0);

    let verify = ws.deployctl().args(["verify", "r.yaml"]).run();
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(
        verify
            .stdout
            .contains("ok        `pm` as @pm by morgan@example.com at "),
        "{}",
        verify.stdout
    );
    assert!(
        verify
            .stdout
            .contains(&format!("signed by morgan@example.com, key {morgan}")),
        "{}",
        verify.stdout
    );
    assert!(
        verify
            .stdout
            .contains("2 approvals: 2 signed and verified, 0 unsigned, 0 failed"),
        "{}",
        verify.stdout
    );

    // ssh-keygen accepts our signatures over the documented statement.
    for (entry, principal) in approval_entries(&ws)
        .iter()
        .zip(["morgan@example.com", "casey@example.com"])
    {
        let sig = ws.file("approval.sig");
        std::fs::write(&sig, entry["event"]["signature"]["sshsig"].as_str().unwrap_or_default()).expect("sig");
        let allowed = ws.file("allowed_signers");
        let out = keygen(
            &[
                "-Y",
                "verify",
                "-f",
                allowed.to_str().unwrap_or(""),
                "-I",
                principal,
                "-n",
                "deployctl-approval",
                "-s",
                sig.to_str().unwrap_or(""),
            ],
            Some(&statement(entry)),
        );
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let run = ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(ws.file("went").exists());
}

#[test]
fn unsigned_foreign_key_and_someone_elses_name_are_refused() {
    let ws = workspace();
    assert_eq!(
        ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run().code,
        3
    );
    let unsigned = approve(&ws, "pm", "morgan@example.com", None);
    assert_eq!(unsigned.code, 2, "{}", unsigned.stderr);
    assert!(
        unsigned.stderr.contains("requires signed approvals"),
        "{}",
        unsigned.stderr
    );
    let foreign = approve(&ws, "pm", "morgan@example.com", Some("keys/mallory"));
    assert_eq!(foreign.code, 2, "{}", foreign.stderr);
    assert!(
        foreign.stderr.contains("is not in the allowed signers"),
        "{}",
        foreign.stderr
    );
    let borrowed = approve(&ws, "pm", "casey@example.com", Some("keys/morgan"));
    assert_eq!(borrowed.code, 2, "{}", borrowed.stderr);
    assert!(
        borrowed
            .stderr
            .contains("signs as morgan@example.com, mo, not as casey@example.com"),
        "{}",
        borrowed.stderr
    );
    assert!(approval_entries(&ws).is_empty(), "no refusal was journaled");
    // One key, one role, whatever name is typed: morgan's key is listed for one principal.
    assert_eq!(approve(&ws, "pm", "morgan@example.com", Some("keys/morgan")).code, 0);
    let twice = approve(&ws, "cto", "morgan@example.com", Some("keys/morgan"));
    assert_eq!(twice.code, 2, "{}", twice.stderr);
    // Another name the same key may sign as: the keys are compared, not the names.
    let alias = approve(&ws, "cto", "mo", Some("keys/morgan"));
    assert_eq!(alias.code, 2, "{}", alias.stderr);
    assert!(alias.stderr.contains("already signed `pm` as @pm"), "{}", alias.stderr);
}

/// A change made to a journaled approval.
type Tamper = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn tampered_approvals_fail_verify_and_are_refused_by_run() {
    let ws = workspace();
    assert_eq!(
        ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run().code,
        3
    );
    assert_eq!(approve(&ws, "pm", "morgan@example.com", Some("keys/morgan")).code, 0);
    let path = ws.journal_path("signed");
    let original = std::fs::read_to_string(&path).expect("journal");
    let tampers: [(&str, Tamper); 5] = [
        (
            "changed name",
            Box::new(|e| e["event"]["by"] = "Morgan@example.com ".into()),
        ),
        (
            "changed note",
            Box::new(|e| e["event"]["note"] = "approved with no conditions".into()),
        ),
        ("changed time", Box::new(|e| e["at"] = "2020-01-01T00:00:00Z".into())),
        (
            "signature removed",
            Box::new(|e| {
                e["event"].as_object_mut().map(|o| o.remove("signature"));
            }),
        ),
        (
            "copied to another step",
            Box::new(|e| {
                e["event"]["step"] = "cto".into();
                e["event"]["role"] = "cto".into();
            }),
        ),
    ];
    for (what, tamper) in &tampers {
        // A copy to another step keeps the original (the `pm` gate passes, `cto` must not).
        let keep = *what == "copied to another step";
        let mut lines = Vec::new();
        for l in original.lines() {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("json");
            if v["event"]["type"] == "approval" {
                if keep {
                    lines.push(v.to_string());
                }
                tamper(&mut v);
            }
            lines.push(v.to_string());
        }
        std::fs::write(&path, lines.join("\n") + "\n").expect("write");
        let verify = ws.deployctl().args(["verify", "r.yaml"]).run();
        assert_eq!(verify.code, 1, "{what}: {}", verify.stdout);
        assert!(verify.stdout.contains("FAILED"), "{what}: {}", verify.stdout);
        let run = ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run();
        assert_eq!(run.code, 3, "{what}: {}{}", run.stdout, run.stderr);
        let why = if *what == "signature removed" {
            "does not count: it is not signed and the runbook requires signed approvals"
        } else {
            "does not count: its signature does not verify"
        };
        assert!(run.stderr.contains(why), "{what}: {}", run.stderr);
        assert!(!ws.file("went").exists());
    }
    // A forged approval does not stand in the way of a real one; verify still reports it.
    let forged = original.replace("\"note\":\"looks good\"", "\"note\":\"no conditions\"");
    assert_ne!(forged, original);
    std::fs::write(&path, &forged).expect("forge");
    let again = approve(&ws, "pm", "morgan@example.com", Some("keys/morgan"));
    assert_eq!(again.code, 0, "{}", again.stderr);
    let verify = ws.deployctl().args(["verify", "r.yaml"]).run();
    assert_eq!(verify.code, 1, "{}", verify.stdout);
    assert!(
        verify
            .stdout
            .contains("2 approvals: 1 signed and verified, 0 unsigned, 1 failed"),
        "{}",
        verify.stdout
    );
    let run = ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("awaits approval by role cto"),
        "passed pm: {}",
        run.stderr
    );

    // The same signed entry copied into another run of the same runbook.
    std::fs::write(&path, &original).expect("restore");
    let other = workspace();
    std::fs::copy(ws.file("allowed_signers"), other.file("allowed_signers")).expect("same signers");
    assert_eq!(
        other
            .deployctl()
            .args(["run", "r.yaml", "--operator", "gage"])
            .run()
            .code,
        3
    );
    let other_run = other.journal("signed")[0]["run_id"].clone();
    let mut copied = approval_entries(&ws)[0].clone();
    copied["run_id"] = other_run;
    let mut journal = std::fs::read_to_string(other.journal_path("signed")).expect("journal");
    journal.push_str(&format!("{copied}\n"));
    std::fs::write(other.journal_path("signed"), journal).expect("write");
    assert_eq!(other.deployctl().args(["verify", "r.yaml"]).run().code, 1);
    let run = other.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run();
    assert!(
        run.stderr.contains("does not count: its signature does not verify"),
        "{}",
        run.stderr
    );
}

#[test]
fn deployctl_verify_accepts_a_signature_made_by_ssh_keygen_itself() {
    let ws = workspace();
    assert_eq!(
        ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run().code,
        3
    );
    let run_id = ws.journal("signed")[0]["run_id"].clone();
    let sha = ws.journal("signed")[0]["event"]["runbook_sha256"].clone();
    let mut entry = serde_json::json!({
        "at": "2026-11-29T12:00:00Z", "run_id": run_id,
        "event": { "type": "approval", "step": "pm", "kind": "gate", "by": "morgan@example.com",
                   "role": "@pm", "note": null, "host": "auditor", "runbook_sha256": sha }
    });
    let key = ws.file("keys/morgan");
    let signed = keygen(
        &[
            "-q",
            "-Y",
            "sign",
            "-n",
            "deployctl-approval",
            "-f",
            key.to_str().unwrap_or(""),
        ],
        Some(&statement(&entry)),
    );
    assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    entry["event"]["signature"] = serde_json::json!({
        "sshsig": String::from_utf8_lossy(&signed.stdout), "principal": "morgan@example.com", "fingerprint": "as computed"
    });
    let mut journal = std::fs::read_to_string(ws.journal_path("signed")).expect("journal");
    journal.push_str(&format!("{entry}\n"));
    std::fs::write(ws.journal_path("signed"), journal).expect("write");
    let verify = ws.deployctl().args(["verify", "r.yaml"]).run();
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(
        verify.stdout.contains("1 approvals: 1 signed and verified"),
        "{}",
        verify.stdout
    );

    // A signature made for git (another namespace) cannot pass as an approval.
    entry["event"]["step"] = "cto".into();
    entry["event"]["role"] = "cto".into();
    entry["event"]["by"] = "casey@example.com".into();
    let key = ws.file("keys/casey");
    let git = keygen(
        &["-q", "-Y", "sign", "-n", "git", "-f", key.to_str().unwrap_or("")],
        Some(&statement(&entry)),
    );
    assert!(git.status.success(), "{}", String::from_utf8_lossy(&git.stderr));
    entry["event"]["signature"]["sshsig"] = String::from_utf8_lossy(&git.stdout).into_owned().into();
    let mut journal = std::fs::read_to_string(ws.journal_path("signed")).expect("journal");
    journal.push_str(&format!("{entry}\n"));
    std::fs::write(ws.journal_path("signed"), journal).expect("write");
    let verify = ws.deployctl().args(["verify", "r.yaml"]).run();
    assert_eq!(verify.code, 1, "{}", verify.stdout);
    assert!(
        verify
            .stdout
            .contains("signed in namespace `git`, not `deployctl-approval`"),
        "{}",
        verify.stdout
    );
}

#[test]
fn a_passphrase_protected_key_in_ssh_agent_signs() {
    let ws = workspace();
    let line = key(&ws.file("keys"), "ops", "correct horse");
    std::fs::write(ws.file("allowed_signers"), format!("morgan@example.com {line}")).expect("signers");
    let socket = ws.file("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a", socket.to_str().unwrap_or("")])
        .stdout(Stdio::null())
        .spawn()
        .expect("ssh-agent runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !socket.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let askpass = ws.file("askpass");
    std::fs::write(&askpass, "#!/bin/sh\necho 'correct horse'\n").expect("askpass");
    Command::new("chmod")
        .args(["+x", askpass.to_str().unwrap_or("")])
        .status()
        .expect("chmod");
    let added = Command::new("ssh-add")
        .arg(ws.file("keys/ops"))
        .env("SSH_AUTH_SOCK", &socket)
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .stdin(Stdio::null())
        .output()
        .expect("ssh-add runs");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert_eq!(
        ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run().code,
        3
    );
    let out = ws
        .deployctl()
        .env("SSH_AUTH_SOCK", socket.to_str().unwrap_or(""))
        .args([
            "approve",
            "r.yaml",
            "pm",
            "--by",
            "morgan@example.com",
            "--sign",
            "keys/ops.pub",
        ])
        .run();
    let _ = agent.kill();
    let _ = agent.wait();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(ws.deployctl().args(["verify", "r.yaml"]).run().code, 0);
}

#[test]
fn an_early_approval_can_be_withdrawn_to_free_its_approver() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: signed
phases:
  - id: p
    steps:
      - { id: pm, approval: { role: "@pm" } }
      - { id: cto, approval: { role: cto } }
"#,
    );
    assert_eq!(
        ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run().code,
        3
    );
    assert_eq!(approve(&ws, "cto", "bob", None).code, 0);
    let stuck = approve(&ws, "pm", "Bob", None);
    assert_eq!(stuck.code, 2, "{}", stuck.stderr);
    let stranger = ws
        .deployctl()
        .args(["approve", "r.yaml", "cto", "--by", "eve", "--revoke"])
        .run();
    assert_eq!(stranger.code, 2, "{}", stranger.stderr);
    let revoked = ws
        .deployctl()
        .args([
            "approve",
            "r.yaml",
            "cto",
            "--by",
            "bob",
            "--revoke",
            "--note",
            "approved the wrong gate",
        ])
        .run();
    assert_eq!(revoked.code, 0, "{}", revoked.stderr);
    assert!(
        revoked.stdout.contains("bob withdrew the approval of `cto` by bob"),
        "{}",
        revoked.stdout
    );
    assert_eq!(ws.events("signed", "approval_revoked").len(), 1);
    let verify = ws.deployctl().args(["verify", "r.yaml"]).run();
    assert_eq!(verify.code, 0, "unsigned, not failed: {}", verify.stdout);
    assert!(
        verify.stdout.contains("  unsigned  `cto` as cto by bob at "),
        "{}",
        verify.stdout
    );
    assert!(verify.stdout.contains(" (withdrawn)"), "{}", verify.stdout);
    assert_eq!(
        approve(&ws, "pm", "Bob", None).code,
        0,
        "bob is free to approve the other gate"
    );
    let again = ws
        .deployctl()
        .args(["approve", "r.yaml", "cto", "--by", "bob", "--revoke"])
        .run();
    assert_eq!(again.code, 2, "nothing left to withdraw: {}", again.stderr);
}

#[test]
fn reports_name_the_contacts_each_signer_and_an_approved_gate() {
    let ws = workspace();
    let with_contacts = RUNBOOK.replace(
        "phases:",
        "contacts:\n  business: { primary: \"@pm (Morgan)\", backup: CTO }\n  technical: { primary: \"@devops (Gage)\" }\nphases:",
    );
    ws.rewrite(&with_contacts);
    assert_eq!(
        ws.deployctl().args(["run", "r.yaml", "--operator", "gage"]).run().code,
        3
    );
    assert_eq!(approve(&ws, "pm", "morgan@example.com", Some("keys/morgan")).code, 0);
    let morgan = fingerprint(&ws.file("keys/morgan.pub"));

    let human = ws.deployctl().args(["status", "r.yaml"]).run().stdout;
    assert!(human.contains("[+] pm"), "approved, not awaiting: {human}");
    assert!(
        human.contains("gate pm: morgan@example.com as @pm on ")
            && human.contains(&format!(", signed by morgan@example.com (key {morgan})")),
        "{human}"
    );
    assert!(
        human.contains("step `pm` is approved by morgan@example.com as @pm: the next `deployctl run` passes it"),
        "{human}"
    );
    let markdown = ws
        .deployctl()
        .args(["status", "r.yaml", "--format", "markdown"])
        .run()
        .stdout;
    assert!(
        markdown.contains("## Contacts\n\n- technical: @devops (Gage)\n- business: @pm (Morgan), backup CTO\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!("| morgan@example.com (key {morgan}) |")),
        "{markdown}"
    );
    let html = ws
        .deployctl()
        .args(["status", "r.yaml", "--format", "html"])
        .run()
        .stdout;
    assert!(html.contains("<li>business: @pm (Morgan), backup CTO</li>"), "{html}");
    assert!(
        html.contains(&format!("<td>morgan@example.com (key {morgan})</td>")),
        "{html}"
    );

    // A withdrawn approval: awaiting again, and the record says so.
    let revoked = ws
        .deployctl()
        .args(["approve", "r.yaml", "pm", "--by", "gage", "--revoke"])
        .run();
    assert_eq!(revoked.code, 0, "an operator may withdraw it: {}", revoked.stderr);
    let human = ws.deployctl().args(["status", "r.yaml"]).run().stdout;
    assert!(human.contains("[?] pm"), "{human}");
    let markdown = ws
        .deployctl()
        .args(["status", "r.yaml", "--format", "markdown"])
        .run()
        .stdout;
    assert!(markdown.contains("| gate (withdrawn) |"), "{markdown}");
}

#[test]
fn signed_approvals_verify_from_a_postgresql_journal() {
    let ws = workspace();
    let db = crate::db::TestDb::create();
    let with = |args: &[&str]| ws.deployctl().env("DEPLOYCTL_JOURNAL", &db.url).args(args).run();
    assert_eq!(with(&["run", "r.yaml", "--operator", "gage"]).code, 3);
    let sign = [
        "approve",
        "r.yaml",
        "pm",
        "--by",
        "morgan@example.com",
        "--note",
        "ok",
        "--sign",
        "keys/morgan",
    ];
    assert_eq!(with(&sign).code, 0);
    let cto = [
        "approve",
        "r.yaml",
        "cto",
        "--by",
        "casey@example.com",
        "--sign",
        "keys/casey",
    ];
    assert_eq!(with(&cto).code, 0);
    let verify = with(&["verify", "r.yaml"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(
        verify.stdout.contains("2 approvals: 2 signed and verified"),
        "{}",
        verify.stdout
    );
    let run = with(&["run", "r.yaml", "--operator", "gage"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
