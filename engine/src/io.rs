//! Checkpoints in the safetensors format (F32/F64 little-endian, string metadata).
//!
//! Writes go to a temporary file in the destination's directory, are synced, then
//! renamed over the destination, so a crash never leaves a half-written checkpoint.
//! Loading checks names, shapes and dtypes against the model before touching it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Write;
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
    let (dtype, data) = match t.dtype() {
        DType::F32 => (
            Dtype::F32,
            t.to_vec::<f32>()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        DType::F64 => (
            Dtype::F64,
            t.to_vec::<f64>()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
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

/// Writes `tensors` and `metadata` to `path` as safetensors, atomically (temp + rename).
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

    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Checkpoint(format!("{}: not a file path", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&buffer)?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path, e)
    })?;
    // The rename lives in the directory: sync it too, or a power loss can undo it.
    sync_dir(dir).map_err(|e| io_err(dir, e))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
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
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect::<Vec<f32>>(),
                shape,
            )?,
            Dtype::F64 => Tensor::from_vec(
                data.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
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
