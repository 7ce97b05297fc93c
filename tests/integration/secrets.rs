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
