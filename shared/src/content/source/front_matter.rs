//! A content file's YAML front matter: split from the Markdown body, parsed,
//! and read field by field so that every problem is reported with its line.

use serde_norway::{Mapping, Value};

/// A problem at a line of the file being read.
pub(crate) type LineError = (usize, String);

/// A file split into its front matter and its body.
#[derive(Debug)]
pub(crate) struct Split<'a> {
    /// The YAML between the two `---` lines.
    pub yaml: &'a str,
    /// The file line of the YAML's first line.
    pub yaml_line: usize,
    /// The Markdown after the closing `---`.
    pub body: &'a str,
    /// The file line of the body's first line.
    pub body_line: usize,
}

/// Splits `text` at its front matter: a first line `---`, then YAML, then `---`.
pub(crate) fn split(text: &str) -> Result<Split<'_>, LineError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').enumerate();
    match lines.next() {
        Some((_, first)) if first.trim_end() == "---" => offset += first.len(),
        _ => {
            return Err((
                1,
                "a content file starts with front matter: a line `---`, the fields, and `---`"
                    .into(),
            ))
        }
    }
    let yaml_start = offset;
    for (index, line) in lines {
        if line.trim_end() == "---" {
            return Ok(Split {
                yaml: &text[yaml_start..offset],
                yaml_line: 2,
                body: &text[offset + line.len()..],
                body_line: index + 2,
            });
        }
        offset += line.len();
    }
    Err((1, "the front matter is not closed by a line `---`".into()))
}

/// Where each key and list item of the front matter is, by line.
#[derive(Debug)]
pub(crate) struct Layout<'a> {
    lines: Vec<&'a str>,
    first_line: usize,
}

impl<'a> Layout<'a> {
    pub fn new(split: &Split<'a>) -> Self {
        Self {
            lines: split.yaml.lines().collect(),
            first_line: split.yaml_line,
        }
    }

    /// The line of the opening `---`: where problems of the whole front matter go.
    pub fn start(&self) -> usize {
        self.first_line - 1
    }

    fn top_level_key(line: &str) -> Option<&str> {
        let first = line.chars().next()?;
        if first.is_whitespace() || matches!(first, '#' | '-') {
            return None;
        }
        let (key, _) = line.split_once(':')?;
        Some(key.trim().trim_matches(|c| c == '"' || c == '\''))
    }

    /// The index (in `lines`) of a top-level key and of the next one.
    fn key_span(&self, key: &str) -> Option<(usize, usize)> {
        let at = self
            .lines
            .iter()
            .position(|l| Self::top_level_key(l) == Some(key))?;
        let end = self.lines[at + 1..]
            .iter()
            .position(|l| Self::top_level_key(l).is_some())
            .map_or(self.lines.len(), |n| at + 1 + n);
        Some((at, end))
    }

    /// The line of a top-level key, or the start when it is absent.
    pub fn key(&self, key: &str) -> usize {
        self.key_span(key)
            .map_or(self.start(), |(at, _)| self.first_line + at)
    }

    /// The span of the `index`-th item of the block list under `key`.
    fn item_span(&self, key: &str, index: usize) -> Option<(usize, usize)> {
        let (at, end) = self.key_span(key)?;
        let indent = |l: &str| l.len() - l.trim_start().len();
        let is_item = |l: &str| {
            let t = l.trim_start();
            t == "-" || t.starts_with("- ")
        };
        let depth = self.lines[at + 1..end]
            .iter()
            .filter(|l| is_item(l))
            .map(|l| indent(l))
            .min()?;
        let starts: Vec<usize> = (at + 1..end)
            .filter(|&i| is_item(self.lines[i]) && indent(self.lines[i]) == depth)
            .collect();
        let start = *starts.get(index)?;
        let stop = starts.get(index + 1).copied().unwrap_or(end);
        Some((start, stop))
    }

    /// The line of a list item under `key`, or of the key (a flow list `[a, b]`).
    pub fn item(&self, key: &str, index: usize) -> usize {
        self.item_span(key, index)
            .map_or_else(|| self.key(key), |(at, _)| self.first_line + at)
    }

