//! `frontdesk content check` and `content push` as an editor and an
//! operator run them: the real binary, its output and its exit code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn frontdesk(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .current_dir(dir)
        .env_remove("FRONTDESK_CONTENT_DIR")
        .env_remove("FRONTDESK_STORE")
        .output()
        .expect("frontdesk runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_shipped_content_is_valid() {
    let output = frontdesk(&["content", "check"], &repository());
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).trim(),
        "content is valid: 1 condition, 0 consultants, 2 support services, 0 price rows, contact details, 1 consent wording (the form shows 2026-11), privacy notice"
    );
}

/// Every problem in the broken fixtures, each once, with its file and line.
const BROKEN: &[&str] = &[
    r#"content-broken/conditions/fixture-body.md:8: the page's text starts with a `## ` heading: put this text in a section"#,
    r#"content-broken/conditions/fixture-body.md:10: use `##` for headings: the title comes from the front matter"#,
    r#"content-broken/conditions/fixture-body.md:14: the link to "javascript:alert('fixture')" is not allowed: use http(s), mailto, tel or a path on the site"#,
    r#"content-broken/conditions/fixture-body.md:16: the section `Empty` is empty"#,
    r#"content-broken/conditions/fixture-body.md:18: the section `Links` is empty"#,
    r#"content-broken/conditions/fixture-body.md:18: two sections have the anchor `links`"#,
    r#"content-broken/conditions/fixture-duplicate.md:2: the slug "fixture-condition" is already used by content-broken/conditions/fixture-condition.md:2"#,
    r#"content-broken/conditions/fixture-fields.md:1: `title` is missing"#,
    r#"content-broken/conditions/fixture-fields.md:2: `slug` "Fixture Fields" is not a slug: lower-case letters, digits and single hyphens"#,
    r#"content-broken/conditions/fixture-fields.md:3: unknown key `titel` (expected: slug, title, summary, updated, related_specialties, types, symptoms, tests, scans, treatments)"#,
    r#"content-broken/conditions/fixture-fields.md:5: `updated` "24/11/2026" is not a date like 2026-11-24"#,
    r#"content-broken/conditions/fixture-fields.md:6: `related_specialties` names "fixture-unknown", which is not the slug of any file in conditions/"#,
    r#"content-broken/conditions/fixture-fields.md:9: unknown key `colour` in `types` (expected: name, detail)"#,
    r#"content-broken/conditions/fixture-fields.md:10: `name` is missing in this item of `types`"#,
    r#"content-broken/conditions/fixture-fields.md:11: `tests` must be a list"#,
    r#"content-broken/conditions/fixture-no-front-matter.md:1: a content file starts with front matter: a line `---`, the fields, and `---`"#,
    r#"content-broken/conditions/fixture-yaml.md:4: the front matter is not valid YAML: did not find expected ',' or ']', while parsing a flow sequence"#,
    r#"content-broken/consent:1: the versions "fixture-a" and "fixture-b" were both introduced on 2026-02-01: give each its own day"#,
    "content-broken/consent/fixture-long.md:2: `version` is longer than the form's 32 characters",
    "content-broken/consent/fixture-version.md:1: `marketing_email` is missing",
    r#"content-broken/consent/fixture-version.md:2: `version` "V 1" is not a slug: lower-case letters, digits and single hyphens"#,
    "content-broken/consent/fixture-version.md:8: the wording is its front matter: text after the front matter is not shown",
    r#"content-broken/consultants/fixture-consultant.md:7: `specialties` names "cardiology", which is not the slug of any file in conditions/"#,
    r#"content-broken/consultants/fixture-consultant.md:8: `gmc_number` "12345" is not seven digits"#,
    r#"content-broken/consultants/fixture-photo.png:1: consultants/ holds only Markdown files (.md)"#,
    r#"content-broken/notes.txt:1: not part of the content: the folder holds conditions/, consultants/, support-services/, consent/, prices.md, site.md and privacy.md"#,
    r#"content-broken/prices.md:6: the procedure "Fixture consultation" has two rows"#,
    r#"content-broken/prices.md:10: `price_pence` is a whole number of pence, more than 0 (£250 is 25000)"#,
    r#"content-broken/prices.md:11: `booking` is `online`, `phone` or `online_or_phone`"#,
    r#"content-broken/prices.md:12: `specialty` names "fixture-elsewhere", which is not the slug of any file in conditions/"#,
    r#"content-broken/prices.md:13: `booking` (`online`, `phone` or `online_or_phone`) is missing in this row"#,
    r#"content-broken/prices.md:13: `price_pence` is missing in this row"#,
    "content-broken/privacy.md:1: missing: the privacy notice, which the form links to beside the consent box",
    "content-broken/site.md:1: `urgent` is missing",
    r#"content-broken/site.md:4: `phone` is not a UK phone number like 020 8247 3351"#,
    r#"content-broken/site.md:5: `email` "not-an-address" is not an email address"#,
    r#"content-broken/support-services/fixture-service.md:5: `audience` takes `patients` and `families`"#,
    r#"content-broken/support-services/fixture-service.md:7: the description (the text after the front matter) is empty"#,
    r#"content-broken/support-services/fixture-twice.md:5: `title` is given twice"#,
];

#[test]
fn check_reports_every_problem_with_its_file_and_line() {
    let output = frontdesk(
        &["content", "check", "--dir", "content-broken"],
        &repository().join("tests/fixtures"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let (summary, problems) = lines.split_last().expect("output");
    assert_eq!(problems, BROKEN);
    assert_eq!(
        *summary,
        format!("frontdesk: {} problem(s) in the content", BROKEN.len())
    );
}

#[test]
fn push_loads_the_folder_once_and_refuses_a_broken_one() {
    let data_dir = std::env::temp_dir().join(format!("frontdesk-push-{}", std::process::id()));
    let data = data_dir.to_str().expect("a UTF-8 path");
    let push = |folder: &str| {
        frontdesk(
            &["content", "push", "--dir", folder, "--data-dir", data],
            &repository(),
        )
    };

    let first = push("content");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let database = data_dir.join("frontdesk.sqlite3");
    assert_eq!(
        text(&first.stdout).trim(),
        format!(
            "pushed content to {}: 7 added, 0 changed, 0 removed, 0 unchanged",
            database.display()
        )
    );

    let broken = push("tests/fixtures/content-broken");
    assert_eq!(broken.status.code(), Some(1));
    assert!(text(&broken.stderr).contains("content-broken/site.md:4: "));

    // The broken folder wrote nothing: the store still holds the first push.
    let again = push("content");
    assert!(text(&again.stdout).contains(": 0 added, 0 changed, 0 removed, 7 unchanged"));
    let _ = std::fs::remove_dir_all(&data_dir);
}
