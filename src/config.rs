//! Server configuration from command-line flags and `MCP_CODE_INDEX_*`
//! environment variables, validated at start-up.

use std::time::Duration;

use clap::Parser;

use crate::code::{ChunkLimits, ReadLimits};
use crate::jobs::JobsConfig;
use crate::webhook::retry::{RetryPolicy, parse_schedule};
use crate::webhook::signing::SigningSecret;
use crate::webhook::{AddressPolicy, NotifierConfig};

/// mcp-code-index: an MCP server over stdio that indexes code and reports
/// finished jobs through webhooks. Logs go to stderr; set RUST_LOG to filter.
#[derive(Debug, Clone, Parser)]
#[command(version, about)]
pub struct Config {
    /// Directory for the database and saved indexes; default: the platform's
    /// data directory, e.g. ~/.local/share/mcp-code-index on Linux.
    #[arg(long, env = "MCP_CODE_INDEX_DATA_DIR")]
    pub data_dir: Option<std::path::PathBuf>,

    /// Jobs processed at the same time; more wait in the queue.
    #[arg(long, env = "MCP_CODE_INDEX_MAX_CONCURRENT_JOBS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_concurrent_jobs: u32,

    /// Total time allowed for one webhook attempt, in seconds.
    #[arg(long, env = "MCP_CODE_INDEX_WEBHOOK_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout_secs: u64,

    /// Files larger than this many bytes are skipped with a warning.
    #[arg(long, env = "MCP_CODE_INDEX_MAX_FILE_BYTES", default_value_t = 2 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_file_bytes: u64,

    /// Length of the vectors of the built-in hashing embedder.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_DIMENSION", default_value_t = 768,
          value_parser = clap::value_parser!(u32).range(64..=8192))]
    pub embedding_dimension: u32,

    /// Standard Webhooks secrets (`whsec_<base64>`) that sign job webhooks,
    /// newest first, separated by spaces or commas. During a rotation, list the
    /// new and the old secret so that receivers with either one can verify.
    #[arg(long, env = "MCP_CODE_INDEX_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// Delays between webhook attempts after the first one fails, e.g.
    /// `5s,5m,30m,2h`; `none` disables retries. Units: ms, s, m, h.
    #[arg(long, env = "MCP_CODE_INDEX_WEBHOOK_RETRY_SCHEDULE", default_value = crate::webhook::retry::DEFAULT_SCHEDULE)]
    pub webhook_retry_schedule: String,

    /// Receiver addresses that webhooks may reach. `default` allows public,
    /// private and loopback addresses, and `strict` allows only public ones,
    /// for servers that run jobs for other people. Both reject link-local and
    /// cloud metadata addresses.
    #[arg(long, env = "MCP_CODE_INDEX_WEBHOOK_ADDRESS_POLICY", value_enum,
          default_value_t = AddressPolicy::Default)]
    pub webhook_address_policy: AddressPolicy,

    /// A registered webhook whose every attempt has failed for this many
    /// hours is disabled (list_webhooks shows the reason).
    #[arg(long, env = "MCP_CODE_INDEX_WEBHOOK_DISABLE_AFTER_HOURS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub webhook_disable_after_hours: u64,

    /// After the client disconnects, time to wait for running jobs and then
    /// for pending webhook deliveries, in seconds each.
    #[arg(long, env = "MCP_CODE_INDEX_SHUTDOWN_GRACE_SECS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_secs: u64,
}

impl Config {
    pub fn jobs_config(&self) -> JobsConfig {
        JobsConfig {
            max_concurrent_jobs: self.max_concurrent_jobs as usize,
            read_limits: ReadLimits {
                max_file_bytes: self.max_file_bytes,
                ..ReadLimits::default()
            },
            chunk_limits: ChunkLimits::default(),
            webhook_address_policy: self.webhook_address_policy,
        }
    }

    /// Builds the notifier settings. Fails if a webhook secret is malformed.
    pub fn notifier_config(&self) -> Result<NotifierConfig, String> {
        let secrets = self
            .webhook_secret
            .as_deref()
            .unwrap_or("")
            .split([' ', ','])
            .filter(|part| !part.is_empty())
            .map(SigningSecret::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| {
                format!("{message} (from --webhook-secret or MCP_CODE_INDEX_WEBHOOK_SECRET)")
            })?;
        let delays = parse_schedule(&self.webhook_retry_schedule).map_err(|message| {
            format!(
                "{message} (from --webhook-retry-schedule or MCP_CODE_INDEX_WEBHOOK_RETRY_SCHEDULE)"
            )
        })?;
        Ok(NotifierConfig {
            timeout: Duration::from_secs(self.webhook_timeout_secs),
            secrets,
            retry: RetryPolicy {
                delays,
                ..RetryPolicy::default()
            },
            address_policy: self.webhook_address_policy,
            disable_after: Duration::from_secs(self.webhook_disable_after_hours * 3600),
            ..NotifierConfig::default()
        })
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::parse_from(["mcp-code-index"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_policy_defaults_to_default() {
        let config = Config::try_parse_from(["mcp-code-index"]).expect("no flags parse");
        assert_eq!(config.webhook_address_policy, AddressPolicy::Default);
    }

    #[test]
    fn address_policy_flag_reaches_both_configs() {
        let config =
            Config::try_parse_from(["mcp-code-index", "--webhook-address-policy", "strict"])
                .expect("the flag parses");
        let notifier = config.notifier_config().expect("valid notifier config");
        assert_eq!(notifier.address_policy, AddressPolicy::Strict);
        assert_eq!(
            config.jobs_config().webhook_address_policy,
            AddressPolicy::Strict
        );
    }

    #[test]
    fn address_policy_rejects_unknown_value() {
        let error = Config::try_parse_from(["mcp-code-index", "--webhook-address-policy", "open"])
            .expect_err("unknown policy is rejected");
        let message = error.to_string();
        assert!(message.contains("default"), "{message}");
        assert!(message.contains("strict"), "{message}");
    }
}
