//! The online dry-run models the run: a step that checks a database or a service after an
//! earlier step of the plan changed that same database or service verifies that change,
//! so probing it now (before the change) may fail for no fault of the runbook. What such a
//! step's probe finds is "checked after `STEP`": never a failure, and the plan names the
//! step it depends on. Only probes whose target nothing earlier changes can fail the
//! dry-run.

use std::collections::HashMap;

use crate::runbook::model::{Runbook, Step, StepKind};

/// What a step acts on, as keys two steps share when they touch the same thing: a
/// database by name, a service by name and by its health URL's `host:port`, an HTTP check
/// by its URL's `host:port`. Shell steps name nothing (what they change is unknown).
pub fn targets(step: &Step, runbook: &Runbook) -> Vec<String> {
    let endpoint = |url: &str| {
        url::Url::parse(url)
            .ok()
            .and_then(|u| Some(format!("endpoint {}:{}", u.host_str()?, u.port_or_known_default()?)))
    };
    match &step.kind {
        StepKind::Sql(s) => vec![format!("database {}", s.database)],
        StepKind::Migrate(m) => vec![format!("database {}", m.database)],
        StepKind::Backup(b) => vec![format!("database {}", b.database)],
        StepKind::Rls(r) => vec![format!("database {}", r.database)],
        StepKind::Http(h) => endpoint(&h.url.render("dry-run")).into_iter().collect(),
        StepKind::RollingRestart(r) => r
            .services
            .iter()
            .flat_map(|name| {
                let health = runbook.services.get(name).map(|s| s.health.render("dry-run"));
                std::iter::once(format!("service {name}")).chain(health.as_deref().and_then(endpoint))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The targets changed so far in plan order, each with the last step that changed it.
#[derive(Debug, Default)]
pub struct Changed(HashMap<String, String>);

impl Changed {
    /// The earlier step that changed one of `targets`, if any.
    pub fn by(&self, targets: &[String]) -> Option<&str> {
        targets.iter().find_map(|t| self.0.get(t)).map(String::as_str)
    }

    /// `step` changes `targets`.
    pub fn record(&mut self, step: &str, targets: Vec<String>) {
        for target in targets {
            self.0.insert(target, step.to_string());
        }
    }
}