    /// The line of `field` inside the `index`-th item under `key`.
    pub fn item_field(&self, key: &str, index: usize, field: &str) -> usize {
        let Some((start, stop)) = self.item_span(key, index) else {
            return self.key(key);
        };
        (start..stop)
            .find(|&i| {
                let t = self.lines[i].trim_start();
                let t = t.strip_prefix("- ").unwrap_or(t).trim_start();
                t.split_once(':').is_some_and(|(k, _)| k.trim() == field)
            })
            .map_or(self.first_line + start, |i| self.first_line + i)
    }
}

/// Parses the front matter as a YAML mapping.
pub(crate) fn parse(split: &Split<'_>) -> Result<Mapping, LineError> {
    let value: Value = serde_norway::from_str(split.yaml).map_err(|e| yaml_problem(split, &e))?;
    match value {
        Value::Mapping(map) => Ok(map),
        Value::Null => Ok(Mapping::new()),
        _ => Err((
            split.yaml_line - 1,
            "the front matter must be a list of `key: value` fields".into(),
        )),
    }
}

/// The number after the last " at line " in `text`.
fn line_in(text: &str) -> Option<usize> {
    let at = text.rfind(" at line ")?;
    text[at + 9..].split(' ').next()?.parse().ok()
}

/// A YAML error at the line where the editor can fix it: where an unclosed
/// construct began ("while parsing a flow sequence at line 2"), or where a
/// key is given a second time.
fn yaml_problem(split: &Split<'_>, error: &serde_norway::Error) -> LineError {
    let text = error.to_string();
    let to_file = |yaml_line: usize| split.yaml_line + yaml_line.saturating_sub(1);
    let start = split.yaml_line - 1;
    if let Some(key) = text
        .strip_prefix("duplicate entry with key \"")
        .and_then(|rest| rest.strip_suffix('"'))
    {
        let second = split
            .yaml
            .lines()
            .enumerate()
            .filter(|(_, l)| Layout::top_level_key(l) == Some(key))
            .nth(1)
            .map_or(start, |(i, _)| split.yaml_line + i);
        return (second, format!("`{key}` is given twice"));
    }
    let (summary, context) = match text.split_once(", while ") {
        Some((summary, context)) => (summary, Some(context)),
        None => (text.as_str(), None),
    };
    let summary = summary.split(" at line ").next().unwrap_or(summary);
    match context {
        Some(context) => {
            let what = context.split(" at line ").next().unwrap_or(context);
            (
                line_in(context).map_or(start, to_file),
                format!("the front matter is not valid YAML: {summary}, while {what}"),
            )
        }
        None => (
            error.location().map_or(start, |l| to_file(l.line())),
            format!("the front matter is not valid YAML: {summary}"),
        ),
    }
}

/// Reads the fields of one file's front matter, collecting every problem.
pub(crate) struct Fields<'a> {
    map: Mapping,
    layout: Layout<'a>,
    allowed: &'static [&'static str],
    /// Every problem found so far.
    pub problems: Vec<LineError>,
}

/// The most characters a one-line field may have.
const LINE_MAX: usize = 300;

impl<'a> Fields<'a> {
    pub fn new(map: Mapping, layout: Layout<'a>, allowed: &'static [&'static str]) -> Self {
        Self {
            map,
            layout,
            allowed,
            problems: Vec::new(),
        }
    }

    pub fn layout(&self) -> &Layout<'a> {
        &self.layout
    }

    /// Records a problem at a line.
    pub fn problem(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push((line, message.into()));
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A required one-line text.
    pub fn text(&mut self, key: &str) -> Option<String> {
        match self.get(key).cloned() {
            None => {
                let line = self.layout.key(key);
                self.problem(line, format!("`{key}` is missing"));
                None
            }
            Some(value) => self.line_text(value, self.layout.key(key), key),
        }
    }

    /// An optional one-line text.
    pub fn optional_text(&mut self, key: &str) -> Option<String> {
        let value = self.get(key).cloned()?;
        self.line_text(value, self.layout.key(key), key)
    }

    /// One line of ordinary text: whitespace runs (such as a folded YAML
    /// string's line breaks) become single spaces.
    fn line_text(&mut self, value: Value, line: usize, what: &str) -> Option<String> {
        let raw = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => {
                self.problem(line, format!("`{what}` must be text"));
                return None;
            }
        };
        let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        match crate::text::clean(&text, LINE_MAX, crate::text::Lines::Single) {
            Ok(text) => Some(text),
            Err(_) if text.is_empty() => {
                self.problem(line, format!("`{what}` is empty"));
                None
            }
            Err(_) => {
                self.problem(
                    line,
                    format!(
                        "`{what}` must be one line of ordinary text, at most {LINE_MAX} characters"
                    ),
                );
                None
            }
        }
    }

