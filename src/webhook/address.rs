//! Address policy for webhook receivers: which IP addresses and host names
//! the notifier may connect to.
//!
//! Everything here is pure. The submit-time check in the job manager, the
//! check before each attempt in the notifier and the DNS resolver in
//! [`super::resolver`] apply these rules.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

/// Policy on the receiver addresses that webhooks may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AddressPolicy {
    /// Public, private and loopback addresses, because receivers such as
    /// local editor extensions listen on loopback. Link-local, cloud metadata,
    /// unspecified, broadcast and multicast addresses are rejected.
    #[default]
    Default,
    /// Public addresses only, for a server that runs jobs for other people.
    Strict,
}

/// Reason an address was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionReason {
    Unspecified,
    Broadcast,
    Multicast,
    /// 169.254.0.0/16 or fe80::/10, where cloud platforms serve instance
    /// metadata and credentials at 169.254.169.254.
    LinkLocal,
    /// A metadata service outside the link-local ranges, such as
    /// 100.100.100.200 (Alibaba Cloud) or fd00:ec2::254 (Amazon EC2 over IPv6).
    CloudMetadata,
    Loopback,
    /// 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918).
    Private,
    /// 100.64.0.0/10, the carrier-grade NAT range (RFC 6598).
    SharedAddressSpace,
    /// fc00::/7 (RFC 4193).
    UniqueLocal,
    /// fec0::/10, deprecated by RFC 3879.
    SiteLocal,
    Documentation,
    Benchmarking,
    /// Any other special-purpose or unallocated range, such as 0.0.0.0/8,
    /// 240.0.0.0/4 or an IPv6 address outside 2000::/3.
    Reserved,
}

impl RejectionReason {
    /// Returns true for reasons that only the strict policy rejects.
    pub fn is_strict_only(self) -> bool {
        !matches!(
            self,
            Self::Unspecified
                | Self::Broadcast
                | Self::Multicast
                | Self::LinkLocal
                | Self::CloudMetadata
        )
    }

    fn description(self) -> &'static str {
        match self {
            Self::Unspecified => "the unspecified address",
            Self::Broadcast => "the broadcast address",
            Self::Multicast => "a multicast address",
            Self::LinkLocal => "a link-local / cloud metadata address",
            Self::CloudMetadata => "a cloud metadata address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private (RFC 1918) address",
            Self::SharedAddressSpace => "a carrier-grade NAT (100.64.0.0/10) address",
            Self::UniqueLocal => "a unique local (fc00::/7) address",
            Self::SiteLocal => "a site-local (fec0::/10) address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved or special-purpose address",
        }
    }
}

/// Appended to messages about addresses that only the strict policy rejects.
const STRICT_NOTE: &str = " (the strict address policy allows only public addresses)";

/// An address the policy rejects, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRejection {
    pub address: IpAddr,
    /// IPv4 address embedded in an IPv6 `address` (IPv4-mapped, NAT64, 6to4,
    /// Teredo and similar forms) whose rules rejected it.
    pub embedded: Option<Ipv4Addr>,
    pub reason: RejectionReason,
}

impl fmt::Display for AddressRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let description = self.reason.description();
        match self.embedded {
            Some(ipv4) => write!(
                f,
                "{} embeds the IPv4 address {ipv4}, which is {description}",
                self.address
            )?,
            None => write!(f, "{} is {description}", self.address)?,
        }
        if self.reason.is_strict_only() {
            f.write_str(STRICT_NOTE)?;
        }
        Ok(())
    }
}

impl std::error::Error for AddressRejection {}

/// Checks whether webhooks may connect to `address` under `policy`.
///
/// IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible,
/// IPv4-translated, NAT64, 6to4 and Teredo) are also judged by the IPv4 rules
/// for the embedded address, because traffic to them reaches that address.
pub fn check(policy: AddressPolicy, address: IpAddr) -> Result<(), AddressRejection> {
    match address {
        IpAddr::V4(ipv4) => check_ipv4(policy, ipv4).map_err(|reason| AddressRejection {
            address,
            embedded: None,
            reason,
        }),
        IpAddr::V6(ipv6) => check_ipv6(policy, ipv6),
    }
}

