//! Which client a request comes from (SPEC §6.5): its peer address, or — when the peer is one of
//! the `TRUSTED_PROXIES` — the nearest untrusted hop its `Forwarded` (RFC 7239 `for=`) or
//! `X-Forwarded-For` header names. The sign-in throttle counts by it ([`ClientAddress`]); the accept
//! loop, which reads no header, only asks whether a peer is a trusted proxy.
//!
//! The headers are read from the right: each proxy appends the address it got the request from,
//! so the entries right of the nearest untrusted hop were written by proxies we trust and
//! everything left of it is whatever the client chose to send (never believed). A request is
//! attributed to its peer whenever the headers do not name an untrusted address plainly:
//! - the peer is not trusted (a client's own `X-Forwarded-For` changes nothing);
//! - neither header is present, or one is malformed (bad syntax, not ASCII);
//! - the nearest untrusted hop names no address (`unknown`, an obfuscated `_identifier`, an
//!   element without `for=`, garbage);
//! - both headers are present and name different clients: a proxy that appends to one header
//!   passes the other through from the client untouched, so their disagreement means one of them
//!   is the client's invention.
//!
//! Falling back to the peer is the safe side: behind a proxy that always sets the header, only
//! requests with forged or broken headers share the proxy's address, never a rightful user's.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderName};
use ipnet::IpNet;

/// The peers whose forwarding headers are believed (`TRUSTED_PROXIES`); empty: none, the peer
/// address always counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// These ranges (a single address is its /32 or /128).
    pub fn new(ranges: Vec<IpNet>) -> Self {
        Self(ranges.into())
    }

    /// Whether `ip` is in one of the ranges (an IPv4-mapped IPv6 address as its IPv4 address too).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        self.0
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
    }

    /// No proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ranges, as configured.
    pub fn ranges(&self) -> &[IpNet] {
        &self.0
    }
}

const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The address `headers` name for a request from `peer` (see the module's description).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let forwarded = hops(headers, &FORWARDED, forwarded_hops);
    let x_forwarded_for = hops(headers, &X_FORWARDED_FOR, x_forwarded_for_hops);
    let named = match (forwarded, x_forwarded_for) {
        (Ok(Some(one)), Ok(None)) | (Ok(None), Ok(Some(one))) => nearest_untrusted(&one, trusted),
        (Ok(Some(a)), Ok(Some(b))) => {
            let (a, b) = (
                nearest_untrusted(&a, trusted),
                nearest_untrusted(&b, trusted),
            );
            if a == b {
                a
            } else {
                None
            }
        }
        // Neither header, or a malformed one.
        _ => None,
    };
    named.unwrap_or(peer)
}

/// The address as the throttle counts it: an IPv6 client as its /64, the block one subscriber
/// gets (otherwise every guess could come from a fresh address).
pub fn throttle_form(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V6(ip) => {
            let s = ip.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        ip => ip.to_string(),
    }
}

/// The client a request is attributed to, in [`throttle_form`] (`unknown` when it was not served
/// over a socket).
pub fn client_address(
    extensions: &Extensions,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| throttle_form(client_ip(addr.ip(), headers, trusted)))
        .unwrap_or_else(|| "unknown".into())
}

/// Extractor: the request's [`client_address`] under this server's `TRUSTED_PROXIES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress
where
    TrustedProxies: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        Ok(Self(client_address(
            &parts.extensions,
            &parts.headers,
            &TrustedProxies::from_ref(state),
        )))
    }
}

/// One hop of a forwarding header: its address, or `None` when it names none.
type Hop = Option<IpAddr>;

/// A header that cannot be read as its grammar says.
#[derive(Debug, PartialEq, Eq)]
struct Malformed;

/// Walks from the right past the trusted hops; the first other one, if it names an address. When
/// every hop is trusted, the farthest of them is the client.
fn nearest_untrusted(hops: &[Hop], trusted: &TrustedProxies) -> Option<IpAddr> {
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if trusted.contains(*ip) => continue,
            Some(ip) => return Some(*ip),
            None => return None,
        }
    }
    hops.first().copied().flatten()
}

