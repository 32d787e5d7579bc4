//! Execution of one block: per-lane program counters, stepped warp-grouped. Each step runs
//! the lanes of a warp that sit at the lowest PC together over structure-of-arrays
//! registers (`regs[reg * 32 + lane]`), so converged code costs one dispatch per 32 lanes.
//! Synchronising instructions park lanes until their rendezvous completes (see
//! [`super::warpops`]); per-instruction semantics are in [`super::exec_ops`].

use super::checks::race::RaceState;
use super::error::{Dim3, SimError};
use super::ir::*;
use super::memory::GlobalView;
use super::stats::LaunchStats;

pub(crate) const FULL: u32 = u32::MAX;
pub(crate) const NONE: u32 = u32::MAX;

/// Everything a launch shares between its blocks (read-only).
pub(crate) struct Launch<'a> {
    pub k: &'a Kernel,
    pub gmem: &'a GlobalView,
    pub params: &'a [u8],
    pub grid: Dim3,
    pub block: Dim3,
    pub shared_size: usize,
    pub dyn_bytes: u32,
    pub checks: bool,
}

pub(crate) struct Warp {
    pub regs: Vec<u64>,
    pub pc: [u32; 32],
    /// Lanes not exited.
    pub live: u32,
    /// Lanes that exist (a partial last warp has lanes born exited).
    pub born: u32,
    /// Lanes waiting at a synchronising instruction (their pc points at it).
    pub parked: u32,
    pub stacks: Vec<Vec<u32>>,
    /// Per lane, the callee frames that recursive calls saved (see `FrameSpan`).
    pub saved: Vec<Vec<Saved>>,
    /// Completed `bar.warp.sync` count (orders memory within the warp for the race check).
    pub wepoch: u32,
    pub index: u32,
    /// PC of an aligned barrier some lanes of this warp wait at while others still run.
    pub pending_bar: u32,
}

/// A function frame saved by a recursive call (see [`FrameSpan`]).
#[derive(Clone, Default)]
pub(crate) struct Saved {
    regs: Vec<u64>,
    bytes: Vec<u8>,
}

/// The deepest call stack a thread may build (a runaway recursion is an error, not a hang).
pub const MAX_CALL_DEPTH: usize = 256;

/// Per-block memory and counters.
#[derive(Default)]
pub(crate) struct BlockMem {
    pub ctaid: Dim3,
    pub shared: Vec<u8>,
    pub local: Vec<u8>,
    pub tparam: Vec<u8>,
    pub race: RaceState,
    pub stats: LaunchStats,
    pub ghint: usize,
    /// Findings that let execution go on (races, uninitialised reads), in the order found.
    pub findings: Vec<SimError>,
}

/// The most findings one block (and one launch) keeps; repeats of a (kind, line) are dropped.
pub(crate) const MAX_FINDINGS: usize = 32;

impl BlockMem {
    /// Record a finding that does not stop the block.
    pub fn note(&mut self, e: SimError) {
        note(&mut self.findings, e);
    }
}

/// Add `e` to `list` unless one of its kind and PTX line is there already (or the list is full).
pub(crate) fn note(list: &mut Vec<SimError>, e: SimError) {
    let key = |x: &SimError| (x.kind(), x.ptx_line());
    if list.len() < MAX_FINDINGS && !list.iter().any(|x| key(x) == key(&e)) {
        list.push(e);
    }
}

/// What running one block found: its statistics, the findings, and whether the last of them
/// stopped it.
pub(crate) struct BlockRun {
    pub stats: LaunchStats,
    pub findings: Vec<SimError>,
    pub fatal: bool,
}

/// Reusable allocations of one host worker.
#[derive(Default)]
pub(crate) struct Scratch {
    pub warps: Vec<Warp>,
    pub mem: BlockMem,
}