/// Checks a webhook URL at submission. The scheme must be `http` or `https`
/// and the URL must carry no credentials. An IP address host must pass the
/// policy, and a host name must not be a cloud metadata host name.
///
/// Host names that resolve to a rejected address pass here, and the resolver
/// rejects them when a delivery is attempted.
pub fn check_url(policy: AddressPolicy, url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "webhook_url {:?} is not allowed: scheme {:?} is not supported; use http or https",
            url.as_str(),
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "webhook_url {:?} is not allowed: credentials in the URL are not supported; \
             authenticate the receiver through the webhook signature instead",
            url.as_str()
        ));
    }
    check_host(policy, url)
        .map_err(|reason| format!("webhook_url {:?} is not allowed: {reason}", url.as_str()))
}

/// Checks the host of a webhook URL right before a delivery attempt.
///
/// The client does not call its DNS resolver for a URL whose host is an IP
/// address, so the resolver's filter never checks those addresses. This check
/// covers them. It also rejects cloud metadata host names, and, under
/// the strict policy, `localhost` names.
pub fn check_before_send(policy: AddressPolicy, url: &Url) -> Result<(), String> {
    check_host(policy, url).map_err(|reason| format!("webhook not sent: {reason}"))
}

/// Host names that resolve to a cloud metadata service: `metadata` and
/// `metadata.google.internal` on Google Cloud.
const METADATA_HOST_NAMES: &[&str] = &["metadata", "metadata.google.internal"];

fn check_host(policy: AddressPolicy, url: &Url) -> Result<(), String> {
    let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
        return Err("the URL has no host".to_string());
    };
    match host_ip_address(host) {
        Some(address) => check(policy, address).map_err(|rejection| rejection.to_string()),
        None => check_host_name(policy, host),
    }
}

/// Parses the host of a parsed URL as an IP address. The `url` crate has
/// already turned every IPv4 spelling (decimal, octal, hexadecimal, fewer
/// than four parts) into dotted decimal, and keeps IPv6 in brackets.
fn host_ip_address(host: &str) -> Option<IpAddr> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

fn check_host_name(policy: AddressPolicy, host: &str) -> Result<(), String> {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if METADATA_HOST_NAMES.contains(&name.as_str()) {
        return Err(format!("{host} is a cloud metadata host name"));
    }
    // RFC 6761 reserves `localhost` and its subdomains for loopback addresses.
    if policy == AddressPolicy::Strict && (name == "localhost" || name.ends_with(".localhost")) {
        return Err(format!("{host} is a loopback host name{STRICT_NOTE}"));
    }
    Ok(())
}

/// Ranges rejected under every policy, checked first.
#[rustfmt::skip]
const ALWAYS_REJECTED_IPV4: &[(Ipv4Addr, u8, RejectionReason)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 32, RejectionReason::Unspecified),
    (Ipv4Addr::new(255, 255, 255, 255), 32, RejectionReason::Broadcast),
    (Ipv4Addr::new(224, 0, 0, 0), 4, RejectionReason::Multicast),
    (Ipv4Addr::new(169, 254, 0, 0), 16, RejectionReason::LinkLocal),
    (Ipv4Addr::new(100, 100, 100, 200), 32, RejectionReason::CloudMetadata),
];

