//! How the demo's processes stop: on SIGTERM (what `scripts/demo-services stop` and
//! `scripts/demo-metrics stop` send) or Ctrl-C. Shared by the service and the traffic
//! generator.

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
