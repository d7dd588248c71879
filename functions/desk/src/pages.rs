//! The desk's pages, compiled into the bootstrap: a shell of HTML per page
//! that the desk's script fills from the API, with nothing of a patient in
//! it (a page kept in a cache or history holds no data). The script and
//! styles are files of their own, so the policy allows no inline code.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The inbox page.
pub const INBOX_PAGE: &str = "/desk";
/// A request's page (the staff email links here).
pub const REQUEST_PAGE: &str = "/desk/requests/{reference}";
/// The whole desk's audit trail (admins).
pub const AUDIT_PAGE: &str = "/desk/audit";
/// A person's data: finding, exporting and erasing it (admins).
pub const PEOPLE_PAGE: &str = "/desk/people";
/// Where signing in starts and returns.
pub const SIGN_IN_PAGE: &str = "/desk/sign-in";
/// Where signing out ends.
pub const SIGNED_OUT_PAGE: &str = "/desk/signed-out";

const SCRIPT: &str = include_str!("../assets/desk.js");
const STYLES: &str = include_str!("../assets/desk.css");

/// Each page's title and the id its `<main>` is known by to the script.
const PAGES: [(&str, &str, &str); 6] = [
    (INBOX_PAGE, "Inbox", "inbox"),
    (REQUEST_PAGE, "Request", "request"),
    (AUDIT_PAGE, "Audit trail", "audit"),
    (PEOPLE_PAGE, "A person's data", "people"),
    (SIGN_IN_PAGE, "Sign in", "sign-in"),
    (SIGNED_OUT_PAGE, "Signed out", "signed-out"),
];

/// The pages' and assets' routes.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/desk/desk.js", get(script))
        .route("/desk/desk.css", get(styles))
        .route("/desk/{*rest}", get(not_found));
    for (path, title, id) in PAGES {
        router = router.route(
            path,
            get(move |State(state): State<AppState>| async move { page(&state, title, id) }),
        );
    }
    router
}

/// Escapes text for an HTML attribute or element.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(state: &AppState, title: &str, id: &str) -> Response {
    let config = state.config();
    // Locally there is no Cognito: the one-time link signs in.
    let sign_in = config.sign_in_url.as_deref().unwrap_or("local");
    let client = config.client_id.as_deref().unwrap_or("");
    let html = format!(
        r##"<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="desk-sign-in" content="{sign_in}">
<meta name="desk-client" content="{client}">
<title>{title} · Front desk</title>
<link rel="stylesheet" href="/desk/desk.css">
<script src="/desk/desk.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the page's content</a>
<header>
<p class="brand">Front desk</p>
<nav aria-label="Desk">
<ul>
<li><a href="/desk">Inbox</a></li>
<li class="admin-only" hidden><a href="/desk/audit">Audit trail</a></li>
<li class="admin-only" hidden><a href="/desk/people">A person's data</a></li>
</ul>
</nav>
<p class="who" hidden><span class="who-email"></span> <button type="button" class="sign-out">Sign out</button></p>
</header>
<main id="main" data-page="{id}" tabindex="-1">
<h1>{title}</h1>
<p class="status" role="status" aria-live="polite"></p>
<noscript><p>The desk needs JavaScript.</p></noscript>
</main>
</body>
</html>
"##,
        sign_in = escape(sign_in),
        client = escape(client),
        title = escape(title),
        id = escape(id),
    );
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    if let Ok(policy) = HeaderValue::from_str(&crate::content_security_policy(
        config.sign_in_url.as_deref(),
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

async fn styles() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLES).into_response()
}

async fn not_found() -> Response {
    frontdesk_shared::problem::Problem::no_route().into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            escape(r#"<img src=x onerror="alert('1')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        );
    }
}
