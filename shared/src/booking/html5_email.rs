//! The HTML Living Standard's rule for a valid email address, as the
//! `validator` crate (0.20) applies it: a local part of the standard's
//! characters, and a domain of dot-separated labels, an address literal
//! (`[192.0.2.1]`), or an internationalised domain whose ASCII form is one.
//!
//! `validator` checks the same with three regular expressions compiled on
//! a process's first address, which cost a cold booking about 1 ms; this is
//! the same rule as plain comparisons, held to `validator` by the tests.

use std::net::IpAddr;

/// The longest local part, in characters (RFC 5321 4.5.3.1.1).
const LOCAL_MAX_CHARS: usize = 64;
/// The longest domain, in characters (RFC 5321 4.5.3.1.2).
const DOMAIN_MAX_CHARS: usize = 255;
/// The longest label of a domain, in characters.
const LABEL_MAX_CHARS: usize = 63;

/// Whether `address` is a valid email address under the standard's rule.
pub fn is_valid(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    if local.chars().count() > LOCAL_MAX_CHARS || domain.chars().count() > DOMAIN_MAX_CHARS {
        return false;
    }
    if local.is_empty() || !local.chars().all(in_local_part) {
        return false;
    }
    domain_is_valid(domain)
        || idna::domain_to_ascii(domain).is_ok_and(|ascii| domain_is_valid(&ascii))
}

/// A character the standard allows in a local part.
fn in_local_part(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c)
}

/// Labels of letters, digits and inner hyphens, or an address literal.
fn domain_is_valid(domain: &str) -> bool {
    domain.split('.').all(label_is_valid) || literal_is_valid(domain)
}

/// One to 63 letters, digits and hyphens, starting and ending with a letter or digit.
fn label_is_valid(label: &str) -> bool {
    let bytes = label.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            bytes.len() <= LABEL_MAX_CHARS
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// A domain that ends in `[address]`, an IPv4 or IPv6 address. As in
/// `validator`, what comes before the bracket is not looked at.
fn literal_is_valid(domain: &str) -> bool {
    let Some(open) = domain.strip_suffix(']') else {
        return false;
    };
    let Some((_, inside)) = open.rsplit_once('[') else {
        return false;
    };
    !inside.is_empty()
        && inside
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        && inside.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::is_valid;
    use validator::ValidateEmail;

    /// Addresses at the rule's edges.
    const CASES: &[&str] = &[
        "name@example.com",
        "first.last+tag@sub.example.co.uk",
        "a@b",
        "@example.com",
        "name@",
        "name",
        "name@@example.com",
        "na@me@example.com",
        "name@-example.com",
        "name@example-.com",
        "name@exa-mple.com",
        "name@example..com",
        "name@.example.com",
        "name@example.com.",
        "name@[192.0.2.1]",
        "name@[2001:db8::1]",
        "name@[::1]",
        "name@[300.0.0.1]",
        "name@[]",
        "name@x[192.0.2.1]",
        "name@[192.0.2.1]x",
        "name@a[b]",
        "name@bücher.de",
        "name@xn--bcher-kva.de",
        "name@exämple.com",
        "näme@example.com",
        "name@例え.テスト",
        "name@EXAMPLE.COM",
        "name @example.com",
        "name@exa mple.com",
        "\"quoted\"@example.com",
        "!#$%&'*+/=?^_`{|}~-@example.com",
        "name@ex_ample.com",
        "name@123.456",
        "name@example.com\n",
        "name@\u{200d}example.com",
        "name@example.com\u{3002}uk",
        "name@ＥＸＡＭＰＬＥ.com",
    ];

    #[test]
    fn the_rule_agrees_with_validator_at_its_edges() {
        for case in CASES {
            assert_eq!(is_valid(case), case.validate_email(), "{case:?}");
        }
        for (local, domain) in [(64, 10), (65, 10), (10, 63), (10, 64)] {
            let case = format!("{}@{}.com", "a".repeat(local), "b".repeat(domain));
            assert_eq!(is_valid(&case), case.validate_email(), "{case:?}");
        }
        let labels = vec!["a".repeat(63); 4].join(".");
        for domain in [&labels[..251], &labels[..253], &labels] {
            let case = format!("name@{domain}");
            assert_eq!(is_valid(&case), case.validate_email(), "{case:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(20_000))]

        /// Strings made of the characters the rule turns on.
        #[test]
        fn the_rule_agrees_with_validator(
            case in r"[a-zA-Z0-9@.\-\[\]:_ !+éü例]{0,24}",
        ) {
            proptest::prop_assert_eq!(is_valid(&case), case.validate_email(), "{:?}", case);
        }

        /// Shaped like addresses, so the domain's rules are reached.
        #[test]
        fn the_rule_agrees_with_validator_on_addresses(
            local in r"[a-z0-9.+\-é]{0,6}",
            domain in r"[a-z0-9.\-\[\]:é]{0,16}",
        ) {
            let case = format!("{local}@{domain}");
            proptest::prop_assert_eq!(is_valid(&case), case.validate_email(), "{:?}", case);
        }
    }
}
