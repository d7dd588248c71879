//! The example site in headless Chromium: a patient's whole path, with and
//! without JavaScript, from the form to the stored booking and its emails;
//! errors next to their fields; double clicks; CORS between the site's
//! origin and the API's; and axe-core's accessibility rules.
//!
//! Screenshots are saved under `target/browser-artifacts/`.

use frontdesk_tests::browser::{Browser, Options};
use frontdesk_tests::notifier::STAFF_INBOX;
use frontdesk_tests::site::SiteServer;
use serde_json::json;

/// Waits for the form's script to have run (it hides the insurance fields).
async fn enhanced(browser: &Browser) {
    assert!(
        browser
            .wait_until("document.getElementById('insurance').hidden === true")
            .await,
        "book.js did not run"
    );
    assert!(
        browser
            .wait_until("document.getElementById('booking-form').dataset.specialties === 'loaded'")
            .await,
        "the form did not offer the content's conditions"
    );
}

/// Waits for the condition page to be drawn from the content API.
async fn condition_shown(browser: &Browser) {
    assert!(
        browser
            .wait_until("document.querySelectorAll('#condition section').length > 0")
            .await,
        "the condition page did not load: {}",
        browser.text("#condition-status").await
    );
}

/// Waits for the error summary to be shown.
async fn summary_shown(browser: &Browser) {
    assert!(
        browser
            .wait_until("!document.getElementById('error-summary').hidden")
            .await,
        "no error summary"
    );
}

/// Fills every field a booking needs, as a patient would.
async fn fill_valid(browser: &Browser, email: &str) {
    browser.find("#booking_for-self").await.click().await;
    browser.fill("#first_name", "Ada").await;
    browser.fill("#last_name", "Browser-Test").await;
    // The date of birth as day, month and year, as people say it.
    browser.fill("#date_of_birth_day", "31").await;
    browser.fill("#date_of_birth_month", "3").await;
    browser.fill("#date_of_birth_year", "1970").await;
    browser.fill("#email", email).await;
    browser.fill("#phone", "07700 900123").await;
    browser.find("#contact_method-email").await.click().await;
    browser.fill("#preferred_times", "Weekday mornings").await;
    // The first condition the content offers (the script fills them in
    // from /v1/conditions), or "not sure" when no script ran.
    let specialty = browser
        .execute(
            "const o = [...document.getElementById('specialty').options]\
               .find((o) => o.value && o.value !== 'not_sure');\
             return o ? o.value : 'not_sure';",
            json!([]),
        )
        .await;
    browser
        .set_value("#specialty", specialty.as_str().expect("a specialty"))
        .await;
    browser.find("#payment-self_pay").await.click().await;
    browser.fill("#message", "Found through the website.").await;
    browser.find("#consent_contact-yes").await.click().await;
}

/// Waits for the success panel and returns the reference it shows.
async fn reference_shown(browser: &Browser) -> String {
    assert!(
        browser
            .wait_until("!document.getElementById('success').hidden")
            .await,
        "no success panel; the summary says: {}",
        browser.text("#error-summary").await
    );
    browser.text("#success-reference").await
}

fn assert_reference(reference: &str) {
    assert!(
        reference.starts_with("CCL-") && reference.len() == 13,
        "{reference:?} is not a reference"
    );
}

#[tokio::test]
async fn a_patient_books_with_javascript_and_sees_the_reference() {
    let server = SiteServer::start().await;
    let browser = Browser::start().await;
    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    // Before anything else: the form is not for urgent problems, and where help is.
    let urgent = browser.text("#urgent").await;
    assert!(
        urgent.contains("not for urgent medical problems")
            && urgent.contains("999")
            && urgent.contains("NHS 111"),
        "{urgent}"
    );
    fill_valid(&browser, "ada.js@example.com").await;
    browser.find("#submit").await.click().await;

    let reference = reference_shown(&browser).await;
    assert_reference(&reference);
    assert!(browser
        .find("#booking-form")
        .await
        .attribute("hidden")
        .await
        .is_some());
    assert_eq!(
        browser.focused().await,
        "success",
        "focus moves to the confirmation"
    );
    browser.screenshot("form-success").await;

    let booking = server
        .booking(&reference)
        .await
        .expect("the booking is stored");
    assert_eq!(booking.details.email.as_str(), "ada.js@example.com");
    assert_eq!(booking.details.last_name.as_str(), "Browser-Test");
    assert_eq!(booking.details.contact_method.as_str(), "email");
    assert_eq!(server.count().await, 1);
    assert_eq!(
        server.emails(2).await,
        [
            (
                "ada.js@example.com".to_owned(),
                format!("Your appointment request {reference}")
            ),
            (
                STAFF_INBOX.to_owned(),
                format!("New appointment request {reference}")
            ),
        ]
    );
}

