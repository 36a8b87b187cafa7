//! all-MiniLM-L6-v2 run in process: an int8 ONNX export executed by tract
//! (pure Rust) with the model's own WordPiece tokenizer.
//!
//! Texts are tokenized with `[CLS]`/`[SEP]` and cut to 128 word pieces, the
//! training length that the model card states. The
//! encoder's `last_hidden_state` is mean-pooled over the attention mask and
//! L2-normalised, as the sentence-transformers pipeline does, giving 384
//! dimensions. Queries and documents are embedded the same way.
//!
//! Each text runs on its own, padded to the next of a few fixed lengths, and
//! the texts of one `embed` call are shared out over one thread per core.
//! In measurements with tract 0.23, padded batches of several texts were no
//! faster per text, and a plan compiled for fixed shapes ran about twice as
//! fast as one with symbolic shapes.
//!
//! The model directory contains `model.onnx` and `tokenizer.json`, written by
//! `scripts/fetch-minilm.sh`. Nothing is downloaded at run time. Memory use
//! is about 220 MB after loading and grows by about 45 MB for each further
//! padded length in use: `examples/minilm_speed.rs` peaked at 312 MB with
//! three of the four lengths, so all four need an estimated 355 MB.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokenizers::{Tokenizer, TruncationParams};
use tract_onnx::prelude::*;

use super::{EmbedError, Embedder, InputKind, normalize};

/// Name recorded with collections built by this embedder. The suffix is the
/// cut in word pieces, because vectors of long texts depend on it.
pub const NAME: &str = "minilm-l6-v2-int8-128";
/// Length of the pooled vector (the model's hidden size).
pub const DIMENSION: usize = 384;
/// Word pieces per text, `[CLS]` and `[SEP]` included. sentence-transformers
/// sets `max_seq_length` 256 for this model, but on the retrieval benchmark
/// (benches/retrieval.rs) a cut at 128 found more functions than 256 did
/// (semantic recall@10 0.855 against 0.842 for Python, 0.765 against 0.760
/// for Rust) and embedded about 1.5 times faster.
pub const MAX_SEQUENCE_LENGTH: usize = 128;
/// File name of the ONNX graph in the model directory.
pub const MODEL_FILE: &str = "model.onnx";
/// File name of the Hugging Face tokenizer in the model directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// The command that writes the model directory, quoted in load errors.
const SETUP_HINT: &str = "run `scripts/fetch-minilm.sh DIR` from the mcp-code-index \
                          repository and pass DIR as --minilm-dir or MCP_CODE_INDEX_MINILM_DIR";

/// Sequence lengths, in word pieces, for which a plan is compiled. A text is
/// padded to the smallest length that fits it. Each plan keeps its own
/// packed copy of the weights, about 45 MB, so the lengths are few; plans are
/// compiled on first use, in about 0.25 s each.
const SEQUENCE_BUCKETS: [usize; 4] = [32, 64, 96, MAX_SEQUENCE_LENGTH];

type Plan = Arc<TypedSimplePlan>;

/// A graph input, named after the tokenizer output that feeds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModelInput {
    InputIds,
    AttentionMask,
    TokenTypeIds,
}

/// The in-process MiniLM embedder. `embed` may be called from several threads
/// at a time, and uses up to one thread per core for a batch of texts.
pub struct MinilmEmbedder {
    tokenizer: Tokenizer,
    /// The typed graph with symbolic batch and sequence dimensions and its
    /// weights already dequantized, from which each plan is compiled.
    model: TypedModel,
    batch_symbol: Symbol,
    sequence_symbol: Symbol,
    /// One plan per entry of `SEQUENCE_BUCKETS`, compiled on first use.
    plans: Vec<OnceLock<Result<Plan, String>>>,
    inputs: Vec<ModelInput>,
    model_dir: PathBuf,
}

impl std::fmt::Debug for MinilmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinilmEmbedder")
            .field("model_dir", &self.model_dir)
            .field("inputs", &self.inputs)
            .finish_non_exhaustive()
    }
}

/// One tokenized text.
struct Tokens {
    ids: Vec<i64>,
    type_ids: Vec<i64>,
}