#[inline(always)]
pub(crate) fn lanes(m: u32, mut f: impl FnMut(usize)) {
    if m == FULL {
        for l in 0..32 {
            f(l)
        }
    } else {
        let mut m = m;
        while m != 0 {
            let l = m.trailing_zeros() as usize;
            m &= m - 1;
            f(l);
        }
    }
}

#[inline(always)]
pub(crate) fn ri(r: Reg, l: usize) -> usize {
    ((r as usize) << 5) | l
}

impl<'a> Launch<'a> {
    pub fn thread_of(&self, tid: u32) -> Dim3 {
        let (bx, by, _) = self.block;
        (tid % bx, (tid / bx) % by, tid / (bx * by))
    }
    pub fn nthreads(&self) -> u32 {
        self.block.0 * self.block.1 * self.block.2
    }
    pub fn line(&self, pc: u32) -> usize {
        self.k
            .code
            .get(pc as usize)
            .map(|i| i.line as usize)
            .unwrap_or(0)
    }
    pub fn runtime_err(
        &self,
        bm: &BlockMem,
        w: &Warp,
        lane: usize,
        pc: u32,
        msg: String,
    ) -> SimError {
        SimError::Runtime {
            kernel: self.k.name.clone(),
            ptx_line: self.line(pc),
            block: bm.ctaid,
            thread: self.thread_of(w.index * 32 + lane as u32),
            msg,
        }
    }

    fn init_warp(&self, w: &mut Warp, index: u32, bm: &BlockMem) {
        let k = self.k;
        let n = self.nthreads();
        w.regs.clear();
        w.regs.resize(k.nregs as usize * 32, 0);
        w.pc = [0; 32];
        let first = index * 32;
        let born = if first + 32 <= n {
            FULL
        } else {
            (1u32 << (n - first)) - 1
        };
        w.born = born;
        w.live = born;
        w.parked = 0;
        w.wepoch = 0;
        w.index = index;
        w.pending_bar = NONE;
        if k.has_calls {
            w.stacks.resize(32, vec![]);
            w.saved.resize(32, vec![]);
            for s in &mut w.stacks {
                s.clear();
            }
            for s in &mut w.saved {
                s.clear();
            }
        }
        for &(r, v) in &k.consts {
            w.regs[ri(r, 0)..ri(r, 0) + 32].fill(v);
        }
        let nwarps = n.div_ceil(32);
        for &(r, sp) in &k.specials {
            for l in 0..32u32 {
                let t = first + l;
                let (tx, ty, tz) = self.thread_of(t);
                let pick = |d: u8, v: Dim3| match d {
                    0 => v.0,
                    1 => v.1,
                    _ => v.2,
                } as u64;
                let v = match sp {
                    Special::Tid(d) => pick(d, (tx, ty, tz)),
                    Special::Ntid(d) => pick(d, self.block),
                    Special::Ctaid(d) => pick(d, bm.ctaid),
                    Special::Nctaid(d) => pick(d, self.grid),
                    Special::Laneid => l as u64,
                    Special::Warpid => index as u64,
                    Special::Nwarpid => nwarps as u64,
                    Special::LanemaskEq => 1u64 << l,
                    Special::LanemaskLt => (1u64 << l) - 1,
                    Special::LanemaskLe => (2u64 << l) - 1,
                    Special::LanemaskGt => (0xffff_ffffu64 << (l + 1)) & 0xffff_ffff,
                    Special::LanemaskGe => (0xffff_ffffu64 << l) & 0xffff_ffff,
                    Special::Smid | Special::Gridid => 0,
                    Special::Nsmid => 80,
                    Special::Clock | Special::Clock64 => 0,
                    Special::DynSmemSize => self.dyn_bytes as u64,
                    Special::TotalSmemSize => self.shared_size as u64,
                };
                w.regs[ri(r, l as usize)] = v;
            }
        }
    }

