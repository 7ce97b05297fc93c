//! `--output github`: runbook problems and failed dry-run probes as GitHub Actions workflow
//! commands (`::error file=F,line=L,col=C,title=T::message`), which the Actions runner turns
//! into annotations on the pull request's diff. The human text still goes to stderr.
//!
//! Values are escaped as the runner's own toolkit does (`@actions/core`'s `issueCommand`):
//! `%`, CR and LF in the message; also `:` and `,` in properties.

use crate::redact::Redactor;
use crate::runbook::{Diagnostic, Severity};

/// One annotation: `level` is `error` or `warning`; `line`/`col` 0 means unknown.
pub fn annotation(level: &str, file: &str, line: u32, col: u32, title: &str, message: &str) -> String {
    let mut props = vec![format!("file={}", property(file))];
    if line > 0 {
        props.push(format!("line={line}"));
    }
    if col > 0 {
        props.push(format!("col={col}"));
    }
    if !title.is_empty() {
        props.push(format!("title={}", property(title)));
    }
    format!("::{level} {}::{}", props.join(","), data(message))
}

/// A runbook problem as an annotation, its message and hint masked by `redactor`.
pub fn diagnostic(file: &str, d: &Diagnostic, redactor: &Redactor) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut message = redactor.mask(&d.message).into_owned();
    if let Some(hint) = &d.hint {
        message.push_str(&format!("\nhint: {}", redactor.mask(hint)));
    }
    annotation(level, file, d.pos.line, d.pos.col, "deployctl", &message)
}

fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_as_the_actions_toolkit_does() {
        let line = annotation("error", "a,b:c.yaml", 3, 7, "step x", "50% done\nnext: y");
        assert_eq!(
            line,
            "::error file=a%2Cb%3Ac.yaml,line=3,col=7,title=step x::50%25 done%0Anext: y"
        );
        assert_eq!(
            annotation("warning", "r.yaml", 0, 0, "", "m"),
            "::warning file=r.yaml::m"
        );
    }
}