    /// A required slug.
    pub fn slug(&mut self, key: &str) -> Option<crate::booking::Slug> {
        let text = self.text(key)?;
        match crate::booking::Slug::parse_exact(&text) {
            Ok(slug) => Some(slug),
            Err(_) => {
                let line = self.layout.key(key);
                self.problem(
                    line,
                    format!(
                        "`{key}` {text:?} is not a slug: lower-case letters, digits and single hyphens"
                    ),
                );
                None
            }
        }
    }

    /// The items of a list (absent is empty), with the line of each.
    pub fn list(&mut self, key: &str) -> Vec<(usize, Value)> {
        match self.get(key).cloned() {
            None => Vec::new(),
            Some(Value::Sequence(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (self.layout.item(key, i), v))
                .collect(),
            Some(_) => {
                let line = self.layout.key(key);
                self.problem(line, format!("`{key}` must be a list"));
                Vec::new()
            }
        }
    }

    /// A list of one-line texts.
    pub fn texts(&mut self, key: &str) -> Vec<String> {
        self.list(key)
            .into_iter()
            .filter_map(|(line, v)| self.line_text(v, line, key))
            .collect()
    }

    /// A list of slugs, each with its line (for reporting dangling references).
    pub fn slugs(&mut self, key: &str) -> Vec<(usize, crate::booking::Slug)> {
        let mut slugs = Vec::new();
        for (line, value) in self.list(key) {
            let Some(text) = self.line_text(value, line, key) else {
                continue;
            };
            match crate::booking::Slug::parse_exact(&text) {
                Ok(slug) => {
                    if slugs.iter().any(|(_, s)| s == &slug) {
                        self.problem(line, format!("`{key}` lists {text:?} twice"));
                    } else {
                        slugs.push((line, slug));
                    }
                }
                Err(_) => self.problem(line, format!("`{key}`: {text:?} is not a slug")),
            }
        }
        slugs
    }

    /// A list of mappings, each read by `read` with a reader of its own
    /// fields; `fields` are the keys an item may have.
    pub fn items<T>(
        &mut self,
        key: &'static str,
        fields: &'static [&'static str],
        mut read: impl FnMut(&mut Item<'_, 'a>) -> Option<T>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        let items = self.list(key);
        for (index, (line, value)) in items.into_iter().enumerate() {
            let Value::Mapping(map) = value else {
                self.problem(
                    line,
                    format!("each item of `{key}` has the fields {}", fields.join(", ")),
                );
                continue;
            };
            let mut item = Item {
                key,
                index,
                map,
                fields,
                owner: self,
            };
            item.unknown_keys();
            if let Some(value) = read(&mut item) {
                out.push(value);
            }
        }
        out
    }

    /// Reports keys that are not fields of this kind of file.
    pub fn finish(mut self) -> Vec<LineError> {
        let unknown: Vec<String> = self
            .map
            .keys()
            .map(|k| match k {
                Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .filter(|k| !self.allowed.contains(&k.as_str()))
            .collect();
        for key in unknown {
            let line = self.layout.key(&key);
            let expected = self.allowed.join(", ");
            self.problem(line, format!("unknown key `{key}` (expected: {expected})"));
        }
        self.problems
    }
}

/// One mapping item of a list field.
pub(crate) struct Item<'o, 'a> {
    key: &'static str,
    index: usize,
    map: Mapping,
    fields: &'static [&'static str],
    owner: &'o mut Fields<'a>,
}

impl Item<'_, '_> {
    fn line(&self, field: &str) -> usize {
        self.owner.layout.item_field(self.key, self.index, field)
    }

