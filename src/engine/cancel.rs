//! SIGINT/SIGTERM, and the loss of a PostgreSQL journal's session, become a cancellation
//! the driver can wait on.
//!
//! The first cause cancels: the running step's future is dropped (a shell step kills its
//! process group), the step is journaled as interrupted when the journal still can be
//! written, and deployctl exits 130 (2 when the journal's session was lost). Later signals
//! change nothing: the journal write in progress must be allowed to finish.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

/// A cancellation triggered by a signal, remembering which.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    token: CancellationToken,
    signal: Arc<OnceLock<&'static str>>,
}

impl Cancel {
    /// A cancellation wired to SIGINT and SIGTERM of this process.
    pub fn on_signals() -> Self {
        let cancel = Cancel::default();
        let (token, signal) = (cancel.token.clone(), cancel.signal.clone());
        tokio::spawn(async move {
            let name = wait_for_signal().await;
            let _ = signal.set(name);
            token.cancel();
        });
        cancel
    }

    /// Resolves when cancelled.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// Whether a signal came.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// `SIGINT` or `SIGTERM`, or what else stopped the run.
    pub fn signal(&self) -> &'static str {
        self.signal.get().copied().unwrap_or("SIGINT")
    }

    /// Cancels because the journal's lock was lost: no other runner may find this run's
    /// step still running.
    pub fn lose_lock(&self) {
        let _ = self.signal.set(LOST_LOCK);
        self.token.cancel();
    }

    /// Whether the journal's lock was lost.
    pub fn lost_lock(&self) -> bool {
        self.signal.get().copied() == Some(LOST_LOCK)
    }

    /// Cancels when `lost` fires (a PostgreSQL journal's session).
    pub fn on_lost_lock(&self, lost: CancellationToken) {
        let cancel = self.clone();
        tokio::spawn(async move {
            lost.cancelled().await;
            cancel.lose_lock();
        });
    }
}

/// What [`Cancel::signal`] says when the journal's lock was lost.
const LOST_LOCK: &str = "the loss of the journal's session";

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        _ => {
            // Without signal handlers the default action (terminate) applies; never cancel.
            std::future::pending::<()>().await;
            "SIGINT"
        }
    }
}