impl MinilmEmbedder {
    /// Loads `model.onnx` and `tokenizer.json` from `dir` and compiles the
    /// plan for the shortest texts, so that a model tract cannot run fails
    /// here. Every error names the file at fault and the setup command.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        if !dir.is_dir() {
            return Err(load_error(format!(
                "MiniLM model directory {} not found",
                dir.display()
            )));
        }
        let tokenizer = load_tokenizer(&dir.join(TOKENIZER_FILE))?;
        let model_path = dir.join(MODEL_FILE);
        let loaded = load_model(&model_path)?;
        let embedder = Self {
            tokenizer,
            model: loaded.model,
            batch_symbol: loaded.batch_symbol,
            sequence_symbol: loaded.sequence_symbol,
            plans: SEQUENCE_BUCKETS.iter().map(|_| OnceLock::new()).collect(),
            inputs: loaded.inputs,
            model_dir: dir.to_path_buf(),
        };
        embedder.plan(0).map_err(|error| {
            load_error(format!(
                "MiniLM model {} could not be compiled: {error}",
                model_path.display()
            ))
        })?;
        Ok(embedder)
    }

    /// Returns the directory the model was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.model_dir
    }

    /// Counts the word pieces that `text` is embedded as, `[CLS]` and `[SEP]`
    /// included, after truncation to `MAX_SEQUENCE_LENGTH`.
    pub fn token_count(&self, text: &str) -> Result<usize, EmbedError> {
        Ok(self.tokenize(text)?.ids.len())
    }

    fn tokenize(&self, text: &str) -> Result<Tokens, EmbedError> {
        let encoding = self
            .tokenizer
            .encode_fast(text, true)
            .map_err(|error| EmbedError::Failed(format!("tokenizing a text failed: {error}")))?;
        Ok(Tokens {
            ids: encoding.get_ids().iter().map(|&id| i64::from(id)).collect(),
            type_ids: encoding
                .get_type_ids()
                .iter()
                .map(|&id| i64::from(id))
                .collect(),
        })
    }

    /// Returns the plan for `SEQUENCE_BUCKETS[bucket]`, compiled on first use.
    fn plan(&self, bucket: usize) -> Result<&Plan, String> {
        self.plans[bucket]
            .get_or_init(|| {
                let length = SEQUENCE_BUCKETS[bucket];
                let shapes = HashMap::from([
                    (self.batch_symbol.clone(), TDim::Val(1)),
                    (self.sequence_symbol.clone(), TDim::Val(length as i64)),
                ]);
                self.model
                    .set_symbols(&shapes)
                    .and_then(compile)
                    .map_err(|error| {
                        format!("compiling the plan for {length} word pieces failed: {error:#}")
                    })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Embeds one tokenized text: runs it padded to its bucket's length, then
    /// mean-pools the hidden states of its real word pieces and normalises.
    fn embed_tokens(&self, tokens: &Tokens) -> Result<Vec<f32>, EmbedError> {
        let length = tokens.ids.len();
        let bucket = SEQUENCE_BUCKETS
            .iter()
            .position(|&bucket_length| bucket_length >= length)
            .ok_or_else(|| {
                EmbedError::Failed(format!(
                    "a text has {length} word pieces, more than the maximum of \
                     {MAX_SEQUENCE_LENGTH}"
                ))
            })?;
        let padded = SEQUENCE_BUCKETS[bucket];
        let plan = self.plan(bucket).map_err(EmbedError::Failed)?;

        let pad = |values: &[i64]| {
            let mut padded_values = vec![0i64; padded];
            padded_values[..length].copy_from_slice(values);
            Tensor::from_shape(&[1, padded], &padded_values)
                .map(TValue::from)
                .map_err(|error| {
                    EmbedError::Failed(format!("building model input failed: {error}"))
                })
        };
        let mut inputs = TVec::new();
        for input in &self.inputs {
            inputs.push(match input {
                ModelInput::InputIds => pad(&tokens.ids)?,
                ModelInput::AttentionMask => pad(&vec![1; length])?,
                ModelInput::TokenTypeIds => pad(&tokens.type_ids)?,
            });
        }
        let outputs = plan.run(inputs).map_err(|error| {
            EmbedError::Failed(format!("running the MiniLM model failed: {error:#}"))
        })?;
        let hidden = &outputs[0];
        if hidden.shape() != [1, padded, DIMENSION] {
            return Err(EmbedError::Failed(format!(
                "MiniLM model returned shape {:?}, expected [1, {padded}, {DIMENSION}]",
                hidden.shape()
            )));
        }
        let hidden = hidden.to_plain_array_view::<f32>().map_err(|error| {
            EmbedError::Failed(format!("MiniLM model output is not f32: {error}"))
        })?;
        let hidden = hidden.as_slice().ok_or_else(|| {
            EmbedError::Failed("MiniLM model output is not contiguous".to_string())
        })?;

        // Mean pooling over the attention mask: padding positions are skipped.
        let mut vector = vec![0.0f32; DIMENSION];
        for state in hidden[..length * DIMENSION].chunks_exact(DIMENSION) {
            for (sum, value) in vector.iter_mut().zip(state) {
                *sum += value;
            }
        }
        for value in &mut vector {
            *value /= length as f32;
        }
        if vector.iter().any(|value| !value.is_finite()) {
            return Err(EmbedError::Failed(
                "MiniLM model returned NaN or infinite values".to_string(),
            ));
        }
        normalize(&mut vector);
        Ok(vector)
    }
}

impl Embedder for MinilmEmbedder {
    fn name(&self) -> &str {
        NAME
    }

    fn dimension(&self) -> usize {
        DIMENSION
    }

    fn embed(&self, texts: &[&str], _kind: InputKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        let tokens = texts
            .iter()
            .map(|text| self.tokenize(text))
            .collect::<Result<Vec<_>, _>>()?;
        let workers = std::thread::available_parallelism()
            .map_or(1, |cores| cores.get())
            .min(tokens.len());
        if workers <= 1 {
            return tokens.iter().map(|text| self.embed_tokens(text)).collect();
        }

        // One run uses one core, so texts are shared out between threads,
        // each taking the next text not yet taken.
        let next = AtomicUsize::new(0);
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; tokens.len()];
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            let Some(text) = tokens.get(n) else {
                                return Ok(done);
                            };
                            done.push((n, self.embed_tokens(text)?));
                        }
                    })
                })
                .collect();
            for handle in handles {
                let done: Result<Vec<(usize, Vec<f32>)>, EmbedError> =
                    handle.join().expect("embedding thread panicked");
                for (n, vector) in done? {
                    slots[n] = Some(vector);
                }
            }
            Ok(())
        })?;
        Ok(slots.into_iter().map(Option::unwrap_or_default).collect())
    }
}

