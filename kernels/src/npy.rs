//! Reading and writing NumPy `.npy` files (format 1.0; 2.0 and 3.0 are also read): little-endian
//! `f32`, `f64`, `i32`, `u32`, `u8` and `i64` arrays of any shape, C order. Used by the `ptxsim`
//! tool to feed kernel buffers from files and write them back.

use std::fmt;
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Element type of an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
    I32,
    U32,
    U8,
    I64,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::U8 => 1,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 => 8,
        }
    }

    /// The NumPy `descr` string written to headers.
    pub fn descr(self) -> &'static str {
        match self {
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::I32 => "<i4",
            DType::U32 => "<u4",
            DType::U8 => "|u1",
            DType::I64 => "<i8",
        }
    }

    fn from_descr(d: &str) -> Option<DType> {
        Some(match d {
            "<f4" => DType::F32,
            "<f8" => DType::F64,
            "<i4" => DType::I32,
            "<u4" => DType::U32,
            "|u1" | "<u1" | "u1" => DType::U8,
            "<i8" => DType::I64,
            _ => return None,
        })
    }

    /// Parses a short name: `f32`, `f64`, `i32`, `u32`, `u8`, `i64`.
    pub fn from_name(s: &str) -> Option<DType> {
        Some(match s {
            "f32" => DType::F32,
            "f64" => DType::F64,
            "i32" => DType::I32,
            "u32" => DType::U32,
            "u8" => DType::U8,
            "i64" => DType::I64,
            _ => return None,
        })
    }

    /// The short name (`f32`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::I32 => "i32",
            DType::U32 => "u32",
            DType::U8 => "u8",
            DType::I64 => "i64",
        }
    }
}

/// An error reading or writing a `.npy` file.
#[derive(Debug)]
pub enum NpyError {
    Io(std::io::Error),
    /// The bytes are not a `.npy` file this module can read; the message says why.
    Format(String),
}

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NpyError::Io(e) => write!(f, "npy: {e}"),
            NpyError::Format(m) => write!(f, "npy: {m}"),
        }
    }
}

impl std::error::Error for NpyError {}

impl From<std::io::Error> for NpyError {
    fn from(e: std::io::Error) -> Self {
        NpyError::Io(e)
    }
}

fn bad<T>(msg: impl Into<String>) -> Result<T, NpyError> {
    Err(NpyError::Format(msg.into()))
}

/// A C-order array: its element type, shape and raw little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// `len() * dtype.size()` bytes, little-endian, C order.
    pub data: Vec<u8>,
}

macro_rules! typed {
    ($from:ident, $to:ident, $t:ty, $dt:expr) => {
        /// Builds an array from values (the shape's product must equal `values.len()`).
        pub fn $from(shape: &[usize], values: &[$t]) -> Array {
            assert_eq!(
                shape.iter().product::<usize>(),
                values.len(),
                "shape does not match data"
            );
            Array {
                dtype: $dt,
                shape: shape.to_vec(),
                data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            }
        }
        /// The values, if the array has this element type.
        pub fn $to(&self) -> Result<Vec<$t>, NpyError> {
            if self.dtype != $dt {
                return bad(format!(
                    "array has dtype {}, not {}",
                    self.dtype.name(),
                    $dt.name()
                ));
            }
            const N: usize = std::mem::size_of::<$t>();
            Ok(self
                .data
                .chunks_exact(N)
                .map(|c| <$t>::from_le_bytes(c.try_into().unwrap()))
                .collect())
        }
    };
}

impl Array {
    typed!(from_f32, to_f32, f32, DType::F32);
    typed!(from_f64, to_f64, f64, DType::F64);
    typed!(from_i32, to_i32, i32, DType::I32);
    typed!(from_u32, to_u32, u32, DType::U32);
    typed!(from_u8, to_u8, u8, DType::U8);
    typed!(from_i64, to_i64, i64, DType::I64);

