//! The CUDA backend: our own kernels (`kernels/cuda/*.cu`, shipped as PTX) launched on a
//! [`Gpu`], which is either a real GPU through the driver or the PTX simulator. Everything in
//! this folder above `runtime.rs` is shared by both, so `--device cuda-sim` runs exactly the
//! code (and the PTX) that `--device cuda` runs.

pub mod alloc;
pub mod conv;
pub mod copy;
pub mod driver;
pub mod dropout;
pub mod elementwise;
pub mod index;
pub mod layer_norm;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod runtime;
pub mod sim;
pub mod softmax;
mod storage;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub use alloc::{DeviceBlock, Pool};
pub use runtime::{Arg, DevPtr, FuncId, Gpu, GpuCounters, LaunchShape};
pub use storage::CudaStorage;

use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use kernels::ptx::Module;

/// Distinct constant tables kept per device before the cache starts over.
const MAX_CONSTANTS: usize = 256;

/// One CUDA device (real or simulated): its runtime, memory pool and loaded kernels.
pub struct CudaDevice {
    device: Device,
    pool: Arc<Pool>,
    funcs: Mutex<HashMap<String, FuncId>>,
    sim: Option<Arc<sim::SimGpu>>,
    poison: AtomicBool,
    /// Small read-only tables (pooling windows) uploaded once per distinct content.
    constants: Mutex<HashMap<Vec<u32>, Arc<DeviceBlock>>>,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaDevice({})", self.device)
    }
}

impl CudaDevice {
    /// The process-wide handle of `device` (`cuda:N` or `cuda-sim`), created on first use.
    pub fn get(device: Device) -> Result<Arc<CudaDevice>> {
        static DEVICES: OnceLock<Mutex<HashMap<Device, Arc<CudaDevice>>>> = OnceLock::new();
        let mut all = DEVICES
            .get_or_init(|| Mutex::new(HashMap::new()))
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(d) = all.get(&device) {
            return Ok(d.clone());
        }
        let (gpu, sim): (Arc<dyn Gpu>, _) = match device {
            Device::Cuda(n) => (Arc::new(driver::DriverGpu::open(n)?), None),
            Device::CudaSim => {
                let s = Arc::new(sim::SimGpu::new());
                (s.clone(), Some(s))
            }
            Device::Cpu => {
                return Err(Error::device("cuda", "the CPU is not a CUDA device"));
            }
        };
        let dev = Arc::new(CudaDevice {
            device,
            pool: Pool::new(gpu),
            funcs: Mutex::new(HashMap::new()),
            sim,
            poison: AtomicBool::new(false),
            constants: Mutex::new(HashMap::new()),
        });
        all.insert(device, dev.clone());
        Ok(dev)
    }

    pub fn device(&self) -> Device {
        self.device
    }
    pub fn gpu(&self) -> &Arc<dyn Gpu> {
        self.pool.gpu()
    }
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }
    /// The simulator behind `cuda-sim` (for its statistics); `None` on a real GPU.
    pub fn simulator(&self) -> Option<&sim::SimGpu> {
        self.sim.as_deref()
    }
    /// In tests: fill every new buffer with NaN bytes, so an element a kernel forgets to write
    /// shows up as NaN instead of as stale data.
    pub fn set_poison(&self, on: bool) {
        self.poison.store(on, Ordering::Relaxed)
    }
    pub fn poisoning(&self) -> bool {
        self.poison.load(Ordering::Relaxed)
    }
    /// Name of the GPU (or "PTX simulator").
    pub fn name(&self) -> String {
        self.gpu().name()
    }

    /// `table` in device memory, uploaded on first use and shared after: the same geometry
    /// in every step costs no transfer.
    pub fn constant_u32(&self, table: &[u32]) -> Result<Arc<DeviceBlock>> {
        let mut all = self.constants.lock().expect("constant cache");
        if let Some(b) = all.get(table) {
            return Ok(b.clone());
        }
        if all.len() >= MAX_CONSTANTS {
            // Tables that keep changing (addresses that do not repeat): start over rather
            // than grow. Work already queued keeps its blocks' contents: a block reused
            // later is written by a copy ordered after that work.
            all.clear();
        }
        let block = Arc::new(self.upload_u32(table)?);
        all.insert(table.to_vec(), block.clone());
        Ok(block)
    }

    /// `values` in a fresh device block.
    pub fn upload_u32(&self, values: &[u32]) -> Result<DeviceBlock> {
        let block = self.pool.alloc(values.len() * 4)?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.gpu().copy_htod(block.ptr(), &bytes)?;
        Ok(block)
    }

    /// The first `n` u32 values of `block`, copied to the host.
    pub fn download_u32(&self, block: &DeviceBlock, n: usize) -> Result<Vec<u32>> {
        let mut bytes = vec![0u8; n * 4];
        self.gpu().copy_dtoh(&mut bytes, block.ptr())?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// The handle of kernel `entry` of `module`, loaded on first use and cached.
    fn function(&self, module: Module, entry: &str) -> Result<FuncId> {
        let mut funcs = self.funcs.lock().expect("kernel cache");
        if let Some(&f) = funcs.get(entry) {
            return Ok(f);
        }
        let f = self.gpu().load_function(kernels::ptx::ptx(module), entry)?;
        funcs.insert(entry.to_string(), f);
        Ok(f)
    }

    /// Launches `entry` of `module`.
    pub fn launch(
        &self,
        module: Module,
        entry: &str,
        shape: LaunchShape,
        args: &[Arg],
    ) -> Result<()> {
        let f = self.function(module, entry)?;
        self.gpu().launch(f, shape, args)
    }

    /// Launches the `dtype` instance of a templated kernel: `<base>_f32` or `<base>_f64`.
    pub fn launch_typed(
        &self,
        module: Module,
        base: &str,
        dtype: DType,
        shape: LaunchShape,
        args: &[Arg],
    ) -> Result<()> {
        self.launch(module, &format!("{base}_{}", dtype.name()), shape, args)
    }

    /// Waits for all queued work; a kernel fault surfaces here as an error.
    pub fn synchronize(&self) -> Result<()> {
        self.gpu().synchronize()
    }
}

/// The number of real GPUs usable through the driver (0 without a driver).
pub fn gpu_count() -> usize {
    driver::device_count()
}

/// A float scalar argument of the kernel's element type.
pub fn scalar_arg(dtype: DType, v: f64) -> Arg {
    match dtype {
        DType::F32 => Arg::F32(v as f32),
        DType::F64 => Arg::F64(v),
    }
}

/// `values` (indices, labels) as u32, an error naming `op` when one does not fit.
pub fn to_u32s(op: &'static str, values: &[usize]) -> Result<Vec<u32>> {
    values
        .iter()
        .map(|&v| {
            u32::try_from(v).map_err(|_| Error::argument(op, format!("index {v} exceeds u32")))
        })
        .collect()
}

/// A u32 size argument; tensors too large for the kernels' 32-bit indexing are an error.
pub fn u32_arg(op: &'static str, v: usize) -> Result<Arg> {
    u32::try_from(v).map(Arg::U32).map_err(|_| {
        Error::shape(
            op,
            format!("size {v} exceeds the CUDA kernels' 32-bit range"),
        )
    })
}
