//! [`TextEmbedder`]: all-MiniLM-L6-v2 on tract.

use std::path::Path;
use std::sync::Arc;

use tokenizers::{Tokenizer, TruncationParams};
use tract_onnx::prelude::*;

use super::{EmbedError, ModelFiles};

/// The longest input the model was trained for (its `sentence_bert_config.json`); longer
/// texts are cut to their first `MAX_TOKENS` tokens, `[CLS]` and `[SEP]` included.
pub const MAX_TOKENS: usize = 256;

/// The most texts run through the model together (those of similar lengths: see
/// [`TextEmbedder::embed`]).
const BATCH: usize = 16;

/// The model's three inputs, by ONNX name.
const INPUTS: [&str; 3] = ["input_ids", "attention_mask", "token_type_ids"];

type Plan = Arc<TypedRunnableModel>;

/// Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2: WordPiece
/// tokens (at most [`MAX_TOKENS`]), the transformer's last hidden state mean-pooled over the
/// attention mask, then L2-normalised, so the dot product of two embeddings is their cosine
/// similarity.
///
/// Loading parses and optimises the model once (half a second in a release build); after that
/// [`TextEmbedder::embed`] takes `&self`, so one embedder is shared (in an `Arc`) by every
/// thread that needs it.
pub struct TextEmbedder {
    tokenizer: Tokenizer,
    plan: Plan,
    /// For each of the model's inputs in its order, which of [`INPUTS`] it is.
    order: [usize; 3],
    dimensions: usize,
}

impl std::fmt::Debug for TextEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextEmbedder")
            .field("engine", &self.engine())
            .field("dimensions", &self.dimensions)
            .finish_non_exhaustive()
    }
}

impl TextEmbedder {
    /// Loads the tokenizer and the model, optimises the model for any batch size and length,
    /// and runs it once to check it answers with embeddings.
    pub fn load(files: &ModelFiles) -> Result<TextEmbedder, EmbedError> {
        let tokenizer = load_tokenizer(&files.tokenizer)?;
        let model_error = |reason: String| EmbedError::Model {
            path: files.model.clone(),
            reason,
        };
        if !files.model.is_file() {
            return Err(model_error("the file does not exist".into()));
        }
        let (plan, order) = load_plan(&files.model).map_err(|e| model_error(format!("{e:#}")))?;
        let mut embedder = TextEmbedder {
            tokenizer,
            plan,
            order,
            dimensions: 0,
        };
        let probe = embedder.embed(&["mediasift"]).map_err(|e| match e {
            EmbedError::Inference(reason) => model_error(reason),
            other => other,
        })?;
        embedder.dimensions = probe.first().map_or(0, Vec::len);
        if embedder.dimensions == 0 {
            return Err(model_error(
                "the model answered with an empty embedding".into(),
            ));
        }
        Ok(embedder)
    }

