//! Who sent a request, for its rate limit: API Gateway's `sourceIp`, or,
//! when a CDN in front is configured (`CLIENT_ADDRESS_HEADER`), the address
//! that CDN put in its header. A header the client can set itself is never
//! read otherwise: it would let anyone choose whose allowance they spend.

use std::net::IpAddr;

/// The header the CDN sets (a custom origin header) to prove a request
/// came through it.
pub const CDN_SECRET_HEADER: &str = "x-frontdesk-cdn-secret";

/// Whether `sent` is the CDN's secret, compared in constant time (for
/// secrets of one length).
pub fn from_the_cdn(sent: Option<&str>, secret: &str) -> bool {
    let Some(sent) = sent else { return false };
    sent.len() == secret.len()
        && sent
            .bytes()
            .zip(secret.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The client's address in a CDN's header: its last comma-separated entry
/// (what the CDN appended, after anything the client sent), with a port
/// when it ends in one (`203.0.113.5:46532`, `[2001:db8::1]:443`, or
/// CloudFront's `2001:db8::1:46532`, which always carries one: the port is
/// taken off first, so that it is never read as the address's last group).
/// `None` when that entry is no address.
pub fn from_header(value: &str) -> Option<IpAddr> {
    let last = value.rsplit(',').next()?.trim();
    if let Some(rest) = last.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse().ok();
    }
    if let Some((ip, port)) = last.rsplit_once(':') {
        if port.parse::<u16>().is_ok() {
            if let Ok(ip) = ip.parse() {
                return Some(ip);
            }
        }
    }
    last.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_entry_is_the_cdns_and_a_port_is_dropped() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(from_header("203.0.113.5"), ip("203.0.113.5"));
        assert_eq!(from_header("203.0.113.5:46532"), ip("203.0.113.5"));
        assert_eq!(from_header("198.51.100.1, 203.0.113.5"), ip("203.0.113.5"));
        assert_eq!(from_header("2001:db8::1:46532"), ip("2001:db8::1"));
        // CloudFront's port is never read as the address's last group.
        assert_eq!(
            from_header("2001:db8::1:2:3:4:443"),
            ip("2001:db8::1:2:3:4")
        );
        assert_eq!(from_header("[2001:db8::1]:443"), ip("2001:db8::1"));
        for bad in [
            "",
            "unknown",
            "203.0.113.5:http",
            "203.0.113.5, ",
            "[2001:db8::1",
        ] {
            assert_eq!(from_header(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_the_cdns_own_secret_proves_a_request_came_through_it() {
        let secret = "s".repeat(32);
        assert!(from_the_cdn(Some(&secret), &secret));
        let (other, longer) = ("t".repeat(32), "s".repeat(33));
        for sent in [
            None,
            Some(""),
            Some("s"),
            Some(other.as_str()),
            Some(longer.as_str()),
        ] {
            assert!(!from_the_cdn(sent, &secret), "{sent:?}");
        }
    }
}
