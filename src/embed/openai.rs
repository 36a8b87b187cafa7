//! Client for OpenAI-compatible `POST /v1/embeddings` servers: OpenAI, Ollama,
//! Text Embeddings Inference, LM Studio, vLLM and the like.
//!
//! Texts are sent in batches bounded by count and by total characters, each
//! text cut to a maximum length first. Connection errors, timeouts, 429 and 5xx
//! responses are retried with exponential backoff (honouring `Retry-After`); a
//! 413 splits the batch in half. Every response is checked: one finite vector per
//! input, each of the expected dimension.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use serde_json::{Value, json};
use tracing::{debug, warn};

use super::{EmbedError, Embedder, InputKind, normalize};
use crate::webhook::attempt::describe_error;
use crate::webhook::retry::parse_retry_after;

/// Bytes allowed per vector component in a response: a float written as JSON
/// text with its separator is at most about 25 characters.
const RESPONSE_BYTES_PER_COMPONENT: usize = 32;
/// Bytes allowed in a response besides the vectors.
const RESPONSE_OVERHEAD_BYTES: usize = 64 * 1024;
/// Largest dimension accepted from a server.
pub const MAX_DIMENSION: usize = 16_384;
/// Time a search query may spend on embedding, retries included, before the
/// search returns keyword results instead.
const QUERY_BUDGET: Duration = Duration::from_secs(10);
/// Characters of an error response quoted in messages.
const ERROR_EXCERPT_CHARS: usize = 300;
/// Longest wait between two attempts, whatever `Retry-After` requests.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Text embedded to learn the dimension when none is configured.
const PROBE_TEXT: &str = "dimension probe";

