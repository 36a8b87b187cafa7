//! Client for OpenAI-compatible `POST /v1/embeddings` servers: OpenAI, Ollama,
//! Text Embeddings Inference, LM Studio, vLLM and the like.
//!
//! Texts are sent in batches bounded by count and by total characters, each
//! text cut to a maximum length first. Connection errors, timeouts, 429 and 5xx
//! answers are retried with exponential backoff (honouring `Retry-After`); a
//! 413 splits the batch in half. Every answer is checked: one finite vector per
//! input, each of the expected dimension.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde::Deserialize;
use serde_json::json;
use tracing::{debug, warn};

use super::{EmbedError, Embedder, InputKind, normalize};
use crate::webhook::attempt::describe_error;

/// Largest response body read, so a broken server cannot exhaust memory.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
/// Characters of an error response quoted in messages.
const ERROR_EXCERPT_CHARS: usize = 300;
/// Longest wait between two attempts, whatever `Retry-After` asks for.
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
    /// Expected vector length; `None` asks the server once at start-up.
    pub dimension: Option<usize>,
    /// Most texts in one request.
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
    /// The embeddings endpoint: `url` itself if it ends in `/embeddings`,
    /// otherwise `url` + `/embeddings`.
    pub fn endpoint(&self) -> String {
        let trimmed = self.url.trim_end_matches('/');
        if trimmed.ends_with("/embeddings") {
            trimmed.to_string()
        } else {
            format!("{trimmed}/embeddings")
        }
    }

    /// The name recorded with collections. Anything that changes the vectors
    /// (model, input type, prefixes) is part of it.
    fn embedder_name(&self) -> String {
        let mut name = format!("openai:{}", self.model);
        if self.send_input_type {
            name.push_str(";input_type");
        }
        if !self.query_prefix.is_empty() || !self.document_prefix.is_empty() {
            name.push_str(&format!(
                ";prefixes={:?}/{:?}",
                self.query_prefix, self.document_prefix
            ));
        }
        name
    }
}