/// Puts the human check's widget on the page as Cloudflare's would be,
/// with its token not given yet, and with or without its script running.
async fn widget_without_token(browser: &Browser, script_runs: bool) {
    browser
        .execute(
            "const widget = document.createElement('div');\
             widget.className = 'cf-turnstile';\
             document.getElementById('submit').before(widget);\
             if (arguments[0]) window.turnstile = { reset() {} };\
             else delete window.turnstile;\
             return true;",
            json!([script_runs]),
        )
        .await;
}

#[tokio::test]
async fn a_human_check_not_finished_is_asked_for_and_one_that_never_ran_is_told() {
    let server = SiteServer::start().await;
    let browser = Browser::start().await;
    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada.unchecked@example.com").await;

    // The widget is there and running, but has no token yet: nothing is sent.
    widget_without_token(&browser, true).await;
    browser.find("#submit").await.click().await;
    summary_shown(&browser).await;
    assert!(
        browser
            .text("#error-summary")
            .await
            .contains("finish the check"),
        "{}",
        browser.text("#error-summary").await
    );
    assert_eq!(server.count().await, 0);

    // Its script never ran (blocked): the request goes, and the patient is
    // told that no confirmation email will come.
    widget_without_token(&browser, false).await;
    browser.find("#submit").await.click().await;
    let reference = reference_shown(&browser).await;
    assert_reference(&reference);
    let hidden = browser
        .execute(
            "return ['success-unchecked', 'success-email']\
               .map((id) => document.getElementById(id).hidden);",
            json!([]),
        )
        .await;
    assert_eq!(hidden, json!([false, true]));
    assert!(browser
        .text("#success-unchecked")
        .await
        .contains("we will not email you a confirmation"));
    assert_eq!(server.count().await, 1);
}

#[tokio::test]
async fn a_date_that_does_not_exist_marks_all_three_boxes_and_leads_to_the_day() {
    let server = SiteServer::start().await;
    let browser = Browser::start().await;
    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada.date@example.com").await;
    browser.fill("#date_of_birth_day", "31").await;
    browser.fill("#date_of_birth_month", "2").await;
    browser.find("#submit").await.click().await;
    summary_shown(&browser).await;
    let invalid = browser
        .execute(
            "return ['day', 'month', 'year'].map((p) => document\
               .getElementById(`date_of_birth_${p}`).getAttribute('aria-invalid'));",
            json!([]),
        )
        .await;
    assert_eq!(invalid, json!(["true", "true", "true"]));
    browser
        .find("#error-list a[href='#date_of_birth_day']")
        .await
        .click()
        .await;
    assert_eq!(browser.focused().await, "date_of_birth_day");
    assert_eq!(server.count().await, 0);
}