/// Settings of an OpenAI-compatible embeddings server.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Base URL such as `http://127.0.0.1:11434/v1`, or the full
    /// `.../embeddings` endpoint.
    pub url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer <key>` when set.
    pub api_key: Option<String>,
    /// Expected vector length; `None` requests one vector at start-up to learn it.
    pub dimension: Option<usize>,
    /// Maximum number of texts in one request.
    pub batch_size: usize,
    /// Most characters, summed over the texts, in one request.
    pub batch_chars: usize,
    /// Texts are cut to this many characters before they are sent.
    pub max_input_chars: usize,
    /// Sends `input_type: "query"` or `"document"` with each request.
    pub send_input_type: bool,
    /// Prepended to every search query, e.g. `query: ` for E5 models.
    pub query_prefix: String,
    /// Prepended to every chunk text, e.g. `passage: ` for E5 models.
    pub document_prefix: String,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Attempts after the first one for retryable failures.
    pub retries: u32,
    /// Wait before the first retry; it doubles for each further one.
    pub initial_backoff: Duration,
}

impl OpenAiConfig {
    /// The embeddings endpoint: `url` itself if its path ends in
    /// `/embeddings`, otherwise `url` with `/embeddings` added to its path. A
    /// query string (e.g. `?api-version=...`) is kept.
    pub fn endpoint(&self) -> Result<reqwest::Url, String> {
        let mut url = reqwest::Url::parse(self.url.trim()).map_err(|error| {
            format!(
                "invalid embedding URL {:?} (--embedding-url, MCP_CODE_INDEX_EMBEDDING_URL): \
                 {error}; use a base URL such as http://127.0.0.1:11434/v1",
                self.url
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "invalid embedding URL {:?} (--embedding-url, MCP_CODE_INDEX_EMBEDDING_URL): \
                 the scheme must be http or https",
                self.url
            ));
        }
        let path = url.path().trim_end_matches('/').to_string();
        if !path.ends_with("/embeddings") {
            url.set_path(&format!("{path}/embeddings"));
        }
        url.set_fragment(None);
        Ok(url)
    }

    /// The name recorded with collections and chunks. Everything that changes
    /// the stored (document) vectors is part of it: the model, the document
    /// prefix, `input_type` and the input cut. The query prefix is not, since
    /// changing it needs no re-embedding.
    fn embedder_name(&self) -> String {
        let mut extras = Vec::new();
        if self.send_input_type {
            extras.push("input_type".to_string());
        }
        if !self.document_prefix.is_empty() {
            extras.push(format!("document_prefix={:?}", self.document_prefix));
        }
        if self.max_input_chars != DEFAULT_MAX_INPUT_CHARS {
            extras.push(format!("max_input_chars={}", self.max_input_chars));
        }
        // A model name with other characters is quoted, so that no model name
        // can read like another name with extras.
        let plain = self
            .model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/@-+".contains(c));
        let model = if plain {
            self.model.clone()
        } else {
            format!("{:?}", self.model)
        };
        if extras.is_empty() {
            format!("openai:{model}")
        } else {
            format!("openai:{model} ({})", extras.join(", "))
        }
    }
}

/// Default of `--embedding-max-input-chars`.
pub const DEFAULT_MAX_INPUT_CHARS: usize = 2_000;

/// An [`Embedder`] backed by an OpenAI-compatible HTTP server.
pub struct OpenAiEmbedder {
    config: OpenAiConfig,
    endpoint: reqwest::Url,
    /// The endpoint as shown in messages: without user, password or query.
    shown_url: String,
    /// `Authorization` header value, when a key is configured.
    authorization: Option<HeaderValue>,
    name: String,
    dimension: usize,
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("endpoint", &self.shown_url)
            .field("name", &self.name)
            .field("dimension", &self.dimension)
            .finish_non_exhaustive()
    }
}

/// One failed request, and whether another attempt may succeed.
struct Failure {
    error: EmbedError,
    retryable: bool,
    retry_after: Option<Duration>,
    too_large: bool,
}

impl OpenAiEmbedder {
    /// Checks the configuration and, when no dimension is configured, requests
    /// one vector from the server to learn it.
    pub async fn connect(config: OpenAiConfig) -> Result<Self, EmbedError> {
        let endpoint = config.endpoint().map_err(EmbedError::Failed)?;
        if config.model.trim().is_empty() {
            return Err(EmbedError::Failed(
                "no embedding model given: set --embedding-model or \
                 MCP_CODE_INDEX_EMBEDDING_MODEL"
                    .to_string(),
            ));
        }
        let authorization = match config.api_key.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                    EmbedError::Failed(
                        "the embedding API key (MCP_CODE_INDEX_EMBEDDING_API_KEY) contains \
                         characters that an HTTP header cannot carry, such as a line break \
                         inside it; copy the key again"
                            .to_string(),
                    )
                })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| EmbedError::Failed(format!("cannot build HTTP client: {error}")))?;
        let mut shown = endpoint.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.set_query(None);
        let mut embedder = Self {
            name: config.embedder_name(),
            shown_url: shown.to_string(),
            endpoint,
            authorization,
            dimension: config.dimension.unwrap_or(0),
            config,
            client,
            runtime: tokio::runtime::Handle::current(),
        };
        if embedder.config.dimension.is_none() {
            let probe = embedder
                .embed_async(&[PROBE_TEXT], InputKind::Document)
                .await?;
            let dimension = probe[0].len();
            if !(1..=MAX_DIMENSION).contains(&dimension) {
                return Err(EmbedError::BadResponse {
                    url: embedder.shown_url.clone(),
                    reason: format!(
                        "vectors have {dimension} dimensions; mcp-code-index supports 1 to \
                         {MAX_DIMENSION}"
                    ),
                });
            }
            embedder.dimension = dimension;
        }
        Ok(embedder)
    }

    /// Returns the endpoint as shown in messages and logs.
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// Replaces the API key and any password in the URL with `***`, so that
    /// a server echoing them back cannot leak them into messages.
    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        let mut secrets: Vec<String> = Vec::new();
        if let Some(key) = self.config.api_key.as_deref().map(str::trim) {
            secrets.push(key.to_string());
        }
        if let Some(password) = self.endpoint.password() {
            secrets.push(password.to_string());
        }
        if let Some(query) = self.endpoint.query() {
            secrets.extend(
                query
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(_, v)| v.to_string()),
            );
        }
        text = text.replace(self.endpoint.as_str(), &self.shown_url);
        for secret in secrets.iter().filter(|secret| secret.len() >= 4) {
            text = text.replace(secret.as_str(), "***");
        }
        text
    }

    /// Embeds `texts` with batching, retries and checks. A search query gets
    /// at most [`QUERY_BUDGET`] in all, so that a failing server cannot hold
    /// a search longer than clients wait.
    pub async fn embed_async(
        &self,
        texts: &[&str],
        kind: InputKind,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        match kind {
            InputKind::Document => self.embed_all(texts, kind).await,
            InputKind::Query => {
                let budget = QUERY_BUDGET.min(self.config.timeout);
                tokio::time::timeout(budget, self.embed_all(texts, kind))
                    .await
                    .unwrap_or_else(|_| {
                        Err(EmbedError::Unavailable {
                            url: self.shown_url.clone(),
                            reason: format!(
                                "the query was not embedded within {} s",
                                budget.as_secs_f32()
                            ),
                        })
                    })
            }
        }
    }

    async fn embed_all(
        &self,
        texts: &[&str],
        kind: InputKind,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let prefix = match kind {
            InputKind::Query => &self.config.query_prefix,
            InputKind::Document => &self.config.document_prefix,
        };
        let prepared: Vec<String> = texts
            .iter()
            .map(|text| cut(&format!("{prefix}{text}"), self.config.max_input_chars).to_string())
            .collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in batches(&prepared, self.config.batch_size, self.config.batch_chars) {
            vectors.extend(self.embed_batch(batch, kind).await?);
        }
        Ok(vectors)
    }

    /// Embeds one batch, splitting it whenever the server returns 413.
    async fn embed_batch(
        &self,
        batch: &[String],
        kind: InputKind,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut pending = vec![batch];
        let mut vectors = Vec::with_capacity(batch.len());
        while let Some(part) = pending.pop() {
            match self.request_with_retries(part, kind).await {
                Ok(part_vectors) => vectors.extend(part_vectors),
                Err(failure) if failure.too_large && part.len() > 1 => {
                    let (first, second) = part.split_at(part.len() / 2);
                    debug!(
                        texts = part.len(),
                        "embedding batch too large; splitting it"
                    );
                    pending.push(second);
                    pending.push(first);
                }
                Err(failure) => return Err(failure.error),
            }
        }
        Ok(vectors)
    }

    async fn request_with_retries(
        &self,
        texts: &[String],
        kind: InputKind,
    ) -> Result<Vec<Vec<f32>>, Failure> {
        let mut attempt = 0;
        loop {
            match self.attempt(texts, kind).await {
                Ok(vectors) => return Ok(vectors),
                Err(failure) if failure.retryable && attempt < self.config.retries => {
                    let backoff = self.config.initial_backoff * 2u32.saturating_pow(attempt);
                    let wait = failure.retry_after.unwrap_or(backoff).min(MAX_BACKOFF);
                    warn!(
                        error = %failure.error,
                        retry_in_ms = wait.as_millis() as u64,
                        "embedding request failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(mut failure) => {
                    if let (true, EmbedError::Unavailable { reason, .. }) =
                        (attempt > 0, &mut failure.error)
                    {
                        reason.push_str(&format!(" (after {} attempts)", attempt + 1));
                    }
                    return Err(failure);
                }
            }
        }
    }

    async fn attempt(&self, texts: &[String], kind: InputKind) -> Result<Vec<Vec<f32>>, Failure> {
        let mut body = json!({"model": self.config.model, "input": texts});
        if self.config.send_input_type {
            body["input_type"] = json!(match kind {
                InputKind::Query => "query",
                InputKind::Document => "document",
            });
        }
        let mut request = self
            .client
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body.to_string());
        if let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        let unavailable = |reason: String| Failure {
            error: EmbedError::Unavailable {
                url: self.shown_url.clone(),
                reason: self.scrub(&reason),
            },
            retryable: true,
            retry_after: None,
            too_large: false,
        };
        let response = request.send().await.map_err(|error| {
            unavailable(if error.is_timeout() {
                format!("timed out after {} s", self.config.timeout.as_secs_f32())
            } else {
                describe_error(&error.without_url())
            })
        })?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let limit =
            texts.len() * self.dimension.max(MAX_DIMENSION / 4) * RESPONSE_BYTES_PER_COMPONENT
                + RESPONSE_OVERHEAD_BYTES;
        let body = read_capped(response, limit)
            .await
            .map_err(|reason| unavailable(format!("reading the response failed: {reason}")))?;
        if !status.is_success() {
            return Err(self.http_failure(status, &body, retry_after, location));
        }
        let vectors = self.parse(&body, texts.len()).map_err(|reason| Failure {
            error: EmbedError::BadResponse {
                url: self.shown_url.clone(),
                reason: self.scrub(&reason),
            },
            retryable: false,
            retry_after: None,
            too_large: false,
        })?;
        if let Some(vector) = vectors
            .iter()
            .find(|v| self.dimension > 0 && v.len() != self.dimension)
        {
            return Err(Failure {
                error: EmbedError::WrongDimension {
                    embedder: self.name.clone(),
                    expected: self.dimension,
                    actual: vector.len(),
                },
                retryable: false,
                retry_after: None,
                too_large: false,
            });
        }
        Ok(vectors)
    }

    fn http_failure(
        &self,
        status: reqwest::StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
        location: Option<String>,
    ) -> Failure {
        let detail = self.scrub(&error_detail(body));
        let code = status.as_u16();
        let retryable = code == 429 || code == 408 || status.is_server_error();
        let hint = match code {
            401 | 403 => "; check the API key (MCP_CODE_INDEX_EMBEDDING_API_KEY)".to_string(),
            404 => "; check --embedding-url (MCP_CODE_INDEX_EMBEDDING_URL) and --embedding-model \
                    (MCP_CODE_INDEX_EMBEDDING_MODEL)"
                .to_string(),
            300..=399 => format!(
                "; redirects are not followed: set --embedding-url to the final URL{}",
                location
                    .map(|to| format!(" (the server points to {:?})", self.scrub(&to)))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        };
        let reason = format!("HTTP {status}: {detail}{hint}");
        let url = self.shown_url.clone();
        Failure {
            error: if retryable {
                EmbedError::Unavailable { url, reason }
            } else if matches!(code, 400 | 413 | 422) {
                EmbedError::Rejected { url, reason }
            } else {
                EmbedError::Refused { url, reason }
            },
            retryable,
            retry_after,
            too_large: code == 413,
        }
    }

    /// Reads `{"data": [{"index": n, "embedding": [...]}, ...]}`. Embeddings
    /// may also come base64-encoded as little-endian `f32`s. Vectors are
    /// checked and scaled to unit length.
    fn parse(&self, body: &[u8], expected: usize) -> Result<Vec<Vec<f32>>, String> {
        let value: Value = serde_json::from_slice(body).map_err(|_| {
            format!(
                "the response is not JSON; it begins with {:?}",
                excerpt(body)
            )
        })?;
        let Some(data) = value.get("data").and_then(Value::as_array) else {
            return Err(format!(
                "the response has no \"data\" list of embeddings; it begins with {:?}",
                excerpt(body)
            ));
        };
        if data.len() != expected {
            return Err(format!("{} embeddings for {expected} inputs", data.len()));
        }
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
        for (position, item) in data.iter().enumerate() {
            let index = match item.get("index") {
                None | Some(Value::Null) => position,
                Some(index) => index.as_u64().map(|index| index as usize).ok_or_else(|| {
                    format!("embedding {position} has index {index}, not a whole number")
                })?,
            };
            let mut vector = match item.get("embedding") {
                Some(Value::Array(numbers)) => numbers
                    .iter()
                    .map(|number| match number.as_f64() {
                        Some(x) if x.is_finite() && x.abs() <= f32::MAX as f64 => Ok(x as f32),
                        Some(x) => {
                            Err(format!("embedding {index} holds {x}, beyond 32-bit floats"))
                        }
                        None => Err(format!("embedding {index} holds {number}, not a number")),
                    })
                    .collect::<Result<Vec<f32>, String>>()?,
                Some(Value::String(text)) => decode_base64(text)?,
                Some(other) => {
                    return Err(format!(
                        "embedding {index} is {}, not a list of numbers or base64 text",
                        kind_of(other)
                    ));
                }
                None => return Err(format!("item {position} has no \"embedding\"")),
            };
            if vector.iter().any(|x| !x.is_finite()) {
                return Err(format!("embedding {index} contains NaN or infinite values"));
            }
            if vector.iter().all(|x| *x == 0.0) {
                return Err(format!("embedding {index} is all zeros"));
            }
            normalize(&mut vector);
            match slots.get_mut(index) {
                Some(slot @ None) => *slot = Some(vector),
                Some(Some(_)) => return Err(format!("embedding index {index} appears twice")),
                None => return Err(format!("embedding index {index} is out of range")),
            }
        }
        Ok(slots
            .into_iter()
            .map(|slot| slot.unwrap_or_default())
            .collect())
    }
}

/// Names a JSON value's type, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Embedder for OpenAiEmbedder {
    fn name(&self) -> &str {
        &self.name
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str], kind: InputKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.runtime.block_on(self.embed_async(texts, kind))
    }
}

/// Cuts `text` to at most `max_chars` characters.
fn cut(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Splits `texts` into runs of at most `max_count` texts and, unless a single
/// text is longer, at most `max_chars` characters.
fn batches(texts: &[String], max_count: usize, max_chars: usize) -> Vec<&[String]> {
    let mut result = Vec::new();
    let mut start = 0;
    let mut chars = 0;
    for (n, text) in texts.iter().enumerate() {
        let length = text.chars().count();
        let full = n - start >= max_count.max(1) || (n > start && chars + length > max_chars);
        if full {
            result.push(&texts[start..n]);
            start = n;
            chars = 0;
        }
        chars += length;
    }
    if start < texts.len() {
        result.push(&texts[start..]);
    }
    result
}

/// Reads the body, failing once it exceeds `limit` bytes, far more than the
/// vectors asked for can take, so a broken server cannot exhaust memory.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(bytes) = response
        .chunk()
        .await
        .map_err(|error| describe_error(&error.without_url()))?
    {
        if body.len() + bytes.len() > limit {
            return Err(format!(
                "the response is larger than {limit} bytes, more than the requested vectors need"
            ));
        }
        body.extend_from_slice(&bytes);
    }
    Ok(body)
}

/// Returns the server's own error message if the body is OpenAI-style JSON, or the
/// start of the body.
fn error_detail(body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            let error = value.get("error")?;
            error
                .get("message")
                .and_then(|m| m.as_str())
                .or_else(|| error.as_str())
                .map(str::to_string)
        });
    match message {
        Some(message) => cut(&message, ERROR_EXCERPT_CHARS).to_string(),
        None if body.is_empty() => "empty body".to_string(),
        None => format!("{:?}", excerpt(body)),
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_EXCERPT_CHARS * 4)]);
    cut(&text, ERROR_EXCERPT_CHARS).to_string()
}

fn decode_base64(text: &str) -> Result<Vec<f32>, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|error| format!("embedding is neither a list of numbers nor base64: {error}"))?;
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "base64 embedding has {} bytes, not a whole number of 4-byte floats",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(lengths: &[usize]) -> Vec<String> {
        lengths.iter().map(|n| "x".repeat(*n)).collect()
    }

    fn sizes(batches: &[&[String]]) -> Vec<usize> {
        batches.iter().map(|b| b.len()).collect()
    }

    #[test]
    fn batches_respect_count_and_characters() {
        let texts = strings(&[10, 10, 10, 10, 10]);
        assert_eq!(sizes(&batches(&texts, 2, 1000)), [2, 2, 1]);
        assert_eq!(sizes(&batches(&texts, 10, 25)), [2, 2, 1]);
        let long = strings(&[5, 100, 5]);
        assert_eq!(sizes(&batches(&long, 10, 50)), [1, 1, 1]);
        assert!(batches(&[], 4, 10).is_empty());
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("abc", 10), "abc");
    }

    #[test]
    fn endpoint_accepts_base_or_full_url() {
        let mut config = OpenAiConfig {
            url: "http://127.0.0.1:9/v1/".to_string(),
            model: "m".to_string(),
            api_key: None,
            dimension: None,
            batch_size: 1,
            batch_chars: 1,
            max_input_chars: 1,
            send_input_type: false,
            query_prefix: String::new(),
            document_prefix: String::new(),
            timeout: Duration::from_secs(1),
            retries: 0,
            initial_backoff: Duration::from_millis(1),
        };
        let endpoint = |config: &OpenAiConfig| config.endpoint().map(|url| url.to_string());
        let cases = [
            (
                "http://127.0.0.1:9/v1/",
                Ok("http://127.0.0.1:9/v1/embeddings"),
            ),
            (
                "http://127.0.0.1:9/api/embeddings",
                Ok("http://127.0.0.1:9/api/embeddings"),
            ),
            ("http://127.0.0.1:9", Ok("http://127.0.0.1:9/embeddings")),
            (
                "https://127.0.0.1:9/openai?api-version=2024-02-01#x",
                Ok("https://127.0.0.1:9/openai/embeddings?api-version=2024-02-01"),
            ),
            ("ftp://127.0.0.1/v1", Err("http or https")),
            ("127.0.0.1:9/v1", Err("invalid embedding URL")),
        ];
        for (url, expected) in cases {
            config.url = url.to_string();
            match (endpoint(&config), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{url}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{url}: {got}"),
                (got, want) => panic!("{url}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn name_changes_only_with_what_changes_stored_vectors() {
        let base = OpenAiConfig {
            url: "http://127.0.0.1:9/v1".to_string(),
            model: "m".to_string(),
            api_key: None,
            dimension: None,
            batch_size: 1,
            batch_chars: 1,
            max_input_chars: DEFAULT_MAX_INPUT_CHARS,
            send_input_type: false,
            query_prefix: String::new(),
            document_prefix: String::new(),
            timeout: Duration::from_secs(1),
            retries: 0,
            initial_backoff: Duration::from_millis(1),
        };
        assert_eq!(base.embedder_name(), "openai:m");
        let query_prefix = OpenAiConfig {
            query_prefix: "query: ".to_string(),
            batch_size: 9,
            ..base.clone()
        };
        assert_eq!(query_prefix.embedder_name(), "openai:m");
        let changed = [
            OpenAiConfig {
                send_input_type: true,
                ..base.clone()
            },
            OpenAiConfig {
                document_prefix: "passage: ".to_string(),
                ..base.clone()
            },
            OpenAiConfig {
                max_input_chars: 500,
                ..base.clone()
            },
            OpenAiConfig {
                model: "m (input_type)".to_string(),
                ..base.clone()
            },
        ];
        let mut names: Vec<String> = changed.iter().map(OpenAiConfig::embedder_name).collect();
        names.push(base.embedder_name());
        names.sort();
        names.dedup();
        assert_eq!(names.len(), changed.len() + 1, "{names:?}");
    }

    #[test]
    fn error_detail_prefers_the_server_message() {
        let body = br#"{"error": {"message": "model not found", "type": "x"}}"#;
        assert_eq!(error_detail(body), "model not found");
        assert_eq!(error_detail(b""), "empty body");
        assert_eq!(error_detail(b"oops"), "\"oops\"");
    }

    #[test]
    fn base64_embeddings_decode_as_little_endian_floats() {
        use base64::Engine as _;
        let bytes: Vec<u8> = [1.0f32, -2.5]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(decode_base64(&text).unwrap(), [1.0, -2.5]);
        assert!(decode_base64("AAA=").is_err());
    }
}
