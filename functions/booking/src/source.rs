//! Who sent a request, for its rate limit: API Gateway's `sourceIp`, or,
//! when a CDN in front is configured (`CLIENT_ADDRESS_HEADER`), the address
//! that CDN put in its header. A header the client can set itself is never
//! read otherwise: it would let anyone choose whose allowance they spend.

use std::net::IpAddr;

/// The client's address in a CDN's header: its last comma-separated entry
/// (what the CDN appended, after anything the client sent), with an
/// optional port (`203.0.113.5:46532`, `[2001:db8::1]:443`, or CloudFront's
/// `2001:db8::1:46532`). `None` when that entry is no address.
pub fn from_header(value: &str) -> Option<IpAddr> {
    let last = value.rsplit(',').next()?.trim();
    if let Ok(ip) = last.parse() {
        return Some(ip);
    }
    if let Some(rest) = last.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse().ok();
    }
    let (ip, port) = last.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse().ok()
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
        assert_eq!(from_header("2001:db8::1"), ip("2001:db8::1"));
        assert_eq!(from_header("2001:db8::1:46532"), ip("2001:db8::1"));
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
}
