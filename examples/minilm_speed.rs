//! Times the MiniLM embedder per text at several lengths, one text per call.
//!
//! Run with `cargo run --release --features minilm --example minilm_speed`
//! and the model directory in `MCP_CODE_INDEX_MINILM_DIR`.

use std::path::Path;
use std::time::Instant;

use mcp_code_index::embed::{Embedder, InputKind, MinilmEmbedder};

/// Calls timed per length, after one untimed call that compiles its plan.
const REPEATS: u32 = 10;

fn main() {
    let dir = std::env::var_os("MCP_CODE_INDEX_MINILM_DIR")
        .expect("set MCP_CODE_INDEX_MINILM_DIR to the directory from scripts/fetch-minilm.sh");
    let started = Instant::now();
    let embedder = MinilmEmbedder::load(Path::new(&dir)).expect("MiniLM model loads");
    println!("load: {:.2} s", started.elapsed().as_secs_f64());

    for words in [15, 31, 63, 127] {
        let text = (0..words)
            .map(|n| format!("w{}", n % 50))
            .collect::<Vec<_>>()
            .join(" ");
        embedder
            .embed(&[&text], InputKind::Document)
            .expect("text embeds");
        let started = Instant::now();
        for _ in 0..REPEATS {
            embedder
                .embed(&[&text], InputKind::Document)
                .expect("text embeds");
        }
        let per_text = started.elapsed().as_secs_f64() / f64::from(REPEATS);
        let pieces = embedder.token_count(&text).expect("text tokenizes");
        println!("{pieces:3} word pieces: {:.1} ms per text", per_text * 1e3);
    }
}
