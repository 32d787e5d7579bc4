//! IDX file parsing (the MNIST container format), gzipped or raw.
//!
//! An IDX file is a 4-byte magic (`00 00 <type> <ndims>`), `ndims` big-endian u32 sizes,
//! then the data. MNIST uses type 0x08 (u8): images are 3-D (`n x 28 x 28`), labels 1-D.
//! Gzip is detected by its magic bytes (`1f 8b`), never by the file name. Every check
//! fails with an [`IdxError`] that names the file and the problem; no input panics.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use byteorder::{BigEndian, ByteOrder};
use flate2::bufread::MultiGzDecoder;

/// MNIST images are `IMAGE_SIDE x IMAGE_SIDE`.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image (784).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes; labels are `0..NUM_CLASSES`.
pub const NUM_CLASSES: usize = 10;

/// IDX type code for unsigned bytes, the only type MNIST uses.
const TYPE_U8: u8 = 0x08;
/// Refuse to decompress or read more than this (the largest MNIST file is 47 MB).
pub const MAX_FILE_BYTES: u64 = 128 << 20;

/// What went wrong with an IDX file (see [`IdxError`] for the file name).
#[derive(Debug)]
pub enum IdxProblem {
    /// The file could not be read.
    Io(io::Error),
    /// It starts like gzip but the stream is corrupt (or truncated).
    Gzip(io::Error),
    /// Named `.gz` but is neither gzip nor a raw IDX file.
    NotGzip { first_bytes: Vec<u8> },
    /// Larger than [`MAX_FILE_BYTES`] (on disk or once decompressed).
    TooLarge { limit: u64 },
    /// Shorter than the header it announces.
    ShortHeader { needed: usize, actual: usize },
    /// The first two bytes are not zero.
    BadMagic { magic: [u8; 4] },
    /// The data type is not u8.
    WrongType { code: u8 },
    /// The number of dimensions is not the one expected for this kind of file.
    WrongDims { expected: u8, found: u8 },
    /// Image dimensions other than 28x28.
    WrongImageSize { rows: u32, cols: u32 },
    /// Less data than the header says (`what` describes the header's claim).
    Truncated {
        what: String,
        expected: u64,
        actual: u64,
    },
    /// More data than the header says.
    TrailingData {
        what: String,
        expected: u64,
        actual: u64,
    },
    /// A label outside `0..=9`.
    LabelOutOfRange { index: usize, value: u8 },
}

/// An IDX parse failure, naming the file.
#[derive(Debug)]
pub struct IdxError {
    /// File name (or path) as given by the caller.
    pub file: String,
    pub problem: IdxProblem,
}

impl fmt::Display for IdxProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdxProblem::Io(e) => write!(f, "cannot read: {e}"),
            IdxProblem::Gzip(e) => write!(f, "corrupt gzip data: {e}"),
            IdxProblem::NotGzip { first_bytes } => write!(
                f,
                "named .gz but is neither gzip data (magic 1f 8b) nor a raw IDX file; starts with [{}]",
                hex(first_bytes)
            ),
            IdxProblem::TooLarge { limit } => {
                write!(f, "larger than the {limit}-byte limit (not an MNIST file?)")
            }
            IdxProblem::ShortHeader { needed, actual } => write!(
                f,
                "truncated header: needs {needed} bytes but the file has only {actual}"
            ),
            IdxProblem::BadMagic { magic } => write!(
                f,
                "bad magic [{}]: an IDX file starts with 00 00 <type> <dims>",
                hex(magic)
            ),
            IdxProblem::WrongType { code } => write!(
                f,
                "unsupported data type 0x{code:02x}: expected 0x08 (unsigned byte)"
            ),
            IdxProblem::WrongDims { expected, found } => write!(
                f,
                "wrong number of dimensions: {found}, expected {expected}"
            ),
            IdxProblem::WrongImageSize { rows, cols } => {
                write!(f, "images are {rows}x{cols}, expected 28x28")
            }
            IdxProblem::Truncated { what, actual, .. } => write!(
                f,
                "truncated: header says {what} but only {actual} bytes of data"
            ),
            IdxProblem::TrailingData { what, actual, .. } => write!(
                f,
                "trailing data: header says {what} but there are {actual} bytes of data"
            ),
            IdxProblem::LabelOutOfRange { index, value } => {
                write!(f, "label {index} is {value}, outside 0..=9")
            }
        }
    }
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

impl std::error::Error for IdxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            IdxProblem::Io(e) | IdxProblem::Gzip(e) => Some(e),
            _ => None,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parsed MNIST images: `count` images of 28x28 u8 pixels, row-major, one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub pixels: Vec<u8>,
}

/// True when `bytes` start with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Returns the IDX bytes: decompressed when `bytes` are gzip, else `bytes` themselves.
pub fn decompress<'a>(file: &str, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, IdxError> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let err = |problem| IdxError {
        file: file.to_string(),
        problem,
    };
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| err(IdxProblem::Gzip(e)))?;
    if out.len() as u64 > MAX_FILE_BYTES {
        return Err(err(IdxProblem::TooLarge {
            limit: MAX_FILE_BYTES,
        }));
    }
    Ok(Cow::Owned(out))
}

