//! Renderers: the same data, for people (human) and for machines (JSON lines).

pub mod plan;