/// An [`Embedder`] backed by an OpenAI-compatible HTTP server.
pub struct OpenAiEmbedder {
    config: OpenAiConfig,
    endpoint: String,
    name: String,
    dimension: usize,
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("endpoint", &self.endpoint)
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
    /// Checks the configuration and, when no dimension is configured, asks the
    /// server for one vector to learn it.
    pub async fn connect(config: OpenAiConfig) -> Result<Self, EmbedError> {
        let endpoint = config.endpoint();
        let parsed = reqwest::Url::parse(&endpoint).map_err(|error| {
            EmbedError::Failed(format!(
                "invalid embedding URL {:?}: {error}; use a base URL such as \
                 http://127.0.0.1:11434/v1",
                config.url
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(EmbedError::Failed(format!(
                "invalid embedding URL {:?}: the scheme must be http or https",
                config.url
            )));
        }
        if config.model.trim().is_empty() {
            return Err(EmbedError::Failed(
                "no embedding model given: set MCP_CODE_INDEX_EMBEDDING_MODEL".to_string(),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| EmbedError::Failed(format!("cannot build HTTP client: {error}")))?;
        let mut embedder = Self {
            name: config.embedder_name(),
            endpoint,
            dimension: config.dimension.unwrap_or(0),
            config,
            client,
            runtime: tokio::runtime::Handle::current(),
        };
        if embedder.config.dimension.is_none() {
            let probe = embedder
                .request(&[PROBE_TEXT.to_string()], InputKind::Query)
                .await?;
            embedder.dimension = probe[0].len();
            if embedder.dimension == 0 {
                return Err(EmbedError::BadResponse {
                    url: embedder.endpoint.clone(),
                    reason: "the vector is empty".to_string(),
                });
            }
        }
        Ok(embedder)
    }

    /// Embeds `texts` with batching, retries and checks.
    pub async fn embed_async(
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
            .map(|text| format!("{prefix}{}", cut(text, self.config.max_input_chars)))
            .collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in batches(&prepared, self.config.batch_size, self.config.batch_chars) {
            vectors.extend(self.embed_batch(batch, kind).await?);
        }
        Ok(vectors)
    }

    /// Embeds one batch, splitting it whenever the server answers 413.
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
                Err(failure) => return Err(failure),
            }
        }
    }

    /// One batch, as sent by the dimension probe.
    async fn request(
        &self,
        texts: &[String],
        kind: InputKind,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.request_with_retries(texts, kind)
            .await
            .map_err(|failure| failure.error)
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
            .post(&self.endpoint)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body.to_string());
        if let Some(key) = &self.config.api_key {
            request = request.header(AUTHORIZATION, format!("Bearer {key}"));
        }
        let unavailable = |reason: String| Failure {
            error: EmbedError::Unavailable {
                url: self.endpoint.clone(),
                reason,
            },
            retryable: true,
            retry_after: None,
            too_large: false,
        };
        let response = request.send().await.map_err(|error| {
            unavailable(if error.is_timeout() {
                format!("no answer within {} s", self.config.timeout.as_secs_f32())
            } else {
                describe_error(&error)
            })
        })?;
        let status = response.status();
        let retry_after = retry_after(&response);
        let body = read_capped(response)
            .await
            .map_err(|reason| unavailable(format!("reading the answer failed: {reason}")))?;
        if !status.is_success() {
            return Err(self.http_failure(status, &body, retry_after));
        }
        let vectors = self.parse(&body, texts.len()).map_err(|reason| Failure {
            error: EmbedError::BadResponse {
                url: self.endpoint.clone(),
                reason,
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
    ) -> Failure {
        let detail = error_detail(body);
        let code = status.as_u16();
        let retryable = code == 429 || code == 408 || status.is_server_error();
        let hint = match code {
            401 | 403 => "; check MCP_CODE_INDEX_EMBEDDING_API_KEY",
            404 => "; check MCP_CODE_INDEX_EMBEDDING_URL and MCP_CODE_INDEX_EMBEDDING_MODEL",
            300..=399 => "; redirects are not followed, so give the final URL",
            _ => "",
        };
        let reason = format!("HTTP {status}: {detail}{hint}");
        let url = self.endpoint.clone();
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
    /// may also come base64-encoded as little-endian `f32`s.
    fn parse(&self, body: &[u8], expected: usize) -> Result<Vec<Vec<f32>>, String> {
        #[derive(Deserialize)]
        struct Response {
            data: Vec<Item>,
        }
        #[derive(Deserialize)]
        struct Item {
            index: Option<usize>,
            embedding: Encoded,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Encoded {
            Floats(Vec<f32>),
            Base64(String),
        }

        let response: Response = serde_json::from_slice(body).map_err(|error| {
            format!(
                "expected JSON with a \"data\" list of embeddings: {error}; the answer began \
                 with {:?}",
                excerpt(body)
            )
        })?;
        if response.data.len() != expected {
            return Err(format!(
                "{} embeddings for {expected} inputs",
                response.data.len()
            ));
        }
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
        for (position, item) in response.data.into_iter().enumerate() {
            let index = item.index.unwrap_or(position);
            let mut vector = match item.embedding {
                Encoded::Floats(vector) => vector,
                Encoded::Base64(text) => decode_base64(&text)?,
            };
            if vector.iter().any(|x| !x.is_finite()) {
                return Err(format!("embedding {index} contains NaN or infinite values"));
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

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64)
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(bytes) = response
        .chunk()
        .await
        .map_err(|error| describe_error(&error))?
    {
        if body.len() + bytes.len() > MAX_RESPONSE_BYTES {
            return Err(format!(
                "the answer is larger than {MAX_RESPONSE_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&bytes);
    }
    Ok(body)
}

/// The server's own error message if the body is OpenAI-style JSON, or the
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
        assert_eq!(config.endpoint(), "http://127.0.0.1:9/v1/embeddings");
        config.url = "http://127.0.0.1:9/api/embeddings".to_string();
        assert_eq!(config.endpoint(), "http://127.0.0.1:9/api/embeddings");
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
