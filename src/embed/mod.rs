//! Embedders turn chunk text and search queries into fixed-size vectors.

mod abbreviations;
pub mod hashing;
#[cfg(feature = "minilm")]
pub mod minilm;
pub mod openai;
pub mod stem;

pub use hashing::{HashingEmbedder, split_identifiers};
#[cfg(feature = "minilm")]
pub use minilm::MinilmEmbedder;
pub use openai::{OpenAiConfig, OpenAiEmbedder};

/// Purpose of an embedded text. Some models embed queries and documents
/// differently, for example with a `query: ` or `passage: ` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Chunk text stored in the index.
    Document,
    /// A search query compared against stored chunks.
    Query,
}

/// Reason a batch of texts could not be embedded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EmbedError {
    /// The embedding server could not be reached, or kept failing after retries.
    #[error("embedding server {url} is unavailable: {reason}")]
    Unavailable { url: String, reason: String },
    /// The embedding server rejected these texts (HTTP 400, 413 or 422);
    /// other texts may still succeed.
    #[error("embedding server {url} rejected the request: {reason}")]
    Rejected { url: String, reason: String },
    /// The embedding server refused every request, e.g. for a wrong key, URL
    /// or model; retrying would not help.
    #[error("embedding server {url} refused the request: {reason}")]
    Refused { url: String, reason: String },
    /// The embedding server returned something other than the expected vectors.
    #[error("embedding server {url} returned an unusable response: {reason}")]
    BadResponse { url: String, reason: String },
    /// A vector has another length than the collection's dimension.
    #[error(
        "embedder {embedder} returned vectors of dimension {actual}, but {expected} is expected; \
         set --embedding-dimension (MCP_CODE_INDEX_EMBEDDING_DIMENSION) to the model's \
         dimension, or leave it unset so that the server is asked"
    )]
    WrongDimension {
        embedder: String,
        expected: usize,
        actual: usize,
    },
    /// The embedder itself failed, e.g. a model file could not be read.
    #[error("{0}")]
    Failed(String),
}

/// Turns text into vectors of a fixed dimension.
///
/// Implementations must be deterministic for a given configuration, so that a
/// query embeds into the same space as the chunks it is compared against.
/// `embed` may block (on the network or on a model), so callers run it on a
/// blocking thread.
pub trait Embedder: Send + Sync {
    /// Stable name recorded with each collection, e.g. `hashing-768`. Vectors
    /// from embedders with different names are never mixed in one collection.
    fn name(&self) -> &str;

    /// Length of every vector this embedder returns.
    fn dimension(&self) -> usize;

    /// Embeds each text. The result has one vector per input, in order.
    fn embed(&self, texts: &[&str], kind: InputKind) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Tells whether the embedder rejects even a short plain text. Then a
/// rejection comes from its settings (e.g. a parameter the server does not
/// accept) rather than from a particular text, and skipping texts would lose
/// them for nothing.
pub fn rejects_any_text(embedder: &dyn Embedder) -> bool {
    matches!(
        embedder.embed(&["fn main() {}"], InputKind::Document),
        Err(EmbedError::Rejected { .. })
    )
}

/// Builds the text embedded for a stored chunk: file name, the symbol's words
/// spelled out, and chunk text. Indexing and re-embedding both use it, so
/// their vectors agree.
///
/// A language model splits `with_recv_msghdr` into word pieces that are rare
/// in prose, while "with receive message header" consists of common words.
/// The chunk text still contains the symbol as written.
pub fn chunk_embedding_text(path: &str, symbol: Option<&str>, text: &str) -> String {
    let file_name = std::path::Path::new(path)
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    let symbol_words = hashing::spell_out(symbol.unwrap_or(""));
    format!("{file_name}\n{symbol_words}\n{text}")
}

/// Scales `vector` to unit length; the zero vector is left as it is.
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in vector.iter_mut() {
            *x /= norm;
        }
    }
}

