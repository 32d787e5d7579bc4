//! [`Gpu`] on the PTX simulator (`kernels::sim`): the same PTX the driver would run, executed on
//! the CPU with memory, race and barrier checks. This is `--device cuda-sim`.

use std::collections::HashMap;
use std::sync::Mutex;

use kernels::sim::{Context, DevicePtr, Function, LaunchConfig, LaunchStats, SimError, SimOptions};

use super::runtime::{pack, Arg, DevPtr, FuncId, Gpu, GpuCounters, LaunchShape};
use crate::error::{Error, Result};

/// The simulated device, with every check on.
pub struct SimGpu {
    ctx: Context,
    /// Loaded modules by the address of their (static) PTX text.
    modules: Mutex<HashMap<usize, kernels::sim::Module>>,
    funcs: Mutex<Vec<SimFunc>>,
    counters: Mutex<GpuCounters>,
    /// Statistics summed per kernel name.
    stats: Mutex<HashMap<String, LaunchStats>>,
}

struct SimFunc {
    f: Function,
    layout: Vec<(usize, usize)>,
}

fn sim_err(what: &str, e: SimError) -> Error {
    Error::device("cuda-sim", format!("{what}: {e}"))
}

impl SimGpu {
    pub fn new() -> SimGpu {
        SimGpu {
            ctx: Context::new(SimOptions {
                checks: true,
                parallel: true,
            }),
            modules: Mutex::new(HashMap::new()),
            funcs: Mutex::new(Vec::new()),
            counters: Mutex::new(GpuCounters::default()),
            stats: Mutex::new(HashMap::new()),
        }
    }

    /// Simulator statistics summed per kernel over every launch so far.
    pub fn launch_stats(&self) -> HashMap<String, LaunchStats> {
        self.stats.lock().expect("sim stats").clone()
    }

    fn count(&self, f: impl FnOnce(&mut GpuCounters)) {
        f(&mut self.counters.lock().expect("sim counters"))
    }
}

impl Default for SimGpu {
    fn default() -> Self {
        SimGpu::new()
    }
}

impl Gpu for SimGpu {
    fn name(&self) -> String {
        "PTX simulator".to_string()
    }
    fn alloc(&self, bytes: usize) -> Result<DevPtr> {
        self.count(|c| c.device_allocs += 1);
        let p = self.ctx.alloc(bytes.max(1));
        Ok(p.map_err(|e| sim_err("alloc", e))?.0)
    }
    fn free(&self, ptr: DevPtr) -> Result<()> {
        let r = self.ctx.free(DevicePtr(ptr));
        r.map_err(|e| sim_err("free", e))
    }
    fn copy_htod(&self, dst: DevPtr, src: &[u8]) -> Result<()> {
        self.count(|c| c.htod += 1);
        let r = self.ctx.copy_htod(DevicePtr(dst), src);
        r.map_err(|e| sim_err("copy to device", e))
    }
    fn copy_dtoh(&self, dst: &mut [u8], src: DevPtr) -> Result<()> {
        self.count(|c| c.dtoh += 1);
        let r = self.ctx.copy_dtoh(dst, DevicePtr(src));
        r.map_err(|e| sim_err("copy to host", e))
    }
    fn copy_dtod(&self, dst: DevPtr, src: DevPtr, bytes: usize) -> Result<()> {
        let r = self.ctx.copy_dtod(DevicePtr(dst), DevicePtr(src), bytes);
        r.map_err(|e| sim_err("device copy", e))
    }
    fn memset(&self, dst: DevPtr, value: u8, bytes: usize) -> Result<()> {
        let r = self.ctx.memset_d8(DevicePtr(dst), value, bytes);
        r.map_err(|e| sim_err("memset", e))
    }
    fn load_function(&self, ptx: &'static str, name: &str) -> Result<FuncId> {
        let mut modules = self.modules.lock().expect("sim modules");
        let key = ptx.as_ptr() as usize;
        if let std::collections::hash_map::Entry::Vacant(slot) = modules.entry(key) {
            let m = self.ctx.load_module(ptx);
            slot.insert(m.map_err(|e| sim_err("load module", e))?);
        }
        let f = modules[&key].function(name);
        let f = f.map_err(|e| sim_err("load function", e))?;
        let layout = f
            .params()
            .iter()
            .map(|p| (p.offset as usize, p.size as usize))
            .collect();
        let mut funcs = self.funcs.lock().expect("sim funcs");
        funcs.push(SimFunc { f, layout });
        Ok(FuncId(funcs.len() - 1))
    }
    fn launch(&self, f: FuncId, shape: LaunchShape, args: &[Arg]) -> Result<()> {
        let (func, params) = {
            let funcs = self.funcs.lock().expect("sim funcs");
            let sf = &funcs[f.0];
            (sf.f.clone(), pack(sf.f.name(), &sf.layout, args)?)
        };
        let cfg = LaunchConfig {
            grid: shape.grid,
            block: shape.block,
            shared_bytes: shape.shared_bytes,
        };
        let stats = self.ctx.launch_packed(&func, cfg, &params);
        let stats = stats.map_err(|e| sim_err(func.name(), e))?;
        self.count(|c| c.launches += 1);
        let mut all = self.stats.lock().expect("sim stats");
        all.entry(func.name().to_string())
            .or_default()
            .merge(&stats);
        Ok(())
    }
    fn synchronize(&self) -> Result<()> {
        self.count(|c| c.syncs += 1);
        Ok(())
    }
    fn counters(&self) -> GpuCounters {
        *self.counters.lock().expect("sim counters")
    }
}
