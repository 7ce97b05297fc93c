//! Which table locks a migration will ask for, read from its SQL (squawk's parser), and
//! which held locks conflict with them (PostgreSQL's table-level lock conflict matrix).
//!
//! Static on purpose: running the migration in a rolled-back transaction would tell exactly,
//! but it would take those very locks on production during the dry-run. The statements
//! read are the ones that lock existing tables: `ALTER TABLE` (ACCESS EXCLUSIVE, the mode
//! most of its forms take), `CREATE/ALTER/DROP POLICY` (ACCESS EXCLUSIVE), `DROP TABLE` and
//! `TRUNCATE` (ACCESS EXCLUSIVE), `CREATE INDEX` (SHARE; `CONCURRENTLY`: SHARE UPDATE
//! EXCLUSIVE), `INSERT`/`UPDATE`/`DELETE` (ROW EXCLUSIVE). A table named twice keeps its
//! strongest mode.

use squawk_syntax::ast::{AstNode, Stmt};

/// PostgreSQL's table lock modes, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

const ALL: [LockMode; 8] = [
    LockMode::AccessShare,
    LockMode::RowShare,
    LockMode::RowExclusive,
    LockMode::ShareUpdateExclusive,
    LockMode::Share,
    LockMode::ShareRowExclusive,
    LockMode::Exclusive,
    LockMode::AccessExclusive,
];

impl LockMode {
    /// As the SQL documentation writes it: `ACCESS EXCLUSIVE`.
    pub(super) fn sql(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// As `pg_locks.mode` names it: `AccessExclusiveLock`.
    pub(super) fn pg_locks(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// Whether a lock of this mode waits for a lock of `other` held by another session.
    pub(super) fn conflicts_with(self, other: LockMode) -> bool {
        use LockMode::*;
        let (a, b) = if self <= other { (self, other) } else { (other, self) };
        match a {
            AccessShare => b == AccessExclusive,
            RowShare => b >= Exclusive,
            RowExclusive => b >= Share,
            ShareUpdateExclusive => b >= ShareUpdateExclusive,
            Share => b != Share,
            ShareRowExclusive | Exclusive | AccessExclusive => true,
        }
    }

    /// The `pg_locks` names of every mode this one waits for.
    pub(super) fn conflicting(self) -> Vec<&'static str> {
        ALL.iter()
            .filter(|m| self.conflicts_with(**m))
            .map(|m| m.pg_locks())
            .collect()
    }
}

/// One table a migration locks, as written in the file (`"Post"`, `public.posts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TableLock {
    pub table: String,
    pub mode: LockMode,
}

/// The tables `sql` locks and in which mode, in the order first named.
pub(super) fn table_locks(sql: &str) -> Vec<TableLock> {
    let mut locks: Vec<TableLock> = Vec::new();
    for stmt in squawk_syntax::SourceFile::parse(sql).tree().stmts() {
        for (table, mode) in statement_locks(&stmt) {
            match locks.iter_mut().find(|l| l.table == table) {
                Some(lock) => lock.mode = lock.mode.max(mode),
                None => locks.push(TableLock { table, mode }),
            }
        }
    }
    locks
}

fn statement_locks(stmt: &Stmt) -> Vec<(String, LockMode)> {
    use LockMode::*;
    match stmt {
        Stmt::AlterTable(s) => named(s.table_relation_name(), AccessExclusive),
        Stmt::CreatePolicy(s) => named(s.on_table(), AccessExclusive),
        Stmt::AlterPolicy(s) => named(s.on_table(), AccessExclusive),
        Stmt::DropPolicy(s) => named(s.on_table(), AccessExclusive),
        Stmt::CreateIndex(s) => {
            let mode = if s.concurrently_token().is_some() {
                ShareUpdateExclusive
            } else {
                Share
            };
            named(s.table_relation_name(), mode)
        }
        Stmt::DropTable(s) => s.table_name_refs().map(|t| (name(&t), AccessExclusive)).collect(),
        Stmt::Truncate(s) => s
            .table_list()
            .into_iter()
            .flat_map(|l| l.table_relation_names())
            .map(|t| (name(&t), AccessExclusive))
            .collect(),
        Stmt::Insert(s) => named(s.relation_name_ref(), RowExclusive),
        Stmt::Update(s) => named(s.relation_name(), RowExclusive),
        Stmt::Delete(s) => named(s.relation_name(), RowExclusive),
        _ => Vec::new(),
    }
}

fn named<T: AstNode>(node: Option<T>, mode: LockMode) -> Vec<(String, LockMode)> {
    node.map(|n| (name(&n), mode)).into_iter().collect()
}

/// A table name as written, without `ONLY`, `*`, `ON` or parentheses.
fn name<T: AstNode>(node: &T) -> String {
    let text = node.syntax().text().to_string();
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || "()*".contains(c))
        .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("only") && !w.eq_ignore_ascii_case("on"))
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tables_and_keeps_the_strongest_mode() {
        let sql = "ALTER TABLE \"Post\" ENABLE ROW LEVEL SECURITY;\n\
                   CREATE POLICY tenant ON \"Post\" USING (true);\n\
                   CREATE INDEX i ON ONLY public.comments (c);\n\
                   INSERT INTO audit VALUES (1);\n\
                   CREATE TABLE fresh (id int);\n";
        let found: Vec<(String, &str)> = table_locks(sql).into_iter().map(|l| (l.table, l.mode.sql())).collect();
        assert_eq!(
            found,
            vec![
                ("\"Post\"".to_string(), "ACCESS EXCLUSIVE"),
                ("public.comments".to_string(), "SHARE"),
                ("audit".to_string(), "ROW EXCLUSIVE"),
            ]
        );
    }

    #[test]
    fn the_conflict_matrix_is_postgresqls() {
        use LockMode::*;
        assert_eq!(AccessExclusive.conflicting().len(), 8);
        assert_eq!(AccessShare.conflicting(), vec!["AccessExclusiveLock"]);
        assert!(Share.conflicts_with(RowExclusive) && !Share.conflicts_with(Share));
        assert!(ShareUpdateExclusive.conflicts_with(ShareUpdateExclusive));
        assert!(!RowExclusive.conflicts_with(RowExclusive));
    }
}
