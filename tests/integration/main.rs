//! deployctl's integration tests: one binary, a small harness, fixtures as files.

mod checklist;
mod crash;
mod db;
mod demo_e2e;
mod demo_service;
mod demo_services;
mod demo_stack;
mod dry_run;
mod harness;
mod http_server;
mod loader_props;
mod pg_journal;
mod report;
mod rollout;
mod run;
mod schema;
mod secrets;
mod sql;
mod validate;
mod window;
