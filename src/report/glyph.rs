//! The checklist glyphs of DESIGN.md, in one place.

/// `[x]` done, `[ ]` pending, `[!]` failed, `[~]` interrupted, `[-]` skipped, `[?]` awaiting.
pub fn glyph(status: &str) -> &'static str {
    match status {
        "done" => "[x]",
        "failed" => "[!]",
        "interrupted" => "[~]",
        "skipped" => "[-]",
        "awaiting_approval" => "[?]",
        _ => "[ ]",
    }
}
