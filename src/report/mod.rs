//! Renderers: consumers of the engine's events and of the journal's fold, for people
//! (human, Markdown, HTML) and for machines (JSON lines, the status view as JSON).

mod chart;
mod checklist;
pub mod escape;
mod evidence;
pub mod github;
pub mod html;
pub mod human;
pub mod human_status;
pub mod json;
pub mod json_lines;
mod live;
pub mod mark;
pub mod markdown;
mod migration_attempt;
pub mod paint;
pub mod plan;
pub mod status;
mod status_text;
pub mod stdout;
mod timeline;
pub mod trend;

pub use human::HumanReporter;
pub use json::JsonReporter;
pub use trend::baseline_line;