    /// One embedding per text, in order: [`TextEmbedder::dimensions`] floats, L2-normalised.
    /// A text longer than [`MAX_TOKENS`] tokens (roughly 200 English words) is embedded from
    /// its beginning only. An empty text is embedded as sentence-transformers does, from
    /// `[CLS] [SEP]` alone: a valid unit vector that is close to no topic in particular.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        let length = |i: usize| encodings[i].get_ids().len();
        // Shortest first, cut into batches at most a fifth of which is padding: the model's
        // cost grows with every token, padding included, and batching saves little else.
        let mut by_length: Vec<usize> = (0..texts.len()).collect();
        by_length.sort_by_key(|&i| length(i));
        let mut out = vec![Vec::new(); texts.len()];
        let mut rest = by_length.as_slice();
        while !rest.is_empty() {
            let mut tokens = 0;
            let mut n = 0;
            while n < rest.len() && n < BATCH {
                let padded = (n + 1) * length(rest[n]);
                if n > 0 && padded * 4 > (tokens + length(rest[n])) * 5 {
                    break;
                }
                tokens += length(rest[n]);
                n += 1;
            }
            let (chunk, tail) = rest.split_at(n);
            let batch: Vec<&tokenizers::Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            for (&i, embedding) in chunk.iter().zip(self.run(&batch)?) {
                out[i] = embedding;
            }
            rest = tail;
        }
        Ok(out)
    }

    /// One text's embedding (see [`TextEmbedder::embed`]).
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.embed(&[text])?.pop().unwrap_or_default())
    }

    /// The token ids the model is given for `text`: `[CLS]`, the WordPiece tokens, `[SEP]`,
    /// at most [`MAX_TOKENS`] in all.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The length of every embedding: 384.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// What computes the embeddings, for records and logs.
    pub fn engine(&self) -> &'static str {
        "all-MiniLM-L6-v2 int8 (tract)"
    }

    /// Runs one batch of encodings (padded to the same length) and pools each row.
    fn run(&self, batch: &[&tokenizers::Encoding]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let rows = batch.len();
        let len = batch.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        if rows == 0 {
            return Ok(Vec::new());
        }
        // Padded with zeros (`[PAD]` is id 0) to the batch's longest, masked out.
        let mut ids = vec![0i64; rows * len];
        let mut mask = vec![0i64; rows * len];
        let mut types = vec![0i64; rows * len];
        for (r, e) in batch.iter().enumerate() {
            let at = r * len;
            for (k, ((&id, &m), &t)) in e
                .get_ids()
                .iter()
                .zip(e.get_attention_mask())
                .zip(e.get_type_ids())
                .enumerate()
            {
                ids[at + k] = i64::from(id);
                mask[at + k] = i64::from(m);
                types[at + k] = i64::from(t);
            }
        }
        let inference = |e: TractError| EmbedError::Inference(format!("{e:#}"));
        let named = [&ids, &mask, &types];
        let mut inputs = TVec::new();
        for &which in &self.order {
            let tensor = Tensor::from_shape(&[rows, len], named[which]).map_err(inference)?;
            inputs.push(tensor.into_tvalue());
        }
        let outputs = self.plan.run(inputs).map_err(inference)?;
        let hidden = outputs
            .first()
            .ok_or_else(|| EmbedError::Inference("the model gave no output".into()))?
            .to_plain_array_view::<f32>()
            .map_err(inference)?;
        let shape = hidden.shape().to_vec();
        if shape.len() != 3 || shape[0] != rows || shape[1] != len || shape[2] == 0 {
            return Err(EmbedError::Inference(format!(
                "expected a last_hidden_state of shape [{rows}, {len}, d], got {shape:?}"
            )));
        }
        let dims = shape[2];
        let hidden = hidden
            .into_shape_with_order((rows, len, dims))
            .map_err(|e| EmbedError::Inference(e.to_string()))?;
        let mut out = Vec::with_capacity(rows);
        for r in 0..rows {
            let mut sum = vec![0f32; dims];
            let mut count = 0f32;
            for t in 0..len {
                if mask[r * len + t] == 0 {
                    continue;
                }
                count += 1.0;
                for (s, &h) in sum
                    .iter_mut()
                    .zip(hidden.slice(tract_ndarray::s![r, t, ..]))
                {
                    *s += h;
                }
            }
            let count = count.max(1e-9);
            sum.iter_mut().for_each(|s| *s /= count);
            let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            sum.iter_mut().for_each(|s| *s /= norm);
            out.push(sum);
        }
        Ok(out)
    }
}

/// The tokenizer, set as sentence-transformers uses it for this model: truncation at
/// [`MAX_TOKENS`] (`tokenizer.json` itself says 128) and no padding (it says 128 fixed).
fn load_tokenizer(path: &Path) -> Result<Tokenizer, EmbedError> {
    let tokenizer_error = |reason: String| EmbedError::TokenizerFile {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(tokenizer_error("the file does not exist".into()));
    }
    let mut tokenizer = Tokenizer::from_file(path).map_err(|e| tokenizer_error(e.to_string()))?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            ..Default::default()
        }))
        .map_err(|e| tokenizer_error(e.to_string()))?;
    // Each batch is padded to its own longest text when it is run.
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