    fn unknown_keys(&mut self) {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .filter(|k| !self.fields.contains(&k.as_str()))
            .collect();
        for field in unknown {
            let line = self.line(&field);
            let message = format!(
                "unknown key `{field}` in `{}` (expected: {})",
                self.key,
                self.fields.join(", ")
            );
            self.owner.problem(line, message);
        }
    }

    /// The line of one of the item's fields (the item's, when it is absent).
    pub fn field_line(&self, field: &str) -> usize {
        self.line(field)
    }

    /// The line of the item.
    pub fn item_line(&self) -> usize {
        self.owner.layout.item(self.key, self.index)
    }

    /// Records a problem at the line of one of the item's fields.
    pub fn problem(&mut self, field: &str, message: impl Into<String>) {
        let line = self.line(field);
        self.owner.problem(line, message);
    }

    /// A required one-line text field of the item.
    pub fn text(&mut self, field: &str) -> Option<String> {
        match self.map.get(field).filter(|v| !v.is_null()).cloned() {
            None => {
                let line = self.item_line();
                self.owner.problem(
                    line,
                    format!("`{field}` is missing in this item of `{}`", self.key),
                );
                None
            }
            Some(value) => {
                let line = self.line(field);
                self.owner.line_text(value, line, field)
            }
        }
    }

    /// An optional one-line text field of the item.
    pub fn optional_text(&mut self, field: &str) -> Option<String> {
        let value = self.map.get(field).filter(|v| !v.is_null()).cloned()?;
        let line = self.line(field);
        self.owner.line_text(value, line, field)
    }

    /// A raw field of the item.
    pub fn value(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// A list of one-line texts in the item.
    pub fn texts(&mut self, field: &str) -> Vec<String> {
        match self.value(field).cloned() {
            Some(Value::Sequence(items)) => {
                let line = self.line(field);
                items
                    .into_iter()
                    .filter_map(|v| self.owner.line_text(v, line, field))
                    .collect()
            }
            Some(_) => {
                self.problem(field, format!("`{field}` must be a list"));
                Vec::new()
            }
            None => {
                let line = self.item_line();
                self.owner.problem(
                    line,
                    format!("`{field}` is missing in this item of `{}`", self.key),
                );
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "---\nslug: a\ntitle: A\ntypes:\n  - name: One\n    detail: d\n  - name: Two\n    colour: red\nlist: [x, y]\n---\n\nBody\n";

    #[test]
    fn splits_front_matter_from_the_body() {
        let split = split(FILE).unwrap();
        assert!(split.yaml.starts_with("slug: a\n"));
        assert_eq!(split.body_line, 11);
        assert_eq!(split.body, "\nBody\n");
        assert!(super::split("no front matter").is_err());
        assert_eq!(super::split("---\nslug: a\n").unwrap_err().0, 1);
    }

    #[test]
    fn finds_the_line_of_keys_items_and_item_fields() {
        let split = split(FILE).unwrap();
        let layout = Layout::new(&split);
        assert_eq!(layout.key("slug"), 2);
        assert_eq!(layout.key("types"), 4);
        assert_eq!(layout.key("absent"), 1);
        assert_eq!(layout.item("types", 0), 5);
        assert_eq!(layout.item("types", 1), 7);
        assert_eq!(layout.item_field("types", 0, "detail"), 6);
        assert_eq!(layout.item_field("types", 1, "colour"), 8);
        assert_eq!(layout.item("list", 1), 9);
    }

    #[test]
    fn yaml_errors_carry_the_file_line() {
        let text = "---\nslug: a\ntitle: [unclosed\nsummary: s\n---\n";
        let split = split(text).unwrap();
        let (line, message) = parse(&split).unwrap_err();
        assert_eq!(line, 3, "{message}");
        assert!(
            message.starts_with("the front matter is not valid YAML")
                && message.ends_with("while parsing a flow sequence"),
            "{message}"
        );
        let twice = "---\nslug: a\ntitle: A\nslug: b\n---\n";
        let split = super::split(twice).unwrap();
        assert_eq!(
            parse(&split).unwrap_err(),
            (4, "`slug` is given twice".into())
        );
    }
}
