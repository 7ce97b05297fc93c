//! Running the PostgreSQL client programs: arguments (never a password), environment,
//! process groups, and what to say when one is missing or fails.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio::process::Command;

use crate::steps::Failure;
use crate::steps::process::{ProcessGroup, io_reason};

/// libpq's connect timeout, so an unanswering host fails before the step's own timeout.
pub(crate) const CONNECT_TIMEOUT_SECS: u64 = 15;

/// Spawns `command` in its own process group and collects its output until it exits.
pub(crate) async fn run(
    mut command: Command,
    program: &str,
    stdout: &mut dyn FnMut(&[u8]),
    stderr: &mut dyn FnMut(&[u8]),
) -> Result<ExitStatus, Failure> {
    let mut group = match ProcessGroup::spawn(&mut command) {
        Ok(group) => group,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_installed(program)),
        Err(e) => return Err(Failure::new(format!("cannot start `{program}`: {}", io_reason(&e)))),
    };
    group
        .run(stdout, stderr)
        .await
        .map_err(|e| Failure::new(format!("`{program}`: cannot wait for it: {}", io_reason(&e))))
}

/// "`pg_dump` is not installed: …" with the package to install.
pub(crate) fn not_installed(program: &str) -> Failure {
    let tool = Path::new(program)
        .file_name()
        .map_or(program.into(), |n| n.to_string_lossy());
    Failure::new(format!("{tool} is not installed: `{program}` is not on PATH"))
        .with_hint("apt-get install postgresql-client-NN matching the server's major version")
}

/// "exited with status 1" or "killed by signal 9".
pub(crate) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("ended with {status}"),
    }
}

/// The percent-decoded password of a URL, if it has one: its `password=` parameter (which
/// libpq and sqlx prefer, as the later setting), else its `user:password@` part (malformed
/// `%` sequences are kept as they are).
pub(crate) fn url_password(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let parameter = url.query_pairs().filter(|(key, _)| key == "password").last();
    match parameter {
        Some((_, value)) => Some(value.into_owned()),
        None => Some(percent_decode_str(url.password()?).decode_utf8_lossy().into_owned()),
    }
}

/// libpq's name of an SSL mode.
pub(crate) fn ssl_mode(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// The arguments of `pg_dump` (never the password: argv is public).
pub(crate) fn args(options: &PgConnectOptions, file: &Path, lock_wait: Duration) -> Vec<String> {
    let host = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => options.get_host().to_owned(),
    };
    let mut args = vec![
        "--format=custom".to_owned(),
        "--no-password".to_owned(),
        "--file".to_owned(),
        file.display().to_string(),
        "--host".to_owned(),
        host,
        "--port".to_owned(),
        options.get_port().to_string(),
        "--username".to_owned(),
        options.get_username().to_owned(),
    ];
    if let Some(database) = options.get_database() {
        args.extend(["--dbname".to_owned(), database.to_owned()]);
    }
    args.push(format!("--lock-wait-timeout={}", lock_wait.as_millis()));
    args
}

/// `--no-password --host H --port P --username U --dbname D`: a client program's connection
/// on the command line, never the password (argv is public).
pub(crate) fn connection_args(options: &PgConnectOptions, database: &str) -> Vec<String> {
    let host = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => options.get_host().to_owned(),
    };
    vec![
        "--no-password".to_owned(),
        "--host".to_owned(),
        host,
        "--port".to_owned(),
        options.get_port().to_string(),
        "--username".to_owned(),
        options.get_username().to_owned(),
        "--dbname".to_owned(),
        database.to_owned(),
    ]
}

/// A client program with the connection's environment: the password only in `PGPASSWORD`,
/// the SSL mode, and libpq's connect timeout.
pub(crate) fn command(program: &str, options: &PgConnectOptions, password: Option<&str>) -> Command {
    let mut command = Command::new(program);
    command
        .env("PGSSLMODE", ssl_mode(options.get_ssl_mode()))
        .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS.to_string());
    match password {
        Some(password) => command.env("PGPASSWORD", password),
        None => command.env_remove("PGPASSWORD"),
    };
    command
}