    /// Run block number `lin` to completion (or to its first fatal finding).
    pub fn run_block(&self, s: &mut Scratch, lin: u64) -> BlockRun {
        s.mem.findings.clear();
        let r = self.run_block_to_end(s, lin);
        let bm = &mut s.mem;
        if self.checks {
            for sp in bm.race.finish() {
                let (hazard, other, oline) = sp.conflict;
                let e = SimError::SharedRace {
                    kernel: self.k.name.clone(),
                    ptx_line: sp.line as usize,
                    block: bm.ctaid,
                    thread: self.thread_of(sp.tid),
                    addr: sp.off as u64,
                    hazard,
                    other_thread: self.thread_of(other),
                    other_line: oline as usize,
                };
                bm.note(e);
            }
        }
        let mut findings = std::mem::take(&mut bm.findings);
        let fatal = r.is_err();
        if let Err(e) = r {
            findings.push(e);
        }
        BlockRun {
            stats: std::mem::take(&mut bm.stats),
            findings,
            fatal,
        }
    }

    fn run_block_to_end(&self, s: &mut Scratch, lin: u64) -> Result<(), SimError> {
        let (gx, gy, _) = self.grid;
        let lin32 = lin as u32;
        let bm = &mut s.mem;
        bm.ctaid = (lin32 % gx, (lin32 / gx) % gy, lin32 / (gx * gy));
        bm.stats = LaunchStats {
            blocks: 1,
            threads: self.nthreads() as u64,
            ..Default::default()
        };
        bm.shared.clear();
        bm.shared.resize(self.shared_size, 0);
        let n = self.nthreads() as usize;
        bm.local.clear();
        bm.local.resize(n * self.k.local_size as usize, 0);
        bm.tparam.clear();
        bm.tparam.resize(n * self.k.tparam_size as usize, 0);
        if self.checks {
            bm.race.new_block(self.shared_size);
        }
        let nwarps = n.div_ceil(32);
        while s.warps.len() < nwarps {
            s.warps.push(Warp {
                regs: vec![],
                pc: [0; 32],
                live: 0,
                born: 0,
                parked: 0,
                stacks: vec![],
                saved: vec![],
                wepoch: 0,
                index: 0,
                pending_bar: NONE,
            });
        }
        let warps = &mut s.warps[..nwarps];
        for (i, w) in warps.iter_mut().enumerate() {
            self.init_warp(w, i as u32, bm);
        }
        loop {
            for w in warps.iter_mut() {
                self.run_warp(w, bm)?;
            }
            if warps.iter().all(|w| w.live == 0) {
                return Ok(());
            }
            self.block_stuck(warps, bm)?;
        }
    }

    #[inline(always)]
    fn guard_mask(&self, w: &Warp, inst: &Inst, mask: u32) -> u32 {
        if inst.guard == NO_REG {
            return mask;
        }
        let mut a = 0;
        let base = ri(inst.guard, 0);
        let g = &w.regs[base..base + 32];
        lanes(mask, |l| {
            if ((g[l] & 1) != 0) != inst.guard_neg {
                a |= 1 << l;
            }
        });
        a
    }

