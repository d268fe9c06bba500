//! Outbound requests to addresses strangers name (condition sources, webhooks): never to loopback,
//! private, link-local (cloud metadata), multicast or otherwise internal addresses unless the operator
//! allowed the range. The check runs on every address a connection actually uses (the resolver filters
//! what DNS answers, redirects are checked hop by hop), so DNS rebinding and redirects do not pass.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use url::Url;

/// Why an outbound request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The URL cannot be used (scheme, host).
    #[error("invalid URL: {0}")]
    BadUrl(String),
    /// The host is, or resolves only to, an address this node does not call.
    #[error("{host} is an internal address ({address}); this node does not call internal addresses")]
    Internal {
        /// The host as written.
        host: String,
        /// The refused address.
        address: IpAddr,
    },
    /// The host does not resolve.
    #[error("cannot resolve {0}")]
    Unresolved(String),
}

/// Which addresses outbound requests may reach: every public address, plus the ranges the operator
/// allowed (e.g. `127.0.0.0/8` for a local demo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// Public addresses only.
    pub fn public_only() -> Self {
        AddressPolicy::default()
    }

    /// Public addresses and these ranges.
    pub fn allowing(ranges: impl IntoIterator<Item = IpNet>) -> Self {
        AddressPolicy { allowed: ranges.into_iter().collect() }
    }

    /// Public addresses and loopback (`triggerx up`, whose demo serves its price on 127.0.0.1).
    pub fn with_loopback() -> Self {
        // Both literals are valid networks.
        let ranges = ["127.0.0.0/8", "::1/128"].iter().filter_map(|r| r.parse().ok());
        AddressPolicy::allowing(ranges)
    }

    /// True when a connection to `address` is allowed.
    pub fn permits(&self, address: IpAddr) -> bool {
        !is_internal(address) || self.allowed.iter().any(|range| range.contains(&address))
    }

    /// Checks what can be checked without DNS: the scheme, and a host written as an address or
    /// `localhost`.
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") {
            return Err(OutboundError::BadUrl(format!("scheme '{}' is not http(s) or ws(s)", url.scheme())));
        }
        let address = match url.host() {
            None => return Err(OutboundError::BadUrl("the URL has no host".into())),
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    return Ok(());
                }
            }
        };
        if self.permits(address) {
            Ok(())
        } else {
            Err(OutboundError::Internal { host: url.host_str().unwrap_or_default().to_string(), address })
        }
    }

    /// Resolves `host` and keeps the addresses this policy permits; an error when none is left.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| OutboundError::Unresolved(host.to_string()))?
            .collect();
        let refused = found.iter().find(|a| !self.permits(a.ip())).map(SocketAddr::ip);
        let permitted: Vec<SocketAddr> = found.into_iter().filter(|a| self.permits(a.ip())).collect();
        match (permitted.is_empty(), refused) {
            (false, _) => Ok(permitted),
            (true, Some(address)) => Err(OutboundError::Internal { host: host.to_string(), address }),
            (true, None) => Err(OutboundError::Unresolved(host.to_string())),
        }
    }

    /// A TCP connection to `url`'s host through this policy (for WebSocket sources).
    pub async fn connect(&self, url: &Url) -> Result<tokio::net::TcpStream, OutboundError> {
        self.check_url(url)?;
        let host = url.host_str().ok_or_else(|| OutboundError::BadUrl("the URL has no host".into()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        // The url crate knows the default ports of http(s) and ws(s); check_url allowed no other scheme.
        let port = url.port_or_known_default().unwrap_or(80);
        let mut last = OutboundError::Unresolved(host.to_string());
        for address in self.resolve(host, port).await? {
            match tokio::net::TcpStream::connect(address).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = OutboundError::BadUrl(format!("cannot connect to {host}: {}", e.kind())),
            }
        }
        Err(last)
    }

    /// `builder` finished as a client that obeys this policy: its resolver drops internal addresses,
    /// each redirect (at most 3) is checked, and no proxy from the environment is used (a proxy would
    /// resolve for us).
    pub fn client(&self, builder: reqwest::ClientBuilder) -> reqwest::Result<reqwest::Client> {
        let policy = Arc::new(self.clone());
        let redirects = policy.clone();
        builder
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 3 {
                    attempt.error("more than 3 redirects")
                } else if let Err(e) = redirects.check_url(attempt.url()) {
                    attempt.error(e)
                } else {
                    attempt.follow()
                }
            }))
            .build()
    }
}

/// reqwest's DNS step through the policy: a name that resolves only to internal addresses fails, and
/// internal addresses among public ones are dropped, at every connection (so rebinding cannot pass).
struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addresses = policy.resolve(name.as_str(), 0).await?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// Loopback, private, shared (CGNAT), link-local, multicast, documentation, benchmarking, reserved and
/// unspecified addresses, and IPv6 forms embedding one of them.
pub fn is_internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    v4.is_unspecified()
        || v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240
}

fn is_internal_v6(v6: Ipv6Addr) -> bool {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    let segments = v6.segments();
    // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form (::a.b.c.d) embed an IPv4 address.
    if (segments[0] == 0x64 && segments[1] == 0xff9b && segments[2..6].iter().all(|s| *s == 0))
        || (segments[..6].iter().all(|s| *s == 0) && !v6.is_loopback() && !v6.is_unspecified())
    {
        let [.., a, b] = segments;
        return is_internal_v4(Ipv4Addr::new((a >> 8) as u8, a as u8, (b >> 8) as u8, b as u8));
    }
    v6.is_unspecified()
        || v6.is_loopback()
        || v6.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "ff02::1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "172.32.0.1"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_naming_internal_hosts_are_refused_unless_allowed() {
        let policy = AddressPolicy::public_only();
        for url in [
            "http://127.0.0.1:9002/api/health",
            "http://localhost/x",
            "http://[::1]:80/",
            "http://169.254.169.254/latest/meta-data/",
            "http://2130706433/",
            "http://0x7f.1/",
            "ws://10.0.0.1/feed",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert!(matches!(policy.check_url(&parsed), Err(OutboundError::Internal { .. })), "{url}");
        }
        assert!(policy.check_url(&Url::parse("https://api.example.com/price").unwrap()).is_ok());
        assert!(policy.check_url(&Url::parse("file:///etc/passwd").unwrap()).is_err());
        let demo = AddressPolicy::with_loopback();
        assert!(demo.check_url(&Url::parse("http://127.0.0.1:9002/").unwrap()).is_ok());
        assert!(demo.check_url(&Url::parse("http://169.254.169.254/").unwrap()).is_err());
    }
}