#[tokio::test]
async fn bad_answers_are_shown_next_to_their_fields_and_nothing_is_stored() {
    let server = SiteServer::start().await;
    let browser = Browser::start().await;
    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada@").await;
    browser.fill("#phone", "12345").await;
    browser.fill("#last_name", "").await;
    browser.fill("#date_of_birth_month", "13").await;
    browser.find("#consent_contact-yes").await.click().await; // untick
    browser.find("#submit").await.click().await;

    summary_shown(&browser).await;
    for field in [
        "email",
        "phone",
        "last_name",
        "date_of_birth_month",
        "consent_contact",
    ] {
        let message = browser.text(&format!("#{field}-error")).await;
        assert!(!message.is_empty(), "no message next to {field}");
        assert_eq!(
            browser
                .find(&format!("#{field}"))
                .await
                .attribute("aria-invalid")
                .await
                .as_deref(),
            Some("true"),
            "{field} is not marked invalid"
        );
        let link = browser
            .text(&format!("#error-list a[href='#{field}']"))
            .await;
        assert!(
            link.ends_with(&format!(": {message}")),
            "the summary links to {field} with its label and message: {link:?}"
        );
    }
    assert_eq!(
        browser
            .execute(
                "return document.querySelectorAll('#error-list li').length;",
                json!([])
            )
            .await,
        5
    );
    assert!(browser.text("#first_name-error").await.is_empty());
    // Only the part that is wrong is named, not the whole date, and the
    // summary says which date it is part of.
    assert!(browser.text("#date_of_birth_day-error").await.is_empty());
    assert!(browser.text("#date_of_birth-error").await.is_empty());
    assert!(browser
        .text("#error-list a[href='#date_of_birth_month']")
        .await
        .starts_with("Date of birth – Month: "));
    assert_eq!(
        browser
            .find("#error-summary")
            .await
            .attribute("role")
            .await
            .as_deref(),
        Some("alert"),
        "the summary is announced"
    );
    assert_eq!(browser.focused().await, "error-summary");
    assert!(browser.title().await.starts_with("Error: "));
    browser.screenshot("form-errors").await;
    assert_eq!(server.count().await, 0, "nothing is stored");

    // A summary link takes the patient to the field.
    browser
        .find("#error-list a[href='#phone']")
        .await
        .click()
        .await;
    assert_eq!(browser.focused().await, "phone");

    // Corrected, the same form books, and the errors are gone.
    browser.fill("#email", "ada.fixed@example.com").await;
    browser.fill("#phone", "07700 900123").await;
    browser.fill("#last_name", "Browser-Test").await;
    browser.fill("#date_of_birth_month", "03").await;
    browser.find("#consent_contact-yes").await.click().await;
    browser.find("#submit").await.click().await;
    assert_reference(&reference_shown(&browser).await);
    assert!(browser
        .find("#error-summary")
        .await
        .attribute("hidden")
        .await
        .is_some());
    assert!(!browser.title().await.starts_with("Error: "));
    assert_eq!(server.count().await, 1);
}

