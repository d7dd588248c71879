//! Rules for free text a patient types, shared by every text field.
//!
//! Control characters are refused everywhere (a CR/LF in a name could add an
//! email header); line breaks are allowed only where a field is multi-line.

/// Whether line breaks (and tabs) are allowed in a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: names, numbers, short answers.
    Single,
    /// Several lines: the free-text message.
    Multi,
}

/// The characters trimmed from both ends of a value, and the only ones a
/// blank value may hold: space, tab, line breaks, the no-break space (a
/// copy from a document) and the ideographic space (Japanese input).
/// Exactly this set, not Unicode's whitespace, so that the OpenAPI
/// patterns (`blank!`) state it the same in every regex dialect.
pub const TRIMMED: [char; 6] = [' ', '\t', '\n', '\r', '\u{a0}', '\u{3000}'];

/// `raw` without [`TRIMMED`] characters at either end.
pub fn trim(raw: &str) -> &str {
    raw.trim_matches(TRIMMED)
}

/// Whether `raw` holds nothing but [`TRIMMED`] characters, so counts as not given.
pub fn is_blank(raw: &str) -> bool {
    trim(raw).is_empty()
}

/// The length of `raw` as the patient typed it: characters, with a CRLF
/// counting as one. A browser counts a textarea's line break once for its
/// `maxlength` but sends it as CRLF, so counting the bytes' characters would
/// refuse a message the page let the patient finish.
pub fn typed_len(raw: &str) -> usize {
    raw.chars().count() - raw.matches("\r\n").count()
}

/// Checks the length of `raw` as typed ([`typed_len`]: what a form's
/// `maxlength` counts, and within a schema's `maxLength`), refuses control
/// characters, and trims it.
///
/// Returns the trimmed text or a message for the patient.
pub fn clean(raw: &str, max_chars: usize, lines: Lines) -> Result<String, String> {
    let count = typed_len(raw);
    if count > max_chars {
        return Err(too_long(max_chars, count));
    }
    let text = trim(raw);
    if text.is_empty() {
        return Err("Please fill this in.".into());
    }
    let allowed = |c: char| match lines {
        Lines::Multi => c == '\n' || c == '\r' || c == '\t',
        Lines::Single => false,
    };
    if text.chars().any(|c| refused(c) && !allowed(c)) {
        return Err(match lines {
            Lines::Single => "Please use a single line of ordinary text.".into(),
            Lines::Multi => "Please remove any unusual control characters.".into(),
        });
    }
    Ok(match lines {
        Lines::Multi => text.replace("\r\n", "\n").replace('\r', "\n"),
        Lines::Single => text.to_owned(),
    })
}

/// The patient's message when a value is over its bound.
pub fn too_long(max_chars: usize, count: usize) -> String {
    format!("Please keep this to {max_chars} characters or fewer (it has {count}).")
}

/// Whether no text field may hold `c`: a control character, or an
/// invisible one that can reorder or hide text.
pub fn refused(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Reads back stored text: no bound, only what no field can hold is refused.
pub fn stored(raw: &str, lines: Lines) -> Result<String, String> {
    clean(raw, usize::MAX, lines)
}

/// Pattern pieces (ECMA-262 regular expressions, as JSON Schema reads
/// them) for the rules above, so that the OpenAPI document states exactly
/// what `clean` does. Each expands to a string literal for `concat!`.
///
/// `blank!()`: any run of [`TRIMMED`] characters.
macro_rules! blank {
    () => {
        r"[ \t\n\r\u00a0\u3000]*"
    };
}
/// `line_char!()`: a character a single-line field may hold (no control
/// or invisible formatting character, as [`refused`]).
macro_rules! line_char {
    () => {
        r"[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]"
    };
}
/// `mark_char!()`: a [`line_char!`] that is not one of the spaces of
/// [`TRIMMED`], so a value holding one is not blank.
macro_rules! mark_char {
    () => {
        r"[^ \u00a0\u3000\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]"
    };
}
/// `text_char!()`: a character a multi-line field may hold (tabs and line
/// breaks too).
macro_rules! text_char {
    () => {
        r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]"
    };
}
/// `one_line!()`: one line of text that is not blank, with blanks around it.
macro_rules! one_line {
    () => {
        concat!(
            crate::text::blank!(),
            crate::text::line_char!(),
            "*",
            crate::text::mark_char!(),
            crate::text::line_char!(),
            "*",
            crate::text::blank!()
        )
    };
}
pub(crate) use {blank, line_char, mark_char, one_line, text_char};

/// Bidirectional overrides and similar characters that change how text looks
/// without being visible themselves.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_ordinary_text() {
        assert_eq!(clean("  Ann  ", 10, Lines::Single).unwrap(), "Ann");
    }

    #[test]
    fn refuses_line_breaks_in_single_line_fields() {
        assert!(clean("Ann\r\nBcc: x@y.z", 100, Lines::Single).is_err());
        assert!(clean("Ann\u{0}", 100, Lines::Single).is_err());
        assert!(clean("Ann\u{202E}", 100, Lines::Single).is_err());
    }

    #[test]
    fn multi_line_fields_normalise_line_breaks() {
        assert_eq!(clean("a\r\nb\rc", 10, Lines::Multi).unwrap(), "a\nb\nc");
    }

    #[test]
    fn a_line_break_counts_once_as_a_textarea_counts_it() {
        assert_eq!(typed_len("a\r\nb"), 3);
        assert_eq!(typed_len("a\n\rb"), 4);
        assert_eq!(typed_len("\r\n\r\n"), 2);
        let typed = format!("{}\r\n{}", "a".repeat(5), "b".repeat(4));
        assert!(clean(&typed, 10, Lines::Multi).is_ok());
        assert!(clean(&format!("{typed}c"), 10, Lines::Multi).is_err());
        assert!(clean("a\u{7}b", 10, Lines::Multi).is_err());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(clean("éééé", 4, Lines::Single).is_ok());
        assert!(clean("ééééé", 4, Lines::Single).is_err());
    }

    #[test]
    fn empty_after_trimming_is_missing() {
        assert!(clean("   ", 4, Lines::Single).is_err());
    }
}
