//! The squawk lint of migration files: the rules mature teams run before a migration meets
//! production (a `CREATE INDEX` without `CONCURRENTLY` blocks writes for the whole build, an
//! `ADD COLUMN ... DEFAULT volatile()` rewrites the table, ...), from the `squawk-linter`
//! crate with its default rule set.
//!
//! Two of squawk's default rules are left out for `migrate` steps: `require-lock-timeout`
//! and `require-statement-timeout` ask each file to set the timeouts itself, and deployctl
//! sets both on every migration's session (`lock_timeout` with retries, `statement_timeout`
//! from the step's timeout), so they would only be noise.
//!
//! Each migration runs in a transaction, so squawk is told so (`assume_in_transaction`):
//! `prefer-robust-stmts` (`IF NOT EXISTS` for files that may stop half-way) does not apply.
//! (squawk still asks it of `CREATE INDEX CONCURRENTLY`, which cannot run in a transaction.)
//! A Prisma-style file that may only run alone (`CREATE INDEX CONCURRENTLY`) is sent alone,
//! so `ban-concurrent-index-creation-in-transaction` is left out for that style.
//!
//! Ignores: a `-- squawk-ignore RULE` comment (the next statement) or `-- squawk-ignore-file
//! RULE` in the file, as squawk reads them, and the step's `lint: { ignore: [RULE] }`.

use squawk_linter::{Linter, Rule};
use squawk_syntax::SourceFile;

use crate::runbook::model::MigrationStyle;

/// Rules deployctl provides to every migration itself.
const PROVIDED: [Rule; 3] = [
    Rule::RequireLockTimeout,
    Rule::RequireStatementTimeout,
    Rule::RequireTimeoutSettings,
];

/// One violation in one file, located for a `file:line:col` diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
    /// squawk's rule name, `require-concurrent-index-creation`.
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// What to do instead, when squawk says.
    pub help: Option<String>,
}

/// A rule by its squawk name; `None` for a name squawk does not know.
pub(crate) fn rule(name: &str) -> Option<Rule> {
    Rule::try_from(name.trim()).ok()
}

/// Lints one migration's SQL with the default rules minus the provided ones and `ignore`.
pub(crate) fn lint_sql(sql: &str, style: MigrationStyle, ignore: &[Rule]) -> Vec<Finding> {
    let sql = sql.strip_prefix('\u{feff}').unwrap_or(sql);
    let mut exclude = PROVIDED.to_vec();
    exclude.extend_from_slice(ignore);
    if style == MigrationStyle::Prisma {
        exclude.push(Rule::BanConcurrentIndexCreationInTransaction);
    }
    let mut linter = Linter::with_rules(&[], &exclude);
    linter.settings.assume_in_transaction = true;
    let parsed = SourceFile::parse(sql);
    linter
        .lint(&parsed, sql)
        .into_iter()
        .map(|v| {
            let (line, col) = line_col(sql, usize::from(v.text_range.start()));
            Finding {
                line,
                col,
                rule: v.code.to_string(),
                message: v.message,
                help: v.help,
            }
        })
        .collect()
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRISMA: MigrationStyle = MigrationStyle::Prisma;

    #[test]
    fn plain_create_index_warns_with_its_rule() {
        let found = lint_sql(
            "-- add an index\nCREATE INDEX posts_author ON posts (author_id);\n",
            PRISMA,
            &[],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "require-concurrent-index-creation");
        assert_eq!((found[0].line, found[0].col), (2, 1));
        assert!(found[0].help.is_some());
    }

    #[test]
    fn concurrent_index_is_clean() {
        let found = lint_sql(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author ON posts (author_id);\n",
            PRISMA,
            &[],
        );
        assert_eq!(found, vec![]);
    }

    #[test]
    fn timeouts_are_not_asked_of_migrations() {
        let found = lint_sql("ALTER TABLE posts ENABLE ROW LEVEL SECURITY;\n", PRISMA, &[]);
        assert_eq!(found, vec![]);
    }

    #[test]
    fn ignores_in_the_file_and_on_the_step_are_honoured() {
        let commented = "-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX i ON t (c);\n";
        assert_eq!(lint_sql(commented, PRISMA, &[]), vec![]);
        let plain = "CREATE INDEX i ON t (c);\n";
        let rule = rule("require-concurrent-index-creation").unwrap();
        assert_eq!(lint_sql(plain, PRISMA, &[rule]), vec![]);
        assert_eq!(super::rule("no-such-rule"), None);
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_col("é\nab", 4), (2, 2));
        assert_eq!(line_col("abc", 0), (1, 1));
    }
}
