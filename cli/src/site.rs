//! The example website (`site/` in the repository) as `frontdesk serve`
//! serves it at `/`: a condition page and the appointment form, wired to the
//! API the way the clinic's own site would be.
//!
//! The files are static, read from disk on each request so that edits show
//! on reload. A page's HTML may hold these, which the server fills in:
//! - `{{api}}`: the API's base URL (`--site-api`, empty for this origin);
//! - `{{idempotency_key}}`: a fresh random key, so a plain form sent twice
//!   makes one booking (a page holding one is served `no-store`);
//! - `{{human_check}}`: the Cloudflare Turnstile widget and its script when
//!   a site key is given (`--turnstile-site-key`; the API's
//!   `TURNSTILE_SECRET` is its pair), and nothing otherwise;
//! - `{{reference}}`: the well-formed `?reference=` the booking API's
//!   redirect adds, or nothing; `{{reference_line}}`: a sentence giving it,
//!   or saying it comes by email (a booking sent without the page's key);
//! - for `?errors=a,b` (the booking API's redirect after a plain form with
//!   bad fields), each named field's `id="<field>-error"` element gets the
//!   message in its `data-message`, the field's control gets
//!   `aria-invalid="true"`, and the `id="error-summary"` element is shown
//!   with a link to each field. A clinic's own server renders the same way.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use frontdesk_shared::booking::date_parts;
use frontdesk_shared::booking::reference::Reference;
use frontdesk_shared::booking::request::FIELDS;
use frontdesk_shared::problem::Problem;
use percent_encoding::percent_decode_str;
use std::path::PathBuf;
use std::sync::Arc;

/// Why the site cannot be served as configured.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The API's base URL is not one a page can name.
    #[error("--site-api {0:?} is not a URL like https://api.example.com (scheme, host and port, optionally a path)")]
    BadApi(String),
    /// The Turnstile site key is not one Cloudflare issues.
    #[error("--turnstile-site-key {0:?} is not a Turnstile site key (letters, digits, - and _)")]
    BadSiteKey(String),
}

/// Where Cloudflare serves the Turnstile widget from: its script and its frame.
pub const TURNSTILE_ORIGIN: &str = "https://challenges.cloudflare.com";

/// The site's folder and where its pages send API requests.
#[derive(Debug, Clone)]
pub struct Site {
    dir: PathBuf,
    api: String,
    /// The Turnstile widget's site key, when the form shows the human check.
    site_key: Option<String>,
}

impl Site {
    /// A site served from `dir` whose pages call the API at `api` (empty:
    /// the origin that serves the site).
    pub fn new(dir: PathBuf, api: &str) -> Result<Self, SiteError> {
        let api = api.trim().trim_end_matches('/');
        let rest = api
            .strip_prefix("https://")
            .or_else(|| api.strip_prefix("http://"));
        let ok = api.is_empty()
            || rest.is_some_and(|rest| {
                !rest.is_empty()
                    && !rest.starts_with('/')
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~:/[]".contains(&b))
            });
        if !ok {
            return Err(SiteError::BadApi(api.to_owned()));
        }
        Ok(Self {
            dir,
            api: api.to_owned(),
            site_key: None,
        })
    }

    /// The same site with the form showing Cloudflare Turnstile's widget
    /// for `site_key` (an empty key leaves it off).
    pub fn with_human_check(mut self, site_key: &str) -> Result<Self, SiteError> {
        let key = site_key.trim();
        if key.is_empty() {
            return Ok(self);
        }
        if key.len() > 64
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SiteError::BadSiteKey(key.to_owned()));
        }
        self.site_key = Some(key.to_owned());
        Ok(self)
    }

    /// The folder the files come from.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

/// The site's routes: `/` is `index.html`, `/book` is `book.html`, and
/// `/site.css` is itself. No fallback, so `frontdesk serve` can merge them.
pub fn routes(site: Site) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/{file}", get(file))
        .with_state(Arc::new(site))
}

async fn index(State(site): State<Arc<Site>>, RawQuery(query): RawQuery) -> Response {
    serve(&site, "index.html", query.as_deref()).await
}

