//! [`Gpu`] on a real NVIDIA GPU through the driver API (cudarc, loaded at run time).
//!
//! cudarc panics when it cannot load `libcuda`, so [`DriverGpu::open`] checks that the library
//! is present before the first driver call; every driver result is checked and turned into a
//! one-line error naming the call and the driver's error name.

use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::sync::Mutex;

use cudarc::driver::result::{self as cu, DriverError};
use cudarc::driver::sys;

use super::runtime::{pack, Arg, DevPtr, FuncId, Gpu, GpuCounters, LaunchShape};
use crate::error::{Error, Result};

/// One GPU's primary context; every call makes it current on the calling thread first.
pub struct DriverGpu {
    ordinal: usize,
    ctx: sys::CUcontext,
    name: String,
    /// Loaded modules by the address of their (static) PTX text, with the simulator's parse of
    /// the same text for the parameter layouts.
    modules: Mutex<HashMap<usize, (sys::CUmodule, kernels::sim::Module)>>,
    funcs: Mutex<Vec<DriverFunc>>,
    counters: Mutex<GpuCounters>,
}

struct DriverFunc {
    f: sys::CUfunction,
    name: String,
    layout: Vec<(usize, usize)>,
}

// SAFETY: the context and function handles are plain driver handles, valid on any thread once
// the context is made current there (which `current` does before every call).
unsafe impl Send for DriverGpu {}
unsafe impl Sync for DriverGpu {}

fn driver_err(ordinal: usize, what: &str, e: DriverError) -> Error {
    let name = e
        .error_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{:?}", e.0));
    Error::device("cuda", format!("cuda:{ordinal}: {what} failed: {name}"))
}

/// Whether the driver library can be loaded at all (checked before any cudarc call).
pub fn driver_present() -> bool {
    // SAFETY: only probes for the shared library; loads nothing else.
    unsafe { sys::is_culib_present() }
}

/// The number of GPUs the driver sees (0 when there is no driver).
pub fn device_count() -> usize {
    if !driver_present() || cu::init().is_err() {
        return 0;
    }
    cu::device::get_count().map(|n| n as usize).unwrap_or(0)
}

impl DriverGpu {
    /// Opens GPU `ordinal`: a one-line error when there is no driver, no GPU or no such ordinal.
    pub fn open(ordinal: usize) -> Result<DriverGpu> {
        let fail = |msg: String| Error::device("cuda", format!("cuda:{ordinal}: {msg}"));
        if !driver_present() {
            return Err(fail(
                "no NVIDIA driver found (libcuda could not be loaded); use --device cpu or cuda-sim"
                    .into(),
            ));
        }
        cu::init().map_err(|e| driver_err(ordinal, "cuInit", e))?;
        let count = cu::device::get_count().map_err(|e| driver_err(ordinal, "device count", e))?;
        if ordinal >= count as usize {
            return Err(fail(format!("no such GPU ({count} present)")));
        }
        let dev =
            cu::device::get(ordinal as i32).map_err(|e| driver_err(ordinal, "cuDeviceGet", e))?;
        let name = cu::device::get_name(dev).unwrap_or_else(|_| "NVIDIA GPU".into());
        // SAFETY: `dev` came from cuDeviceGet.
        let ctx = unsafe { cu::primary_ctx::retain(dev) }
            .map_err(|e| driver_err(ordinal, "context creation", e))?;
        Ok(DriverGpu {
            ordinal,
            ctx,
            name,
            modules: Mutex::new(HashMap::new()),
            funcs: Mutex::new(Vec::new()),
            counters: Mutex::new(GpuCounters::default()),
        })
    }

    fn current(&self) -> Result<()> {
        // SAFETY: `ctx` is a retained primary context, never released while `self` lives.
        unsafe { cu::ctx::set_current(self.ctx) }.map_err(|e| self.err("cuCtxSetCurrent", e))
    }

    fn err(&self, what: &str, e: DriverError) -> Error {
        driver_err(self.ordinal, what, e)
    }

    fn count(&self, f: impl FnOnce(&mut GpuCounters)) {
        f(&mut self.counters.lock().expect("gpu counters"))
    }
}

