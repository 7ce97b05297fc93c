//! PostgreSQL errors as one line for messages, shared by the steps and the PostgreSQL
//! journal so that neither depends on the other.

/// A database error as one line: SQLSTATE and message for server errors.
pub(crate) fn sql_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_string(),
        },
        sqlx::Error::PoolTimedOut => "no answer within the connect timeout".into(),
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}
