//! deployctl's integration tests: one binary, a small harness, fixtures as files.

mod crash;
mod db;
mod dry_run;
mod harness;
mod http_server;
mod loader_props;
mod migrations;
mod peer;
mod prisma_peer;
mod prisma_schema;
mod run;
mod schema;
mod secrets;
mod service_rls;
mod sql;
mod validate;
