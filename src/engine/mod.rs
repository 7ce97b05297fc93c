//! The engine: from a valid runbook (and, later, the journal) to what runs.

pub mod plan;
mod target;

pub use plan::{Plan, PlanPhase, PlanStep, ProbeMode, Verdict, plan};