fn load_error(reason: String) -> EmbedError {
    EmbedError::Failed(format!("{reason}; {SETUP_HINT}"))
}

/// Reads the tokenizer and sets the truncation this embedder relies on.
/// `tokenizer.json` as published pads and truncates to 128, so both are
/// replaced: `embed_tokens` pads each text to its plan's length.
fn load_tokenizer(path: &Path) -> Result<Tokenizer, EmbedError> {
    if !path.is_file() {
        return Err(load_error(format!(
            "MiniLM tokenizer {} not found",
            path.display()
        )));
    }
    let mut tokenizer = Tokenizer::from_file(path).map_err(|error| {
        load_error(format!(
            "MiniLM tokenizer {} is invalid: {error}",
            path.display()
        ))
    })?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_SEQUENCE_LENGTH,
            ..TruncationParams::default()
        }))
        .map_err(|error| {
            load_error(format!(
                "MiniLM tokenizer {} rejects truncation to {MAX_SEQUENCE_LENGTH}: {error}",
                path.display()
            ))
        })?;
    for token in ["[CLS]", "[SEP]", "[PAD]"] {
        if tokenizer.token_to_id(token).is_none() {
            return Err(load_error(format!(
                "MiniLM tokenizer {} has no {token} token; it is not the all-MiniLM-L6-v2 \
                 tokenizer",
                path.display()
            )));
        }
    }
    Ok(tokenizer)
}

/// The parsed graph, ready for `compile` once its shapes are fixed.
struct LoadedModel {
    model: TypedModel,
    batch_symbol: Symbol,
    sequence_symbol: Symbol,
    inputs: Vec<ModelInput>,
}

