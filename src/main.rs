//! The `deployctl` binary: parse the command line, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;

/// Every step allocates a little (journal lines, the fold, the live line); glibc's malloc
/// was a fifth of a run's CPU, mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = deployctl::cli::Cli::parse();
    // Diagnostics for developers: `RUST_LOG=deployctl=debug`. Off by default; never secrets.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into()))
        .with_writer(std::io::stderr)
        .init();
    survive_file_size_limit();
    let runtime = match cli.global.runtime().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("deployctl: cannot start the async runtime: {e}");
            return ExitCode::from(deployctl::Exit::Invalid.code());
        }
    };
    let exit = runtime.block_on(deployctl::run(cli));
    ExitCode::from(exit.code())
}

/// Under a file-size limit (`RLIMIT_FSIZE`), the kernel sends SIGXFSZ on the write that
/// crosses it, and its default action kills the process mid-entry with no message. With a
/// handler that does nothing, the write fails with `EFBIG` instead and the journal's error
/// path names the file. A handler (unlike ignoring the signal) is reset by `exec`, so the
/// commands that steps run keep the default behaviour.
fn survive_file_size_limit() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    extern "C" fn nothing(_: nix::libc::c_int) {}
    let action = SigAction::new(SigHandler::Handler(nothing), SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: the handler does nothing, so it is async-signal-safe; it replaces only the
    // default action of a signal nothing else in deployctl handles.
    if let Err(e) = unsafe { sigaction(Signal::SIGXFSZ, &action) } {
        tracing::debug!("cannot handle SIGXFSZ: {e}");
    }
}