/// The hops of every `name` header field, in order (several fields are one comma-separated list);
/// `None` when there is none (or only empty ones).
fn hops(
    headers: &HeaderMap,
    name: &HeaderName,
    parse: fn(&str) -> Result<Vec<Hop>, Malformed>,
) -> Result<Option<Vec<Hop>>, Malformed> {
    let mut all = Vec::new();
    let mut any = false;
    for value in headers.get_all(name) {
        any = true;
        let value = value.to_str().map_err(|_| Malformed)?;
        all.extend(parse(value)?);
    }
    Ok((any && !all.is_empty()).then_some(all))
}

/// `X-Forwarded-For: client, proxy1, proxy2`: addresses, with or without a port (`[v6]:port`,
/// `v4:port`, as some proxies write them). Empty entries are skipped; anything else names no
/// address.
fn x_forwarded_for_hops(value: &str) -> Result<Vec<Hop>, Malformed> {
    Ok(value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(node_address)
        .collect())
}

/// RFC 7239 `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"`: the `for=`
/// node of each element (an element without one names no address). Strict: a pair must be
/// `token=token` or `token="quoted string"`, a parameter at most once per element; anything else
/// makes the whole header malformed, so a client's unbalanced quote can never swallow the entries
/// proxies append after it.
fn forwarded_hops(value: &str) -> Result<Vec<Hop>, Malformed> {
    let mut hops = Vec::new();
    let mut rest = value;
    loop {
        let mut names: Vec<String> = Vec::new();
        let mut node: Hop = None;
        // One element: pairs separated by `;` (empty pairs allowed), ended by `,` or the end.
        let ended = loop {
            rest = rest.trim_start_matches([' ', '\t']);
            if let Some(after) = rest.strip_prefix(';') {
                rest = after;
                continue;
            }
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
                break false;
            }
            if rest.is_empty() {
                break true;
            }
            let name_len = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
            if name_len == 0 {
                return Err(Malformed);
            }
            let name = rest[..name_len].to_ascii_lowercase();
            let after_name = rest[name_len..].strip_prefix('=').ok_or(Malformed)?;
            let (value, after_value) = if after_name.starts_with('"') {
                quoted_string(after_name)?
            } else {
                let len = after_name
                    .find(|c: char| !is_tchar(c))
                    .unwrap_or(after_name.len());
                if len == 0 {
                    return Err(Malformed);
                }
                (after_name[..len].to_owned(), &after_name[len..])
            };
            if names.contains(&name) {
                return Err(Malformed);
            }
            if name == "for" {
                node = node_address(&value);
            }
            names.push(name);
            rest = after_value.trim_start_matches([' ', '\t']);
            if !(rest.is_empty() || rest.starts_with(';') || rest.starts_with(',')) {
                return Err(Malformed);
            }
        };
        // An element with no pair at all (`a, , b`) is an empty list entry, not a hop.
        if !names.is_empty() {
            hops.push(node);
        }
        if ended {
            return Ok(hops);
        }
    }
}

/// RFC 7230 `tchar`: the characters of a token.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// A quoted string at the start of `s` (which begins with `"`): its unescaped content and what
/// follows it.
fn quoted_string(s: &str) -> Result<(String, &str), Malformed> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) if escaped == '\t' || (' '..='~').contains(&escaped) => {
                    out.push(escaped);
                }
                _ => return Err(Malformed),
            },
            c if c == '\t' || (' '..='~').contains(&c) => out.push(c),
            _ => return Err(Malformed),
        }
    }
    Err(Malformed)
}

