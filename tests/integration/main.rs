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
mod migrations;
mod peer;
mod prisma_peer;
mod prisma_schema;
mod report;
mod rollout;
mod run;
mod schema;
mod secrets;
mod service_rls;
mod sql;
mod validate;
mod window;
