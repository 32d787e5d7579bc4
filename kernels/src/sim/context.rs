//! The driver-like API: a context (one simulated device with its own global memory),
//! modules loaded from PTX text, functions, launches.

use super::decode::{decode_kernel, GlobalSyms};
use super::error::SimError;
use super::exec::{note, BlockRun, Launch, Scratch};
use super::ir::{Kernel, ParamInfo};
use super::memory::{DevicePtr, GlobalMem};
use super::parse::{parse_module, Opnd};
use super::stats::{LaunchStats, TransferCounters};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Simulator options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimOptions {
    /// Misaligned accesses, shared-memory races, uninitialised shared reads, barrier
    /// divergence (out-of-bounds accesses, deadlocks and shuffle mismatches are always errors).
    pub checks: bool,
    /// Run blocks in parallel on rayon's pool.
    pub parallel: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            checks: true,
            parallel: true,
        }
    }
}

/// Launch shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchConfig {
    pub grid: (u32, u32, u32),
    pub block: (u32, u32, u32),
    /// Dynamic shared memory bytes (`.extern .shared`).
    pub shared_bytes: u32,
}

impl LaunchConfig {
    /// 1-D launch.
    pub fn linear(blocks: u32, threads: u32) -> LaunchConfig {
        LaunchConfig {
            grid: (blocks, 1, 1),
            block: (threads, 1, 1),
            shared_bytes: 0,
        }
    }
}

/// A kernel argument; packed per the entry's `.param` declarations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KernelArg {
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Ptr(DevicePtr),
}

impl KernelArg {
    fn bytes(&self) -> Vec<u8> {
        match self {
            KernelArg::U32(v) => v.to_le_bytes().to_vec(),
            KernelArg::I32(v) => v.to_le_bytes().to_vec(),
            KernelArg::U64(v) => v.to_le_bytes().to_vec(),
            KernelArg::I64(v) => v.to_le_bytes().to_vec(),
            KernelArg::F32(v) => v.to_le_bytes().to_vec(),
            KernelArg::F64(v) => v.to_le_bytes().to_vec(),
            KernelArg::Ptr(p) => p.0.to_le_bytes().to_vec(),
        }
    }
}

/// A kernel of a loaded module (cheap to clone).
#[derive(Clone, Debug)]
pub struct Function {
    k: Arc<Kernel>,
}

impl Function {
    pub fn name(&self) -> &str {
        &self.k.name
    }
    /// Declared parameters (name, type such as ".u64", size, offset).
    pub fn params(&self) -> &[ParamInfo] {
        &self.k.params
    }
    /// Static shared memory bytes (excluding dynamic).
    pub fn static_shared_bytes(&self) -> u32 {
        self.k.shared_static
    }
    /// Decoded instruction count (including the functions it calls).
    pub fn instruction_count(&self) -> usize {
        self.k.code.len()
    }

    /// The entry's parameter block from one `(what, bytes)` per parameter: each placed at its
    /// parameter's offset (natural or declared alignment), its size matching exactly.
    /// `what` names the argument's kind in the error.
    pub fn pack_params(&self, args: &[(&str, &[u8])]) -> Result<Vec<u8>, SimError> {
        let k = &self.k;
        let bad = |msg: String| SimError::BadLaunch {
            kernel: k.name.clone(),
            msg,
        };
        if args.len() != k.params.len() {
            return Err(bad(format!(
                "{} arguments given, the kernel takes {}",
                args.len(),
                k.params.len()
            )));
        }
        let mut pbuf = vec![0u8; k.param_size as usize];
        for (i, ((what, bytes), p)) in args.iter().zip(&k.params).enumerate() {
            if bytes.len() != p.size as usize {
                return Err(bad(format!(
                    "argument {i} ({what}) is {} bytes, parameter `{}` ({}) is {} bytes",
                    bytes.len(),
                    p.name,
                    p.ty,
                    p.size
                )));
            }
            pbuf[p.offset as usize..(p.offset + p.size) as usize].copy_from_slice(bytes);
        }
        Ok(pbuf)
    }
}

/// A loaded PTX module.
#[derive(Clone, Debug)]
pub struct Module {
    kernels: Vec<Function>,
}

impl Module {
    pub fn function(&self, name: &str) -> Result<Function, SimError> {
        self.kernels
            .iter()
            .find(|f| f.k.name == name)
            .cloned()
            .ok_or_else(|| SimError::NoSuchFunction {
                name: name.to_string(),
            })
    }
    pub fn function_names(&self) -> Vec<String> {
        self.kernels.iter().map(|f| f.k.name.clone()).collect()
    }
}

