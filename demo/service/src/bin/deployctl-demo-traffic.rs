//! `deployctl-demo-traffic`: the demo's users. Sends requests to the services' data
//! endpoints as each of the demo's users (their `X-User-Id`), round robin, at a steady
//! rate, until SIGTERM or Ctrl-C; so Prometheus sees real traffic whose error rate and
//! latency a monitor can judge. Every minute it prints how many answers were not 2xx.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[path = "../signal.rs"]
mod signal;

/// Sends the demo users' requests to the services.
#[derive(Debug, Parser)]
#[command(name = "deployctl-demo-traffic")]
struct Cli {
    /// A data endpoint to call (repeatable), e.g. http://127.0.0.1:18081/posts.
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// A user id to call as (repeatable).
    #[arg(long = "user", required = true)]
    users: Vec<String>,
    /// Requests per second, over all targets.
    #[arg(long, default_value_t = 20)]
    rate: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(2)).build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("deployctl-demo-traffic: cannot build an HTTP client: {e}");
            return ExitCode::from(1);
        }
    };
    let pairs: Vec<(String, String)> = cli
        .users
        .iter()
        .flat_map(|u| cli.targets.iter().map(move |t| (t.clone(), u.clone())))
        .collect();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / cli.rate.max(1));
    let mut report = tokio::time::interval(Duration::from_secs(60));
    let failed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = signal::shutdown();
    tokio::pin!(stop);
    for (target, user) in pairs.iter().cycle() {
        tokio::select! {
            _ = &mut stop => break,
            _ = report.tick() => {
                let n = failed.swap(0, std::sync::atomic::Ordering::Relaxed);
                if n > 0 {
                    eprintln!("deployctl-demo-traffic: {n} answers were not 2xx in the last minute");
                }
            }
            _ = tick.tick() => {
                let request = client.get(target).header("X-User-Id", user.as_str()).send();
                let failed = failed.clone();
                tokio::spawn(async move {
                    let ok = request.await.is_ok_and(|r| r.status().is_success());
                    if !ok {
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        }
    }
    ExitCode::SUCCESS
}
