//! Checkpoints in the safetensors format (F32/F64 little-endian, string metadata).
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
use crate::tensor::Tensor;

/// Named tensors, in order.
pub type NamedTensors = Vec<(String, Tensor)>;

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

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `tensors` and `metadata` to `path` as safetensors, atomically (see [`crate::atomic`]).
/// Names must be unique.
pub fn save_checkpoint(
    path: impl AsRef<Path>,
    tensors: &[(String, Tensor)],
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let path = path.as_ref();
    let mut seen = HashSet::new();
    for (name, _) in tensors {
        if !seen.insert(name.as_str()) {
            return Err(Error::Checkpoint(format!(
                "{}: tensor name {name} appears twice",
                path.display()
            )));
        }
    }
    let bytes: Vec<(String, Bytes)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), to_bytes(t)?)))
        .collect::<Result<_>>()?;
    let meta = (!metadata.is_empty()).then(|| metadata.clone());
    let buffer = safetensors::serialize(bytes.iter().map(|(n, b)| (n.as_str(), b)), &meta)
        .map_err(|e| Error::Checkpoint(format!("{}: {e}", path.display())))?;

    crate::atomic::write_atomic(path, &buffer).map_err(|e| io_err(path, e))
}

/// Reads a safetensors file: its tensors (in file order) and string metadata.
/// Truncated or corrupt files and unsupported dtypes are errors naming the path.
pub fn load_checkpoint(path: impl AsRef<Path>) -> Result<(NamedTensors, HashMap<String, String>)> {
    let path = path.as_ref();
    let buffer = std::fs::read(path).map_err(|e| io_err(path, e))?;
    parse_checkpoint(&path.display().to_string(), &buffer)
}

/// Parses the bytes of a safetensors file; `file` names it in errors. No allocation is
/// sized from the header before the safetensors crate has checked it against the data.
pub fn parse_checkpoint(
    file: &str,
    buffer: &[u8],
) -> Result<(NamedTensors, HashMap<String, String>)> {
    let corrupt = |e: safetensors::SafeTensorError| {
        Error::Checkpoint(format!("{file}: not a valid safetensors file ({e:?})"))
    };
    let (_, meta) = SafeTensors::read_metadata(buffer).map_err(corrupt)?;
    let st = SafeTensors::deserialize(buffer).map_err(corrupt)?;
    let mut entries: Vec<_> = st.tensors();
    // Deterministic order: by position in the file.
    entries.sort_by_key(|(_, v)| v.data().as_ptr() as usize);
    let mut out = Vec::with_capacity(entries.len());
    for (name, view) in entries {
        let shape = view.shape().to_vec();
        let data = view.data();
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
                    "{file}: tensor {name} has dtype {other:?}; only F32 and F64 are supported"
                )))
            }
        };
        out.push((name, t));
    }
    Ok((out, meta.metadata().clone().unwrap_or_default()))
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