/// One simulated device.
pub struct Context {
    opts: SimOptions,
    mem: GlobalMem,
    counters: Mutex<TransferCounters>,
    exec_lock: Mutex<()>,
}

impl Context {
    pub fn new(opts: SimOptions) -> Context {
        Context {
            opts,
            mem: GlobalMem::default(),
            counters: Mutex::new(TransferCounters::default()),
            exec_lock: Mutex::new(()),
        }
    }
    pub fn options(&self) -> SimOptions {
        self.opts
    }
    fn count(&self, f: impl FnOnce(&mut TransferCounters)) {
        f(&mut self.counters.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Allocate `bytes` of device memory (zeroed), far from every other allocation.
    pub fn alloc(&self, bytes: usize) -> Result<DevicePtr, SimError> {
        self.mem.alloc(bytes)
    }
    pub fn free(&self, ptr: DevicePtr) -> Result<(), SimError> {
        self.mem.free(ptr)
    }
    pub fn memset_d8(&self, ptr: DevicePtr, value: u8, bytes: usize) -> Result<(), SimError> {
        let _g = self.exec_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (a, off) = self.mem.find(ptr.0, bytes as u64)?;
        a.write(off, &vec![value; bytes]);
        self.count(|c| c.memsets += 1);
        Ok(())
    }
    pub fn copy_htod(&self, dst: DevicePtr, src: &[u8]) -> Result<(), SimError> {
        let _g = self.exec_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (a, off) = self.mem.find(dst.0, src.len() as u64)?;
        a.write(off, src);
        self.count(|c| {
            c.htod_copies += 1;
            c.htod_bytes += src.len() as u64
        });
        Ok(())
    }
    pub fn copy_dtoh(&self, dst: &mut [u8], src: DevicePtr) -> Result<(), SimError> {
        let _g = self.exec_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (a, off) = self.mem.find(src.0, dst.len() as u64)?;
        a.read(off, dst);
        self.count(|c| {
            c.dtoh_copies += 1;
            c.dtoh_bytes += dst.len() as u64
        });
        Ok(())
    }
    pub fn copy_dtod(&self, dst: DevicePtr, src: DevicePtr, bytes: usize) -> Result<(), SimError> {
        let _g = self.exec_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (s, so) = self.mem.find(src.0, bytes as u64)?;
        let (d, dof) = self.mem.find(dst.0, bytes as u64)?;
        let mut tmp = vec![0u8; bytes];
        s.read(so, &mut tmp);
        d.write(dof, &tmp);
        self.count(|c| {
            c.dtod_copies += 1;
            c.dtod_bytes += bytes as u64
        });
        Ok(())
    }
    /// Launches are synchronous; this only counts the call.
    pub fn synchronize(&self) -> Result<(), SimError> {
        self.count(|c| c.syncs += 1);
        Ok(())
    }
    pub fn counters(&self) -> TransferCounters {
        *self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Parse PTX text and decode every kernel once. Module-level `.global`/`.const`
    /// variables are allocated (and initialised) in this context's memory.
    pub fn load_module(&self, ptx: &str) -> Result<Module, SimError> {
        let ast = parse_module(ptx)?;
        let lines: Vec<&str> = ptx.lines().collect();
        let mut gsyms: GlobalSyms = HashMap::new();
        for v in &ast.vars {
            if v.space == ".shared" {
                continue;
            }
            let size = v.size();
            if size > (1 << 32) {
                return Err(SimError::Parse {
                    line: v.line,
                    text: lines.get(v.line - 1).unwrap_or(&"").to_string(),
                    msg: "variable too large".into(),
                });
            }
            let p = self.alloc(size as usize)?;
            if let Some(init) = &v.init {
                let es = v.elem_size().max(1) as usize;
                let mut bytes = Vec::with_capacity(size as usize);
                for item in init {
                    let raw = match (item, v.ty.as_str()) {
                        (Opnd::Int(x), ".f32") => ((*x as i64) as f32).to_bits() as u64,
                        (Opnd::Int(x), ".f64") => ((*x as i64) as f64).to_bits(),
                        (Opnd::Int(x), _) => *x,
                        (Opnd::F32(b), ".f64") => (f32::from_bits(*b) as f64).to_bits(),
                        (Opnd::F32(b), _) => *b as u64,
                        (Opnd::F64(b), ".f32") => (f64::from_bits(*b) as f32).to_bits() as u64,
                        (Opnd::F64(b), _) => *b,
                        _ => 0,
                    };
                    bytes.extend_from_slice(&raw.to_le_bytes()[..es.min(8)]);
                }
                bytes.truncate(size as usize);
                let (a, off) = self.mem.find(p.0, bytes.len() as u64)?;
                a.write(off, &bytes);
            }
            gsyms.insert(v.name.clone(), (p.0, v.space == ".const"));
        }
        let mut kernels = vec![];
        for f in ast.funcs.iter().filter(|f| f.is_entry) {
            if f.body.is_none() {
                continue;
            }
            let k = decode_kernel(&ast, f, &lines, &gsyms)?;
            kernels.push(Function { k: Arc::new(k) });
        }
        // functions are decoded as part of each kernel; also decode unused ones for errors
        Ok(Module { kernels })
    }

    /// Run a kernel to completion.
    pub fn launch(
        &self,
        f: &Function,
        cfg: LaunchConfig,
        args: &[KernelArg],
    ) -> Result<LaunchStats, SimError> {
        let bytes: Vec<Vec<u8>> = args.iter().map(KernelArg::bytes).collect();
        let named: Vec<(&str, &[u8])> = args
            .iter()
            .zip(&bytes)
            .map(|(a, b)| (kind_name(a), b.as_slice()))
            .collect();
        let pbuf = f.pack_params(&named)?;
        self.launch_packed(f, cfg, &pbuf)
    }

    /// Launch with the parameter buffer already packed (e.g. by-value struct parameters):
    /// `params` must be exactly as long as the entry's parameter block.
    pub fn launch_packed(
        &self,
        f: &Function,
        cfg: LaunchConfig,
        pbuf: &[u8],
    ) -> Result<LaunchStats, SimError> {
        let k = &f.k;
        let bad = |msg: String| SimError::BadLaunch {
            kernel: k.name.clone(),
            msg,
        };
        let (b, g) = (cfg.block, cfg.grid);
        let nthreads = b.0 as u64 * b.1 as u64 * b.2 as u64;
        if nthreads == 0 || nthreads > 1024 || b.2 > 64 {
            return Err(bad(format!(
                "block {b:?} has {nthreads} threads (1..=1024, z <= 64)"
            )));
        }
        if g.0 == 0 || g.1 == 0 || g.2 == 0 || g.1 > 65535 || g.2 > 65535 {
            return Err(bad(format!("grid {g:?} is invalid")));
        }
        let shared_size = k.dyn_shared_base as u64 + cfg.shared_bytes as u64;
        if shared_size > 228 * 1024 {
            return Err(bad(format!(
                "{shared_size} bytes of shared memory per block is too much"
            )));
        }
        if pbuf.len() != k.param_size as usize {
            return Err(bad(format!(
                "parameter block is {} bytes, the kernel takes {}",
                pbuf.len(),
                k.param_size
            )));
        }
        let _g = self.exec_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.count(|c| c.launches += 1);
        let gmem = self.mem.snapshot();
        let l = Launch {
            k,
            gmem: &gmem,
            params: pbuf,
            grid: g,
            block: b,
            shared_size: shared_size as usize,
            dyn_bytes: cfg.shared_bytes,
            checks: self.opts.checks,
        };
        let nblocks = g.0 as u64 * g.1 as u64 * g.2 as u64;
        let t0 = Instant::now();
        let mut total = LaunchStats::default();
        let runs: Vec<BlockRun> = if self.opts.parallel && nblocks > 1 {
            let abort = AtomicBool::new(false);
            (0..nblocks)
                .into_par_iter()
                .map_init(Scratch::default, |s, i| {
                    if abort.load(Ordering::Relaxed) {
                        return None;
                    }
                    let r = l.run_block(s, i);
                    if r.fatal {
                        abort.store(true, Ordering::Relaxed);
                    }
                    Some(r)
                })
                .collect::<Vec<_>>()
                .into_iter()
                .flatten()
                .collect()
        } else {
            let mut s = Scratch::default();
            let mut runs = vec![];
            for i in 0..nblocks {
                let r = l.run_block(&mut s, i);
                let fatal = r.fatal;
                runs.push(r);
                if fatal {
                    break;
                }
            }
            runs
        };
        // every finding, in block order, up to the first fatal one
        let mut findings = vec![];
        for r in runs {
            total.merge(&r.stats);
            for e in r.findings {
                note(&mut findings, e);
            }
            if r.fatal {
                break;
            }
        }
        if !findings.is_empty() {
            return Err(SimError::from_findings(findings));
        }
        total.seconds = t0.elapsed().as_secs_f64();
        Ok(total)
    }
}

fn kind_name(a: &KernelArg) -> &'static str {
    match a {
        KernelArg::U32(_) => "U32",
        KernelArg::I32(_) => "I32",
        KernelArg::U64(_) => "U64",
        KernelArg::I64(_) => "I64",
        KernelArg::F32(_) => "F32",
        KernelArg::F64(_) => "F64",
        KernelArg::Ptr(_) => "Ptr",
    }
}
