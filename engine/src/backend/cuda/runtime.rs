//! The one narrow GPU interface: allocate, copy, load PTX, launch, synchronise. Two
//! implementations sit behind it, the NVIDIA driver ([`super::driver`]) and the PTX simulator
//! ([`super::sim`]); nothing above this file knows which one it runs on.

use crate::error::{Error, Result};

/// A device address (the driver's `CUdeviceptr`, the simulator's `DevicePtr`).
pub type DevPtr = u64;

/// A kernel loaded by [`Gpu::load_function`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FuncId(pub usize);

/// Grid and block shape of one launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchShape {
    pub grid: (u32, u32, u32),
    pub block: (u32, u32, u32),
    pub shared_bytes: u32,
}

impl LaunchShape {
    /// A 1-D launch of `threads`-thread blocks covering `n` items once (capped: the kernels
    /// use grid-stride loops, so fewer blocks still cover everything).
    pub fn linear(n: usize, threads: u32) -> LaunchShape {
        let blocks = n.div_ceil(threads as usize).clamp(1, 4096) as u32;
        LaunchShape {
            grid: (blocks, 1, 1),
            block: (threads, 1, 1),
            shared_bytes: 0,
        }
    }
    /// One block of `threads` per row, for `rows` rows (grid-stride over rows beyond 65535).
    pub fn per_row(rows: usize, threads: u32) -> LaunchShape {
        LaunchShape {
            grid: (rows.clamp(1, 65535) as u32, 1, 1),
            block: (threads, 1, 1),
            shared_bytes: 0,
        }
    }
}

/// Counters of what crossed the host-device boundary, for the "no round trip per step" rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuCounters {
    pub launches: u64,
    pub device_allocs: u64,
    pub htod: u64,
    pub dtoh: u64,
    pub syncs: u64,
}

/// One GPU (or simulated GPU). Copies to the host synchronise; launches may be asynchronous.
pub trait Gpu: Send + Sync {
    /// Human-readable name (`NVIDIA H100 80GB HBM3`, `PTX simulator`).
    fn name(&self) -> String;
    fn alloc(&self, bytes: usize) -> Result<DevPtr>;
    fn free(&self, ptr: DevPtr) -> Result<()>;
    fn copy_htod(&self, dst: DevPtr, src: &[u8]) -> Result<()>;
    fn copy_dtoh(&self, dst: &mut [u8], src: DevPtr) -> Result<()>;
    fn copy_dtod(&self, dst: DevPtr, src: DevPtr, bytes: usize) -> Result<()>;
    /// Sets `bytes` bytes at `dst` to `value`.
    fn memset(&self, dst: DevPtr, value: u8, bytes: usize) -> Result<()>;
    /// Loads entry `name` of the PTX module `ptx` (each module is loaded once per device).
    fn load_function(&self, ptx: &'static str, name: &str) -> Result<FuncId>;
    /// Launches `f` with `args` (packed per the kernel's `.param` layout, see [`pack`]).
    fn launch(&self, f: FuncId, shape: LaunchShape, args: &[Arg]) -> Result<()>;
    fn synchronize(&self) -> Result<()>;
    fn counters(&self) -> GpuCounters;
}

/// A kernel argument, packed at its parameter's offset.
#[derive(Clone, Debug)]
pub enum Arg {
    U32(u32),
    I32(i32),
    U64(u64),
    F32(f32),
    F64(f64),
    Ptr(DevPtr),
    /// A by-value struct (the `to_bytes()` of a `#[repr(C)]` mirror in `kernels::ptx`).
    Bytes(Vec<u8>),
}

impl Arg {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Arg::U32(v) => v.to_le_bytes().to_vec(),
            Arg::I32(v) => v.to_le_bytes().to_vec(),
            Arg::U64(v) | Arg::Ptr(v) => v.to_le_bytes().to_vec(),
            Arg::F32(v) => v.to_le_bytes().to_vec(),
            Arg::F64(v) => v.to_le_bytes().to_vec(),
            Arg::Bytes(b) => b.clone(),
        }
    }
}

/// Packs `args` into the parameter block of a kernel whose parameters are `layout`.
pub fn pack(kernel: &str, layout: &[(usize, usize)], args: &[Arg]) -> Result<Vec<u8>> {
    if layout.len() != args.len() {
        return Err(Error::device(
            "cuda launch",
            format!(
                "{kernel}: {} arguments given, the kernel takes {}",
                args.len(),
                layout.len()
            ),
        ));
    }
    let size = layout.iter().map(|&(o, s)| o + s).max().unwrap_or(0);
    let mut buf = vec![0u8; size];
    for (i, (&(off, sz), a)) in layout.iter().zip(args).enumerate() {
        let b = a.bytes();
        if b.len() != sz {
            return Err(Error::device(
                "cuda launch",
                format!(
                    "{kernel}: argument {i} is {} bytes, the parameter is {sz}",
                    b.len()
                ),
            ));
        }
        buf[off..off + sz].copy_from_slice(&b);
    }
    Ok(buf)
}
