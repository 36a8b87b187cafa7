//! Embedders turn chunk text and search queries into fixed-size vectors.

pub mod hashing;

pub use hashing::{HashingEmbedder, split_identifiers};

/// Turns text into vectors of a fixed dimension.
///
/// Implementations must be deterministic for a given configuration, so that a
/// query embeds into the same space as the chunks it is compared against.
pub trait Embedder: Send + Sync {
    /// Stable name recorded with each collection, e.g. `hashing-768`.
    fn name(&self) -> &str;

    /// Length of every vector this embedder returns.
    fn dimension(&self) -> usize;

    /// Embeds each text. The result has one vector per input, in order.
    fn embed(&self, texts: &[&str]) -> Vec<Vec<f32>>;
}
