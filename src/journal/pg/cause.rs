//! Why the journal database said no, from its SQLSTATE (or the connection's error), so the
//! hint tells the operator what actually went wrong instead of guessing "unreachable".
//!
//! SQLSTATE classes are PostgreSQL's (Appendix A of its docs): `08` connection, `28`
//! authorization, `3D` unknown database, `42501` privilege, `22` data, `53` resources,
//! `25006` read-only, `40` serialization, `57P0x` shutdown.

/// What kind of database problem stopped the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbCause {
    /// No connection, a lost one, a timeout, or a server shutting down.
    Unreachable,
    /// The user or password of the URL was refused.
    Authentication,
    /// The URL names a database that does not exist.
    NoDatabase,
    /// The user may not create or write the journal's tables.
    Privilege,
    /// The database refused a value of an entry (e.g. a character it cannot store).
    Value,
    /// The server is out of disk, memory or connections.
    Resources,
    /// The URL points at a read-only server (a replica).
    ReadOnly,
    /// A concurrent transaction got in the way.
    Conflict,
    /// Anything else: the message says it.
    Other,
}

impl DbCause {
    /// Classifies a database error.
    pub fn of(error: &sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(db) => db.code().map_or(DbCause::Other, |code| Self::of_sqlstate(&code)),
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
                DbCause::Unreachable
            }
            _ => DbCause::Other,
        }
    }

    /// Classifies a SQLSTATE code.
    pub fn of_sqlstate(code: &str) -> Self {
        match code {
            "3D000" => DbCause::NoDatabase,
            "42501" => DbCause::Privilege,
            "25006" => DbCause::ReadOnly,
            "57P01" | "57P02" | "57P03" => DbCause::Unreachable,
            _ => match code.get(..2) {
                Some("08") => DbCause::Unreachable,
                Some("28") => DbCause::Authentication,
                Some("22") => DbCause::Value,
                Some("53") => DbCause::Resources,
                Some("40") => DbCause::Conflict,
                _ => DbCause::Other,
            },
        }
    }

    /// What to do about it; the journal's own guarantee follows in [`Self::hint`].
    fn action(self) -> &'static str {
        match self {
            DbCause::Unreachable => "check that the journal database is up and reachable, then run again",
            DbCause::Authentication => "check the user and password of the journal URL (or PGPASSWORD), then run again",
            DbCause::NoDatabase => "create that database, or fix its name in the journal URL",
            DbCause::Privilege => {
                "grant the URL's user CREATE on the schema and INSERT/SELECT/UPDATE/DELETE on the deployctl_* tables"
            }
            DbCause::Value => {
                "the database refused a value of the entry: this is a deployctl bug, please report it with the message above"
            }
            DbCause::Resources => {
                "the database server is out of disk, memory or connections: free them, then run again"
            }
            DbCause::ReadOnly => "the journal URL points at a read-only server (a replica): use the primary",
            DbCause::Conflict => "another transaction got in the way: run again",
            DbCause::Other => "the database's message above says what it refused; fix that, then run again",
        }
    }

    /// The whole hint line.
    pub fn hint(self) -> String {
        format!(
            "{}: every committed entry is kept, and a step whose end was not committed counts as cut off",
            self.action()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::DbCause;

    #[test]
    fn sqlstates_name_their_cause() {
        for (code, cause) in [
            ("08006", DbCause::Unreachable),
            ("57P01", DbCause::Unreachable),
            ("28P01", DbCause::Authentication),
            ("3D000", DbCause::NoDatabase),
            ("42501", DbCause::Privilege),
            ("22P05", DbCause::Value),
            ("53100", DbCause::Resources),
            ("25006", DbCause::ReadOnly),
            ("40001", DbCause::Conflict),
            ("42P01", DbCause::Other),
        ] {
            assert_eq!(DbCause::of_sqlstate(code), cause, "{code}");
        }
        assert!(DbCause::of_sqlstate("22P05").hint().contains("refused a value"));
        assert!(!DbCause::of_sqlstate("22P05").hint().contains("reachable"));
    }
}
