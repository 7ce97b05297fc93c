//! `deployctl-demo-service`: one of the four services of the TECH-DEBT-001.1 demo.
//!
//! The seed checklist rolls PostgreSQL row-level security out behind four services. This is
//! a small, honest stand-in for each of them: `/health` answers only when its database does,
//! and its one data endpoint reads as the application role with the caller's user id set
//! for the transaction, so what a user sees is decided by RLS, not by this code.
//! `scripts/demo-services` starts, restarts and rolls back four instances of it.
//!
//! The database URL comes from `DATABASE_URL` (not a flag, so it never shows in `ps`), and
//! its password is never printed.

mod fault;
mod metrics;
mod routes;
mod service;
mod signal;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use sqlx::postgres::PgPoolOptions;

use fault::Fault;
use routes::App;
use service::Service;

/// Serves one demo service: `/health` and its data endpoint, reading PostgreSQL under RLS.
///
/// `--version` names the build (the package version), so the seed runbook's
/// `release-artifact` step (`scripts/demo-services artifact`) can check that the artifact it
/// is about to deploy is the one built from this source.
#[derive(Debug, Parser)]
#[command(name = "deployctl-demo-service", version)]
struct Cli {
    /// Which service this instance is.
    #[arg(long, value_enum, env = "DEMO_SERVICE")]
    service: Service,
    /// Address to listen on.
    #[arg(long, env = "DEMO_LISTEN", default_value = "127.0.0.1:18081")]
    listen: SocketAddr,
    /// PostgreSQL URL of the service's database (the business service reads marketplace's).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Release label reported by /health (e.g. v1, v2).
    #[arg(long, env = "DEMO_RELEASE", default_value = "v1")]
    release: String,
    /// Fault mode: answer 500 once this long has passed since start (e.g. 30s, 500ms).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    fail_after: Option<Duration>,
    /// Fault mode: answer 500 once this many requests have been answered.
    #[arg(long, value_name = "N")]
    fail_after_requests: Option<u64>,
    /// The release before RLS: no tenant middleware (`app.current_user_id` is never set);
    /// the data endpoint filters by the caller in its own query, as before RLS.
    #[arg(long, env = "DEMO_PRE_RLS")]
    pre_rls: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    deployctl::runbook::duration::parse(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}), e.g. 30s or 500ms"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let pool = match PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy(&cli.database_url)
    {
        Ok(pool) => pool,
        Err(_) => {
            eprintln!("deployctl-demo-service: DATABASE_URL is not a valid PostgreSQL URL");
            eprintln!("  hint: postgres://USER[:PASSWORD]@HOST:PORT/DATABASE");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(cli.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("deployctl-demo-service: cannot listen on {}: {e}", cli.listen);
            eprintln!("  hint: another process holds the port; `scripts/demo-services status` lists the demo's");
            return ExitCode::from(1);
        }
    };
    let fault = Fault::new(cli.fail_after, cli.fail_after_requests);
    eprintln!(
        "{} release {}{} listening on http://{}{}",
        cli.service.name(),
        cli.release,
        if cli.pre_rls {
            " (pre-RLS: no tenant middleware)"
        } else {
            ""
        },
        cli.listen,
        fault.describe()
    );
    let app = App {
        service: cli.service,
        release: cli.release,
        pool: pool.clone(),
        fault,
        metrics: metrics::Metrics::new(),
        pre_rls: cli.pre_rls,
    };
    let served = axum::serve(listener, routes::router(Arc::new(app)))
        .with_graceful_shutdown(signal::shutdown())
        .await;
    pool.close().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deployctl-demo-service: server stopped: {e}");
            ExitCode::from(1)
        }
    }
}