/// Ranges that are not publicly routable, rejected by the strict policy.
/// Sources: the IANA IPv4 Special-Purpose Address Registry and RFC 1918.
#[rustfmt::skip]
const NON_PUBLIC_IPV4: &[(Ipv4Addr, u8, RejectionReason)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, RejectionReason::Reserved),
    (Ipv4Addr::new(127, 0, 0, 0), 8, RejectionReason::Loopback),
    (Ipv4Addr::new(10, 0, 0, 0), 8, RejectionReason::Private),
    (Ipv4Addr::new(172, 16, 0, 0), 12, RejectionReason::Private),
    (Ipv4Addr::new(192, 168, 0, 0), 16, RejectionReason::Private),
    (Ipv4Addr::new(100, 64, 0, 0), 10, RejectionReason::SharedAddressSpace),
    (Ipv4Addr::new(192, 0, 0, 0), 24, RejectionReason::Reserved),
    (Ipv4Addr::new(192, 0, 2, 0), 24, RejectionReason::Documentation),
    (Ipv4Addr::new(198, 51, 100, 0), 24, RejectionReason::Documentation),
    (Ipv4Addr::new(203, 0, 113, 0), 24, RejectionReason::Documentation),
    (Ipv4Addr::new(198, 18, 0, 0), 15, RejectionReason::Benchmarking),
    // The former 6to4 relay anycast range, deprecated by RFC 7526.
    (Ipv4Addr::new(192, 88, 99, 0), 24, RejectionReason::Reserved),
    (Ipv4Addr::new(240, 0, 0, 0), 4, RejectionReason::Reserved),
];

/// Ranges rejected under every policy, checked before any embedded IPv4.
#[rustfmt::skip]
const ALWAYS_REJECTED_IPV6: &[(Ipv6Addr, u8, RejectionReason)] = &[
    (Ipv6Addr::UNSPECIFIED, 128, RejectionReason::Unspecified),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, RejectionReason::Multicast),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, RejectionReason::LinkLocal),
    (Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254), 128, RejectionReason::CloudMetadata),
];

/// Ranges that are not publicly routable, rejected by the strict policy.
/// Sources: the IANA IPv6 Special-Purpose Address Registry, RFC 9637 for
/// 3fff::/20 and RFC 8215 for 64:ff9b:1::/48.
#[rustfmt::skip]
const NON_PUBLIC_IPV6: &[(Ipv6Addr, u8, RejectionReason)] = &[
    (Ipv6Addr::LOCALHOST, 128, RejectionReason::Loopback),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, RejectionReason::UniqueLocal),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, RejectionReason::SiteLocal),
    (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32, RejectionReason::Documentation),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, RejectionReason::Documentation),
    (Ipv6Addr::new(0x2001, 0x0002, 0, 0, 0, 0, 0, 0), 48, RejectionReason::Benchmarking),
    // ORCHID and ORCHIDv2 identifiers, which are not routable.
    (Ipv6Addr::new(0x2001, 0x0010, 0, 0, 0, 0, 0, 0), 28, RejectionReason::Reserved),
    (Ipv6Addr::new(0x2001, 0x0020, 0, 0, 0, 0, 0, 0), 28, RejectionReason::Reserved),
    // Discard-only prefix (RFC 6666).
    (Ipv6Addr::new(0x0100, 0, 0, 0, 0, 0, 0, 0), 64, RejectionReason::Reserved),
    // Local-use NAT64 prefix, not globally reachable.
    (Ipv6Addr::new(0x0064, 0xff9b, 0x0001, 0, 0, 0, 0, 0), 48, RejectionReason::Reserved),
];

fn check_ipv4(policy: AddressPolicy, address: Ipv4Addr) -> Result<(), RejectionReason> {
    let bits = u32::from(address);
    let matching = |table: &[(Ipv4Addr, u8, RejectionReason)]| {
        table
            .iter()
            .find(|(network, prefix, _)| prefix_matches_u32(bits, u32::from(*network), *prefix))
            .map(|(_, _, reason)| *reason)
    };
    if let Some(reason) = matching(ALWAYS_REJECTED_IPV4) {
        return Err(reason);
    }
    if policy == AddressPolicy::Strict
        && let Some(reason) = matching(NON_PUBLIC_IPV4)
    {
        return Err(reason);
    }
    Ok(())
}