/// Parses the ONNX file, declares its three inputs as `i64 [batch, sequence]` with both
/// dimensions symbolic, optimises it, and says which input is which.
fn load_plan(path: &Path) -> TractResult<(Plan, [usize; 3])> {
    let mut model = tract_onnx::onnx()
        .with_ignore_output_shapes(true)
        .with_ignore_value_info(true)
        .model_for_path(path)?;
    let inputs = model.input_outlets()?.to_vec();
    if inputs.len() != INPUTS.len() {
        return Err(TractError::msg(format!(
            "expected {} inputs ({}), the model has {}",
            INPUTS.len(),
            INPUTS.join(", "),
            inputs.len()
        )));
    }
    let mut order = [0usize; 3];
    for (slot, outlet) in inputs.iter().enumerate() {
        let name = &model.node(outlet.node).name;
        order[slot] = INPUTS
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| TractError::msg(format!("unexpected model input {name:?}")))?;
    }
    let batch = model.sym("batch");
    let sequence = model.sym("sequence");
    for slot in 0..inputs.len() {
        model.set_input_fact(
            slot,
            InferenceFact::dt_shape(i64::datum_type(), [batch.to_dim(), sequence.to_dim()]),
        )?;
    }
    let mut typed = model.into_typed()?;
    typed.declutter()?;
    // tract 0.23.9's decluttering shunts an `And` whose other operand is all true without
    // keeping the broadcast: the attention mask (`And([1,1,S,1] all true, [B,1,1,S])`)
    // becomes [B,1,1,S] while the facts still say [B,1,S,S], which the values then
    // contradict. Recomputing the facts from the ops makes them agree (the mask broadcasts
    // into the attention scores just the same).
    typed.refresh_output_facts()?;
    fold_gathered_tables(&mut typed)?;
    let plan = typed.into_optimized()?.into_runnable()?;
    Ok((plan, order))
}

/// Folds the constant computation that feeds a `Gather`'s table into the table itself. The
/// int8 export keeps its word-embedding table (30522 × 384) as int8 and dequantizes it
/// (`Cast` to f32, times a per-row scale) before looking tokens up; tract leaves that
/// unfolded, so every run would dequantize the whole table (47 MB, twice) to read a few rows.
/// Folded once here, the f32 table costs 47 MB of memory instead.
fn fold_gathered_tables(model: &mut TypedModel) -> TractResult<()> {
    use tract_onnx::tract_core::ops::array::Gather;
    for id in model.eval_order()? {
        let node = model.node(id);
        if !node.op_is::<Gather>() || model.outlet_fact(node.inputs[0])?.konst.is_some() {
            continue;
        }
        let Some(table) = constant_value(model, node.inputs[0], 4)? else {
            continue;
        };
        let mut patch = TypedModelPatch::default();
        let table = patch.add_const(format!("{}.table", node.name), table)?;
        let indices = patch.tap_model(model, node.inputs[1])?;
        let gathered = patch.wire_node(&node.name, node.op.clone(), &[table, indices])?;
        patch.shunt_outside(model, id.into(), gathered[0])?;
        patch.apply(model)?;
    }
    model.compact()
}

/// The value of `outlet` if it is computed from constants only, by at most `depth` ops.
fn constant_value(
    model: &TypedModel,
    outlet: OutletId,
    depth: usize,
) -> TractResult<Option<Arc<Tensor>>> {
    if let Some(konst) = &model.outlet_fact(outlet)?.konst {
        return Ok(Some(konst.clone()));
    }
    let node = model.node(outlet.node);
    if depth == 0 || node.inputs.is_empty() {
        return Ok(None);
    }
    let mut inputs = TVec::new();
    for &input in &node.inputs {
        match constant_value(model, input, depth - 1)? {
            Some(value) => inputs.push(value.into_tvalue()),
            None => return Ok(None),
        }
    }
    let Some(outputs) = node.op.eval_out_of_plan(inputs)? else {
        return Ok(None);
    };
    Ok(outputs
        .into_iter()
        .nth(outlet.slot)
        .map(IntoArcTensor::into_arc_tensor))
}
