//! Renderers: consumers of the engine's events and of the journal's fold, for people
//! (human, Markdown) and for machines (JSON lines).

mod glyph;
pub mod human;
pub mod json;
pub mod plan;
pub mod status;
pub mod trend;

pub use human::HumanReporter;
pub use json::JsonReporter;