    /// Run the warp until every lane is exited or parked (warp rendezvous resolved as they
    /// complete).
    fn run_warp(&self, w: &mut Warp, bm: &mut BlockMem) -> Result<(), SimError> {
        let code = &self.k.code[..];
        'outer: loop {
            let runnable = w.live & !w.parked;
            if runnable == 0 {
                if self.resolve_warp_ops(w, bm)? {
                    continue;
                }
                return Ok(());
            }
            let mut pc = u32::MAX;
            let mut mask = 0u32;
            lanes(runnable, |l| {
                let p = w.pc[l];
                if p < pc {
                    pc = p;
                    mask = 1 << l;
                } else if p == pc {
                    mask |= 1 << l;
                }
            });
            let others = runnable & !mask;
            let mut limit = u32::MAX;
            lanes(others, |l| limit = limit.min(w.pc[l]));
            loop {
                if pc >= limit {
                    break;
                }
                let Some(inst) = code.get(pc as usize) else {
                    let l = mask.trailing_zeros() as usize;
                    return Err(self.runtime_err(
                        bm,
                        w,
                        l,
                        pc,
                        "ran past the end of the code".into(),
                    ));
                };
                bm.stats.thread_instructions += mask.count_ones() as u64;
                bm.stats.warp_instructions += 1;
                let active = self.guard_mask(w, inst, mask);
                if w.pending_bar != NONE
                    && pc > w.pending_bar
                    && !inst.op.is_control()
                    && active != 0
                {
                    self.divergence_in_warp(w, bm, pc, active)?;
                }
                match &inst.op {
                    Op::Bra { target } => {
                        if active == mask {
                            pc = *target;
                            if others != 0 {
                                break;
                            }
                        } else if active == 0 {
                            pc += 1;
                        } else {
                            let t = *target;
                            lanes(mask, |l| {
                                w.pc[l] = if active >> l & 1 != 0 { t } else { pc + 1 }
                            });
                            continue 'outer;
                        }
                    }
                    Op::Exit => {
                        w.live &= !active;
                        mask &= !active;
                        if mask == 0 {
                            continue 'outer;
                        }
                        pc += 1;
                    }
                    Op::Ret => {
                        self.ret(w, bm, active, mask, pc);
                        continue 'outer;
                    }
                    Op::Call { site } => {
                        let target = self.call(w, bm, *site, active, pc)?;
                        if active == mask {
                            pc = target;
                            if others != 0 {
                                break;
                            }
                        } else {
                            lanes(mask, |l| {
                                w.pc[l] = if active >> l & 1 != 0 { target } else { pc + 1 }
                            });
                            continue 'outer;
                        }
                    }
                    Op::Trap => {
                        if active != 0 {
                            let l = active.trailing_zeros();
                            return Err(SimError::Trap {
                                kernel: self.k.name.clone(),
                                ptx_line: inst.line as usize,
                                block: bm.ctaid,
                                thread: self.thread_of(w.index * 32 + l),
                            });
                        }
                        pc += 1;
                    }
                    op if op.is_sync() => {
                        lanes(active, |l| w.pc[l] = pc);
                        w.parked |= active;
                        if let Op::Bar { aligned: true, .. } = op {
                            if self.checks && (w.live & !w.parked) != 0 && w.pending_bar == NONE {
                                w.pending_bar = pc;
                            }
                        }
                        mask &= !active;
                        if mask == 0 {
                            continue 'outer;
                        }
                        pc += 1;
                    }
                    _ => {
                        if active != 0 {
                            self.exec(w, bm, inst, active, mask, pc)?;
                        }
                        pc += 1;
                    }
                }
            }
            lanes(mask, |l| w.pc[l] = pc);
        }
    }

    fn divergence_in_warp(
        &self,
        w: &Warp,
        bm: &BlockMem,
        pc: u32,
        active: u32,
    ) -> Result<(), SimError> {
        let bpc = w.pending_bar;
        if self.k.code[pc as usize].func != self.k.code[bpc as usize].func {
            return Ok(());
        }
        let l = active.trailing_zeros();
        Err(SimError::BarrierDivergence {
            kernel: self.k.name.clone(),
            ptx_line: self.line(bpc),
            block: bm.ctaid,
            thread: self.thread_of(w.index * 32 + l),
            msg: format!(
                "this thread skipped the barrier and ran on to PTX line {} while others of its warp wait at it",
                self.line(pc)
            ),
        })
    }

    fn call(
        &self,
        w: &mut Warp,
        bm: &mut BlockMem,
        site: u32,
        active: u32,
        pc: u32,
    ) -> Result<u32, SimError> {
        let s = &self.k.call_sites[site as usize];
        if let Some(l) =
            (0..32).find(|&l| active >> l & 1 != 0 && w.stacks[l].len() >= MAX_CALL_DEPTH)
        {
            let msg = format!(
                "call to `{}` exceeds the call depth limit of {MAX_CALL_DEPTH} (runaway recursion?)",
                self.k.funcs[s.func as usize]
            );
            return Err(self.runtime_err(bm, w, l, pc, msg));
        }
        let ts = self.k.tparam_size as usize;
        lanes(active, |l| {
            if let Some(span) = self.k.frames.get(s.func as usize) {
                let saved = self.save_frame(w, bm, l, span);
                w.saved[l].push(saved);
            }
            let base = (w.index as usize * 32 + l) * ts;
            for &(src, dst, n) in &s.args {
                let (src, dst, n) = (base + src as usize, base + dst as usize, n as usize);
                bm.tparam.copy_within(src..src + n, dst);
            }
            w.stacks[l].push(site);
        });
        Ok(s.target)
    }

    fn ret(&self, w: &mut Warp, bm: &mut BlockMem, active: u32, mask: u32, pc: u32) {
        let ts = self.k.tparam_size as usize;
        lanes(mask, |l| {
            if active >> l & 1 == 0 {
                w.pc[l] = pc + 1;
                return;
            }
            match w.stacks.get_mut(l).and_then(|s| s.pop()) {
                Some(site) => {
                    let s = &self.k.call_sites[site as usize];
                    let base = (w.index as usize * 32 + l) * ts;
                    let restore = self.k.frames.get(s.func as usize);
                    // the results leave the callee's slots before its caller's frame returns
                    let vals: Vec<Vec<u8>> = s
                        .rets
                        .iter()
                        .map(|&(src, _, n)| bm.tparam[base + src as usize..][..n as usize].to_vec())
                        .collect();
                    if let (Some(span), Some(saved)) = (restore, w.saved[l].pop()) {
                        self.restore_frame(w, bm, l, span, &saved);
                    }
                    for (&(_, dst, _), v) in s.rets.iter().zip(vals) {
                        bm.tparam[base + dst as usize..][..v.len()].copy_from_slice(&v);
                    }
                    w.pc[l] = s.ret_pc;
                }
                None => w.live &= !(1 << l),
            }
        });
    }

    /// Lane `l`'s byte ranges of a frame: (in `.local`?, start, length).
    fn frame_ranges(&self, w: &Warp, l: usize, span: &FrameSpan) -> Vec<(bool, usize, usize)> {
        let tid = w.index as usize * 32 + l;
        let (ls, ts) = (self.k.local_size as usize, self.k.tparam_size as usize);
        let (lo, hi) = (span.local.0 as usize, span.local.1 as usize);
        let mut v = vec![(true, tid * ls + lo, hi - lo)];
        v.extend(
            span.tparam
                .iter()
                .map(|&(o, n)| (false, tid * ts + o as usize, n as usize)),
        );
        v
    }

    /// Lane `l`'s copy of a function's frame: registers, then its `.local` and `.param` bytes.
    fn save_frame(&self, w: &Warp, bm: &BlockMem, l: usize, span: &FrameSpan) -> Saved {
        let regs = (span.regs.0..span.regs.1)
            .map(|r| w.regs[ri(r, l)])
            .collect();
        let mut bytes = vec![];
        for (local, o, n) in self.frame_ranges(w, l, span) {
            let mem = if local { &bm.local } else { &bm.tparam };
            bytes.extend_from_slice(&mem[o..o + n]);
        }
        Saved { regs, bytes }
    }

    fn restore_frame(
        &self,
        w: &mut Warp,
        bm: &mut BlockMem,
        l: usize,
        span: &FrameSpan,
        s: &Saved,
    ) {
        for (r, &v) in (span.regs.0..span.regs.1).zip(&s.regs) {
            w.regs[ri(r, l)] = v;
        }
        let mut at = 0;
        for (local, o, n) in self.frame_ranges(w, l, span) {
            let mem = if local { &mut bm.local } else { &mut bm.tparam };
            mem[o..o + n].copy_from_slice(&s.bytes[at..at + n]);
            at += n;
        }
    }
}
