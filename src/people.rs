//! People's names as deployctl compares them: who ran a deployment (`--operator`) and who
//! approved its gates (`--by`), for separation of duties.
//!
//! Theory of operation: a name is typed by a person, so the same person can type it many
//! ways (`alice`, `Alice`, ` alice`, `ａｌｉｃｅ` in full width) and a dishonest one can type a
//! name that only looks like another (`аlice` with a Cyrillic `а`, `alice` plus a zero-width
//! space). [`PersonName::parse`] refuses what cannot be seen (control characters, Unicode
//! format characters such as U+200B or the bidi controls, other default-ignorable code
//! points, line separators) and derives two strings: the *key* (NFKC, full case folding,
//! NFKC again, spaces trimmed and collapsed), equal for every spelling of the same name, and
//! the *skeleton* (UTS #39 over the key), equal for names a reader could mistake for each
//! other. Two names are the same person when their keys are equal, and must be treated as
//! the same when their skeletons are. Names are still not identities: anyone can type any
//! name; signed approvals are what prove who.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// A person's name, checked, with the forms deployctl compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    typed: String,
    key: String,
    skeleton: String,
}

/// Why a typed name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing visible is left once spaces are trimmed.
    #[error("the name is empty")]
    Empty,
    /// The name holds a character that cannot be seen or that steers how text is shown.
    #[error("the name holds an invisible or control character (U+{code:04X}) at character {at}")]
    Invisible {
        /// The code point.
        code: u32,
        /// Its 1-based position among the name's characters.
        at: usize,
    },
}

impl PersonName {
    /// Checks a typed name and derives its comparison forms.
    pub fn parse(typed: &str) -> Result<Self, NameError> {
        if let Some((i, c)) = typed.chars().enumerate().find(|(_, c)| invisible(*c)) {
            return Err(NameError::Invisible {
                code: u32::from(c),
                at: i + 1,
            });
        }
        let key = key(typed);
        if key.is_empty() {
            return Err(NameError::Empty);
        }
        let skeleton = unicode_security::skeleton(&key).collect();
        Ok(PersonName {
            typed: typed.trim().to_string(),
            key,
            skeleton,
        })
    }

    /// The name as typed, trimmed: what reports show.
    pub fn typed(&self) -> &str {
        &self.typed
    }

    /// The form equal for every spelling of the same name (`Alice`, `ALICE`, ` alice`).
    #[cfg(test)]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether `other` is the same name, however it was spelled.
    pub fn is_same(&self, other: &PersonName) -> bool {
        self.key == other.key
    }

    /// Whether `other` could be taken for this name by a reader (the same name included):
    /// `аlice` with a Cyrillic `а` and `alice` are confusable.
    pub fn is_confusable_with(&self, other: &PersonName) -> bool {
        self.skeleton == other.skeleton
    }
}

/// NFKC, full case folding, NFKC again (folding can undo normalisation), then whitespace
/// trimmed and each run of it made one space.
fn key(typed: &str) -> String {
    let compatible: String = typed.nfkc().collect();
    let folded: String = caseless::default_case_fold_str(&compatible).nfkc().collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Characters a name may not hold: controls (Cc), format characters (Cf: zero-width
/// spaces and joiners, bidi controls, soft hyphen...), line and paragraph separators, and
/// the other default-ignorable code points of Unicode (`DerivedCoreProperties.txt`: fillers,
/// variation selectors, the combining grapheme joiner), which render as nothing.
fn invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || matches!(
        u32::from(c),
        0x034F
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x2065
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0xE0000..=0xE0FFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(typed: &str) -> PersonName {
        PersonName::parse(typed).unwrap_or_else(|e| panic!("{typed:?}: {e}"))
    }

    #[test]
    fn spellings_of_one_name_are_the_same_person() {
        let alice = name("alice");
        for typed in ["Alice", "ALICE", " alice", "alice ", "\u{00A0}alice", "ａｌｉｃｅ"] {
            let other = name(typed);
            assert!(alice.is_same(&other), "{typed:?}");
            assert!(alice.is_confusable_with(&other), "{typed:?}");
        }
        assert_eq!(name(" Alice ").typed(), "Alice");
        assert_eq!(name("Alice  van   Dyke").key(), "alice van dyke");
    }

    #[test]
    fn full_case_folding_is_used() {
        // Simple lowercasing keeps `ß`; full folding makes it `ss`.
        assert!(name("STRASSE").is_same(&name("straße")));
    }

    #[test]
    fn invisible_and_control_characters_are_refused() {
        for (typed, code, at) in [
            ("alice\u{200B}", 0x200B, 6),
            ("\u{202E}ecila", 0x202E, 1),
            ("al\u{00AD}ice", 0x00AD, 3),
            ("alice\u{3164}", 0x3164, 6),
            ("ali\u{FE0F}ce", 0xFE0F, 4),
            ("ali\u{1B}[31mce", 0x1B, 4),
            ("alice\n", 0x0A, 6),
        ] {
            assert_eq!(
                PersonName::parse(typed),
                Err(NameError::Invisible { code, at }),
                "{typed:?}"
            );
        }
        assert_eq!(PersonName::parse("   "), Err(NameError::Empty));
        assert_eq!(PersonName::parse(""), Err(NameError::Empty));
    }

    #[test]
    fn a_lookalike_is_confusable_but_not_the_same() {
        let alice = name("alice");
        let cyrillic = name("\u{0430}lice");
        assert!(!alice.is_same(&cyrillic));
        assert!(alice.is_confusable_with(&cyrillic));
        assert!(name("Alice").is_confusable_with(&cyrillic));
    }

    #[test]
    fn different_people_stay_different() {
        let bob = name("bob");
        assert!(bob.is_same(&name("Bob")));
        assert!(!bob.is_same(&name("alice")));
        assert!(!bob.is_confusable_with(&name("alice")));
        assert!(!name("dara").is_confusable_with(&name("gage")));
    }
}