async fn file(
    State(site): State<Arc<Site>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let name = if name.contains('.') {
        name
    } else {
        format!("{name}.html")
    };
    serve(&site, &name, query.as_deref()).await
}

/// The content type of the file kinds the site may hold; others are not served.
fn content_type(name: &str) -> Option<&'static str> {
    let (stem, extension) = name.rsplit_once('.')?;
    let plain = !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !plain {
        return None;
    }
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => return None,
    })
}

async fn serve(site: &Site, name: &str, query: Option<&str>) -> Response {
    let Some(kind) = content_type(name) else {
        return Problem::no_route().into_response();
    };
    let bytes = match tokio::fs::read(site.dir.join(name)).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Problem::no_route().into_response()
        }
        Err(e) => {
            tracing::error!(file = name, error = %e, "the site's file cannot be read");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let html = kind.starts_with("text/html");
    let page = html.then(|| String::from_utf8_lossy(&bytes).into_owned());
    // A page with a key must never be cached: a cached copy would hand every
    // patient the same key, and so each other's booking.
    let keyed = page.as_ref().is_some_and(|p| p.contains(KEY_PLACEHOLDER));
    let body = match &page {
        Some(page) => render(
            &page.replace(
                HUMAN_CHECK_PLACEHOLDER,
                &human_check(site.site_key.as_deref()),
            ),
            &site.api,
            query,
        )
        .into_bytes(),
        None => bytes,
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if keyed {
            frontdesk_shared::wire::CACHE_CONTROL_NO_STORE
        } else {
            "no-cache"
        }),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        // Another origin (the API's) is told the page's origin only, never
        // its path or query (a thank-you page's reference): and a form posted
        // to it names its origin, where `same-origin` would send `null`.
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if html {
        let policy = security_policy(&site.api, site.site_key.is_some());
        if let Ok(policy) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    response
}

/// Scripts, styles and requests from this origin and the API only; forms
/// post to them only (a redirect from the API is checked too). With the
/// human check, Turnstile's script and frame come from Cloudflare too.
fn security_policy(api: &str, human_check: bool) -> String {
    let origins = if api.is_empty() {
        "'self'".to_owned()
    } else {
        format!("'self' {api}")
    };
    let (scripts, frames) = if human_check {
        (
            format!("'self' {TURNSTILE_ORIGIN}"),
            format!("frame-src {TURNSTILE_ORIGIN}; "),
        )
    } else {
        ("'self'".to_owned(), String::new())
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; \
         connect-src {origins}; form-action {origins}; {frames}base-uri 'none'; \
         frame-ancestors 'none'; object-src 'none'"
    )
}

/// Where the form's human check goes.
const HUMAN_CHECK_PLACEHOLDER: &str = "{{human_check}}";

/// The human check as the form shows it: Turnstile's widget (which puts its
/// token in the form as `cf-turnstile-response`) and its script, and for a
/// browser without script a note that the request is still taken but a
/// call is quicker. Nothing without a site key.
fn human_check(site_key: Option<&str>) -> String {
    let Some(key) = site_key else {
        return String::new();
    };
    format!(
        "<div class=\"field\" id=\"human_check\">\n\
         <p class=\"error\" id=\"human_check-error\" data-message=\"The check that you are a person did not work. Please try it again and send the form, or call us.\"></p>\n\
         <div class=\"cf-turnstile\" data-sitekey=\"{key}\" data-size=\"flexible\"></div>\n\
         <script src=\"{TURNSTILE_ORIGIN}/turnstile/v0/api.js\" async defer></script>\n\
         <noscript><p class=\"hint\" id=\"human_check-noscript\">Without JavaScript this form cannot check that you are a person, so we will still get your request but will not email you a copy. A phone call is quicker: our number is at the foot of this page.</p></noscript>\n\
         </div>"
    )
}

/// One query parameter, decoded.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| {
            percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
}

/// Where a page's fresh idempotency key goes.
const KEY_PLACEHOLDER: &str = "{{idempotency_key}}";

