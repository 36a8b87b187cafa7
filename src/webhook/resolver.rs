//! DNS resolution for webhook requests that drops the addresses the address
//! policy rejects. The policy then applies to the address the client connects
//! to, so a host name that resolves to a metadata address, at submission or
//! only later (DNS rebinding), is never reached.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tracing::warn;

use super::address::{AddressPolicy, AddressRejection, check};

/// A failed or rejected lookup of a webhook host.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("resolving webhook host {host} failed")]
    Lookup {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("webhook host {host} resolved to no addresses")]
    NoAddresses { host: String },
    #[error("webhook host {host} resolved only to rejected addresses: {}", join_rejections(.rejections))]
    AllRejected {
        host: String,
        rejections: Vec<AddressRejection>,
    },
}

impl ResolveError {
    /// Returns true if the address policy rejected the host, so retrying with
    /// the same DNS answers cannot succeed.
    pub fn is_policy_rejection(&self) -> bool {
        matches!(self, Self::AllRejected { .. })
    }
}

fn join_rejections(rejections: &[AddressRejection]) -> String {
    rejections
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A `reqwest` resolver that looks names up with the system resolver and keeps
/// only the addresses `policy` allows.
#[derive(Debug, Clone, Copy)]
pub struct PolicyResolver {
    policy: AddressPolicy,
}

impl PolicyResolver {
    pub fn new(policy: AddressPolicy) -> Self {
        Self { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = resolve_allowed(policy, &host).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Looks `host` up and returns the addresses `policy` allows, with port 0,
/// which the client replaces with the URL's port.
///
/// `tokio::net::lookup_host` runs the blocking system lookup on tokio's
/// blocking thread pool, so the lookup does not stall the runtime's workers.
pub async fn resolve_allowed(
    policy: AddressPolicy,
    host: &str,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let resolved =
        tokio::net::lookup_host((host, 0))
            .await
            .map_err(|source| ResolveError::Lookup {
                host: host.to_string(),
                source,
            })?;
    filter_addresses(policy, host, resolved)
}

/// Keeps the resolved addresses of `host` that `policy` allows. Fails if none
/// remain, naming every rejected address and the reason.
pub fn filter_addresses(
    policy: AddressPolicy,
    host: &str,
    resolved: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let mut allowed = Vec::new();
    let mut rejections = Vec::new();
    for address in resolved {
        match check(policy, address.ip()) {
            Ok(()) => allowed.push(address),
            Err(rejection) => rejections.push(rejection),
        }
    }
    if allowed.is_empty() {
        return Err(if rejections.is_empty() {
            ResolveError::NoAddresses {
                host: host.to_string(),
            }
        } else {
            ResolveError::AllRejected {
                host: host.to_string(),
                rejections,
            }
        });
    }
    if !rejections.is_empty() {
        warn!(
            host,
            rejected = %join_rejections(&rejections),
            allowed = allowed.len(),
            "dropped rejected addresses of a webhook host"
        );
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::webhook::address::RejectionReason;

    fn socket(text: &str) -> SocketAddr {
        SocketAddr::new(text.parse::<IpAddr>().expect("valid address"), 0)
    }

    #[test]
    fn filter_rejects_only_metadata_answers() {
        let answers = [socket("169.254.169.254"), socket("::ffff:169.254.169.254")];
        let error = filter_addresses(AddressPolicy::Default, "rebind.example", answers)
            .expect_err("every answer is a metadata address");
        let ResolveError::AllRejected { host, rejections } = &error else {
            panic!("expected AllRejected, got {error:?}");
        };
        assert_eq!(host, "rebind.example");
        assert_eq!(rejections.len(), 2);
        assert!(error.is_policy_rejection());
        let message = error.to_string();
        assert!(message.contains("rebind.example"), "{message}");
        assert!(
            message.contains("169.254.169.254 is a link-local / cloud metadata address"),
            "{message}"
        );
        assert!(
            message.contains("::ffff:169.254.169.254 embeds"),
            "{message}"
        );
    }

    #[test]
    fn filter_keeps_allowed_answers() {
        let answers = [
            socket("169.254.169.254"),
            socket("93.184.216.34"),
            socket("fd00:ec2::254"),
            socket("2606:4700:4700::1111"),
        ];
        let allowed = filter_addresses(AddressPolicy::Strict, "mixed.example", answers)
            .expect("public answers remain");
        assert_eq!(
            allowed,
            vec![socket("93.184.216.34"), socket("2606:4700:4700::1111")]
        );
    }

    #[test]
    fn filter_applies_strict_policy() {
        let answers = [socket("10.0.0.7"), socket("127.0.0.1")];
        let default = filter_addresses(AddressPolicy::Default, "internal.example", answers);
        assert_eq!(default.expect("default allows private"), answers.to_vec());

        let strict = filter_addresses(AddressPolicy::Strict, "internal.example", answers);
        let Err(ResolveError::AllRejected { rejections, .. }) = strict else {
            panic!("expected AllRejected, got {strict:?}");
        };
        let reasons: Vec<_> = rejections.iter().map(|r| r.reason).collect();
        assert_eq!(
            reasons,
            vec![RejectionReason::Private, RejectionReason::Loopback]
        );
    }

    #[test]
    fn filter_reports_empty_answer() {
        let result = filter_addresses(AddressPolicy::Default, "empty.example", []);
        let Err(error @ ResolveError::NoAddresses { .. }) = result else {
            panic!("expected NoAddresses, got {result:?}");
        };
        assert!(!error.is_policy_rejection());
    }

    #[tokio::test]
    async fn localhost_rejected_under_strict() {
        let result = resolve_allowed(AddressPolicy::Strict, "localhost").await;
        let Err(error @ ResolveError::AllRejected { .. }) = result else {
            panic!("expected AllRejected, got {result:?}");
        };
        let message = error.to_string();
        assert!(message.contains("localhost"), "{message}");
        assert!(message.contains("loopback"), "{message}");
    }

    #[tokio::test]
    async fn localhost_allowed_under_default() {
        let addresses = resolve_allowed(AddressPolicy::Default, "localhost")
            .await
            .expect("localhost resolves");
        assert!(!addresses.is_empty());
        for address in addresses {
            assert!(address.ip().is_loopback(), "{address}");
        }
    }

    /// The client reports a policy rejection from the resolver as a send
    /// error whose source chain contains the `ResolveError`, without
    /// connecting anywhere.
    #[tokio::test]
    async fn client_surfaces_resolver_rejection() {
        // A listener this test owns, so that even a broken policy would only
        // connect to it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let port = listener.local_addr().expect("local address").port();
        let client = reqwest::Client::builder()
            .dns_resolver(PolicyResolver::new(AddressPolicy::Strict))
            .no_proxy()
            .build()
            .expect("client builds");
        let error = client
            .post(format!("http://localhost:{port}/"))
            .send()
            .await
            .expect_err("strict policy rejects localhost");
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        let mut found = None;
        while let Some(cause) = source {
            if let Some(resolve_error) = cause.downcast_ref::<ResolveError>() {
                found = Some(resolve_error);
                break;
            }
            source = cause.source();
        }
        let resolve_error = found.expect("the source chain contains the ResolveError");
        assert!(resolve_error.is_policy_rejection(), "{resolve_error}");
    }
}