/// The address a node names: `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]`, `[2001:db8::1]:443`
/// (a port, numeric or obfuscated, is ignored), a bare IPv6 address; `None` for `unknown`, an
/// obfuscated `_identifier` or anything else.
fn node_address(node: &str) -> Hop {
    let node = node.trim();
    let ip = if let Some(bracketed) = node.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']')?;
        if !(after.is_empty() || after.len() > 1 && after.starts_with(':')) {
            return None;
        }
        IpAddr::V6(inside.parse::<Ipv6Addr>().ok()?)
    } else if let Ok(ip) = node.parse::<IpAddr>() {
        ip
    } else {
        let (host, port) = node.split_once(':')?;
        if port.is_empty() || port.contains(':') {
            return None;
        }
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn trusted(ranges: &[&str]) -> TrustedProxies {
        TrustedProxies::new(ranges.iter().map(|r| r.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    const PROXY: &str = "10.0.0.2";

    /// The client of a request from the proxy at 10.0.0.2 (trusted: 10.0.0.0/8) with `pairs`.
    fn via_proxy(pairs: &[(&str, &str)]) -> String {
        client_ip(
            PROXY.parse().unwrap(),
            &headers(pairs),
            &trusted(&["10.0.0.0/8"]),
        )
        .to_string()
    }

    fn xff(value: &str) -> String {
        via_proxy(&[("x-forwarded-for", value)])
    }

    fn fwd(value: &str) -> String {
        via_proxy(&[("forwarded", value)])
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.7"),
        ]);
        let peer: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(peer, &h, &TrustedProxies::default()), peer);
        // A peer outside the trusted ranges: the same.
        assert_eq!(client_ip(peer, &h, &trusted(&["10.0.0.0/8"])), peer);
        let v6: IpAddr = "2001:db8::5".parse().unwrap();
        assert_eq!(client_ip(v6, &h, &trusted(&["10.0.0.0/8"])), v6);
    }

    #[test]
    fn a_trusted_peers_header_names_the_client() {
        assert_eq!(xff("203.0.113.7"), "203.0.113.7");
        assert_eq!(fwd("for=203.0.113.7"), "203.0.113.7");
        assert_eq!(
            fwd("For=203.0.113.7;proto=https;by=10.0.0.2"),
            "203.0.113.7"
        );
        assert_eq!(fwd("for=\"203.0.113.7:4711\""), "203.0.113.7");
        // An IPv4-mapped IPv6 peer is its IPv4 address.
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            client_ip(
                "::ffff:10.0.0.2".parse().unwrap(),
                &h,
                &trusted(&["10.0.0.0/8"])
            )
            .to_string(),
            "203.0.113.7"
        );
        // An IPv6 proxy range.
        assert_eq!(
            client_ip(
                "fd00::1".parse().unwrap(),
                &h,
                &trusted(&["10.0.0.0/8", "fd00::/8"])
            )
            .to_string(),
            "203.0.113.7"
        );
    }

    #[test]
    fn ipv6_in_brackets_with_a_port_and_bare() {
        assert_eq!(fwd("for=\"[2001:db8:cafe::17]:4711\""), "2001:db8:cafe::17");
        assert_eq!(fwd("for=\"[2001:db8:cafe::17]\""), "2001:db8:cafe::17");
        assert_eq!(
            fwd("for=\"[2001:db8:cafe::17]:_obfport\""),
            "2001:db8:cafe::17"
        );
        assert_eq!(xff("[2001:db8::9]:443"), "2001:db8::9");
        assert_eq!(xff("2001:db8::9"), "2001:db8::9");
        assert_eq!(xff("203.0.113.7:51234"), "203.0.113.7");
        assert_eq!(xff("::ffff:203.0.113.7"), "203.0.113.7");
        // Unquoted brackets are not a token: the header is malformed, the proxy is the client.
        assert_eq!(fwd("for=[2001:db8:cafe::17]"), PROXY);
        // Broken brackets name nothing.
        assert_eq!(xff("[2001:db8::9"), PROXY);
        assert_eq!(xff("[2001:db8::9]443"), PROXY);
        assert_eq!(xff("[203.0.113.7]"), PROXY);
        assert_eq!(xff("2001:db8::9:"), PROXY);
    }

    #[test]
    fn the_nearest_untrusted_hop_from_the_right_wins_over_spoofed_leftmost_entries() {
        // The client sent its own header; the proxy appended the address it saw.
        assert_eq!(xff("1.1.1.1, 203.0.113.7"), "203.0.113.7");
        assert_eq!(xff("1.1.1.1,2.2.2.2,  203.0.113.7"), "203.0.113.7");
        assert_eq!(
            fwd("for=1.1.1.1, for=2.2.2.2;proto=http, for=203.0.113.7"),
            "203.0.113.7"
        );
        // Several trusted proxies in a row are skipped.
        assert_eq!(
            xff("1.1.1.1, 203.0.113.7, 10.1.2.3, 10.9.9.9"),
            "203.0.113.7"
        );
        // A spoofed entry that pretends to be a trusted proxy does not help, it is left of the
        // untrusted hop the proxy wrote.
        assert_eq!(xff("10.0.0.1, 203.0.113.7"), "203.0.113.7");
        // Every hop trusted: the farthest is the client.
        assert_eq!(xff("10.4.4.4, 10.9.9.9"), "10.4.4.4");
    }

    #[test]
    fn several_header_fields_are_one_list_in_order() {
        assert_eq!(
            via_proxy(&[
                ("x-forwarded-for", "1.1.1.1"),
                ("x-forwarded-for", "203.0.113.7, 10.1.1.1"),
            ]),
            "203.0.113.7"
        );
        assert_eq!(
            via_proxy(&[
                ("forwarded", "for=1.1.1.1"),
                ("forwarded", "for=203.0.113.7")
            ]),
            "203.0.113.7"
        );
    }

    #[test]
    fn many_hops() {
        let mut list: Vec<String> = (0..2_000)
            .map(|i| format!("10.{}.{}.1", i / 250, i % 250))
            .collect();
        assert_eq!(
            xff(&list.join(", ")),
            "10.0.0.1",
            "all trusted: the farthest"
        );
        list.insert(1_000, "203.0.113.7".into());
        assert_eq!(xff(&list.join(", ")), "203.0.113.7");
        let forwarded: Vec<String> = list.iter().map(|a| format!("for={a}")).collect();
        assert_eq!(fwd(&forwarded.join(", ")), "203.0.113.7");
    }

    #[test]
    fn unknown_and_obfuscated_hops_name_no_address() {
        assert_eq!(fwd("for=unknown"), PROXY);
        assert_eq!(fwd("for=_hidden"), PROXY);
        assert_eq!(fwd("for=\"_gazonk\""), PROXY);
        assert_eq!(fwd("for=203.0.113.7, for=unknown"), PROXY, "not skipped");
        assert_eq!(fwd("for=203.0.113.7, for=_abc, for=10.1.1.1"), PROXY);
        assert_eq!(fwd("proto=https;by=10.0.0.2"), PROXY, "no for=");
        assert_eq!(xff("unknown"), PROXY);
        assert_eq!(xff("203.0.113.7, unknown"), PROXY);
        // An unknown hop left of the nearest untrusted one changes nothing.
        assert_eq!(fwd("for=unknown, for=203.0.113.7"), "203.0.113.7");
        assert_eq!(xff("garbage, 203.0.113.7"), "203.0.113.7");
    }

    #[test]
    fn garbage_falls_back_to_the_peer() {
        for value in [
            "",
            " ",
            ",,,",
            "not-an-address",
            "203.0.113.7 203.0.113.8",
            "999.1.1.1",
            "203.0.113.7/24",
            "fe80::1%eth0",
            "203.0.113.7:",
            "203.0.113.7:80:80",
        ] {
            assert_eq!(xff(value), PROXY, "{value:?}");
        }
        for value in [
            "",
            "for",
            "for=",
            "=203.0.113.7",
            "for =203.0.113.7",
            "for= 203.0.113.7",
            "for=203.0.113.7 junk",
            "for=\"203.0.113.7",
            "for=\"203.0.113.7\"x",
            "for=203.0.113.7;for=203.0.113.8",
            "for=203.0.113.7;;by=\"\\",
            "for=\"[2001:db8::1]\";by=\"[",
            // A client's unbalanced quote swallowing the proxy's entry: malformed, not the spoof.
            "for=\"1.1.1.1, for=203.0.113.7",
            "for=1.1.1.1\", for=203.0.113.7",
        ] {
            assert_eq!(fwd(value), PROXY, "{value:?}");
        }
        // Not ASCII: the header is malformed.
        let mut h = HeaderMap::new();
        h.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(b"203.0.113.7, \xff").unwrap(),
        );
        assert_eq!(
            client_ip(PROXY.parse().unwrap(), &h, &trusted(&["10.0.0.0/8"])).to_string(),
            PROXY
        );
    }

    #[test]
    fn quoted_strings_and_empty_pairs_follow_the_rfc() {
        // A balanced quoted string may hold commas and semicolons; empty pairs and elements are
        // allowed by the list grammar.
        assert_eq!(
            fwd("for=1.1.1.1;ext=\"a, b; c\", for=203.0.113.7"),
            "203.0.113.7"
        );
        assert_eq!(fwd("for=\"203.0.113.\\7\""), "203.0.113.7", "a quoted pair");
        assert_eq!(fwd(";for=203.0.113.7;;proto=http;"), "203.0.113.7");
        assert_eq!(fwd("for=1.1.1.1, , for=203.0.113.7 ,"), "203.0.113.7");
    }

    #[test]
    fn both_headers_must_agree() {
        // A proxy writing both: they agree.
        assert_eq!(
            via_proxy(&[
                ("forwarded", "for=203.0.113.7"),
                ("x-forwarded-for", "203.0.113.7")
            ]),
            "203.0.113.7"
        );
        // A proxy appending to X-Forwarded-For passes a client's own Forwarded through: they
        // disagree, and the client does not get to pick.
        assert_eq!(
            via_proxy(&[
                ("forwarded", "for=1.2.3.4"),
                ("x-forwarded-for", "203.0.113.7")
            ]),
            PROXY
        );
        // One of them malformed: the peer.
        assert_eq!(
            via_proxy(&[("forwarded", "for=\"x"), ("x-forwarded-for", "203.0.113.7")]),
            PROXY
        );
        // An empty one is as good as absent.
        assert_eq!(
            via_proxy(&[("forwarded", ""), ("x-forwarded-for", "203.0.113.7")]),
            "203.0.113.7"
        );
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64_block() {
        let of = |addr: &str, header: Option<&str>| {
            let mut extensions = Extensions::new();
            extensions.insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
            let h = header.map_or_else(HeaderMap::new, |v| headers(&[("x-forwarded-for", v)]));
            client_address(&extensions, &h, &trusted(&["10.0.0.0/8"]))
        };
        assert_eq!(of("[2001:db8:1:2:aaaa::1]:443", None), "2001:db8:1:2::/64");
        assert_eq!(of("[2001:db8:1:2:bbbb::9]:80", None), "2001:db8:1:2::/64");
        assert_eq!(of("[::ffff:192.0.2.7]:80", None), "192.0.2.7");
        assert_eq!(of("198.51.100.1:1", None), "198.51.100.1");
        // Behind the proxy, the named client's block.
        assert_eq!(
            of("10.0.0.2:5000", Some("[2001:db8:1:2:cccc::1]:443")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(of("10.0.0.2:5000", Some("192.0.2.9")), "192.0.2.9");
        assert_eq!(
            client_address(&Extensions::new(), &HeaderMap::new(), &trusted(&[])),
            "unknown"
        );
    }

    #[test]
    fn ranges_hold_their_addresses() {
        let t = trusted(&["10.0.0.0/8", "127.0.0.1/32", "2001:db8::/32"]);
        for inside in [
            "10.255.0.1",
            "127.0.0.1",
            "2001:db8:ffff::1",
            "::ffff:10.1.1.1",
        ] {
            assert!(t.contains(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["11.0.0.1", "127.0.0.2", "2001:db9::1", "::1"] {
            assert!(!t.contains(outside.parse().unwrap()), "{outside}");
        }
        assert!(TrustedProxies::default().is_empty());
        assert!(!TrustedProxies::default().contains("127.0.0.1".parse().unwrap()));
    }
}
