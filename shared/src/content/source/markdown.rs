//! Markdown to safe HTML, and a page body split into its `##` sections.
//!
//! Raw HTML in the source is escaped and shown as text, never passed through:
//! an editor's slip (or a pasted `<script>`) cannot put markup or script on
//! the site. Links and images may only point at `http`, `https`, `mailto`,
//! `tel` or a relative address; `check` reports any other, and the renderer
//! drops such a link and keeps its text.

use super::front_matter::LineError;
use crate::content::{RichText, Section};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::ops::Range;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Whether a link or image address is one the site may use.
pub(crate) fn safe_url(url: &str) -> bool {
    let url = url.trim();
    match url.find([':', '/', '?', '#']) {
        Some(i) if url.as_bytes()[i] == b':' => matches!(
            url[..i].to_ascii_lowercase().as_str(),
            "http" | "https" | "mailto" | "tel"
        ),
        _ => true,
    }
}

/// Renders Markdown to HTML with raw HTML escaped and unsafe links dropped.
pub fn render_html(markdown: &str) -> String {
    let mut dropped: Vec<bool> = Vec::new();
    let events = Parser::new_ext(markdown, options()).filter_map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Some(Event::Text(html)),
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(Tag::Link { ref dest_url, .. })
        | Event::Start(Tag::Image { ref dest_url, .. }) => {
            let drop = !safe_url(dest_url);
            dropped.push(drop);
            (!drop).then_some(event)
        }
        Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
            let drop = dropped.pop().unwrap_or(false);
            (!drop).then_some(event)
        }
        other => Some(other),
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// Markdown with its rendering.
pub fn rich_text(markdown: &str) -> RichText {
    let markdown = markdown.trim().to_owned();
    RichText {
        html: render_html(&markdown),
        markdown,
    }
}

fn line_at(text: &str, offset: usize, first_line: usize) -> usize {
    first_line + text[..offset.min(text.len())].matches('\n').count()
}

/// What an editor must fix in a Markdown body: `#` headings (a page's title
/// is in its front matter) and links to anything but the web, mail or phone.
pub(crate) fn problems(markdown: &str, first_line: usize) -> Vec<LineError> {
    let mut problems = Vec::new();
    for (event, range) in Parser::new_ext(markdown, options()).into_offset_iter() {
        let line = || line_at(markdown, range.start, first_line);
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            }) => problems.push((
                line(),
                "use `##` for headings: the title comes from the front matter".into(),
            )),
            Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. })
                if !safe_url(&dest_url) =>
            {
                problems.push((
                    line(),
                    format!(
                        "the link to {:?} is not allowed: use http(s), mailto, tel or a path on the site",
                        dest_url.as_ref()
                    ),
                ))
            }
            _ => {}
        }
    }
    problems
}

/// An anchor for a heading: lower-case ASCII letters and digits joined by hyphens.
fn anchor(title: &str) -> String {
    let mut id = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_owned()
}

/// Splits a page body at its `##` headings into sections, each rendered.
/// Text before the first heading, an empty body, empty sections and two
/// sections with the same anchor are problems.
pub(crate) fn sections(body: &str, first_line: usize) -> Result<Vec<Section>, Vec<LineError>> {
    let mut headings: Vec<(Range<usize>, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (event, range) in Parser::new_ext(body, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                ..
            }) => current = Some((range.start, String::new())),
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, title)) = current.as_mut() {
                    title.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                if let Some((start, title)) = current.take() {
                    headings.push((start..range.end, title));
                }
            }
            _ => {}
        }
    }
    let mut problems = Vec::new();
    let lead_end = headings.first().map_or(body.len(), |(r, _)| r.start);
    let lead = &body[..lead_end];
    if !lead.trim().is_empty() {
        let offset = lead.len() - lead.trim_start().len();
        problems.push((
            line_at(body, offset, first_line),
            "the page's text starts with a `## ` heading: put this text in a section".into(),
        ));
    }
    if headings.is_empty() && lead.trim().is_empty() {
        problems.push((
            first_line,
            "the page has no text: add `## ` sections".into(),
        ));
    }
    let mut sections: Vec<Section> = Vec::new();
    for (i, (range, title)) in headings.iter().enumerate() {
        let end = headings.get(i + 1).map_or(body.len(), |(r, _)| r.start);
        let text = &body[range.end..end];
        let line = line_at(body, range.start, first_line);
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        let id = anchor(&title);
        if id.is_empty() {
            problems.push((line, "a section heading needs words".into()));
        } else if sections.iter().any(|s| s.id == id) {
            problems.push((line, format!("two sections have the anchor `{id}`")));
        }
        if text.trim().is_empty() {
            problems.push((line, format!("the section `{title}` is empty")));
        }
        sections.push(Section {
            id,
            title,
            text: rich_text(text),
        });
    }
    if problems.is_empty() {
        Ok(sections)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_escaped_not_passed_through() {
        let html = render_html(
            "Hello <script>alert('x')</script> world\n\n<div onclick=\"x()\">block</div>\n",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("&lt;div onclick=\"x()\"&gt;"), "{html}");
    }

    #[test]
    fn markdown_renders() {
        let html =
            render_html("Some **bold** and a [link](https://example.com).\n\n- one\n- two\n");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("<a href=\"https://example.com\">link</a>"));
        assert!(html.contains("<li>one</li>"));
    }

    #[test]
    fn unsafe_links_are_dropped_and_reported() {
        let md = "A [bad](javascript:alert(1)) and [ok](tel:+442082473351) and ![x](data:image/png;base64,AAAA)\n";
        let html = render_html(md);
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(html.contains("bad"));
        assert!(html.contains("href=\"tel:+442082473351\""));
        let found = problems(md, 10);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, 10);
        assert!(safe_url("/book#form"));
        assert!(safe_url("page?x=a:b"));
        assert!(!safe_url("JavaScript:alert(1)"));
        assert!(!safe_url("vbscript:x"));
    }

    #[test]
    fn a_body_splits_into_sections_with_anchors() {
        let body = "\n## What are NETs?\n\nRare tumours.\n\n```\n## not a heading\n```\n\n## See a doctor promptly\n\nSoon.\n";
        let sections = sections(body, 20).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].id, "what-are-nets");
        assert_eq!(sections[0].title, "What are NETs?");
        assert!(sections[0].text.markdown.contains("## not a heading"));
        assert_eq!(sections[1].id, "see-a-doctor-promptly");
        assert_eq!(sections[1].text.html, "<p>Soon.</p>\n");
    }

    #[test]
    fn section_problems_have_lines() {
        let body = "\nStray text.\n\n## A\n\n## A\n\nText.\n";
        let found = sections(body, 5).unwrap_err();
        let lines: Vec<usize> = found.iter().map(|p| p.0).collect();
        assert_eq!(lines, [6, 8, 10], "{found:?}");
        assert!(sections("\n\n", 5).is_err());
        assert_eq!(problems("# Title\n", 3)[0].0, 3);
    }
}
