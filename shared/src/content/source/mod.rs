//! The `content/` folder, read and checked: what `frontdesk content check`
//! reports and what `frontdesk content push` and `frontdesk serve` load.
//!
//! The folder holds `conditions/*.md`, `consultants/*.md`,
//! `support-services/*.md`, `consent/*.md`, `prices.md`, `site.md` and
//! `privacy.md` (and a `README.md` for editors, which is not content). Every file is Markdown with YAML
//! front matter. Every problem in every file is reported, each with its
//! file and line, before anything is loaded.

mod files;
mod front_matter;
pub mod markdown;

use super::model::Content;
use crate::booking::Slug;
use files::{ConditionRef, Read};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A problem in a content file, at a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file, as the folder was named plus the path inside it.
    pub file: PathBuf,
    /// The line, from 1.
    pub line: usize,
    /// What is wrong, and how to put it right where that is not obvious.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// The folders of documents that have slugs, and the kind each holds.
const FOLDERS: [&str; 4] = ["conditions", "consultants", "support-services", "consent"];

/// Reads and checks the content folder at `dir`: the content, or every problem.
pub fn load(dir: &Path) -> Result<Content, Vec<Diagnostic>> {
    let mut loader = Loader {
        dir,
        diagnostics: Vec::new(),
        condition_refs: Vec::new(),
    };
    let content = loader.read();
    let mut diagnostics = loader.diagnostics;
    diagnostics.sort();
    diagnostics.dedup();
    match content {
        Some(content) if diagnostics.is_empty() => Ok(content),
        _ => Err(diagnostics),
    }
}

/// A reader of one kind of file.
type Reader<T> = fn(&str) -> Result<Read<T>, front_matter::LineError>;

struct Loader<'a> {
    dir: &'a Path,
    diagnostics: Vec<Diagnostic>,
    condition_refs: Vec<(PathBuf, ConditionRef)>,
}

impl Loader<'_> {
    fn report(&mut self, file: &Path, line: usize, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: file.to_owned(),
            line,
            message: message.into(),
        });
    }

    fn read(&mut self) -> Option<Content> {
        let entries = match std::fs::read_dir(self.dir) {
            Ok(entries) => entries,
            Err(e) => {
                let dir = self.dir.to_owned();
                self.report(&dir, 0, format!("cannot read the content folder: {e}"));
                return None;
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in &names {
            let known = FOLDERS.contains(&name.as_str())
                || matches!(
                    name.as_str(),
                    "prices.md" | "site.md" | "privacy.md" | "README.md"
                )
                || name.starts_with('.');
            if !known {
                let path = self.dir.join(name);
                self.report(
                    &path,
                    1,
                    "not part of the content: the folder holds conditions/, consultants/, \
                     support-services/, consent/, prices.md, site.md and privacy.md",
                );
            }
        }
        let mut content = Content {
            conditions: self.folder("conditions", files::condition),
            consultants: self.folder("consultants", files::consultant),
            support_services: self.folder("support-services", files::support_service),
            consent: self.consent(),
            ..Content::default()
        };
        let prices = self.dir.join("prices.md");
        if prices.exists() {
            if let Some((list, _)) = self.file(&prices, files::prices) {
                content.prices = list;
            }
        }
        let site = self.dir.join("site.md");
        if site.exists() {
            content.site = self.file(&site, files::site).map(|(site, _)| site);
        } else {
            self.report(
                &site,
                1,
                "missing: the site's contact details (name, hospital, phone)",
            );
        }
        let privacy = self.dir.join("privacy.md");
        if privacy.exists() {
            content.privacy = self
                .file(&privacy, files::privacy)
                .map(|(notice, _)| notice);
        } else {
            self.report(
                &privacy,
                1,
                "missing: the privacy notice, which the form links to beside the consent box",
            );
        }
        let known: Vec<&Slug> = content.conditions.iter().map(|c| &c.slug).collect();
        for (file, reference) in std::mem::take(&mut self.condition_refs) {
            if !known.contains(&&reference.slug) {
                self.report(
                    &file,
                    reference.line,
                    format!(
                        "`{}` names {:?}, which is not the slug of any file in conditions/",
                        reference.field,
                        reference.slug.as_str()
                    ),
                );
            }
        }
        content.sort();
        Some(content)
    }

    /// Reads one file with `read`, recording its problems and references.
    fn file<T>(&mut self, path: &Path, read: Reader<T>) -> Option<(T, usize)> {
        let text = match std::fs::read(path).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => {
                self.report(path, 1, "the file is not UTF-8 text");
                return None;
            }
            Err(e) => {
                self.report(path, 1, format!("cannot read the file: {e}"));
                return None;
            }
        };
        let read = match read(&text) {
            Ok(read) => read,
            Err((line, message)) => {
                self.report(path, line, message);
                return None;
            }
        };
        for (line, message) in read.problems {
            self.report(path, line, message);
        }
        for reference in read.refs {
            self.condition_refs.push((path.to_owned(), reference));
        }
        read.value.map(|value| (value, read.slug_line))
    }

    /// The consent wordings: at least one, each introduced on its own day,
    /// so that which one the form shows is never in doubt.
    fn consent(&mut self) -> Vec<super::ConsentWording> {
        let folder = self.dir.join("consent");
        let wordings = self.folder("consent", files::consent);
        if wordings.is_empty() && !self.diagnostics.iter().any(|d| d.file.starts_with(&folder)) {
            self.report(
                &folder,
                1,
                "missing: the consent wording the booking form shows (consent/<version>.md)",
            );
        }
        let mut days: BTreeMap<&str, &Slug> = BTreeMap::new();
        let mut twice = Vec::new();
        for wording in &wordings {
            if let Some(first) = days.insert(&wording.introduced, &wording.version) {
                twice.push(format!(
                    "the versions {:?} and {:?} were both introduced on {}: give each its own day",
                    first.as_str(),
                    wording.version.as_str(),
                    wording.introduced
                ));
            }
        }
        for message in twice {
            self.report(&folder, 1, message);
        }
        wordings
    }

    /// Reads every `.md` file of a folder, and reports slugs used twice.
    fn folder<T: Slugged>(&mut self, name: &str, read: Reader<T>) -> Vec<T> {
        let dir = self.dir.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        let mut seen: BTreeMap<Slug, (PathBuf, usize)> = BTreeMap::new();
        let mut values = Vec::new();
        for path in paths {
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if file_name.starts_with('.') {
                continue;
            }
            if !path.is_file() || !file_name.ends_with(".md") {
                self.report(&path, 1, format!("{name}/ holds only Markdown files (.md)"));
                continue;
            }
            let Some((value, line)) = self.file(&path, read) else {
                continue;
            };
            let slug = value.slug().clone();
            if let Some((first, first_line)) = seen.get(&slug) {
                let message = format!(
                    "the slug {:?} is already used by {}:{first_line}",
                    slug.as_str(),
                    first.display()
                );
                self.report(&path, line, message);
                continue;
            }
            seen.insert(slug, (path, line));
            values.push(value);
        }
        values
    }
}

/// A document with a slug of its own.
trait Slugged {
    fn slug(&self) -> &Slug;
}

impl Slugged for super::Condition {
    fn slug(&self) -> &Slug {
        &self.slug
    }
}

impl Slugged for super::Consultant {
    fn slug(&self) -> &Slug {
        &self.slug
    }
}

impl Slugged for super::SupportService {
    fn slug(&self) -> &Slug {
        &self.slug
    }
}

impl Slugged for super::ConsentWording {
    fn slug(&self) -> &Slug {
        &self.version
    }
}
