//! Checkpoints in the safetensors format: F32/F64 tensors and 0-d I64 counters (BatchNorm's
//! `num_batches_tracked`, as PyTorch stores it), little-endian, with string metadata.
//!
//! Writes are atomic and durable ([`crate::atomic`]): a temporary file, synced, then
//! renamed over the destination, so a crash never leaves a half-written checkpoint.
//! Loading checks names, shapes and dtypes against the model before touching it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::nn::{Counter, Module};
use crate::tensor::Tensor;

/// Named tensors, in order.
pub type NamedTensors = Vec<(String, Tensor)>;

/// Named integers, in order (a checkpoint's 0-d int64 entries).
pub type NamedCounts = Vec<(String, u64)>;

/// What a checkpoint file holds.
#[derive(Clone, Debug, Default)]
pub struct Checkpoint {
    pub tensors: NamedTensors,
    pub counts: NamedCounts,
    pub metadata: HashMap<String, String>,
}

/// One tensor's bytes, ready for the safetensors writer.
struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

impl Checkpoint {
    /// A module's state: its tensors (parameters, buffers) and counters.
    pub fn of(module: &dyn Module) -> Checkpoint {
        Checkpoint {
            tensors: module.state_dict(),
            counts: module.counts(),
            metadata: HashMap::new(),
        }
    }

    /// Loads this checkpoint's tensors and counts into `module` (names, shapes and dtypes
    /// must match exactly; see [`load_state_dict`]).
    /// The module is untouched unless everything matches.
    pub fn load_into(&self, module: &dyn Module) -> Result<()> {
        let counters = module.named_counters();
        let counts = match_counts(&counters, &self.counts)?;
        load_state_dict(&module.state_dict(), &self.tensors)?;
        for (counter, value) in counts {
            counter.set(value);
        }
        Ok(())
    }
}

fn to_bytes(t: &Tensor) -> Result<Bytes> {
    fn le<T, const N: usize>(v: Vec<T>, f: fn(T) -> [u8; N]) -> Vec<u8> {
        v.into_iter().flat_map(f).collect()
    }
    let (dtype, data) = match t.dtype() {
        DType::F32 => (Dtype::F32, le(t.to_vec::<f32>()?, f32::to_le_bytes)),
        DType::F64 => (Dtype::F64, le(t.to_vec::<f64>()?, f64::to_le_bytes)),
    };
    Ok(Bytes {
        dtype,
        shape: t.dims().to_vec(),
        data,
    })
}

fn count_bytes(value: u64) -> Result<Bytes> {
    let value = i64::try_from(value)
        .map_err(|_| Error::Checkpoint(format!("counter {value} does not fit an int64")))?;
    Ok(Bytes {
        dtype: Dtype::I64,
        shape: vec![],
        data: value.to_le_bytes().to_vec(),
    })
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `checkpoint` to `path` as safetensors, atomically (see [`crate::atomic`]).
/// Names must be unique across tensors and counts.
pub fn save_checkpoint(path: impl AsRef<Path>, checkpoint: &Checkpoint) -> Result<()> {
    let path = path.as_ref();
    let names = checkpoint.tensors.iter().map(|(n, _)| n);
    let mut seen = HashSet::new();
    for name in names.chain(checkpoint.counts.iter().map(|(n, _)| n)) {
        if !seen.insert(name.as_str()) {
            return Err(Error::Checkpoint(format!(
                "{}: tensor name {name} appears twice",
                path.display()
            )));
        }
    }
    let tensors = checkpoint
        .tensors
        .iter()
        .map(|(n, t)| Ok((n, to_bytes(t)?)));
    let counts = checkpoint
        .counts
        .iter()
        .map(|(n, v)| Ok((n, count_bytes(*v)?)));
    let bytes: Vec<(&String, Bytes)> = tensors.chain(counts).collect::<Result<_>>()?;
    let meta = &checkpoint.metadata;
    let meta = (!meta.is_empty()).then(|| meta.clone());
    let buffer = safetensors::serialize(bytes.iter().map(|(n, b)| (n.as_str(), b)), &meta)
        .map_err(|e| Error::Checkpoint(format!("{}: {e}", path.display())))?;

    crate::atomic::write_atomic(path, &buffer).map_err(|e| io_err(path, e))
}

/// Reads a safetensors file: its tensors and counts (each in file order) and metadata.
/// Truncated or corrupt files and unsupported dtypes are errors naming the path.
pub fn load_checkpoint(path: impl AsRef<Path>) -> Result<Checkpoint> {
    let path = path.as_ref();
    let buffer = std::fs::read(path).map_err(|e| io_err(path, e))?;
    parse_checkpoint(&path.display().to_string(), &buffer)
}

/// Parses the bytes of a safetensors file; `file` names it in errors. No allocation is
/// sized from the header before the safetensors crate has checked it against the data.
pub fn parse_checkpoint(file: &str, buffer: &[u8]) -> Result<Checkpoint> {
    let corrupt = |e: safetensors::SafeTensorError| {
        Error::Checkpoint(format!("{file}: not a valid safetensors file ({e:?})"))
    };
    let (_, meta) = SafeTensors::read_metadata(buffer).map_err(corrupt)?;
    let st = SafeTensors::deserialize(buffer).map_err(corrupt)?;
    let mut entries: Vec<_> = st.tensors();
    // Deterministic order: by position in the file.
    entries.sort_by_key(|(_, v)| v.data().as_ptr() as usize);
    let mut out = Checkpoint {
        metadata: meta.metadata().clone().unwrap_or_default(),
        ..Checkpoint::default()
    };
    for (name, view) in entries {
        let shape = view.shape().to_vec();
        let data = view.data();
        if view.dtype() == Dtype::I64 && shape.is_empty() {
            let value = i64::from_le_bytes(std::array::from_fn(|i| data[i]));
            let value = u64::try_from(value).map_err(|_| {
                Error::Checkpoint(format!("{file}: counter {name} is negative ({value})"))
            })?;
            out.counts.push((name, value));
            continue;
        }
        let t = match view.dtype() {
            Dtype::F32 => Tensor::from_vec(
                data.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect::<Vec<f32>>(),
                shape,
            )?,
            Dtype::F64 => Tensor::from_vec(
                data.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(std::array::from_fn(|i| c[i])))
                    .collect::<Vec<f64>>(),
                shape,
            )?,
            other => {
                return Err(Error::Checkpoint(format!(
                    "{file}: tensor {name} has dtype {other:?} and shape {shape:?}; only F32 and \
                     F64 tensors and 0-d I64 counters are supported"
                )))
            }
        };
        out.tensors.push((name, t));
    }
    Ok(out)
}

