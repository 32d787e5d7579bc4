//! Typed errors: every op names itself and the shapes or values that were wrong.

use std::fmt;

/// Everything that can go wrong in the engine.
#[derive(Debug)]
pub enum Error {
    /// Shapes that do not fit the op (e.g. matmul inner dimensions).
    Shape { op: &'static str, msg: String },
    /// Mixed or unsupported element types.
    DType { op: &'static str, msg: String },
    /// Tensors on different devices, or a device that is not available.
    Device { op: &'static str, msg: String },
    /// A bad argument value (kernel size 0, probability outside [0, 1), ...).
    Argument { op: &'static str, msg: String },
    /// Misuse of autograd (backward from a non-scalar, twice through a graph, ...).
    Autograd(String),
    /// Checkpoint files whose names, shapes or dtypes do not match the model.
    Checkpoint(String),
    /// File-system failures, with the path involved.
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { op, msg } => write!(f, "{op}: shape error: {msg}"),
            Error::DType { op, msg } => write!(f, "{op}: dtype error: {msg}"),
            Error::Device { op, msg } => write!(f, "{op}: device error: {msg}"),
            Error::Argument { op, msg } => write!(f, "{op}: invalid argument: {msg}"),
            Error::Autograd(msg) => write!(f, "autograd: {msg}"),
            Error::Checkpoint(msg) => write!(f, "checkpoint: {msg}"),
            Error::Io { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Shorthand constructors used by the ops.
impl Error {
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Shape {
            op,
            msg: msg.into(),
        }
    }
    pub fn argument(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Argument {
            op,
            msg: msg.into(),
        }
    }
    pub fn dtype(op: &'static str, msg: impl Into<String>) -> Self {
        Error::DType {
            op,
            msg: msg.into(),
        }
    }
    pub fn device(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Device {
            op,
            msg: msg.into(),
        }
    }
}