/// Builds the embedder `config` selects. An OpenAI-compatible server is asked
/// for its dimension here unless the configuration gives one.
pub async fn from_config(
    config: &crate::config::Config,
) -> Result<std::sync::Arc<dyn Embedder>, String> {
    use crate::config::EmbedderKind;
    if config.embedder != EmbedderKind::Openai {
        let ignored: Vec<&str> = [
            ("--embedding-url", config.embedding_url.is_some()),
            ("--embedding-model", config.embedding_model.is_some()),
            ("--embedding-api-key", config.embedding_api_key.is_some()),
            (
                "--embedding-send-input-type",
                config.embedding_send_input_type,
            ),
            (
                "--embedding-query-prefix",
                !config.embedding_query_prefix.is_empty(),
            ),
            (
                "--embedding-document-prefix",
                !config.embedding_document_prefix.is_empty(),
            ),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect();
        if !ignored.is_empty() {
            tracing::warn!(
                embedder = ?config.embedder,
                ignored = %ignored.join(", "),
                "these settings apply only to --embedder openai and are ignored"
            );
        }
    }
    match config.embedder {
        EmbedderKind::Hashing => {
            let dimension = config
                .embedding_dimension
                .map_or(hashing::DEFAULT_DIMENSION, |d| d as usize);
            if dimension < hashing::MIN_DIMENSION {
                return Err(format!(
                    "--embedding-dimension {dimension} is too small for the hashing embedder; \
                     use at least {} (default {})",
                    hashing::MIN_DIMENSION,
                    hashing::DEFAULT_DIMENSION
                ));
            }
            Ok(std::sync::Arc::new(HashingEmbedder::new(dimension)))
        }
        EmbedderKind::Openai => {
            let openai = config.openai_config()?;
            let guessed_dimension = openai.dimension.is_none();
            OpenAiEmbedder::connect(openai)
                .await
                .map(|embedder| std::sync::Arc::new(embedder) as std::sync::Arc<dyn Embedder>)
                .map_err(|error| match error {
                    EmbedError::Unavailable { .. } if guessed_dimension => format!(
                        "cannot learn the embedding dimension: {error}. Start the embeddings \
                         server, or set --embedding-dimension (MCP_CODE_INDEX_EMBEDDING_DIMENSION) \
                         so that mcp-code-index starts without asking it"
                    ),
                    EmbedError::Failed(message) => message,
                    error if guessed_dimension => {
                        format!("cannot learn the embedding dimension: {error}")
                    }
                    error => error.to_string(),
                })
        }
        EmbedderKind::Minilm => minilm_from_config(config),
    }
}

#[cfg(not(feature = "minilm"))]
fn minilm_from_config(
    _config: &crate::config::Config,
) -> Result<std::sync::Arc<dyn Embedder>, String> {
    Err(
        "this build has no MiniLM embedder: build with `cargo build --release --features \
         minilm`, or choose --embedder hashing or openai"
            .to_string(),
    )
}

#[cfg(feature = "minilm")]
fn minilm_from_config(
    config: &crate::config::Config,
) -> Result<std::sync::Arc<dyn Embedder>, String> {
    let dir = config.minilm_dir.as_deref().ok_or(
        "--embedder minilm needs the model directory: run `scripts/fetch-minilm.sh DIR` from \
         the mcp-code-index repository, then set --minilm-dir or MCP_CODE_INDEX_MINILM_DIR to DIR",
    )?;
    if let Some(dimension) = config.embedding_dimension
        && dimension as usize != minilm::DIMENSION
    {
        return Err(format!(
            "--embedder minilm returns {} dimensions, but MCP_CODE_INDEX_EMBEDDING_DIMENSION is \
             {dimension}; unset it or set it to {}",
            minilm::DIMENSION,
            minilm::DIMENSION
        ));
    }
    MinilmEmbedder::load(dir)
        .map(|embedder| std::sync::Arc::new(embedder) as std::sync::Arc<dyn Embedder>)
        .map_err(|error| error.to_string())
}