    /// An array of raw bytes (length must be a multiple of the element size).
    pub fn from_bytes(dtype: DType, shape: &[usize], data: Vec<u8>) -> Result<Array, NpyError> {
        let n: usize = shape.iter().product();
        if n * dtype.size() != data.len() {
            return bad(format!(
                "shape {shape:?} of {} needs {} bytes, got {}",
                dtype.name(),
                n * dtype.size(),
                data.len()
            ));
        }
        Ok(Array {
            dtype,
            shape: shape.to_vec(),
            data,
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole file: header (format 1.0, padded to a multiple of 64 bytes) and data.
    pub fn to_npy_bytes(&self) -> Vec<u8> {
        let shape = match self.shape.len() {
            1 => format!("({},)", self.shape[0]),
            _ => format!(
                "({})",
                self.shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut header = format!(
            "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
            self.dtype.descr(),
            shape
        );
        let total = MAGIC.len() + 2 + 2 + header.len() + 1;
        header.push_str(&" ".repeat((64 - total % 64) % 64));
        header.push('\n');
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + self.data.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Parses a whole `.npy` file.
    pub fn from_npy_bytes(bytes: &[u8]) -> Result<Array, NpyError> {
        if bytes.len() < 10 || &bytes[..6] != MAGIC {
            return bad("not a .npy file (missing \\x93NUMPY magic)");
        }
        let (major, minor) = (bytes[6], bytes[7]);
        let (header_len, start) = match major {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 => {
                if bytes.len() < 12 {
                    return bad("truncated header");
                }
                (
                    u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
                    12,
                )
            }
            _ => return bad(format!("unsupported format version {major}.{minor}")),
        };
        let Some(header) = bytes.get(start..start + header_len) else {
            return bad("truncated header");
        };
        let header = std::str::from_utf8(header).or_else(|_| bad("header is not text"))?;
        let (dtype, fortran, shape) = parse_header(header)?;
        if fortran && shape.len() > 1 {
            return bad("fortran_order arrays are not supported (save with C order)");
        }
        let data = &bytes[start + header_len..];
        let n = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| NpyError::Format("shape overflows".into()))?;
        let need = n
            .checked_mul(dtype.size())
            .ok_or_else(|| NpyError::Format("shape overflows".into()))?;
        if data.len() != need {
            return bad(format!(
                "shape {shape:?} of {} needs {need} data bytes, file has {}",
                dtype.name(),
                data.len()
            ));
        }
        Ok(Array {
            dtype,
            shape,
            data: data.to_vec(),
        })
    }
}

/// Reads a `.npy` file.
pub fn read(path: impl AsRef<Path>) -> Result<Array, NpyError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| NpyError::Format(format!("cannot read {}: {e}", path.display())))?;
    Array::from_npy_bytes(&bytes)
        .map_err(|e| NpyError::Format(format!("{}: {}", path.display(), strip(e))))
}

/// Writes a `.npy` file (format 1.0).
pub fn write(path: impl AsRef<Path>, a: &Array) -> Result<(), NpyError> {
    let path = path.as_ref();
    std::fs::write(path, a.to_npy_bytes())
        .map_err(|e| NpyError::Format(format!("cannot write {}: {e}", path.display())))
}

fn strip(e: NpyError) -> String {
    match e {
        NpyError::Format(m) => m,
        NpyError::Io(e) => e.to_string(),
    }
}

/// Parses the header dictionary `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
fn parse_header(h: &str) -> Result<(DType, bool, Vec<usize>), NpyError> {
    let h = h.trim_end_matches(['\n', ' ', '\0']).trim();
    let Some(body) = h.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
        return bad(format!("header is not a dict: {h:?}"));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    let mut rest = body.trim();
    while !rest.is_empty() {
        // key
        let q = rest.chars().next().unwrap();
        if q != '\'' && q != '"' {
            return bad(format!("bad header near {rest:?}"));
        }
        let end = rest[1..]
            .find(q)
            .ok_or_else(|| NpyError::Format("unterminated key".into()))?;
        let key = &rest[1..1 + end];
        rest = rest[end + 2..].trim_start();
        rest = rest
            .strip_prefix(':')
            .ok_or_else(|| NpyError::Format(format!("expected ':' after {key:?}")))?
            .trim_start();
        // value
        let value_end = if rest.starts_with('(') {
            rest.find(')').map(|i| i + 1)
        } else if rest.starts_with('\'') || rest.starts_with('"') {
            let q = rest.chars().next().unwrap();
            rest[1..].find(q).map(|i| i + 2)
        } else {
            Some(rest.find(',').unwrap_or(rest.len()))
        }
        .ok_or_else(|| NpyError::Format(format!("unterminated value for {key:?}")))?;
        let value = rest[..value_end].trim();
        rest = rest[value_end..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        match key {
            "descr" => {
                let d = value.trim_matches(['\'', '"']);
                descr = Some(DType::from_descr(d).ok_or_else(|| {
                    NpyError::Format(format!(
                        "unsupported dtype {d:?} (supported: <f4 <f8 <i4 <u4 |u1 <i8)"
                    ))
                })?);
            }
            "fortran_order" => {
                fortran = Some(match value {
                    "False" => false,
                    "True" => true,
                    _ => return bad(format!("bad fortran_order {value:?}")),
                })
            }
            "shape" => {
                let inner = value
                    .strip_prefix('(')
                    .and_then(|s| s.strip_suffix(')'))
                    .ok_or_else(|| NpyError::Format(format!("bad shape {value:?}")))?;
                let mut dims = Vec::new();
                for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let part = part.trim_end_matches('L');
                    dims.push(
                        part.parse::<usize>()
                            .map_err(|_| NpyError::Format(format!("bad shape {value:?}")))?,
                    );
                }
                shape = Some(dims);
            }
            _ => return bad(format!("unknown header key {key:?}")),
        }
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        _ => bad("header lacks descr, fortran_order or shape"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_dtypes_and_shapes() {
        let arrays = [
            Array::from_f32(&[2, 3], &[1.0, -2.5, f32::NAN, 0.0, 1e-40, f32::INFINITY]),
            Array::from_f64(&[3], &[1.0, -0.0, 3.25]),
            Array::from_i32(&[1, 1, 2], &[-7, i32::MAX]),
            Array::from_u32(&[0], &[]),
            Array::from_u8(&[5], &[0, 1, 2, 254, 255]),
            Array::from_i64(&[], &[-1]),
        ];
        for a in arrays {
            let bytes = a.to_npy_bytes();
            let header_end = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!(header_end % 64, 0);
            assert_eq!(bytes[header_end - 1], b'\n');
            let b = Array::from_npy_bytes(&bytes).unwrap();
            assert_eq!(a.dtype, b.dtype);
            assert_eq!(a.shape, b.shape);
            assert_eq!(a.data, b.data);
        }
    }

    #[test]
    fn reads_numpy_written_header() {
        // Byte-for-byte what numpy 1.26 writes for np.arange(3, dtype='<i8').
        let mut bytes = b"\x93NUMPY\x01\x00v\x00".to_vec();
        let mut h = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }".to_string();
        h.push_str(&" ".repeat(118 - h.len() - 1));
        h.push('\n');
        bytes.extend_from_slice(h.as_bytes());
        for v in 0i64..3 {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let a = Array::from_npy_bytes(&bytes).unwrap();
        assert_eq!(a.to_i64().unwrap(), vec![0, 1, 2]);
        assert!(a.to_f32().is_err());
    }

    #[test]
    fn bad_headers_are_errors() {
        let good = Array::from_f32(&[2], &[1.0, 2.0]).to_npy_bytes();
        // Same-length byte substitution in the header.
        let subst = |from: &[u8], to: &[u8]| {
            let mut b = good.clone();
            let at = b.windows(from.len()).position(|w| w == from).unwrap();
            b[at..at + to.len()].copy_from_slice(to);
            b
        };
        let mut bad_version = good.clone();
        bad_version[6] = 9;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"hello world".to_vec(), "magic"),
            (good[..20].to_vec(), "truncated"),
            (good[..good.len() - 1].to_vec(), "data bytes"),
            (subst(b"<f4", b">f4"), "unsupported dtype"),
            (subst(b"(2,)", b"(x,)"), "bad shape"),
            (subst(b"False", b"Maybe"), "fortran_order"),
            (subst(b"'descr'", b"'dexcr'"), "unknown header key"),
            (bad_version, "version"),
        ];
        for (bytes, want) in cases {
            let e = Array::from_npy_bytes(&bytes).unwrap_err().to_string();
            assert!(e.contains(want), "error {e:?} should mention {want:?}");
        }
    }
}