#[tokio::test]
async fn without_javascript_the_plain_form_books_and_shows_its_errors() {
    let server = SiteServer::start().await;
    let browser = Browser::start_with(Options { javascript: false }).await;

    // Bad answers: the API sends the form back naming the fields.
    browser.goto(&server.page("/book")).await;
    assert!(
        browser
            .find("#insurance")
            .await
            .attribute("hidden")
            .await
            .is_none(),
        "no script ran, so the insurance fields stay visible"
    );
    browser.find("#submit").await.click().await;
    assert!(
        browser
            .wait_until("location.pathname === '/book' && location.search.includes('errors=')")
            .await,
        "at {}",
        browser.url().await
    );
    assert!(browser.title().await.starts_with("Error: "));
    assert!(browser
        .find("#error-summary")
        .await
        .attribute("hidden")
        .await
        .is_none());
    for field in [
        "first_name",
        "email",
        "date_of_birth",
        "booking_for",
        "payment",
        "consent_contact",
    ] {
        assert!(
            !browser.text(&format!("#{field}-error")).await.is_empty(),
            "no message next to {field}"
        );
        // The date's link leads to its first box, which can take focus.
        let target = if field == "date_of_birth" {
            "date_of_birth_day"
        } else {
            field
        };
        assert!(
            browser
                .try_find(&format!("#error-list a[href='#{target}']"))
                .await
                .is_some(),
            "no summary link to {target}"
        );
    }
    assert_eq!(server.count().await, 0);

    // A wrong part of the date of birth: the form decoder names that part.
    browser.goto(&server.page("/book")).await;
    fill_valid(&browser, "ada.plain@example.com").await;
    browser.fill("#date_of_birth_day", "32").await;
    browser.find("#submit").await.click().await;
    assert!(
        browser
            .wait_until("location.search.includes('errors=date_of_birth_day')")
            .await,
        "at {}",
        browser.url().await
    );
    assert!(!browser.text("#date_of_birth_day-error").await.is_empty());
    assert!(browser.text("#date_of_birth-error").await.is_empty());
    assert_eq!(
        browser
            .find("#date_of_birth_day")
            .await
            .attribute("aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(server.count().await, 0);

    // Good answers, sent with a double click: one booking, the thank-you page.
    browser.goto(&server.page("/book")).await;
    fill_valid(&browser, "ada.plain@example.com").await;
    browser.double_click("#submit").await;
    assert!(
        browser
            .wait_until("location.pathname === '/thank-you'")
            .await,
        "at {}",
        browser.url().await
    );
    let reference = browser.text("#reference").await;
    assert_reference(&reference);
    assert!(browser
        .url()
        .await
        .starts_with(&server.page("/thank-you?reference=")));
    let urgent = browser.text(".urgent").await;
    assert!(
        urgent.contains("999") && urgent.contains("NHS 111"),
        "{urgent}"
    );
    let booking = server
        .booking(&reference)
        .await
        .expect("the booking is stored");
    assert_eq!(booking.details.email.as_str(), "ada.plain@example.com");
    assert_eq!(server.emails(2).await.len(), 2);
    assert_eq!(server.count().await, 1, "a double click makes one booking");
    browser.screenshot("thank-you-without-javascript").await;
}

#[tokio::test]
async fn a_double_click_on_send_makes_one_booking() {
    let server = SiteServer::start().await;
    let browser = Browser::start().await;
    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada.double@example.com").await;
    browser.double_click("#submit").await;
    let reference = reference_shown(&browser).await;
    assert_reference(&reference);
    assert_eq!(server.emails(2).await.len(), 2);
    assert_eq!(server.count().await, 1);
}

#[tokio::test]
async fn the_api_answers_the_allowed_origin_and_the_browser_blocks_another() {
    let server = SiteServer::start().await;
    let browser = Browser::start().await;

    // The content is public: the condition page loads on any origin.
    browser.goto(&server.foreign_page("/")).await;
    condition_shown(&browser).await;

    // Booking is not: a page on an origin the API does not name cannot post.
    browser.goto(&server.foreign_page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada.elsewhere@example.com").await;
    browser.find("#submit").await.click().await;
    summary_shown(&browser).await;
    assert!(
        browser.text("#form-error").await.contains("could not send"),
        "{}",
        browser.text("#form-error").await
    );
    assert_eq!(server.count().await, 0, "the browser never sent it");

    // The same form on the allowed origin books.
    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada.allowed@example.com").await;
    browser.find("#submit").await.click().await;
    assert_reference(&reference_shown(&browser).await);
    assert_eq!(server.count().await, 1);
}

/// Fails on any serious or critical axe-core violation; prints the rest.
async fn assert_accessible(browser: &Browser, page: &str) {
    let violations = browser.axe().await;
    for v in &violations {
        eprintln!(
            "axe on {page}: {} ({:?}): {} at {:?}",
            v.id, v.impact, v.help, v.targets
        );
    }
    let serious: Vec<_> = violations.iter().filter(|v| v.is_serious()).collect();
    assert!(serious.is_empty(), "{page}: {serious:#?}");
}

#[tokio::test]
async fn axe_finds_no_serious_problem_on_any_page() {
    let server = SiteServer::start().await;
    let browser = Browser::start().await;

    browser.goto(&server.page("/")).await;
    condition_shown(&browser).await;
    assert_eq!(
        browser.text("#condition-title").await,
        "Neuroendocrine tumours (NETs)"
    );
    // The page's title names the clinic as GET /v1/site publishes it.
    assert_eq!(
        browser.title().await,
        "Neuroendocrine tumours (NETs) – Cancer Centre London"
    );
    assert!(browser
        .text("#condition")
        .await
        .contains("What are neuroendocrine tumours?"));
    assert_eq!(
        browser.text("footer [data-site='phone']").await,
        "020 8247 3351"
    );
    assert_accessible(&browser, "the condition page").await;
    browser.screenshot("condition-page").await;

    // The page's link preselects the condition on the form.
    browser
        .find("main a.button[href^='/book']")
        .await
        .click()
        .await;
    enhanced(&browser).await;
    assert_eq!(
        browser
            .execute(
                "return document.getElementById('specialty').value;",
                json!([])
            )
            .await,
        "neuroendocrine-tumours"
    );
    assert_accessible(&browser, "the form").await;
    // The consent box says what the content publishes, and links to the
    // privacy notice.
    assert!(
        browser
            .wait_until("document.getElementById('booking-form').dataset.consent === 'loaded'")
            .await,
        "the consent wording loaded"
    );
    assert_eq!(
        browser.text("label[for='consent_contact-yes']").await,
        "Cancer Centre London may contact me by phone or email about this request."
    );

    browser.find("#submit").await.click().await;
    summary_shown(&browser).await;
    assert_accessible(&browser, "the form with errors").await;

    browser
        .goto(&server.page("/book?errors=email,phone,date_of_birth,date_of_birth_year"))
        .await;
    assert_accessible(&browser, "the form with errors, without script").await;

    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada.axe@example.com").await;
    browser.find("#submit").await.click().await;
    let reference = reference_shown(&browser).await;
    assert_accessible(&browser, "the form's confirmation").await;

    browser
        .goto(&server.page(&format!("/thank-you?reference={reference}")))
        .await;
    assert_eq!(browser.text("#reference").await, reference);
    assert_accessible(&browser, "the thank-you page").await;

    browser.goto(&server.page("/book")).await;
    browser.find("#consent-privacy a").await.click().await;
    assert!(
        browser
            .wait_until("document.querySelectorAll('#privacy section').length > 0")
            .await,
        "the privacy notice shown"
    );
    assert!(browser.text("#privacy").await.contains("Your rights"));
    assert_accessible(&browser, "the privacy notice").await;

    // The scan does find what it looks for: an image with no text.
    browser
        .execute(
            "document.querySelector('main').append(Object.assign(document.createElement('img'), {src: '/missing.png'}));",
            json!([]),
        )
        .await;
    let found = browser.axe().await;
    assert!(
        found.iter().any(|v| v.id == "image-alt" && v.is_serious()),
        "{found:?}"
    );
}

/// Waits for the desk's script to have drawn `css`.
async fn desk_shows(browser: &Browser, css: &str) {
    assert!(
        browser
            .wait_until(&format!("document.querySelector({css:?}) !== null"))
            .await,
        "the desk did not show {css}; it says: {}",
        browser.text("#main .status").await
    );
}

/// Asserts axe-core finds no violation on the page, naming `page`.
async fn accessible(browser: &Browser, page: &str) {
    let violations = browser.axe().await;
    assert!(violations.is_empty(), "{page}: {violations:#?}");
}

#[tokio::test]
async fn staff_sign_in_find_a_request_and_move_it_with_the_keyboard_alone() {
    use frontdesk_tests::browser::{ENTER, SPACE};
    let server = SiteServer::start().await;
    let browser = Browser::start().await;
    // A patient books through the public form, with a message that would
    // run if the desk ever took it for HTML.
    let hostile =
        "<img src=x onerror=\"document.title='owned'\"><script>document.title='owned'</script>";
    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada.desk@example.com").await;
    browser.fill("#message", hostile).await;
    browser.find("#submit").await.click().await;
    let reference = reference_shown(&browser).await;
    // The staff email is a summary with the link to the request's page.
    let summary = server
        .email_text(2, STAFF_INBOX, "New appointment request")
        .await;
    let link = format!("http://127.0.0.1:{}/desk/requests/{reference}", server.port);
    assert!(summary.contains(&link), "{summary}");
    assert!(
        !summary.contains("Ada") && !summary.contains("ada.desk"),
        "{summary}"
    );

    // The summary's link, followed before signing in, asks for the sign-in;
    // the link `frontdesk serve` printed then lands on that request.
    browser.goto(&link).await;
    assert!(
        browser
            .wait_until("location.pathname === '/desk/sign-in'")
            .await
    );
    browser.goto(&server.desk_sign_in).await;
    let page = format!("/desk/requests/{reference}");
    assert!(
        browser
            .wait_until(&format!("location.pathname === {page:?}"))
            .await,
        "not back on the request: {} {}",
        browser.url().await,
        browser.text("#main .status").await
    );
    assert!(
        !browser.url().await.contains('#'),
        "the secret leaves the address bar"
    );
    desk_shows(&browser, "#main form.move").await;

    // To the inbox, and back to the request by its reference, with the keyboard.
    assert!(
        browser.tab_to("nav a[href='/desk']").await,
        "the inbox is reachable"
    );
    browser.keys(ENTER).await;
    assert!(browser.wait_until("location.pathname === '/desk'").await);
    desk_shows(&browser, "#main table tbody tr").await;
    assert!(browser.text("#main table").await.contains(&reference));
    accessible(&browser, "the inbox").await;
    browser.screenshot("desk-inbox").await;

    // Find the request by its reference, with the keyboard.
    assert!(
        browser.tab_to("#field-reference").await,
        "the reference field is reachable"
    );
    browser.keys(&reference).await;
    browser.keys(ENTER).await;
    desk_shows(&browser, "#main form.move").await;
    assert_eq!(
        browser.text("#main h1").await,
        format!("Request {reference}")
    );
    // The hostile message is its characters, and nothing ran.
    assert_eq!(browser.text("#main .message").await, hostile);
    assert_eq!(
        browser
            .execute(
                "return document.querySelectorAll('#main img, #main script').length",
                json!([])
            )
            .await,
        0
    );
    assert_ne!(browser.title().await, "owned");
    accessible(&browser, "the request's page").await;

    // Contacted, with a note.
    assert!(browser.tab_to("#to-contacted").await);
    browser.keys(SPACE).await;
    assert!(browser.tab_to("#field-note").await);
    browser.keys("Rang, left a message").await;
    assert!(browser.tab_to("form.move button[type=submit]").await);
    browser.keys(ENTER).await;
    assert!(
        browser
            .wait_until("document.querySelector('#main .status').textContent.includes('Contacted')")
            .await,
        "not moved: {}",
        browser.text("#main").await
    );
    assert!(browser
        .text("#main .history")
        .await
        .contains("Rang, left a message"));

    // Booked, for a date and time in London: 10:30 on 1 July next year.
    let day = time::Date::from_calendar_date(
        time::OffsetDateTime::now_utc().year() + 1,
        time::Month::July,
        1,
    )
    .unwrap();
    let appointment =
        frontdesk_shared::london::instant_of(day, time::macros::time!(10:30), None).unwrap();
    assert!(browser.tab_to("#to-booked").await);
    browser.keys(SPACE).await;
    assert!(
        browser.tab_to("#field-date").await,
        "the appointment's fields appear"
    );
    browser.keys(&day.to_string()).await;
    assert!(browser.tab_to("#field-time").await);
    browser.keys("10:30").await;
    assert!(browser.tab_to("#field-place").await);
    browser.keys("Parkside Hospital").await;
    assert!(browser.tab_to("form.move button[type=submit]").await);
    browser.keys(ENTER).await;
    assert!(
        browser
            .wait_until("document.querySelector('#main .status').textContent.includes('Booked')")
            .await,
        "not booked: {}",
        browser.text("#main").await
    );
    let history = browser.text("#main .history").await;
    let written = frontdesk_shared::london::written(appointment);
    assert!(written.ends_with("10:30 BST"), "{written}");
    assert!(history.contains(&written), "{history}");
    assert!(history.contains("Parkside Hospital"), "{history}");

    // The patient's confirmation lands in the outbox with its calendar
    // entry, at 09:30 UTC; the desk then shows it delivered.
    let confirmations = server
        .emails_about(&format!("Your appointment {reference} is booked"), 1)
        .await;
    assert_eq!(confirmations.len(), 1, "one confirmation");
    assert_eq!(confirmations[0].to, "ada.desk@example.com");
    assert!(
        confirmations[0].text.contains(&written),
        "{}",
        confirmations[0].text
    );
    let entry = confirmations[0]
        .calendar
        .as_deref()
        .expect("an appointment.ics attachment");
    let start = format!(
        "DTSTART:{}",
        day.format(time::macros::format_description!("[year][month][day]"))
            .unwrap()
    );
    assert!(entry.contains(&format!("{start}T093000Z")), "{entry}");
    assert!(entry.contains("METHOD:REQUEST"), "{entry}");
    // The outbox records it delivered once written: the page, read again
    // until it says so.
    let mut row = String::new();
    for _ in 0..100 {
        browser.goto(&link).await;
        desk_shows(&browser, "#main .history").await;
        row = browser
            .execute(
                "return [...document.querySelectorAll('#main table tr')].map((r) => r.textContent).find((t) => t.includes('appointment confirmation 1')) ?? '';",
                json!([]),
            )
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if row.contains("Delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        row.contains("To the patient: appointment confirmation 1") && row.contains("Delivered"),
        "the confirmation is not shown delivered: {row:?}"
    );
    accessible(&browser, "the request's page, booked").await;
    browser.screenshot("desk-request-booked").await;

    // The audit trail holds the look and both moves, by the person signed in.
    browser
        .goto(&format!("http://127.0.0.1:{}/desk/audit", server.port))
        .await;
    desk_shows(&browser, "#main table tbody tr").await;
    let trail = browser.text("#main table").await;
    assert!(
        trail.contains("Moved from Contacted to Booked") && trail.contains("Opened the request"),
        "{trail}"
    );
    accessible(&browser, "the audit trail").await;

    // Sign out from the inbox, opened from the request's page; the back
    // button then brings the request's page back with nothing of the patient.
    browser.goto(&link).await;
    desk_shows(&browser, "#main form.move, #main .history").await;
    assert!(browser.tab_to("nav a[href='/desk']").await);
    browser.keys(ENTER).await;
    assert!(browser.wait_until("location.pathname === '/desk'").await);
    desk_shows(&browser, "#main form.filter").await;
    assert!(browser.tab_to(".sign-out").await, "sign-out is reachable");
    browser.keys(ENTER).await;
    assert!(
        browser
            .wait_until("location.pathname === '/desk/signed-out'")
            .await
    );
    accessible(&browser, "the signed-out page").await;
    browser.back().await;
    assert!(
        browser
            .wait_until(&format!(
                "location.pathname === {page:?} || location.pathname === '/desk/sign-in'"
            ))
            .await,
        "back did not return to the request's page: {}",
        browser.url().await
    );
    // Whatever it loaded, it ends on the sign-in page with nothing shown.
    assert!(
        browser
            .wait_until("location.pathname === '/desk/sign-in'")
            .await
    );
    let shown = browser
        .execute("return document.body.innerText", json!([]))
        .await;
    let shown = shown.as_str().unwrap_or_default();
    for detail in [
        "Ada",
        "Browser-Test",
        "ada.desk@example.com",
        "07700",
        "Rang, left a message",
    ] {
        assert!(
            !shown.contains(detail),
            "after signing out the back button shows {detail:?}: {shown}"
        );
    }
    accessible(&browser, "the sign-in page").await;
}

#[tokio::test]
async fn a_long_hostile_message_renders_as_text_in_the_desk() {
    let server = SiteServer::start().await;
    let browser = Browser::start().await;
    // The longest message the form takes, of markup.
    let unit = "<b onmouseover=alert(1)>bold</b>&amp;";
    let max = frontdesk_shared::booking::Message::MAX_CHARS;
    let message: String = unit
        .repeat(max / unit.len() + 1)
        .chars()
        .take(max)
        .collect();
    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada.long@example.com").await;
    browser.set_value("#message", &message).await;
    browser.find("#submit").await.click().await;
    let reference = reference_shown(&browser).await;
    browser.goto(&server.desk_sign_in).await;
    assert!(browser.wait_until("location.pathname === '/desk'").await);
    browser
        .goto(&format!(
            "http://127.0.0.1:{}/desk/requests/{reference}",
            server.port
        ))
        .await;
    desk_shows(&browser, "#main .message").await;
    assert_eq!(browser.text("#main .message").await, message.trim());
    assert_eq!(
        browser
            .execute(
                "return document.querySelectorAll('#main .message *').length",
                json!([])
            )
            .await,
        0,
        "no element was made of it"
    );
}

#[tokio::test]
async fn an_admin_exports_and_erases_a_person_in_the_desk() {
    let server = SiteServer::start().await;
    let browser = Browser::start().await;
    browser.goto(&server.page("/book")).await;
    enhanced(&browser).await;
    fill_valid(&browser, "ada.erase@example.com").await;
    browser.find("#submit").await.click().await;
    let reference = reference_shown(&browser).await;
    // Both emails are written first: an erasure waits for one being sent.
    assert_eq!(server.emails(2).await.len(), 2);
    assert!(!server.files_holding("ada.erase@example.com").is_empty());

    browser.goto(&server.desk_sign_in).await;
    assert!(browser.wait_until("location.pathname === '/desk'").await);
    assert!(
        browser.tab_to("nav a[href='/desk/people']").await,
        "an admin's menu leads to a person's data"
    );
    browser.keys(frontdesk_tests::browser::ENTER).await;
    desk_shows(&browser, "#main form.person").await;
    browser.fill("#field-email", "ada.erase@example.com").await;
    browser.find("#main form.person button").await.click().await;
    desk_shows(&browser, "#main form.erase").await;
    assert!(browser.text("#main table").await.contains(&reference));
    assert!(
        !browser.url().await.contains("ada.erase"),
        "what was searched for is not in the address"
    );
    accessible(&browser, "a person's data").await;

    // The export is saved from the page: the JSON document and the page.
    browser.find("#main button.export").await.click().await;
    desk_shows(&browser, "#main a.download[download$='.json']").await;
    // Made in the page from the answer, so nothing of the person is fetched
    // again or put in an address.
    let saved = browser
        .execute(
            "return [...document.querySelectorAll('#main a.download')].map((a) => [a.download, a.href.slice(0, 5)]);",
            json!([]),
        )
        .await;
    let saved: Vec<(String, String)> = serde_json::from_value(saved).unwrap();
    assert_eq!(saved.len(), 2, "{saved:?}");
    assert!(saved[0].0.starts_with("subject-export-") && saved[0].0.ends_with(".json"));
    assert_eq!(saved[1].0, saved[0].0.replace(".json", ".html"));
    assert!(saved.iter().all(|(_, href)| href == "blob:"), "{saved:?}");
    assert!(browser
        .text("#main .exported")
        .await
        .contains("Exported 1 booking(s)"));
    browser.screenshot("desk-person").await;

    // A confirmation that is not the address erases nothing.
    browser
        .fill("#field-reason", "Erasure requested by the patient")
        .await;
    browser
        .fill("#field-confirm", "someone.else@example.com")
        .await;
    browser
        .find("#main form.erase button.danger")
        .await
        .click()
        .await;
    desk_shows(&browser, "#main form.erase .errors li").await;
    assert!(browser
        .text("#main form.erase .errors")
        .await
        .contains("confirm"));
    assert_eq!(server.count().await, 1);

    let confirm = browser.find("#field-confirm").await;
    confirm.clear().await;
    confirm.type_text("ada.erase@example.com").await;
    browser
        .find("#main form.erase button.danger")
        .await
        .click()
        .await;
    assert!(
        browser
            .wait_until("document.querySelector('#main .result h2')?.textContent === 'Erased'")
            .await,
        "not erased: {}",
        browser.text("#main").await
    );
    assert!(browser.text("#main .result").await.contains(&reference));
    assert_eq!(server.count().await, 0);
    // Nothing of the person is left in the data folder, `serve` running:
    // not the database nor its log, not the outbox's emails.
    for trace in ["ada.erase@example.com", "Browser-Test"] {
        assert_eq!(
            server.files_holding(trace),
            Vec::<std::path::PathBuf>::new(),
            "{trace}"
        );
    }
}
