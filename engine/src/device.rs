//! Devices and the storage that lives on them.
//!
//! Every op matches on [`Storage`] exhaustively, so a backend added as a new variant fails to
//! compile until each op handles it.

use std::fmt;
use std::str::FromStr;

use crate::backend::cuda::{self, CudaDevice, CudaStorage};
pub use crate::dtype::CpuStorage;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// Where a tensor's data lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
    /// An NVIDIA GPU by ordinal, through the driver.
    Cuda(usize),
    /// The CUDA backend on the PTX simulator: the same kernels, run on the CPU with checks.
    CudaSim,
}

impl Device {
    /// The best device present: the first GPU when a driver and GPU are usable, else the CPU.
    pub fn best() -> Device {
        if cuda::gpu_count() > 0 && CudaDevice::get(Device::Cuda(0)).is_ok() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }
    }

    /// Checks that this device can hold tensors, with a one-line reason when not.
    pub fn ensure_available(self) -> Result<()> {
        match self {
            Device::Cpu => Ok(()),
            Device::Cuda(_) | Device::CudaSim => CudaDevice::get(self).map(|_| ()),
        }
    }

    /// True for the CUDA backend's devices (a real GPU or the simulator).
    pub fn is_cuda(self) -> bool {
        matches!(self, Device::Cuda(_) | Device::CudaSim)
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
            Device::CudaSim => write!(f, "cuda-sim"),
        }
    }
}

impl FromStr for Device {
    type Err = Error;
    /// Parses `cpu`, `cuda` (ordinal 0), `cuda:N` or `cuda-sim`.
    fn from_str(s: &str) -> Result<Device> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            "cuda-sim" => Ok(Device::CudaSim),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| {
                    Error::argument(
                        "device",
                        format!("unknown device '{s}' (expected cpu, cuda, cuda:N or cuda-sim)"),
                    )
                }),
        }
    }
}

/// A tensor's memory on some device.
#[derive(Debug)]
pub enum Storage {
    Cpu(CpuStorage),
    Cuda(CudaStorage),
}

impl Storage {
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Cuda(s) => s.device(),
        }
    }
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(s) => s.dtype(),
            Storage::Cuda(s) => s.dtype(),
        }
    }
    /// Elements held (a view may use fewer).
    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(s) => s.len(),
            Storage::Cuda(s) => s.len(),
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
