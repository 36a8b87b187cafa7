//! Embedders turn chunk text and search queries into fixed-size vectors.

pub mod hashing;
pub mod openai;
pub mod stem;

pub use hashing::{HashingEmbedder, split_identifiers};
pub use openai::{OpenAiConfig, OpenAiEmbedder};

/// What a text is embedded for. Some models embed queries and documents
/// differently, for example with a `query: ` or `passage: ` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Chunk text stored in the index.
    Document,
    /// A search query compared against stored chunks.
    Query,
}

/// Why a batch of texts could not be embedded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EmbedError {
    /// The embedding server could not be reached, or kept failing after retries.
    #[error("embedding server {url} is unavailable: {reason}")]
    Unavailable { url: String, reason: String },
    /// The embedding server rejected the request; retrying would not help.
    #[error("embedding server {url} rejected the request: {reason}")]
    Rejected { url: String, reason: String },
    /// The embedding server answered with something other than the expected vectors.
    #[error("embedding server {url} returned an unusable response: {reason}")]
    BadResponse { url: String, reason: String },
    /// A vector has another length than the collection's dimension.
    #[error(
        "embedder {embedder} returned vectors of dimension {actual}, but {expected} is expected; \
         set MCP_CODE_INDEX_EMBEDDING_DIMENSION to the model's dimension or pick another model"
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

/// The text embedded for a stored chunk: file name, symbol and chunk text.
/// Indexing and re-embedding both use it, so their vectors agree.
pub fn chunk_embedding_text(path: &str, symbol: Option<&str>, text: &str) -> String {
    let file_name = std::path::Path::new(path)
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    format!("{file_name}\n{}\n{text}", symbol.unwrap_or(""))
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
    match config.embedder {
        EmbedderKind::Hashing => {
            let dimension = config
                .embedding_dimension
                .map_or(hashing::DEFAULT_DIMENSION, |d| d as usize);
            Ok(std::sync::Arc::new(HashingEmbedder::new(dimension)))
        }
        EmbedderKind::Openai => {
            let openai = config.openai_config()?;
            let guessed_dimension = openai.dimension.is_none();
            OpenAiEmbedder::connect(openai)
                .await
                .map(|embedder| std::sync::Arc::new(embedder) as std::sync::Arc<dyn Embedder>)
                .map_err(|error| {
                    if guessed_dimension {
                        format!(
                            "cannot learn the embedding dimension: {error}. Start the server, \
                             or set MCP_CODE_INDEX_EMBEDDING_DIMENSION so that mcp-code-index \
                             starts without asking it"
                        )
                    } else {
                        error.to_string()
                    }
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
