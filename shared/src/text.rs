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

/// Trims `raw`, checks its length in characters and refuses control characters.
///
/// Returns the trimmed text or a message for the patient.
pub fn clean(raw: &str, max_chars: usize, lines: Lines) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("Please fill this in.".into());
    }
    let count = text.chars().count();
    if count > max_chars {
        return Err(format!(
            "Please keep this to {max_chars} characters or fewer (it has {count})."
        ));
    }
    let allowed = |c: char| match lines {
        Lines::Multi => c == '\n' || c == '\r' || c == '\t',
        Lines::Single => false,
    };
    if text
        .chars()
        .any(|c| (c.is_control() || is_invisible_format(c)) && !allowed(c))
    {
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

/// Reads back text that was `clean` when it was stored, refusing only what
/// no field can hold (nothing at all, or control characters a single-line
/// field must never carry) and no bound: a limit tightened since the text
/// was stored must not make it unreadable.
pub fn stored(raw: &str, lines: Lines) -> Result<String, String> {
    clean(raw, usize::MAX, lines)
}

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
