//! Where a booking may come from: a page of one of the clinic's own origins.
//!
//! A form post is a CORS "simple request": a browser sends it from any page,
//! and CORS only stops that page reading the answer, not the booking (and the
//! acknowledgement it makes the clinic send). So every booking must name its
//! page: browsers send `Origin` with every POST, and `Referer` where an older
//! one does not. The rule is the same in Lambda and locally, from
//! `ALLOWED_ORIGINS` (the CORS setting).

use axum::http::{header, HeaderMap};
use frontdesk_shared::booking::intake::BookingError;
use frontdesk_shared::BookingConfig;

/// Refuses a request that does not come from an allowed origin: its
/// `Origin`, or failing that its `Referer`'s origin, must be one of
/// `ALLOWED_ORIGINS`. `Origin: null` is taken only with
/// `ALLOW_NULL_ORIGIN`, and a request with neither header only with
/// `ALLOW_CALLS_WITHOUT_ORIGIN`.
pub fn check(headers: &HeaderMap, config: &BookingConfig) -> Result<(), BookingError> {
    let allowed = |origin: &str| {
        config
            .allowed_origins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(origin))
    };
    let text = |name| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => Some(value.to_str().ok()),
            // Sent twice: no single page to judge by.
            (Some(_), Some(_)) => Some(None),
            (None, _) => None,
        }
    };
    let taken = match (text(header::ORIGIN), text(header::REFERER)) {
        (Some(Some("null")), _) => config.allow_null_origin,
        (Some(Some(origin)), _) => allowed(origin.trim()),
        (Some(None), _) => false,
        (None, Some(Some(referer))) => origin_of(referer).is_some_and(allowed),
        (None, Some(None)) => false,
        (None, None) => config.allow_calls_without_origin,
    };
    if taken {
        Ok(())
    } else {
        Err(BookingError::ForeignOrigin)
    }
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
fn origin_of(url: &str) -> Option<&str> {
    let url = url.trim();
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    if host.is_empty() || host.contains('@') {
        return None;
    }
    Some(&url[..scheme_end + 3 + host_end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn config(null: bool, without: bool) -> BookingConfig {
        let mut c = BookingConfig::from_lookup(|name| {
            (name == "ALLOWED_ORIGINS").then(|| "https://www.clinic.example".to_owned())
        })
        .unwrap();
        c.allow_null_origin = null;
        c.allow_calls_without_origin = without;
        c
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn taken(pairs: &[(&'static str, &str)], null: bool, without: bool) -> bool {
        check(&headers(pairs), &config(null, without)).is_ok()
    }

    #[test]
    fn an_allowed_origin_is_taken_and_any_other_refused() {
        assert!(taken(
            &[("origin", "https://www.clinic.example")],
            false,
            false
        ));
        assert!(taken(
            &[("origin", "HTTPS://WWW.CLINIC.EXAMPLE")],
            false,
            false
        ));
        for foreign in [
            "https://evil.example",
            "http://www.clinic.example",
            "https://www.clinic.example.evil.example",
            "https://www.clinic.example:8443",
            "",
        ] {
            assert!(!taken(&[("origin", foreign)], true, true), "{foreign}");
        }
        // The Origin decides even when a Referer says otherwise.
        assert!(!taken(
            &[
                ("origin", "https://evil.example"),
                ("referer", "https://www.clinic.example/book")
            ],
            false,
            false
        ));
        // Two Origins: no single page to judge by.
        assert!(!taken(
            &[
                ("origin", "https://www.clinic.example"),
                ("origin", "https://www.clinic.example")
            ],
            false,
            false
        ));
    }

    #[test]
    fn without_an_origin_the_referers_origin_decides() {
        assert!(taken(
            &[("referer", "https://www.clinic.example/book?x=1")],
            false,
            false
        ));
        assert!(taken(
            &[("referer", "https://www.clinic.example")],
            false,
            false
        ));
        for foreign in [
            "https://evil.example/https://www.clinic.example/",
            "https://www.clinic.example@evil.example/",
            "ftp://www.clinic.example/",
            "/book",
            "not a url",
        ] {
            assert!(!taken(&[("referer", foreign)], false, true), "{foreign}");
        }
    }

    #[test]
    fn null_and_nothing_are_taken_only_when_a_setting_says_so() {
        assert!(!taken(&[("origin", "null")], false, true));
        assert!(taken(&[("origin", "null")], true, false));
        assert!(!taken(&[], true, false));
        assert!(taken(&[], false, true));
    }
}
