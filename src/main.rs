//! The `deployctl` binary: parse the command line, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = deployctl::cli::Cli::parse();
    // Diagnostics for developers: `RUST_LOG=deployctl=debug`. Off by default; never secrets.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("deployctl: cannot start the async runtime: {e}");
            return ExitCode::from(deployctl::Exit::Invalid.code());
        }
    };
    let exit = runtime.block_on(deployctl::run(cli));
    ExitCode::from(exit.code())
}
