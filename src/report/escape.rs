//! The one place HTML text is escaped. Everything the HTML report takes from the journal
//! (titles, reasons, output, names, notes) goes through [`esc`], in text and in attributes,
//! so step output or an approval note can never become markup.

/// `&`, `<`, `>`, `"` and `'` as character references: safe in element text and in quoted
/// attribute values, and well-formed XML too (the report parses as XHTML).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed in XML text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_and_quotes_become_references() {
        assert_eq!(
            esc(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(esc("bell\u{7}"), "bell\u{FFFD}");
    }
}