fn check_ipv6(policy: AddressPolicy, address: Ipv6Addr) -> Result<(), AddressRejection> {
    let bits = u128::from(address);
    let matching = |table: &[(Ipv6Addr, u8, RejectionReason)]| {
        table
            .iter()
            .find(|(network, prefix, _)| prefix_matches_u128(bits, u128::from(*network), *prefix))
            .map(|(_, _, reason)| *reason)
    };
    let reject = |embedded, reason| AddressRejection {
        address: IpAddr::V6(address),
        embedded,
        reason,
    };
    if let Some(reason) = matching(ALWAYS_REJECTED_IPV6) {
        return Err(reject(None, reason));
    }
    if policy == AddressPolicy::Strict
        && let Some(reason) = matching(NON_PUBLIC_IPV6)
    {
        return Err(reject(None, reason));
    }
    let embedded = embedded_ipv4_candidates(address);
    for &ipv4 in &embedded {
        check_ipv4(policy, ipv4).map_err(|reason| reject(Some(ipv4), reason))?;
    }
    // Only 2000::/3 is allocated for global unicast. Forms that embed a public
    // IPv4 address, such as ::ffff:8.8.8.8, lie outside it but reach that
    // public address.
    let global_unicast = prefix_matches_u128(bits, 0x2000 << 112, 3);
    if policy == AddressPolicy::Strict && !global_unicast && embedded.is_empty() {
        return Err(reject(None, RejectionReason::Reserved));
    }
    Ok(())
}

/// Returns the IPv4 addresses that traffic to `address` may reach, for the
/// IPv6 forms that embed one. The result is empty for other addresses.
fn embedded_ipv4_candidates(address: Ipv6Addr) -> Vec<Ipv4Addr> {
    let b = address.octets();
    let last_32_bits = Ipv4Addr::new(b[12], b[13], b[14], b[15]);
    let zeros = |range: std::ops::Range<usize>| b[range].iter().all(|&byte| byte == 0);

    // IPv4-mapped, ::ffff:0:0/96.
    if zeros(0..10) && b[10..12] == [0xff, 0xff] {
        return vec![last_32_bits];
    }
    // IPv4-translated, ::ffff:0:0:0/96 (RFC 2765).
    if zeros(0..8) && b[8..10] == [0xff, 0xff] && zeros(10..12) {
        return vec![last_32_bits];
    }
    // IPv4-compatible, ::/96, deprecated by RFC 4291. `::` and `::1` are
    // IPv6 addresses in their own right.
    if zeros(0..12) && !address.is_unspecified() && !address.is_loopback() {
        return vec![last_32_bits];
    }
    // NAT64 well-known prefix, 64:ff9b::/96 (RFC 6052).
    if b[0..4] == [0x00, 0x64, 0xff, 0x9b] && zeros(4..12) {
        return vec![last_32_bits];
    }
    // Local-use NAT64, 64:ff9b:1::/48 (RFC 8215). The operator picks the
    // prefix length inside it, so every RFC 6052 layout that fits is checked:
    // /48, /56 and /64 skip byte 8, and /96 uses the last 32 bits. A layout
    // that yields 0.0.0.0 is skipped, because those bytes are the zero
    // padding of another layout.
    // NOTE: the layouts overlap, so a receiver behind such a prefix is
    // rejected when any layout reads a rejected address, even if its own
    // layout reads a public one.
    if b[0..6] == [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01] {
        let layouts = [
            Ipv4Addr::new(b[6], b[7], b[9], b[10]),
            Ipv4Addr::new(b[7], b[9], b[10], b[11]),
            Ipv4Addr::new(b[9], b[10], b[11], b[12]),
            last_32_bits,
        ];
        return layouts
            .into_iter()
            .filter(|candidate| !candidate.is_unspecified())
            .collect();
    }
    // 6to4, 2002::/16 (RFC 3056): the IPv4 address is bits 16 to 48.
    if b[0..2] == [0x20, 0x02] {
        return vec![Ipv4Addr::new(b[2], b[3], b[4], b[5])];
    }
    // Teredo, 2001::/32 (RFC 4380): the client's IPv4 address is the bitwise
    // NOT of the last 32 bits.
    if b[0..4] == [0x20, 0x01, 0x00, 0x00] {
        return vec![Ipv4Addr::from(!u32::from(last_32_bits))];
    }
    Vec::new()
}