/// Fills in a page's placeholders and, for `?errors=`, its error messages.
pub fn render(page: &str, api: &str, query: Option<&str>) -> String {
    let reference = query_param(query, "reference")
        .and_then(|raw| Reference::parse(&raw).ok())
        .map(|reference| reference.as_str().to_owned());
    let reference_line = match &reference {
        Some(reference) => format!(
            "Your reference is <span class=\"reference\" id=\"reference\">{reference}</span>."
        ),
        // A booking sent without the page's key: the reference is in the email.
        None => "We will usually email you your reference.".to_owned(),
    };
    let mut html = page
        .replace("{{api}}", api)
        .replace(KEY_PLACEHOLDER, &random_key())
        .replace("{{reference_line}}", &reference_line)
        .replace("{{reference}}", reference.as_deref().unwrap_or_default());
    if let Some(errors) = query_param(query, "errors") {
        let fields: Vec<&str> = errors.split(',').filter(|f| !f.is_empty()).collect();
        if !fields.is_empty() {
            html = mark_errors(html, &fields);
        }
    }
    html
}

fn random_key() -> String {
    let mut bytes = [0u8; 16];
    match getrandom::fill(&mut bytes) {
        Ok(()) => hex::encode(bytes),
        // Without a key the API still folds identical resubmissions into
        // one booking by their fingerprint.
        Err(_) => String::new(),
    }
}

/// The byte range of the start tag of the element with `id`.
fn tag_of(html: &str, id: &str) -> Option<std::ops::Range<usize>> {
    let at = html.find(&format!(" id=\"{id}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')? + 1;
    Some(start..end)
}

/// The value of `attribute` in a start tag.
fn attribute<'a>(tag: &'a str, attribute: &str) -> Option<&'a str> {
    let marker = format!(" {attribute}=\"");
    let at = tag.find(&marker)? + marker.len();
    tag[at..].split('"').next()
}

/// Puts the element's `data-message` in as its text; returns the message.
fn show_message(html: &mut String, id: &str) -> Option<String> {
    let tag = tag_of(html, id)?;
    let message = attribute(&html[tag.clone()], "data-message")?.to_owned();
    html.insert_str(tag.end, &message);
    Some(message)
}

/// Adds an attribute to the start tag of the element with `id`.
fn add_attribute(html: &mut String, id: &str, attribute: &str) {
    if let Some(tag) = tag_of(html, id) {
        let close = if html[..tag.end].ends_with("/>") {
            tag.end - 2
        } else {
            tag.end - 1
        };
        html.insert_str(close, &format!(" {attribute}"));
    }
}

