//! Rendezvous instructions: warp-synchronous ones (`bar.warp.sync`, `shfl.sync`,
//! `vote.sync`, `match.sync`) resolve when every member lane of the mask has arrived at the
//! same instruction; block barriers (`bar.sync`, `bar.red`) when every live thread of the
//! block has arrived. Lanes born exited (partial last warp) are ignored in member masks;
//! a member that exited while others wait is an error. When nothing can run: divergence,
//! shuffle-mismatch or deadlock errors naming the parked groups.

use super::error::SimError;
use super::exec::{lanes, ri, BlockMem, Launch, Warp, NONE};
use super::ir::*;

impl<'a> Launch<'a> {
    fn shfl_err(&self, bm: &BlockMem, w: &Warp, lane: u32, pc: u32, msg: String) -> SimError {
        SimError::ShuffleMismatch {
            kernel: self.k.name.clone(),
            ptx_line: self.line(pc),
            block: bm.ctaid,
            thread: self.thread_of(w.index * 32 + lane),
            msg,
        }
    }

    /// Try to complete warp-synchronous instructions of a warp with no runnable lane.
    pub(crate) fn resolve_warp_ops(
        &self,
        w: &mut Warp,
        bm: &mut BlockMem,
    ) -> Result<bool, SimError> {
        let code = &self.k.code;
        let mut pending = w.parked & w.live;
        while pending != 0 {
            let l0 = pending.trailing_zeros() as usize;
            let pc = w.pc[l0];
            let inst = &code[pc as usize];
            let mreg = match inst.op {
                Op::WarpSync { mask } => mask,
                Op::Shfl { mask, .. } | Op::Vote { mask, .. } | Op::Match { mask, .. } => mask,
                _ => {
                    pending &= !(1 << l0);
                    continue;
                }
            };
            let member_mask = w.regs[ri(mreg, l0)] as u32;
            // lanes parked here with the same mask
            let mut group = 0u32;
            lanes(pending, |l| {
                if w.pc[l] == pc && w.regs[ri(mreg, l)] as u32 == member_mask {
                    group |= 1 << l;
                }
            });
            pending &= !group;
            if group & !member_mask != 0 {
                let l = (group & !member_mask).trailing_zeros();
                return Err(self.shfl_err(
                    bm,
                    w,
                    l,
                    pc,
                    format!(
                        "member mask 0x{member_mask:08x} does not include the executing lane {l}"
                    ),
                ));
            }
            let required = member_mask & w.born;
            let gone = required & !w.live;
            if gone != 0 {
                let l = group.trailing_zeros();
                return Err(self.shfl_err(
                    bm,
                    w,
                    l,
                    pc,
                    format!(
                        "lane {} of member mask 0x{member_mask:08x} exited without arriving",
                        gone.trailing_zeros()
                    ),
                ));
            }
            if required & !group != 0 {
                continue; // not everyone is here yet
            }
            self.complete_warp_op(w, inst, group);
            lanes(group, |l| w.pc[l] = pc + 1);
            w.parked &= !group;
            return Ok(true);
        }
        Ok(false)
    }

    fn complete_warp_op(&self, w: &mut Warp, inst: &Inst, group: u32) {
        let r = &mut w.regs;
        match inst.op {
            Op::WarpSync { .. } => w.wepoch += 1,
            Op::Shfl {
                mode,
                d,
                p,
                a,
                b,
                c,
                ..
            } => {
                let mut vals = [0u64; 32];
                lanes(u32::MAX, |l| vals[l] = r[ri(a, l)] & 0xffff_ffff);
                lanes(group, |l| {
                    let lane = l as i32;
                    let bv = (r[ri(b, l)] & 0x1f) as i32;
                    let cv = r[ri(c, l)] as i32;
                    let cval = cv & 0x1f;
                    let seg = (cv >> 8) & 0x1f;
                    let max_lane = (lane & seg) | (cval & !seg);
                    let min_lane = lane & seg;
                    let (j, ok) = match mode {
                        ShflMode::Up => (lane - bv, lane - bv >= max_lane),
                        ShflMode::Down => (lane + bv, lane + bv <= max_lane),
                        ShflMode::Bfly => (lane ^ bv, (lane ^ bv) <= max_lane),
                        ShflMode::Idx => {
                            let j = min_lane | (bv & !seg);
                            (j, j <= max_lane)
                        }
                    };
                    let j = if ok && (0..32).contains(&j) {
                        j as usize
                    } else {
                        l
                    };
                    r[ri(d, l)] = vals[j];
                    if p != NO_REG {
                        r[ri(p, l)] = ok as u64;
                    }
                });
            }
            Op::Vote { mode, d, a, .. } => {
                let mut ballot = 0u32;
                lanes(group, |l| {
                    if r[ri(a, l)] & 1 != 0 {
                        ballot |= 1 << l;
                    }
                });
                let v = match mode {
                    VoteMode::Ballot => ballot as u64,
                    VoteMode::All => (ballot == group) as u64,
                    VoteMode::Any => (ballot != 0) as u64,
                    VoteMode::Uni => (ballot == group || ballot == 0) as u64,
                };
                lanes(group, |l| r[ri(d, l)] = v);
            }
            Op::Match {
                all, ty, d, p, a, ..
            } => {
                let m = ty.mask();
                let mut vals = [0u64; 32];
                lanes(group, |l| vals[l] = r[ri(a, l)] & m);
                let first = vals[group.trailing_zeros() as usize];
                let mut same_all = true;
                lanes(group, |l| same_all &= vals[l] == first);
                lanes(group, |l| {
                    if all {
                        r[ri(d, l)] = if same_all { group as u64 } else { 0 };
                        if p != NO_REG {
                            r[ri(p, l)] = same_all as u64;
                        }
                    } else {
                        let mut eq = 0u32;
                        lanes(group, |k| {
                            if vals[k] == vals[l] {
                                eq |= 1 << k
                            }
                        });
                        r[ri(d, l)] = eq as u64;
                    }
                });
            }
            _ => {}
        }
    }

