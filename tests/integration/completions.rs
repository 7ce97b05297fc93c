//! `deployctl completions SHELL` and `deployctl man` (issue 18): generated from the clap
//! definitions for each shell, and the bash script is loaded by a real bash.

use crate::harness::Deployctl;

fn generated(args: &[&str]) -> String {
    let out = Deployctl::new().args(args).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

#[test]
fn a_completion_script_for_each_shell_names_every_subcommand() {
    for (shell, marker) in [
        ("bash", "complete -F _deployctl"),
        ("zsh", "#compdef deployctl"),
        ("fish", "complete -c deployctl"),
        ("elvish", "edit:completion:arg-completer[deployctl]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = generated(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        for sub in [
            "run",
            "validate",
            "status",
            "approve",
            "rollback",
            "unlock",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell} completes `{sub}`");
        }
    }
}

#[test]
fn bash_loads_the_completion_script_and_completes_subcommands() {
    let script = generated(&["completions", "bash"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("deployctl.bash");
    std::fs::write(&file, script).expect("write");
    // Completing `deployctl roll<TAB>` as bash's programmable completion does.
    let probe = format!(
        "source '{}'; COMP_WORDS=(deployctl roll); COMP_CWORD=1; COMP_LINE='deployctl roll'; COMP_POINT=14; _deployctl deployctl roll deployctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &probe])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), "rollback", "{stdout}");
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let page = generated(&["man"]);
    assert!(page.contains(".TH deployctl 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in ["deployctl\\-run", "deployctl\\-rollback", "deployctl\\-completions"] {
        assert!(page.contains(sub), "{sub} in {page}");
    }
}
