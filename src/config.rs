//! Server configuration from command-line flags and `MCP_CODE_INDEX_*`
//! environment variables, validated at start-up.

use std::time::Duration;

use clap::Parser;

use crate::code::{ChunkLimits, ReadLimits};
use crate::embed::OpenAiConfig;
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

    /// Which embedder turns code into vectors: `hashing` (built in, no
    /// setup), `openai` (any OpenAI-compatible `/v1/embeddings` server) or
    /// `minilm` (all-MiniLM-L6-v2 in process; needs a build with
    /// `--features minilm` and the model files). Switching embedders re-embeds
    /// every stored chunk in the background.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDER", value_enum, default_value_t = EmbedderKind::Hashing)]
    pub embedder: EmbedderKind,

    /// Vector length. Hashing: default 768. OpenAI-compatible: checked
    /// against every response. When unset, the server is asked at start-up.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_DIMENSION",
          value_parser = clap::value_parser!(u32).range(1..=16384))]
    pub embedding_dimension: Option<u32>,

    /// Base URL of the OpenAI-compatible embeddings server, e.g.
    /// `http://127.0.0.1:11434/v1` for Ollama; `/embeddings` is appended
    /// unless the URL already ends with it.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_URL")]
    pub embedding_url: Option<String>,

    /// Model name sent to the embeddings server, e.g. `text-embedding-3-small`.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_MODEL")]
    pub embedding_model: Option<String>,

    /// API key sent as a bearer token to the embeddings server. Prefer the
    /// environment variable, which other users cannot see in the process list.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_API_KEY", hide_env_values = true)]
    pub embedding_api_key: Option<String>,

    /// Most texts sent to the embeddings server in one request.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_BATCH_SIZE", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub embedding_batch_size: u32,

    /// Most characters, summed over its texts, in one embeddings request.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_BATCH_CHARS", default_value_t = 32_000,
          value_parser = clap::value_parser!(u32).range(100..))]
    pub embedding_batch_chars: u32,

    /// Each text is cut to this many characters before it is sent. Servers that
    /// reject inputs over their model's token limit need it below about three
    /// characters per token of that limit.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_MAX_INPUT_CHARS",
          default_value_t = crate::embed::openai::DEFAULT_MAX_INPUT_CHARS as u32,
          value_parser = clap::value_parser!(u32).range(16..))]
    pub embedding_max_input_chars: u32,

    /// Sends `input_type` (`query` or `document`) with each embeddings request,
    /// for servers that embed the two differently. OpenAI itself rejects it.
    #[arg(
        long,
        env = "MCP_CODE_INDEX_EMBEDDING_SEND_INPUT_TYPE",
        default_value_t = false
    )]
    pub embedding_send_input_type: bool,

    /// Text put before each search query, e.g. `query: ` for E5 models or
    /// `search_query: ` for nomic-embed-text.
    #[arg(
        long,
        env = "MCP_CODE_INDEX_EMBEDDING_QUERY_PREFIX",
        default_value = ""
    )]
    pub embedding_query_prefix: String,

    /// Text put before each chunk, e.g. `passage: ` for E5 models or
    /// `search_document: ` for nomic-embed-text.
    #[arg(
        long,
        env = "MCP_CODE_INDEX_EMBEDDING_DOCUMENT_PREFIX",
        default_value = ""
    )]
    pub embedding_document_prefix: String,

    /// Time allowed for one embeddings request, in seconds.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub embedding_timeout_secs: u64,

    /// Retries of an embeddings request after a connection error, timeout,
    /// 429 or 5xx response, with backoff from 0.5 s doubling up to 30 s.
    #[arg(long, env = "MCP_CODE_INDEX_EMBEDDING_RETRIES", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(0..=20))]
    pub embedding_retries: u32,

    /// Directory with the MiniLM `model.onnx` and `tokenizer.json`, as written
    /// by `scripts/fetch-minilm.sh`.
    #[arg(long, env = "MCP_CODE_INDEX_MINILM_DIR")]
    pub minilm_dir: Option<std::path::PathBuf>,

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

/// The embedders `--embedder` can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmbedderKind {
    Hashing,
    Openai,
    Minilm,
}

impl Config {
    /// Settings for the OpenAI-compatible embedder. Fails when the URL or the
    /// model is missing.
    pub fn openai_config(&self) -> Result<OpenAiConfig, String> {
        let url = self
            .embedding_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .ok_or(
                "--embedder openai needs the server's URL: set --embedding-url or \
             MCP_CODE_INDEX_EMBEDDING_URL, e.g. http://127.0.0.1:11434/v1",
            )?;
        let model = self
            .embedding_model
            .clone()
            .filter(|m| !m.trim().is_empty())
            .ok_or(
                "--embedder openai needs a model name: set --embedding-model or \
             MCP_CODE_INDEX_EMBEDDING_MODEL, e.g. text-embedding-3-small",
            )?;
        Ok(OpenAiConfig {
            url,
            model,
            api_key: self.embedding_api_key.clone().filter(|key| !key.is_empty()),
            dimension: self.embedding_dimension.map(|d| d as usize),
            batch_size: self.embedding_batch_size as usize,
            batch_chars: self.embedding_batch_chars as usize,
            max_input_chars: self.embedding_max_input_chars as usize,
            send_input_type: self.embedding_send_input_type,
            query_prefix: self.embedding_query_prefix.clone(),
            document_prefix: self.embedding_document_prefix.clone(),
            timeout: Duration::from_secs(self.embedding_timeout_secs),
            retries: self.embedding_retries,
            initial_backoff: Duration::from_millis(500),
        })
    }

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