fn mark_errors(mut html: String, fields: &[&str]) -> String {
    let mut items = String::new();
    let mut unplaced = false;
    for field in fields {
        // Not a field: the request could not be taken just now.
        if *field == frontdesk_booking::NOT_TAKEN {
            show_message(&mut html, "not_taken-error");
            continue;
        }
        // Not a field either: the human check did not go through.
        if *field == frontdesk_booking::HUMAN_CHECK_FAILED {
            if let Some(message) = show_message(&mut html, "human_check-error") {
                items.push_str(&format!("<li><a href=\"#human_check\">{message}</a></li>"));
            } else {
                unplaced = true;
            }
            continue;
        }
        let known = FIELDS.contains(field) && tag_of(&html, field).is_some();
        match known
            .then(|| show_message(&mut html, &format!("{field}-error")))
            .flatten()
        {
            Some(message) => {
                // The date of birth's whole-date error marks its three
                // boxes (a fieldset's own state is not read out) and
                // links to the first, which can take focus.
                let controls: Vec<&str> = if *field == date_parts::WHOLE {
                    date_parts::PARTS.iter().map(|p| p.name).collect()
                } else {
                    vec![field]
                };
                for control in &controls {
                    add_attribute(&mut html, control, "aria-invalid=\"true\"");
                }
                let target = controls.first().copied().unwrap_or(field);
                items.push_str(&format!("<li><a href=\"#{target}\">{message}</a></li>"));
            }
            None => unplaced = true,
        }
    }
    if unplaced {
        show_message(&mut html, "form-error");
    }
    show_message(&mut html, "error-note");
    if let Some(list) = tag_of(&html, "error-list") {
        html.insert_str(list.end, &items);
    }
    if let Some(summary) = tag_of(&html, "error-summary") {
        let tag = html[summary.clone()].replacen(" hidden", " autofocus", 1);
        html.replace_range(summary, &tag);
    }
    html.replacen("<title>", "<title>Error: ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = include_str!("../../site/book.html");

    /// The page carries, for a browser without script, the consent wording
    /// and version the shipped content publishes: a stale copy would book
    /// under words the patient was not shown, or not at all.
    #[test]
    fn the_forms_own_consent_wording_is_the_published_one() {
        let content = crate::content::check(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../content"),
        )
        .expect("the shipped content");
        let wording = content.current_consent().expect("a consent wording");
        assert!(BOOK.contains(&format!(
            "name=\"consent_version\" value=\"{}\"",
            wording.version.as_str()
        )));
        for (key, text) in [
            ("contact", &wording.contact),
            ("marketing_email", &wording.marketing_email),
            ("marketing_sms", &wording.marketing_sms),
        ] {
            assert!(
                BOOK.contains(&format!("data-consent=\"{key}\">{text}</label>")),
                "{key}: {text}"
            );
        }
        assert!(BOOK.contains("<a href=\"/privacy\">privacy notice</a>"));
    }

    #[test]
    fn the_api_base_must_be_a_url_a_page_can_name() {
        assert!(Site::new("site".into(), "").is_ok());
        assert!(Site::new("site".into(), "https://api.example.com/").is_ok());
        assert!(Site::new("site".into(), "http://127.0.0.1:3000").is_ok());
        assert!(Site::new("site".into(), "https://x.example.com/prod").is_ok());
        for bad in [
            "api.example.com",
            "https://",
            "javascript:alert(1)",
            "https://a\" onload=\"x",
        ] {
            assert!(Site::new("site".into(), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_plain_names_of_known_kinds_are_served() {
        assert_eq!(content_type("book.html"), Some("text/html; charset=utf-8"));
        assert_eq!(content_type("site.css"), Some("text/css; charset=utf-8"));
        for bad in [".env", "a.b.html", "..", "x.rs", "secret", "%2e%2e.html"] {
            assert_eq!(content_type(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_thank_you_line_gives_the_reference_or_says_it_comes_by_email() {
        let page = "<p>{{reference_line}}</p>";
        assert_eq!(
            render(page, "", Some("reference=CCL-7K3M-9Q2X")),
            "<p>Your reference is <span class=\"reference\" id=\"reference\">CCL-7K3M-9Q2X</span>.</p>"
        );
        for query in [None, Some("reference=%3Cb%3E")] {
            assert_eq!(
                render(page, "", query),
                "<p>We will usually email you your reference.</p>"
            );
        }
    }

    #[test]
    fn a_page_gets_the_api_a_fresh_key_and_only_a_well_formed_reference() {
        let page = "<a href=\"{{api}}/v1\">{{idempotency_key}}|{{reference}}</a>";
        let first = render(
            page,
            "https://api.example.com",
            Some("reference=ccl-7k3m-9q2x"),
        );
        assert!(first.starts_with("<a href=\"https://api.example.com/v1\">"));
        assert!(first.ends_with("|CCL-7K3M-9Q2X</a>"), "{first}");
        let second = render(page, "", Some("reference=%3Cscript%3E"));
        assert!(second.ends_with("|</a>"), "{second}");
        let key = |html: &str| html.split(['>', '|']).nth(1).unwrap().to_owned();
        assert_eq!(key(&first).len(), 32);
        assert_ne!(key(&first), key(&second));
    }

    #[test]
    fn errors_from_the_redirect_are_shown_next_to_their_fields_and_in_the_summary() {
        let html = render(BOOK, "", Some("errors=email,booking_for"));
        assert!(html.contains("<title>Error: Request an appointment"));
        assert!(html.contains(
            "id=\"email-error\" data-message=\"Please enter an email address like name@example.com.\">Please enter an email address like name@example.com.</p>"
        ));
        assert!(html.contains("id=\"email\" name=\"email\""));
        assert!(html.contains("aria-describedby=\"email-hint email-error\" aria-invalid=\"true\">"));
        assert!(html.contains("<fieldset id=\"booking_for\" aria-describedby=\"booking_for-hint booking_for-error\" aria-invalid=\"true\">"));
        assert!(html.contains(
            "<ul id=\"error-list\"><li><a href=\"#email\">Please enter an email address like name@example.com.</a></li><li><a href=\"#booking_for\">"
        ));
        assert!(html.contains("id=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus>"));
        // Only the named fields are marked; the general message is not shown.
        assert!(!html.contains("id=\"phone-error\" data-message=\"Please enter a UK phone number, like 07700 900123.\">Please"));
        assert_eq!(html.matches("aria-invalid").count(), 2);
        assert!(html.contains("data-message=\"Something in the form was not accepted. Please reload this page and send the form again.\"></p>"));
    }

    #[test]
    fn a_date_of_birth_that_is_no_date_marks_its_three_boxes_and_leads_to_the_first() {
        let html = render(BOOK, "", Some("errors=date_of_birth"));
        for part in ["day", "month", "year"] {
            let tag = tag_of(&html, &format!("date_of_birth_{part}")).unwrap();
            assert!(html[tag].contains("aria-invalid=\"true\""), "{part}");
        }
        assert_eq!(html.matches("aria-invalid").count(), 3);
        assert!(
            html.contains("<li><a href=\"#date_of_birth_day\">Please enter a real date of birth")
        );
    }

    #[test]
    fn a_form_that_could_not_be_taken_just_now_says_to_try_again_or_call() {
        let html = render(BOOK, "", Some("errors=not_taken"));
        assert!(html.contains(
            "send the form again in a few minutes, or call us.\">We could not take your request just now."
        ));
        assert!(!html.contains("\">Something in the form was not accepted."));
        assert!(html.contains("id=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus>"));
    }

    #[test]
    fn the_human_check_is_shown_only_with_a_site_key_and_its_origin_only_then_allowed() {
        assert!(BOOK.contains(HUMAN_CHECK_PLACEHOLDER));
        assert_eq!(human_check(None), "");
        let widget = human_check(Some("0x4AAAAAAAtest"));
        assert!(widget.contains("class=\"cf-turnstile\" data-sitekey=\"0x4AAAAAAAtest\""));
        assert!(widget.contains("<noscript>") && widget.contains("A phone call is quicker"));
        let on = security_policy("", true);
        assert!(on.contains("script-src 'self' https://challenges.cloudflare.com;"));
        assert!(on.contains("frame-src https://challenges.cloudflare.com;"));
        let off = security_policy("", false);
        assert!(!off.contains("cloudflare") && off.contains("script-src 'self';"));
        let site = Site::new("site".into(), "").unwrap();
        assert!(site
            .clone()
            .with_human_check("")
            .unwrap()
            .site_key
            .is_none());
        assert!(site.clone().with_human_check("0x4AAA-_b").is_ok());
        for bad in ["a\"b", "<script>", "a b"] {
            assert!(site.clone().with_human_check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rejected_human_check_says_to_try_it_again_or_call() {
        let page = BOOK.replace(HUMAN_CHECK_PLACEHOLDER, &human_check(Some("key")));
        let html = render(&page, "", Some("errors=human_check"));
        assert!(html.contains(
            "send the form, or call us.\">The check that you are a person did not work."
        ));
        assert!(html.contains("<li><a href=\"#human_check\">The check that you are a person"));
        assert!(!html.contains("\">Something in the form was not accepted."));
        // A page without the widget still says something.
        let bare = render(BOOK, "", Some("errors=human_check"));
        assert!(bare.contains("\">Something in the form was not accepted."));
    }

    #[test]
    fn errors_for_fields_the_page_does_not_show_get_the_general_message() {
        for query in [
            "errors=idempotency_key",
            "errors=%3Cscript%3E",
            "errors=consent_version",
        ] {
            let html = render(BOOK, "", Some(query));
            assert!(
                html.contains("send the form again.\">Something in the form was not accepted."),
                "{query}"
            );
            assert!(!html.contains("<script>"), "{query}");
            assert!(html.contains("<ul id=\"error-list\"></ul>"), "{query}");
        }
        let untouched = render(BOOK, "", Some("errors="));
        assert!(untouched.contains("tabindex=\"-1\" hidden>"));
        assert!(!untouched.contains("Error:"));
    }
}
