//! deployctl's integration tests: one binary, a small harness, fixtures as files.

mod checklist;
mod crash;
mod crash_random;
mod db;
mod demo_e2e;
mod demo_service;
mod demo_services;
mod demo_stack;
mod disk_full;
mod dry_run;
mod faults;
mod harness;
mod hostile;
mod http_server;
mod loader_props;
mod rollout;
mod run;
mod schema;
mod secrets;
mod sql;
mod validate;
