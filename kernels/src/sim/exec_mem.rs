//! Memory instructions (`ld`, `st`, `atom`, `red`) for a group of lanes: address
//! translation per state space, bounds / alignment / race checks, coalescing statistics.
//!
//! Bounds are always checked (an access outside every allocation has no backing memory);
//! `SimOptions::checks` adds the alignment, race and uninitialised-shared checks. With checks
//! off a misaligned access is performed byte-wise (atomics always need alignment).

use super::alu;
use super::checks::race::Check;
use super::error::SimError;
use super::exec::{lanes, ri, BlockMem, Launch, Warp};
use super::float;
use super::ir::*;
use super::memory::{self, LOCAL_WINDOW, SHARED_WINDOW, WINDOW_SIZE};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

#[derive(Clone, Copy)]
enum Loc {
    G(*mut u8),
    S(usize),
    L(usize),
    P(usize),
    T(usize),
}

#[derive(Clone, Copy)]
enum Fault {
    Oob(&'static str),
    Align(&'static str),
}

#[inline(always)]
fn rd(b: &[u8], off: usize, size: u32) -> u64 {
    match size {
        4 => u32::from_le_bytes(b[off..off + 4].try_into().unwrap_or([0; 4])) as u64,
        8 => u64::from_le_bytes(b[off..off + 8].try_into().unwrap_or([0; 8])),
        2 => u16::from_le_bytes(b[off..off + 2].try_into().unwrap_or([0; 2])) as u64,
        _ => b[off] as u64,
    }
}
#[inline(always)]
fn wr(b: &mut [u8], off: usize, size: u32, v: u64) {
    match size {
        4 => b[off..off + 4].copy_from_slice(&(v as u32).to_le_bytes()),
        8 => b[off..off + 8].copy_from_slice(&v.to_le_bytes()),
        2 => b[off..off + 2].copy_from_slice(&(v as u16).to_le_bytes()),
        _ => b[off] = v as u8,
    }
}

fn atom_apply(op: AtomOp, ty: Ty, old: u64, b: u64, c: u64) -> u64 {
    let m = ty.mask();
    match op {
        AtomOp::Add => match ty {
            Ty::F32 => (f32::from_bits(old as u32) + f32::from_bits(b as u32)).to_bits() as u64,
            Ty::F64 => (f64::from_bits(old) + f64::from_bits(b)).to_bits(),
            _ => old.wrapping_add(b) & m,
        },
        AtomOp::Min => alu::int_bin(BinOp::Min, ty, old, b),
        AtomOp::Max => alu::int_bin(BinOp::Max, ty, old, b),
        AtomOp::Inc => {
            if (old & m) >= (b & m) {
                0
            } else {
                (old + 1) & m
            }
        }
        AtomOp::Dec => {
            if old & m == 0 || (old & m) > (b & m) {
                b & m
            } else {
                (old - 1) & m
            }
        }
        AtomOp::Cas => {
            if old & m == b & m {
                c & m
            } else {
                old & m
            }
        }
        AtomOp::Exch => b & m,
        AtomOp::And => old & b & m,
        AtomOp::Or => (old | b) & m,
        AtomOp::Xor => (old ^ b) & m,
    }
}

/// Distinct 32-byte sectors touched by the accesses `(addr, size)`.
fn sectors(addrs: &[u64], size: u32) -> u64 {
    let mut v = [0u64; 96];
    let mut n = 0;
    let mut sorted = true;
    for &a in addrs {
        let (s, e) = (a >> 5, (a + size as u64 - 1) >> 5);
        for x in s..=e.min(s + 1) {
            if n > 0 && x < v[n - 1] {
                sorted = false;
            }
            if n < v.len() {
                v[n] = x;
                n += 1;
            }
        }
    }
    let v = &mut v[..n];
    if !sorted {
        v.sort_unstable();
    }
    let mut c = 0;
    for i in 0..v.len() {
        if i == 0 || v[i] != v[i - 1] {
            c += 1;
        }
    }
    c
}

/// Extra shared wavefronts caused by bank conflicts.
fn bank_conflicts(offs: &[u32], size: u32) -> u64 {
    // fast path: one word per lane, every bank holding a single distinct word
    if size <= 4 {
        let mut word = [u32::MAX; 32];
        let mut clash = false;
        for &o in offs {
            let w = o / 4;
            let b = (w & 31) as usize;
            if word[b] == u32::MAX {
                word[b] = w;
            } else if word[b] != w {
                clash = true;
                break;
            }
        }
        if !clash && offs.iter().all(|o| (o + size - 1) / 4 == o / 4) {
            return 0;
        }
    }
    let mut words = [0u32; 160];
    let mut n = 0;
    for &o in offs {
        for w in (o / 4)..=((o + size - 1) / 4) {
            if n < words.len() {
                words[n] = w;
                n += 1;
            }
        }
    }
    let words = &mut words[..n];
    words.sort_unstable();
    let mut per_bank = [0u32; 32];
    for i in 0..words.len() {
        if i == 0 || words[i] != words[i - 1] {
            per_bank[(words[i] & 31) as usize] += 1;
        }
    }
    let wave = *per_bank.iter().max().unwrap_or(&0) as u64;
    let ideal = ((offs.len() as u64 * size as u64).div_ceil(128)).max(1);
    wave.saturating_sub(ideal)
}

impl<'a> Launch<'a> {
    #[allow(clippy::too_many_arguments)]
    fn fault(
        &self,
        bm: &BlockMem,
        w: &Warp,
        lane: usize,
        pc: u32,
        f: Fault,
        addr: u64,
        size: u32,
    ) -> SimError {
        let (kernel, ptx_line, block) = (self.k.name.clone(), self.line(pc), bm.ctaid);
        let thread = self.thread_of(w.index * 32 + lane as u32);
        match f {
            Fault::Oob(space) => SimError::OutOfBounds {
                kernel,
                ptx_line,
                block,
                thread,
                space,
                addr,
                size,
            },
            Fault::Align(space) => SimError::Misaligned {
                kernel,
                ptx_line,
                block,
                thread,
                space,
                addr,
                size,
            },
        }
    }

    /// Translate an address of `space` for thread `tid`.
    #[inline]
    fn locate(
        &self,
        bm: &mut BlockMem,
        space: Space,
        addr: u64,
        size: u32,
        tid: usize,
    ) -> Result<Loc, Fault> {
        let (space, addr) = match space {
            Space::Generic => {
                if (SHARED_WINDOW..SHARED_WINDOW + WINDOW_SIZE).contains(&addr) {
                    (Space::Shared, addr - SHARED_WINDOW)
                } else if (LOCAL_WINDOW..LOCAL_WINDOW + WINDOW_SIZE).contains(&addr) {
                    (Space::Local, addr - LOCAL_WINDOW)
                } else {
                    (Space::Global, addr)
                }
            }
            s => (s, addr),
        };
        let name = space.name();
        if self.checks && addr % size.min(16) as u64 != 0 {
            return Err(Fault::Align(name));
        }
        let fits = |lim: usize| {
            addr.checked_add(size as u64)
                .is_some_and(|e| e <= lim as u64)
        };
        match space {
            Space::Global | Space::Const => self
                .gmem
                .translate(addr, size, &mut bm.ghint)
                .map(Loc::G)
                .ok_or(Fault::Oob(name)),
            Space::Shared if fits(self.shared_size) => Ok(Loc::S(addr as usize)),
            Space::Local if fits(self.k.local_size as usize) => {
                Ok(Loc::L(tid * self.k.local_size as usize + addr as usize))
            }
            Space::Param if fits(self.params.len()) => Ok(Loc::P(addr as usize)),
            Space::TParam if fits(self.k.tparam_size as usize) => {
                Ok(Loc::T(tid * self.k.tparam_size as usize + addr as usize))
            }
            _ => Err(Fault::Oob(name)),
        }
    }

    pub(crate) fn mem_op(
        &self,
        w: &mut Warp,
        bm: &mut BlockMem,
        inst: &Inst,
        active: u32,
        pc: u32,
    ) -> Result<(), SimError> {
        let (space, ty, n, addr, store) = match inst.op {
            Op::Ld {
                space, ty, n, addr, ..
            } => (space, ty, n, addr, false),
            Op::St {
                space, ty, n, addr, ..
            } => (space, ty, n, addr, true),
            Op::Atom { .. } => return self.atom(w, bm, inst, active, pc),
            _ => return Ok(()),
        };
        let es = ty.size();
        let total = es * n as u32;
        let mut gaddrs = [0u64; 32];
        let mut ng = 0;
        let mut soffs = [0u32; 32];
        let mut ns = 0;
        let mut nl = 0;
        let line = inst.line;
        let mut m = active;
        while m != 0 {
            let l = m.trailing_zeros() as usize;
            m &= m - 1;
            let tid = w.index as usize * 32 + l;
            let a = if addr.base == NO_REG {
                addr.off as u64
            } else {
                w.regs[ri(addr.base, l)].wrapping_add(addr.off as u64)
            };
            let loc = match self.locate(bm, space, a, total, tid) {
                Ok(x) => x,
                Err(f) => return Err(self.fault(bm, w, l, pc, f, a, total)),
            };
            match loc {
                Loc::G(_) => {
                    gaddrs[ng] = a;
                    ng += 1;
                }
                Loc::S(o) => {
                    soffs[ns] = o as u32;
                    ns += 1;
                    if self.checks {
                        let c = if store {
                            bm.race
                                .write(o, total as usize, tid as u32, w.wepoch, line, false)
                        } else {
                            bm.race.read(o, total as usize, tid as u32, w.wepoch, line)
                        };
                        if !matches!(c, Check::Ok) {
                            let e = self.check_err(c, bm, w, l, pc, o as u64);
                            bm.note(e);
                        }
                    }
                }
                Loc::L(_) => nl += 1,
                _ => {}
            }
            if store {
                let Op::St { srcs, .. } = inst.op else {
                    return Ok(());
                };
                for (k, &src) in srcs.iter().enumerate().take(n as usize) {
                    let ko = k * es as usize;
                    let v = w.regs[ri(src, l)];
                    match loc {
                        // SAFETY: translate() checked the range lies inside a live allocation.
                        Loc::G(p) => unsafe { memory::store(p.add(ko), es, v) },
                        Loc::S(o) => wr(&mut bm.shared, o + ko, es, v),
                        Loc::L(o) => wr(&mut bm.local, o + ko, es, v),
                        Loc::T(o) => wr(&mut bm.tparam, o + ko, es, v),
                        Loc::P(_) => {}
                    }
                }
            } else {
                let Op::Ld { dsts, .. } = inst.op else {
                    return Ok(());
                };
                for (k, &dst) in dsts.iter().enumerate().take(n as usize) {
                    let ko = k * es as usize;
                    let v = match loc {
                        // SAFETY: as above.
                        Loc::G(p) => unsafe { memory::load(p.add(ko), es) },
                        Loc::S(o) => rd(&bm.shared, o + ko, es),
                        Loc::L(o) => rd(&bm.local, o + ko, es),
                        Loc::T(o) => rd(&bm.tparam, o + ko, es),
                        Loc::P(o) => rd(self.params, o + ko, es),
                    };
                    w.regs[ri(dst, l)] = if ty.is_signed() {
                        alu::sext(v, ty.bits()) as u64
                    } else {
                        v
                    };
                }
            }
        }
        let st = &mut bm.stats;
        if ng > 0 {
            if store {
                st.global_store_requests += 1;
            } else {
                st.global_load_requests += 1;
            }
            st.global_sectors += sectors(&gaddrs[..ng], total);
        }
        if ns > 0 {
            st.shared_requests += 1;
            st.shared_bank_conflicts += bank_conflicts(&soffs[..ns], total);
        }
        if nl > 0 {
            st.local_requests += 1;
        }
        Ok(())
    }

    #[cold]
    fn check_err(
        &self,
        c: Check,
        bm: &BlockMem,
        w: &Warp,
        l: usize,
        pc: u32,
        off: u64,
    ) -> SimError {
        let thread = self.thread_of(w.index * 32 + l as u32);
        let (kernel, ptx_line, block) = (self.k.name.clone(), self.line(pc), bm.ctaid);
        match c {
            Check::Race((hazard, other, oline)) => SimError::SharedRace {
                kernel,
                ptx_line,
                block,
                thread,
                addr: off,
                hazard,
                other_thread: self.thread_of(other),
                other_line: oline as usize,
            },
            _ => SimError::Uninitialized {
                kernel,
                ptx_line,
                block,
                thread,
                addr: off,
            },
        }
    }

    fn atom(
        &self,
        w: &mut Warp,
        bm: &mut BlockMem,
        inst: &Inst,
        active: u32,
        pc: u32,
    ) -> Result<(), SimError> {
        let Op::Atom {
            space,
            op,
            ty,
            d,
            addr,
            b,
            c,
        } = inst.op
        else {
            return Ok(());
        };
        let size = ty.size();
        let mut err = None;
        let mut shared = false;
        lanes(active, |l| {
            if err.is_some() {
                return;
            }
            let tid = w.index as usize * 32 + l;
            let a = if addr.base == NO_REG {
                addr.off as u64
            } else {
                w.regs[ri(addr.base, l)].wrapping_add(addr.off as u64)
            };
            if a % size as u64 != 0 {
                err = Some(self.fault(bm, w, l, pc, Fault::Align(space.name()), a, size));
                return;
            }
            let loc = match self.locate(bm, space, a, size, tid) {
                Ok(x) => x,
                Err(f) => {
                    err = Some(self.fault(bm, w, l, pc, f, a, size));
                    return;
                }
            };
            let bv = w.regs[ri(b, l)];
            let cv = if c == NO_REG { 0 } else { w.regs[ri(c, l)] };
            let old = match loc {
                Loc::G(p) => {
                    // SAFETY: in bounds and aligned to the access size.
                    if size == 4 {
                        let at = unsafe { &*(p as *const AtomicU32) };
                        let mut old = at.load(Relaxed);
                        loop {
                            let new = atom_apply(op, ty, old as u64, bv, cv) as u32;
                            match at.compare_exchange_weak(old, new, Relaxed, Relaxed) {
                                Ok(_) => break old as u64,
                                Err(x) => old = x,
                            }
                        }
                    } else {
                        let at = unsafe { &*(p as *const AtomicU64) };
                        let mut old = at.load(Relaxed);
                        loop {
                            let new = atom_apply(op, ty, old, bv, cv);
                            match at.compare_exchange_weak(old, new, Relaxed, Relaxed) {
                                Ok(_) => break old,
                                Err(x) => old = x,
                            }
                        }
                    }
                }
                Loc::S(o) => {
                    shared = true;
                    if self.checks {
                        let ck =
                            bm.race
                                .write(o, size as usize, tid as u32, w.wepoch, inst.line, true);
                        if !matches!(ck, Check::Ok) {
                            let e = self.check_err(ck, bm, w, l, pc, o as u64);
                            bm.note(e);
                        }
                    }
                    let old = rd(&bm.shared, o, size);
                    wr(&mut bm.shared, o, size, atom_apply(op, ty, old, bv, cv));
                    old
                }
                _ => {
                    err = Some(self.fault(
                        bm,
                        w,
                        l,
                        pc,
                        Fault::Oob("atomic (not global/shared)"),
                        a,
                        size,
                    ));
                    return;
                }
            };
            if d != NO_REG {
                w.regs[ri(d, l)] = old;
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        bm.stats.atomics += active.count_ones() as u64;
        if shared {
            bm.stats.shared_requests += 1;
        }
        let _ = float::ftz32;
        Ok(())
    }
}
