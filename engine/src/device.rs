//! Devices and the storage that lives on them.
//!
//! Every op matches on [`Storage`] exhaustively, so a backend added as a new variant
//! (the CUDA backend is next) fails to compile until each op handles it.

use std::fmt;
use std::str::FromStr;

pub use crate::dtype::CpuStorage;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// Where a tensor's data lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
    /// An NVIDIA GPU by ordinal.
    Cuda(usize),
}

impl Device {
    /// The best device present: CUDA when its backend is available, else the CPU.
    pub fn best() -> Device {
        Device::Cpu
    }

    /// Checks that this device can hold tensors, with a one-line reason when not.
    pub fn ensure_available(self) -> Result<()> {
        match self {
            Device::Cpu => Ok(()),
            Device::Cuda(n) => Err(Error::device(
                "device",
                format!("cuda:{n} requested, but this build's CUDA backend is not available yet; use --device cpu"),
            )),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl FromStr for Device {
    type Err = Error;
    /// Parses `cpu`, `cuda` (ordinal 0) or `cuda:N`.
    fn from_str(s: &str) -> Result<Device> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| {
                    Error::argument(
                        "device",
                        format!("unknown device '{s}' (expected cpu, cuda or cuda:N)"),
                    )
                }),
        }
    }
}

/// A tensor's memory on some device.
#[derive(Clone, Debug)]
pub enum Storage {
    Cpu(CpuStorage),
}

impl Storage {
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
        }
    }
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(s) => s.dtype(),
        }
    }
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(s) => s.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs `$body` with `$v` bound to the typed slice/vector inside a [`CpuStorage`] and
/// `$F` bound to its element type, wrapping a `Vec<$F>` result back into storage.
#[macro_export]
macro_rules! cpu_map {
    ($storage:expr, |$v:ident : $F:ident| $body:expr) => {
        match $storage {
            $crate::device::CpuStorage::F32($v) => {
                #[allow(dead_code)]
                type $F = f32;
                $crate::device::CpuStorage::F32($body)
            }
            $crate::device::CpuStorage::F64($v) => {
                #[allow(dead_code)]
                type $F = f64;
                $crate::device::CpuStorage::F64($body)
            }
        }
    };
}

/// Like [`cpu_map!`] but for bodies that return something other than a vector.
#[macro_export]
macro_rules! cpu_with {
    ($storage:expr, |$v:ident : $F:ident| $body:expr) => {
        match $storage {
            $crate::device::CpuStorage::F32($v) => {
                #[allow(dead_code)]
                type $F = f32;
                $body
            }
            $crate::device::CpuStorage::F64($v) => {
                #[allow(dead_code)]
                type $F = f64;
                $body
            }
        }
    };
}

/// Like [`cpu_map!`] over two storages of the same element type; evaluates to
/// `Result<CpuStorage>` (mixed types are an error naming `$op`).
#[macro_export]
macro_rules! cpu_map2 {
    ($op:expr, $a:expr, $b:expr, |$x:ident, $y:ident : $F:ident| $body:expr) => {
        match ($a, $b) {
            ($crate::device::CpuStorage::F32($x), $crate::device::CpuStorage::F32($y)) => {
                #[allow(dead_code)]
                type $F = f32;
                Ok($crate::device::CpuStorage::F32($body))
            }
            ($crate::device::CpuStorage::F64($x), $crate::device::CpuStorage::F64($y)) => {
                #[allow(dead_code)]
                type $F = f64;
                Ok($crate::device::CpuStorage::F64($body))
            }
            (a, b) => Err($crate::error::Error::dtype(
                $op,
                format!("operands are {} and {}", a.dtype(), b.dtype()),
            )),
        }
    };
}