impl Gpu for DriverGpu {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn alloc(&self, bytes: usize) -> Result<DevPtr> {
        self.current()?;
        self.count(|c| c.device_allocs += 1);
        // SAFETY: a plain allocation in the current context.
        unsafe { cu::malloc_sync(bytes.max(1)) }.map_err(|e| self.err("cuMemAlloc", e))
    }
    fn free(&self, ptr: DevPtr) -> Result<()> {
        self.current()?;
        // SAFETY: `ptr` came from `alloc` and is freed once (the pool owns it).
        unsafe { cu::free_sync(ptr) }.map_err(|e| self.err("cuMemFree", e))
    }
    fn copy_htod(&self, dst: DevPtr, src: &[u8]) -> Result<()> {
        self.current()?;
        self.count(|c| c.htod += 1);
        // SAFETY: callers pass a destination of at least `src.len()` bytes (the storage checks).
        unsafe { cu::memcpy_htod_sync(dst, src) }.map_err(|e| self.err("copy to device", e))
    }
    fn copy_dtoh(&self, dst: &mut [u8], src: DevPtr) -> Result<()> {
        self.current()?;
        self.count(|c| c.dtoh += 1);
        // SAFETY: callers pass a source of at least `dst.len()` bytes.
        unsafe { cu::memcpy_dtoh_sync(dst, src) }.map_err(|e| self.err("copy to host", e))
    }
    fn copy_dtod(&self, dst: DevPtr, src: DevPtr, bytes: usize) -> Result<()> {
        self.current()?;
        // SAFETY: both ranges lie in live allocations (the storage checks lengths).
        unsafe { cu::memcpy_dtod_sync(dst, src, bytes) }.map_err(|e| self.err("device copy", e))
    }
    fn memset(&self, dst: DevPtr, value: u8, bytes: usize) -> Result<()> {
        self.current()?;
        // SAFETY: the range lies in a live allocation (the storage checks lengths).
        unsafe { cu::memset_d8_sync(dst, value, bytes) }.map_err(|e| self.err("memset", e))
    }
    fn load_function(&self, ptx: &'static str, name: &str) -> Result<FuncId> {
        self.current()?;
        let key = ptx.as_ptr() as usize;
        let mut modules = self.modules.lock().expect("gpu modules");
        if let std::collections::hash_map::Entry::Vacant(slot) = modules.entry(key) {
            let text = CString::new(ptx)
                .map_err(|_| Error::device("cuda", "PTX text contains a NUL byte".to_string()))?;
            // SAFETY: `text` is NUL-terminated PTX; the driver JIT-compiles it.
            let m = unsafe { cu::module::load_data(text.as_ptr() as *const c_void) }
                .map_err(|e| self.err("loading PTX", e))?;
            let parsed = kernels::sim::Context::new(kernels::sim::SimOptions::default())
                .load_module(ptx)
                .map_err(|e| Error::device("cuda", format!("parsing PTX: {e}")))?;
            slot.insert((m, parsed));
        }
        let cname = CString::new(name).expect("kernel names have no NUL");
        // SAFETY: the module is loaded and never unloaded while `self` lives.
        let (module, parsed) = &modules[&key];
        let f = unsafe { cu::module::get_function(*module, cname) }
            .map_err(|e| self.err(&format!("finding kernel {name}"), e))?;
        let layout = parsed
            .function(name)
            .map_err(|e| Error::device("cuda", format!("{name}: {e}")))?
            .params()
            .iter()
            .map(|p| (p.offset as usize, p.size as usize))
            .collect();
        let mut funcs = self.funcs.lock().expect("gpu funcs");
        funcs.push(DriverFunc {
            f,
            name: name.to_string(),
            layout,
        });
        Ok(FuncId(funcs.len() - 1))
    }
    fn launch(&self, f: FuncId, shape: LaunchShape, args: &[Arg]) -> Result<()> {
        self.current()?;
        let (func, mut params) = {
            let funcs = self.funcs.lock().expect("gpu funcs");
            let df = &funcs[f.0];
            (df.f, pack(&df.name, &df.layout, args)?)
        };
        let mut size = params.len();
        // The packed-buffer form of cuLaunchKernel: the same parameter block the simulator takes.
        let mut extra = [
            sys::CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT as usize as *mut c_void,
            params.as_mut_ptr() as *mut c_void,
            sys::CU_LAUNCH_PARAM_BUFFER_SIZE_AS_INT as usize as *mut c_void,
            &mut size as *mut usize as *mut c_void,
            std::ptr::null_mut(), // CU_LAUNCH_PARAM_END
        ];
        let (g, b) = (shape.grid, shape.block);
        // SAFETY: `func` is a loaded kernel and `params` matches its parameter layout; the
        // pointers inside it are device allocations that outlive the launch (the pool keeps
        // freed blocks until reuse, and every reuse is ordered on the same stream).
        unsafe {
            sys::cuLaunchKernel(
                func,
                g.0,
                g.1,
                g.2,
                b.0,
                b.1,
                b.2,
                shape.shared_bytes,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                extra.as_mut_ptr(),
            )
        }
        .result()
        .map_err(|e| self.err("kernel launch", e))?;
        self.count(|c| c.launches += 1);
        Ok(())
    }
    fn synchronize(&self) -> Result<()> {
        self.current()?;
        self.count(|c| c.syncs += 1);
        cu::ctx::synchronize().map_err(|e| self.err("synchronize (a kernel faulted?)", e))
    }
    fn counters(&self) -> GpuCounters {
        *self.counters.lock().expect("gpu counters")
    }
}