    /// Every lane of the block is parked or exited: release a barrier or report why not.
    pub(crate) fn block_stuck(
        &self,
        warps: &mut [Warp],
        bm: &mut BlockMem,
    ) -> Result<(), SimError> {
        let code = &self.k.code;
        let mut bar_pc = NONE;
        let mut bar_first = (0usize, 0u32);
        let mut bar_id = 0u64;
        let mut waiting = 0u32;
        let mut live = 0u32;
        let mut other: Option<(usize, u32, u32)> = None; // (warp, lane, pc) parked at a warp op
        for (wi, w) in warps.iter().enumerate() {
            live += w.live.count_ones();
            let mut err = None;
            lanes(w.parked & w.live, |l| {
                let pc = w.pc[l];
                match code[pc as usize].op {
                    Op::Bar { id, .. } => {
                        let idv = w.regs[ri(id, l)];
                        if bar_pc == NONE {
                            bar_pc = pc;
                            bar_first = (wi, l as u32);
                            bar_id = idv;
                        } else if (pc != bar_pc || idv != bar_id) && err.is_none() {
                            err = Some((wi, l as u32, pc));
                        }
                        waiting += 1;
                    }
                    _ => {
                        if other.is_none() {
                            other = Some((wi, l as u32, pc));
                        }
                    }
                }
            });
            if let Some((wi2, l2, pc2)) = err {
                let w2 = &warps[wi2];
                return Err(SimError::BarrierDivergence {
                    kernel: self.k.name.clone(),
                    ptx_line: self.line(pc2),
                    block: bm.ctaid,
                    thread: self.thread_of(w2.index * 32 + l2),
                    msg: format!(
                        "threads wait at different barriers: this one at PTX line {}, thread {:?} at PTX line {}",
                        self.line(pc2),
                        self.thread_of(warps[bar_first.0].index * 32 + bar_first.1),
                        self.line(bar_pc)
                    ),
                });
            }
        }
        if let Some((wi, l, pc)) = other {
            let w = &warps[wi];
            let where_ = self.parked_summary(warps);
            return Err(self.shfl_err(
                bm,
                w,
                l,
                pc,
                format!("its member lanes never arrive; parked: {where_}"),
            ));
        }
        if bar_pc == NONE || waiting != live {
            return Err(SimError::Deadlock {
                kernel: self.k.name.clone(),
                block: bm.ctaid,
                parked: vec![self.parked_summary(warps)],
            });
        }
        // release the barrier (with its reduction)
        let inst = &code[bar_pc as usize];
        if let Op::Bar { kind, d, p, .. } = inst.op {
            let (mut popc, mut any) = (0u64, false);
            let mut all = true;
            if kind != BarKind::Sync {
                for w in warps.iter() {
                    lanes(w.parked & w.live, |l| {
                        let v = w.regs[ri(p, l)] & 1 != 0;
                        popc += v as u64;
                        any |= v;
                        all &= v;
                    });
                }
            }
            for w in warps.iter_mut() {
                let g = w.parked & w.live;
                lanes(g, |l| {
                    w.pc[l] += 1;
                    match kind {
                        BarKind::Sync => {}
                        BarKind::RedPopc => w.regs[ri(d, l)] = popc,
                        BarKind::RedAnd => w.regs[ri(d, l)] = all as u64,
                        BarKind::RedOr => w.regs[ri(d, l)] = any as u64,
                    }
                });
                w.parked = 0;
                w.pending_bar = NONE;
            }
        }
        bm.stats.barriers += 1;
        if self.checks {
            bm.race.barrier();
        }
        Ok(())
    }

    fn parked_summary(&self, warps: &[Warp]) -> String {
        let mut groups: Vec<(u32, u32, u32)> = vec![]; // (pc, warp, mask)
        for w in warps {
            lanes(w.parked & w.live, |l| {
                let pc = w.pc[l];
                if let Some(g) = groups.iter_mut().find(|g| g.0 == pc && g.1 == w.index) {
                    g.2 |= 1 << l;
                } else {
                    groups.push((pc, w.index, 1 << l));
                }
            });
        }
        let mut parts: Vec<String> = groups
            .iter()
            .take(16)
            .map(|(pc, wi, m)| {
                let what = match self.k.code[*pc as usize].op {
                    Op::Bar { .. } => "barrier",
                    Op::WarpSync { .. } => "bar.warp.sync",
                    Op::Shfl { .. } => "shfl.sync",
                    Op::Vote { .. } => "vote.sync",
                    _ => "match.sync",
                };
                format!(
                    "warp {wi} lanes 0x{m:08x} at pc {pc} (PTX line {}, {what})",
                    self.line(*pc)
                )
            })
            .collect();
        if groups.len() > 16 {
            parts.push(format!("... {} more groups", groups.len() - 16));
        }
        parts.join(", ")
    }
}