fn prefix_matches_u32(bits: u32, network: u32, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    bits & mask == network & mask
}

fn prefix_matches_u128(bits: u128, network: u128, prefix: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    bits & mask == network & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected result of a URL or address under the default and the strict
    /// policy: `true` means allowed.
    struct Case {
        input: &'static str,
        default: bool,
        strict: bool,
    }

    const fn case(input: &'static str, default: bool, strict: bool) -> Case {
        Case {
            input,
            default,
            strict,
        }
    }

    /// URL cases, run through `Url::parse` and `check_url`.
    const URL_CASES: &[Case] = &[
        // Public receivers.
        case("https://example.com/hook", true, true),
        case("http://8.8.8.8/hook", true, true),
        case("https://[2606:4700:4700::1111]/hook", true, true),
        case("http://1.1.1.1:8443/", true, true),
        // Loopback and private receivers.
        case("http://127.0.0.1:8080/hook", true, false),
        case("http://127.1.2.3/", true, false),
        case("http://[::1]:9000/", true, false),
        case("http://localhost:3000/", true, false),
        case("http://api.localhost/", true, false),
        case("http://LOCALHOST./", true, false),
        case("http://10.0.0.5/", true, false),
        case("http://172.16.0.1/", true, false),
        case("http://172.31.255.255/", true, false),
        case("http://192.168.1.10/", true, false),
        case("http://100.64.0.1/", true, false),
        case("http://[fd12:3456::1]/", true, false),
        case("http://[fec0::1]/", true, false),
        case("http://192.0.2.1/", true, false),
        case("http://198.51.100.7/", true, false),
        case("http://203.0.113.9/", true, false),
        case("http://198.18.0.1/", true, false),
        case("http://192.0.0.8/", true, false),
        case("http://0.1.2.3/", true, false),
        case("http://240.0.0.1/", true, false),
        case("http://[2001:db8::1]/", true, false),
        case("http://[::ffff:127.0.0.1]/", true, false),
        case("http://[::ffff:10.1.2.3]/", true, false),
        // Public IPv4 addresses in IPv6 forms.
        case("http://[::ffff:8.8.8.8]/", true, true),
        case("http://[64:ff9b::808:808]/", true, true),
        case("http://[2002:808:808::1]/", true, true),
        // Metadata services in every spelling the URL parser accepts.
        case("http://169.254.169.254/latest/meta-data/", false, false),
        case("http://169.254.169.254./", false, false),
        case("http://2852039166/", false, false),
        case("http://0251.0376.0251.0376/", false, false),
        case("http://0xa9fea9fe/", false, false),
        case("http://0xA9.0xFE.0xA9.0xFE/", false, false),
        case("http://169.254.43518/", false, false),
        case("http://169.16689662/", false, false),
        case("http://%31%36%39.254.169.254/", false, false),
        case("http://\u{ff11}\u{ff16}\u{ff19}.254.169.254/", false, false),
        case("http://[::ffff:169.254.169.254]/", false, false),
        case("http://[::ffff:a9fe:a9fe]/", false, false),
        case("http://[::169.254.169.254]/", false, false),
        case("http://[::ffff:0:169.254.169.254]/", false, false),
        case("http://[64:ff9b::169.254.169.254]/", false, false),
        case("http://[64:ff9b:1::a9fe:a9fe]/", false, false),
        case("http://[64:ff9b:1:a9fe:a9:fe00::]/", false, false),
        case("http://[2002:a9fe:a9fe::]/", false, false),
        case(
            "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",
            false,
            false,
        ),
        case("http://[fd00:ec2::254]/", false, false),
        case("http://[fe80::1]/", false, false),
        case("http://100.100.100.200/", false, false),
        case("http://169.254.1.1/", false, false),
        // Cloud metadata host names.
        case(
            "http://metadata.google.internal/computeMetadata/v1/",
            false,
            false,
        ),
        case("http://METADATA.google.internal./", false, false),
        case("http://metadata/", false, false),
        // Unspecified, broadcast and multicast addresses.
        case("http://0.0.0.0/", false, false),
        case("http://0/", false, false),
        case("http://[::]/", false, false),
        case("http://255.255.255.255/", false, false),
        case("http://224.0.0.1/", false, false),
        case("http://[ff02::1]/", false, false),
        // Schemes and credentials.
        case("ftp://example.com/", false, false),
        case("http://user:pass@example.com/", false, false),
    ];

    #[test]
    fn check_url_table() {
        assert!(URL_CASES.len() >= 40);
        for case in URL_CASES {
            let url = Url::parse(case.input).expect("every case parses as a URL");
            let default = check_url(AddressPolicy::Default, &url);
            let strict = check_url(AddressPolicy::Strict, &url);
            assert_eq!(
                default.is_ok(),
                case.default,
                "default policy, {} (parsed as {url}): {default:?}",
                case.input
            );
            assert_eq!(
                strict.is_ok(),
                case.strict,
                "strict policy, {} (parsed as {url}): {strict:?}",
                case.input
            );
        }
    }

    #[test]
    fn url_parser_normalizes_ipv4_forms() {
        let forms = [
            "http://2852039166/",
            "http://0251.0376.0251.0376/",
            "http://0xa9fea9fe/",
            "http://169.254.43518/",
            "http://169.16689662/",
            "http://%31%36%39.254.169.254/",
            "http://169.254.169.254./",
        ];
        for form in forms {
            let url = Url::parse(form).expect("the form parses");
            assert_eq!(url.host_str(), Some("169.254.169.254"), "{form}");
        }
    }

    #[test]
    fn check_address_table() {
        let cases = [
            ("169.254.169.254", Some(RejectionReason::LinkLocal), None),
            (
                "100.100.100.200",
                Some(RejectionReason::CloudMetadata),
                None,
            ),
            ("fd00:ec2::254", Some(RejectionReason::CloudMetadata), None),
            ("fe80::a:b", Some(RejectionReason::LinkLocal), None),
            ("0.0.0.0", Some(RejectionReason::Unspecified), None),
            ("::", Some(RejectionReason::Unspecified), None),
            ("255.255.255.255", Some(RejectionReason::Broadcast), None),
            ("239.1.2.3", Some(RejectionReason::Multicast), None),
            ("ff05::2", Some(RejectionReason::Multicast), None),
            (
                "::ffff:169.254.169.254",
                Some(RejectionReason::LinkLocal),
                Some("169.254.169.254"),
            ),
            (
                "64:ff9b::a9fe:a9fe",
                Some(RejectionReason::LinkLocal),
                Some("169.254.169.254"),
            ),
            (
                "2002:6464:64c8::",
                Some(RejectionReason::CloudMetadata),
                Some("100.100.100.200"),
            ),
            // Teredo with the client 169.254.169.254 stored as its bitwise NOT.
            (
                "2001:0:1:2:0:0:5601:5601",
                Some(RejectionReason::LinkLocal),
                Some("169.254.169.254"),
            ),
            ("127.0.0.1", None, None),
            ("10.1.2.3", None, None),
            ("::1", None, None),
            ("93.184.216.34", None, None),
        ];
        for (text, reason, embedded) in cases {
            let address: IpAddr = text.parse().expect("valid address");
            let result = check(AddressPolicy::Default, address);
            assert_eq!(
                result.as_ref().err().map(|r| r.reason),
                reason,
                "{text}: {result:?}"
            );
            let expected_embedded = embedded.map(|e| e.parse::<Ipv4Addr>().expect("valid IPv4"));
            assert_eq!(
                result.as_ref().err().and_then(|r| r.embedded),
                expected_embedded,
                "{text}"
            );
        }
    }

    #[test]
    fn strict_rejects_loopback_and_private() {
        let cases = [
            ("127.0.0.1", RejectionReason::Loopback),
            ("::1", RejectionReason::Loopback),
            ("10.0.0.1", RejectionReason::Private),
            ("172.20.0.1", RejectionReason::Private),
            ("192.168.0.1", RejectionReason::Private),
            ("100.127.255.254", RejectionReason::SharedAddressSpace),
            ("fc00::1", RejectionReason::UniqueLocal),
            ("fec0::1", RejectionReason::SiteLocal),
            ("198.19.255.255", RejectionReason::Benchmarking),
            ("3fff::1", RejectionReason::Documentation),
            ("100::1", RejectionReason::Reserved),
            ("64:ff9b:1::808:808", RejectionReason::Reserved),
            ("::2:0:0:1", RejectionReason::Reserved),
        ];
        for (text, reason) in cases {
            let address: IpAddr = text.parse().expect("valid address");
            let result = check(AddressPolicy::Strict, address);
            assert_eq!(
                result.as_ref().err().map(|r| r.reason),
                Some(reason),
                "{text}"
            );
        }
    }

    #[test]
    fn rejection_message_names_address() {
        let metadata = check(
            AddressPolicy::Default,
            "169.254.169.254".parse().expect("valid"),
        )
        .expect_err("metadata address is rejected");
        assert_eq!(
            metadata.to_string(),
            "169.254.169.254 is a link-local / cloud metadata address"
        );

        let mapped = check(
            AddressPolicy::Default,
            "::ffff:169.254.169.254".parse().expect("valid"),
        )
        .expect_err("mapped metadata address is rejected");
        assert_eq!(
            mapped.to_string(),
            "::ffff:169.254.169.254 embeds the IPv4 address 169.254.169.254, \
             which is a link-local / cloud metadata address"
        );

        let loopback = check(AddressPolicy::Strict, "127.0.0.1".parse().expect("valid"))
            .expect_err("strict rejects loopback");
        assert_eq!(
            loopback.to_string(),
            "127.0.0.1 is a loopback address (the strict address policy allows only public addresses)"
        );
    }

    #[test]
    fn check_url_message_names_url() {
        let url = Url::parse("http://2852039166/latest/").expect("valid URL");
        let message =
            check_url(AddressPolicy::Default, &url).expect_err("metadata URL is rejected");
        assert_eq!(
            message,
            "webhook_url \"http://169.254.169.254/latest/\" is not allowed: \
             169.254.169.254 is a link-local / cloud metadata address"
        );
    }

    #[test]
    fn check_before_send_covers_hosts() {
        let cases = [
            ("http://127.0.0.1:9/", true, false),
            ("http://[::ffff:169.254.169.254]/", false, false),
            ("http://metadata.google.internal/", false, false),
            ("http://localhost:9/", true, false),
            ("https://example.com/", true, true),
        ];
        for (text, default, strict) in cases {
            let url = Url::parse(text).expect("valid URL");
            let default_result = check_before_send(AddressPolicy::Default, &url);
            let strict_result = check_before_send(AddressPolicy::Strict, &url);
            assert_eq!(default_result.is_ok(), default, "default, {text}");
            assert_eq!(strict_result.is_ok(), strict, "strict, {text}");
            if let Err(message) = strict_result {
                assert!(message.starts_with("webhook not sent: "), "{message}");
            }
        }
    }
}