/// Copies `loaded` into `module_state` (from [`crate::nn::Module::state_dict`]) after
/// checking that every name is present with the same shape and dtype and that nothing
/// is left over; the first mismatch is an error naming the tensor, and the model is
/// untouched unless all checks pass.
pub fn load_state_dict(
    module_state: &[(String, Tensor)],
    loaded: &[(String, Tensor)],
) -> Result<()> {
    let by_name: HashMap<&str, &Tensor> = loaded.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut pairs = Vec::with_capacity(module_state.len());
    for (name, dst) in module_state {
        let Some(src) = by_name.get(name.as_str()) else {
            return Err(Error::Checkpoint(format!(
                "{name} is missing from the checkpoint (the model expects shape {:?})",
                dst.dims()
            )));
        };
        if src.dims() != dst.dims() {
            return Err(Error::Checkpoint(format!(
                "{name} has shape {:?} but the model expects {:?}",
                src.dims(),
                dst.dims()
            )));
        }
        if src.dtype() != dst.dtype() {
            return Err(Error::Checkpoint(format!(
                "{name} has dtype {} but the model expects {}",
                src.dtype(),
                dst.dtype()
            )));
        }
        pairs.push((dst, *src));
    }
    let expected: HashSet<&str> = module_state.iter().map(|(n, _)| n.as_str()).collect();
    if let Some((extra, _)) = loaded.iter().find(|(n, _)| !expected.contains(n.as_str())) {
        return Err(Error::Checkpoint(format!(
            "{extra} is in the checkpoint but not in the model"
        )));
    }
    for (dst, src) in pairs {
        dst.assign(src)?;
    }
    Ok(())
}

/// Sets `module_counters` (from [`crate::nn::Module::named_counters`]) from `loaded` after
/// checking that the names match exactly; nothing changes unless they do.
pub fn load_counts(module_counters: &[(String, Counter)], loaded: &[(String, u64)]) -> Result<()> {
    for (counter, value) in match_counts(module_counters, loaded)? {
        counter.set(value);
    }
    Ok(())
}

/// Pairs each counter with its loaded value; a missing or extra name is an error.
fn match_counts<'a>(
    module_counters: &'a [(String, Counter)],
    loaded: &[(String, u64)],
) -> Result<Vec<(&'a Counter, u64)>> {
    let by_name: HashMap<&str, u64> = loaded.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let mut values = Vec::with_capacity(module_counters.len());
    for (name, counter) in module_counters {
        let Some(&value) = by_name.get(name.as_str()) else {
            return Err(Error::Checkpoint(format!(
                "{name} (an integer counter) is missing from the checkpoint"
            )));
        };
        values.push((counter, value));
    }
    let expected: HashSet<&str> = module_counters.iter().map(|(n, _)| n.as_str()).collect();
    if let Some((extra, _)) = loaded.iter().find(|(n, _)| !expected.contains(n.as_str())) {
        return Err(Error::Checkpoint(format!(
            "{extra} is in the checkpoint but not in the model"
        )));
    }
    Ok(values)
}