/// Parses the ONNX graph, maps its inputs by name and dequantizes its weights.
fn load_model(path: &Path) -> Result<LoadedModel, EmbedError> {
    if !path.is_file() {
        return Err(load_error(format!(
            "MiniLM model {} not found",
            path.display()
        )));
    }
    let invalid = |error: TractError| {
        load_error(format!(
            "MiniLM model {} could not be loaded: {error:#}",
            path.display()
        ))
    };
    let model = tract_onnx::onnx().model_for_path(path).map_err(invalid)?;

    let mut inputs = Vec::new();
    for outlet in model.input_outlets().map_err(invalid)? {
        let name = model.node(outlet.node).name.as_str();
        inputs.push(match name {
            "input_ids" => ModelInput::InputIds,
            "attention_mask" => ModelInput::AttentionMask,
            "token_type_ids" => ModelInput::TokenTypeIds,
            other => {
                return Err(load_error(format!(
                    "MiniLM model {} has an unexpected input {other:?}; expected input_ids, \
                     attention_mask and optionally token_type_ids",
                    path.display()
                )));
            }
        });
    }
    for required in [ModelInput::InputIds, ModelInput::AttentionMask] {
        if !inputs.contains(&required) {
            return Err(load_error(format!(
                "MiniLM model {} has no {required:?} input",
                path.display()
            )));
        }
    }

    let mut model = model.into_typed().map_err(invalid)?;
    fold_constants(&mut model).map_err(invalid)?;

    let unexpected_shape = |what: String| {
        load_error(format!(
            "MiniLM model {} has {what}; expected input_ids of shape [batch, sequence] and \
             last_hidden_state of shape [batch, sequence, {DIMENSION}]",
            path.display()
        ))
    };
    let ids_position = inputs
        .iter()
        .position(|input| *input == ModelInput::InputIds)
        .unwrap_or(0);
    let input_shape = model
        .input_fact(ids_position)
        .map_err(invalid)?
        .shape
        .to_tvec();
    let symbol = |dim: &TDim| match dim {
        TDim::Sym(symbol) => Some(symbol.clone()),
        _ => None,
    };
    let (Some(batch_symbol), Some(sequence_symbol)) = (
        input_shape.first().and_then(symbol),
        input_shape.get(1).and_then(symbol),
    ) else {
        return Err(unexpected_shape(format!(
            "input_ids of shape {input_shape:?}"
        )));
    };
    let output_shape = model.output_fact(0).map_err(invalid)?.shape.to_tvec();
    if input_shape.len() != 2 || output_shape.len() != 3 || output_shape[2] != DIMENSION.to_dim() {
        return Err(unexpected_shape(format!(
            "input_ids of shape {input_shape:?} and an output of shape {output_shape:?}"
        )));
    }
    Ok(LoadedModel {
        model,
        batch_symbol,
        sequence_symbol,
        inputs,
    })
}

/// Compiles a graph whose shapes are all fixed into a runnable plan.
fn compile(model: TypedModel) -> TractResult<Plan> {
    model.into_optimized()?.into_runnable()
}

/// Replaces every node whose inputs are all constants by its value.
///
/// The model stores its weights as int8 with a scale and dequantizes them
/// with `Cast` and `Mul` nodes. tract folds a constant only while the result
/// stays under 4 MiB or the size of its inputs. Without this pass, the 47 MB
/// float table of word embeddings is rebuilt from int8 on every run, which
/// measured about 30 ms per run.
fn fold_constants(model: &mut TypedModel) -> TractResult<()> {
    loop {
        let mut patch = None;
        for id in model.eval_order()? {
            let node = model.node(id);
            if node.inputs.is_empty() {
                continue;
            }
            let Some(values) = model
                .node_input_facts(id)?
                .iter()
                .map(|fact| fact.konst.clone())
                .collect::<Option<TVec<_>>>()
            else {
                continue;
            };
            let values = values.into_iter().map(IntoTValue::into_tvalue).collect();
            // An op that cannot run outside a plan, or fails on these inputs,
            // is left for tract's own passes.
            let Ok(Some(outputs)) = node.op.eval_out_of_plan(values) else {
                continue;
            };
            let mut folded = TypedModelPatch::default();
            for (slot, output) in outputs.into_iter().enumerate() {
                let wire = folded.add_const(
                    format!("{}.folded.{slot}", node.name),
                    output.into_arc_tensor(),
                )?;
                folded.shunt_outside(model, OutletId::new(id, slot), wire)?;
            }
            patch = Some(folded);
            break;
        }
        match patch {
            Some(patch) => patch.apply(model)?,
            None => return Ok(()),
        }
    }
}