/// Reads a whole file, refusing ones over [`MAX_FILE_BYTES`].
pub fn read_file_bytes(path: &Path) -> Result<Vec<u8>, IdxError> {
    let err = |problem| IdxError {
        file: path.display().to_string(),
        problem,
    };
    let f = std::fs::File::open(path).map_err(|e| err(IdxProblem::Io(e)))?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(IdxProblem::Io(e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(err(IdxProblem::TooLarge {
            limit: MAX_FILE_BYTES,
        }));
    }
    Ok(bytes)
}

/// Checks the header of (decompressed) IDX bytes; returns the dimensions and the data.
fn parse_header<'a>(
    file: &str,
    idx: &'a [u8],
    expected_dims: u8,
    named_gz: bool,
    was_gzip: bool,
) -> Result<(Vec<u32>, &'a [u8]), IdxError> {
    let err = |problem| IdxError {
        file: file.to_string(),
        problem,
    };
    let not_gzip = || {
        err(IdxProblem::NotGzip {
            first_bytes: idx[..idx.len().min(8)].to_vec(),
        })
    };
    if idx.len() < 4 {
        if named_gz && !was_gzip {
            return Err(not_gzip());
        }
        return Err(err(IdxProblem::ShortHeader {
            needed: 4,
            actual: idx.len(),
        }));
    }
    let magic = [idx[0], idx[1], idx[2], idx[3]];
    if magic[0] != 0 || magic[1] != 0 {
        if named_gz && !was_gzip {
            return Err(not_gzip());
        }
        return Err(err(IdxProblem::BadMagic { magic }));
    }
    if magic[2] != TYPE_U8 {
        return Err(err(IdxProblem::WrongType { code: magic[2] }));
    }
    if magic[3] != expected_dims {
        return Err(err(IdxProblem::WrongDims {
            expected: expected_dims,
            found: magic[3],
        }));
    }
    let header_len = 4 + 4 * expected_dims as usize;
    if idx.len() < header_len {
        return Err(err(IdxProblem::ShortHeader {
            needed: header_len,
            actual: idx.len(),
        }));
    }
    let dims = (0..expected_dims as usize)
        .map(|i| BigEndian::read_u32(&idx[4 + 4 * i..8 + 4 * i]))
        .collect();
    Ok((dims, &idx[header_len..]))
}

/// Checks that `data` holds exactly `expected` bytes.
fn check_len(file: &str, what: String, expected: u64, data: &[u8]) -> Result<(), IdxError> {
    let actual = data.len() as u64;
    let problem = if actual < expected {
        IdxProblem::Truncated {
            what,
            expected,
            actual,
        }
    } else if actual > expected {
        IdxProblem::TrailingData {
            what,
            expected,
            actual,
        }
    } else {
        return Ok(());
    };
    Err(IdxError {
        file: file.to_string(),
        problem,
    })
}

fn named_gz(file: &str) -> bool {
    file.to_ascii_lowercase().ends_with(".gz")
}

/// Parses an images file (gzipped or raw) from memory; `file` names it in errors.
pub fn parse_images(file: &str, bytes: &[u8]) -> Result<IdxImages, IdxError> {
    let idx = decompress(file, bytes)?;
    let (dims, data) = parse_header(file, &idx, 3, named_gz(file), is_gzip(bytes))?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows as usize != IMAGE_SIDE || cols as usize != IMAGE_SIDE {
        return Err(IdxError {
            file: file.to_string(),
            problem: IdxProblem::WrongImageSize { rows, cols },
        });
    }
    let expected = count as u64 * IMAGE_PIXELS as u64;
    check_len(
        file,
        format!("{count} images of {rows}x{cols} ({expected} bytes)"),
        expected,
        data,
    )?;
    Ok(IdxImages {
        count: count as usize,
        pixels: data.to_vec(),
    })
}

/// Parses a labels file (gzipped or raw) from memory; every label must be in `0..=9`.
pub fn parse_labels(file: &str, bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let idx = decompress(file, bytes)?;
    let (dims, data) = parse_header(file, &idx, 1, named_gz(file), is_gzip(bytes))?;
    let count = dims[0];
    check_len(file, format!("{count} items"), count as u64, data)?;
    if let Some((index, &value)) = data
        .iter()
        .enumerate()
        .find(|(_, &v)| v as usize >= NUM_CLASSES)
    {
        return Err(IdxError {
            file: file.to_string(),
            problem: IdxProblem::LabelOutOfRange { index, value },
        });
    }
    Ok(data.to_vec())
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads and parses an images file; errors name the file.
pub fn read_images(path: &Path) -> Result<IdxImages, IdxError> {
    let bytes = read_file_bytes(path)?;
    parse_images(&display_name(path), &bytes)
}

/// Reads and parses a labels file; errors name the file.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    let bytes = read_file_bytes(path)?;
    parse_labels(&display_name(path), &bytes)
}

/// Encodes images as a raw (uncompressed) IDX file; handy for tests and tools.
pub fn encode_images(count: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, TYPE_U8, 3];
    for d in [count as u32, IMAGE_SIDE as u32, IMAGE_SIDE as u32] {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels as a raw (uncompressed) IDX file.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, TYPE_U8, 1];
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}
