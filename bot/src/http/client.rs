//! Who sent a request. Behind a TLS proxy every peer is the proxy, so the address a proxy names in
//! `http.client_ip_header` is believed — but only when the peer is one of `http.trusted_proxies`;
//! anyone else could write that header too.

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::AppState;

/// The client a request came from: the peer, or the client a trusted proxy named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(pub IpAddr);

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // The server always inserts the peer; a router driven without it (a unit test) has none.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(state.proxies.client(peer, &parts.headers))
    }
}

/// An address or a CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `10.0.0.0/8`, `::1`, `fd00::/8` or `192.0.2.7`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or a CIDR range such as 10.0.0.0/8"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}` has a prefix length outside 0–{max}"))?,
        };
        Ok(Self { addr, prefix })
    }

    /// True when `ip` is inside the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32) == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128) == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, prefix: u8, width: u32) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let host_bits = width - u32::from(prefix);
    bits >> host_bits
}

/// `::ffff:192.0.2.7` as `192.0.2.7`: a dual-stack listener reports IPv4 peers that way.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The configured trusted proxies and the header they name clients in.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<Network>,
    header: String,
}

impl TrustedProxies {
    /// From `http.trusted_proxies` and `http.client_ip_header`; an entry that does not parse is
    /// skipped here (`check-config` refuses it before the bot starts).
    pub fn new(entries: &[String], header: &str) -> Self {
        Self {
            networks: entries.iter().filter_map(|e| Network::parse(e).ok()).collect(),
            header: header.trim().to_ascii_lowercase(),
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy, else the right-most
    /// address in the header that is not a trusted proxy (every proxy appends the peer it saw, so
    /// only the entries our own proxies added can be believed). A header that does not parse leaves
    /// the proxy as the client.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> Client {
        let peer = canonical(peer);
        if self.header.is_empty() || !self.trusted(peer) {
            return Client(peer);
        }
        let mut client = peer;
        for value in headers.get_all(self.header.as_str()).iter().rev() {
            let Ok(text) = value.to_str() else {
                return Client(client);
            };
            for entry in text.rsplit(',') {
                let Some(ip) = parse_entry(entry) else {
                    return Client(client);
                };
                client = ip;
                if !self.trusted(ip) {
                    return Client(ip);
                }
            }
        }
        Client(client)
    }
}

/// One `X-Forwarded-For` entry: `192.0.2.7`, `2001:db8::1`, `[2001:db8::1]:443` or `192.0.2.7:443`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    entry.parse::<SocketAddr>().ok().map(|addr| canonical(addr.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().expect("header"));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn networks_parse_and_match() {
        let net = Network::parse("10.0.0.0/8").expect("parse");
        assert!(net.contains(ip("10.200.1.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped counts as IPv4");
        let one = Network::parse("::1").expect("parse");
        assert!(one.contains(ip("::1")));
        assert!(!one.contains(ip("::2")));
        assert!(Network::parse("fd00::/8").expect("parse").contains(ip("fd12::1")));
        assert!(Network::parse("0.0.0.0/0").expect("parse").contains(ip("198.51.100.1")));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("proxy.local").is_err());
    }

    #[test]
    fn the_header_is_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::new(&["127.0.0.1".into(), "10.0.0.0/8".into()], "X-Forwarded-For");
        let forwarded = headers(&["198.51.100.7, 10.0.0.2"]);
        // From a trusted proxy: skip our own proxies from the right, the next one is the client.
        assert_eq!(proxies.client(ip("127.0.0.1"), &forwarded), Client(ip("198.51.100.7")));
        // From anyone else: the header is the sender's word only.
        assert_eq!(proxies.client(ip("203.0.113.9"), &forwarded), Client(ip("203.0.113.9")));
        // A client cannot hide behind an address it prepends itself.
        let spoofed = headers(&["1.2.3.4, 198.51.100.7"]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &spoofed), Client(ip("198.51.100.7")));
        // Several header lines read as one list.
        let split = headers(&["1.2.3.4", "198.51.100.8:5555"]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &split), Client(ip("198.51.100.8")));
        // Garbage leaves the proxy as the client; no header at all, too.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &headers(&["nonsense"])),
            Client(ip("127.0.0.1"))
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &HeaderMap::new()),
            Client(ip("127.0.0.1"))
        );
        // Nothing trusted: the peer, always.
        let none = TrustedProxies::new(&[], "x-forwarded-for");
        assert_eq!(none.client(ip("127.0.0.1"), &forwarded), Client(ip("127.0.0.1")));
    }
}
