//! Shared-memory race detection by happens-before, per byte.
//!
//! Each shared byte keeps its last writer and its readers since the last ordering point.
//! Ordering points: a block barrier (a new epoch for everyone) and, for threads of the
//! same warp, a completed `bar.warp.sync` (the warp's sync counter moved on). Two accesses
//! race when they come from different threads, touch the same byte, at least one is a
//! plain write (atomic vs atomic is fine, atomic vs plain is not), and no ordering point
//! separates them. Also flags reads of shared bytes no thread of the block has written.
//!
//! A plain read against an atomic write (either order) is first only suspected: the CUDA
//! Programming Guide's CAS loop reads the word plainly, then retries `atomicCAS` until it
//! succeeds, and the plain read's value is only a guess. If the reading thread itself then
//! performs an atomic on those bytes before the next barrier, the suspicion is dropped;
//! otherwise it is reported at the barrier (or the block's end). A plain write against an
//! atomic is always a race.
//!
//! Checking goes on after a finding (the state is updated as if the access were clean), so a
//! launch can report every finding, not only the first.
//!
//! Epoch numbers grow across blocks run by the same host thread, so the shadow array is
//! never cleared: stale cells simply have an older epoch.

const ATOMIC: u32 = 1 << 31;
const MULTI: u32 = 1 << 31;
const MIXED: u32 = 1 << 30;

#[derive(Clone, Copy, Default)]
struct Cell {
    w_epoch: u32,
    w_tid: u32,
    w_wep: u32,
    w_line: u32,
    r_epoch: u32,
    r_tid: u32,
    r_wep: u32,
    r_line: u32,
    init: u32,
}

/// A detected conflict: (hazard, other thread, other PTX line).
pub type Conflict = (&'static str, u32, u32);

/// Outcome of a checked access.
pub enum Check {
    Ok,
    Race(Conflict),
    Uninit,
}

/// A race between a plain read (by `tid` at `line`) and an atomic, not (yet) excused by an
/// atomic of the reader on the same bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Suspect {
    pub tid: u32,
    pub line: u32,
    pub off: usize,
    pub end: usize,
    pub conflict: Conflict,
}

#[derive(Default)]
pub struct RaceState {
    cells: Vec<Cell>,
    epoch: u32,
    block: u32,
    suspects: Vec<Suspect>,
    confirmed: Vec<Suspect>,
}

#[inline]
fn same_warp(a: u32, b: u32) -> bool {
    (a & !(MULTI | MIXED)) >> 5 == (b & !(MULTI | MIXED)) >> 5
}

impl RaceState {
    /// Start a new block with `bytes` of shared memory.
    pub fn new_block(&mut self, bytes: usize) {
        if self.cells.len() < bytes {
            self.cells.resize(bytes, Cell::default());
        }
        self.epoch = self.epoch.wrapping_add(1).max(1);
        self.block = self.block.wrapping_add(1).max(1);
        self.suspects.clear();
        self.confirmed.clear();
    }
    /// A block barrier completed: suspects of the ending epoch become races.
    pub fn barrier(&mut self) {
        self.epoch = self.epoch.wrapping_add(1).max(1);
        self.confirmed.append(&mut self.suspects);
    }
    /// The block finished: every read-vs-atomic race not excused (see the module notes).
    pub fn finish(&mut self) -> Vec<Suspect> {
        self.confirmed.append(&mut self.suspects);
        std::mem::take(&mut self.confirmed)
    }
    fn suspect(&mut self, s: Suspect) {
        if !self.suspects.contains(&s) && self.suspects.len() < 1024 {
            self.suspects.push(s);
        }
    }

    /// A plain read of `[off, off+size)` by thread `tid` (warp sync counter `wep`).
    pub fn read(&mut self, off: usize, size: usize, tid: u32, wep: u32, line: u32) -> Check {
        let (e, blk) = (self.epoch, self.block);
        let mut found = Check::Ok;
        let mut atomic = None;
        for c in &mut self.cells[off..off + size] {
            if c.init != blk {
                if matches!(found, Check::Ok) {
                    found = Check::Uninit;
                }
                continue;
            }
            if c.w_epoch == e {
                let w = c.w_tid & !ATOMIC;
                if w != tid && !(same_warp(w, tid) && c.w_wep != wep) {
                    if c.w_tid & ATOMIC != 0 {
                        atomic.get_or_insert(("read after atomic", w, c.w_line));
                    } else if matches!(found, Check::Ok) {
                        found = Check::Race(("read after write", w, c.w_line));
                    }
                }
            }
            if c.r_epoch != e {
                c.r_epoch = e;
                c.r_tid = tid;
                c.r_wep = wep;
                c.r_line = line;
            } else if c.r_tid & !(MULTI | MIXED) != tid {
                let mixed = if same_warp(c.r_tid, tid) {
                    c.r_tid & MIXED
                } else {
                    MIXED
                };
                c.r_tid = tid | MULTI | mixed;
                c.r_wep = c.r_wep.max(wep);
                c.r_line = line;
            } else {
                c.r_wep = c.r_wep.max(wep);
            }
        }
        if let Some(conflict) = atomic {
            self.suspect(Suspect {
                tid,
                line,
                off,
                end: off + size,
                conflict,
            });
        }
        found
    }

    /// A write (plain or atomic) of `[off, off+size)`.
    pub fn write(
        &mut self,
        off: usize,
        size: usize,
        tid: u32,
        wep: u32,
        line: u32,
        atomic: bool,
    ) -> Check {
        let (e, blk) = (self.epoch, self.block);
        if atomic {
            // the reader's own atomic excuses its plain read (the CAS loop)
            self.suspects
                .retain(|s| s.tid != tid || s.end <= off || off + size <= s.off);
        }
        let mut found = Check::Ok;
        let mut suspect = None;
        for c in &mut self.cells[off..off + size] {
            if c.w_epoch == e {
                let w = c.w_tid & !ATOMIC;
                let both_atomic = atomic && c.w_tid & ATOMIC != 0;
                if w != tid
                    && !both_atomic
                    && !(same_warp(w, tid) && c.w_wep != wep)
                    && matches!(found, Check::Ok)
                {
                    let h = match (atomic, c.w_tid & ATOMIC != 0) {
                        (true, false) => "atomic after write",
                        (false, true) => "write after atomic",
                        _ => "write after write",
                    };
                    found = Check::Race((h, w, c.w_line));
                }
            }
            if c.r_epoch == e {
                let r = c.r_tid & !(MULTI | MIXED);
                let other = if c.r_tid & MULTI == 0 {
                    r != tid && !(same_warp(r, tid) && c.r_wep != wep)
                } else {
                    !(c.r_tid & MIXED == 0 && same_warp(r, tid) && c.r_wep < wep)
                };
                if other && atomic {
                    // the plain read is suspected, not this atomic (see the module notes);
                    // the last reader's own atomic excuses it at once
                    if r != tid {
                        suspect.get_or_insert((r, c.r_line));
                    }
                } else if other && matches!(found, Check::Ok) {
                    found = Check::Race(("write after read", r, c.r_line));
                }
            }
            c.w_epoch = e;
            c.w_tid = tid | if atomic { ATOMIC } else { 0 };
            c.w_wep = wep;
            c.w_line = line;
            c.r_epoch = 0;
            c.init = blk;
        }
        if let Some((r, rline)) = suspect {
            self.suspect(Suspect {
                tid: r,
                line: rline,
                off,
                end: off + size,
                conflict: ("read before atomic", tid, line),
            });
        }
        found
    }

    /// Mark bytes initialised without race tracking (checks off paths never call this).
    pub fn init(&mut self, off: usize, size: usize) {
        let blk = self.block;
        for c in &mut self.cells[off..off + size] {
            c.init = blk;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn happens_before() {
        let mut r = RaceState::default();
        r.new_block(64);
        assert!(matches!(r.write(0, 4, 0, 0, 1, false), Check::Ok));
        assert!(matches!(r.read(0, 4, 0, 0, 2), Check::Ok)); // own write
        assert!(matches!(
            r.read(0, 4, 40, 0, 3),
            Check::Race(("read after write", 0, 1))
        ));
        r.barrier();
        assert!(matches!(r.read(0, 4, 40, 0, 3), Check::Ok));
        assert!(matches!(r.read(0, 4, 41, 0, 3), Check::Ok));
        assert!(matches!(
            r.write(0, 4, 40, 0, 4, false),
            Check::Race(("write after read", _, _))
        ));
        r.barrier();
        assert!(matches!(r.write(8, 4, 1, 0, 1, true), Check::Ok));
        assert!(matches!(r.write(8, 4, 2, 0, 1, true), Check::Ok)); // atomic vs atomic
        assert!(matches!(r.read(8, 4, 3, 0, 1), Check::Ok)); // suspected only
        assert!(matches!(r.read(32, 4, 3, 0, 1), Check::Uninit));
        r.barrier(); // thread 3 never did its own atomic: confirmed
        assert_eq!(r.finish().len(), 1);
        // the CAS loop: plain read, another thread's atomic, the reader's own atomic
        r.new_block(64);
        assert!(matches!(r.write(16, 4, 0, 0, 1, false), Check::Ok));
        r.barrier();
        assert!(matches!(r.read(16, 4, 5, 0, 2), Check::Ok));
        assert!(matches!(r.read(16, 4, 6, 0, 2), Check::Ok));
        assert!(matches!(r.write(16, 4, 6, 0, 3, true), Check::Ok));
        assert!(matches!(r.write(16, 4, 5, 0, 3, true), Check::Ok));
        assert!(r.finish().is_empty());
        // same warp, ordered by a warp sync
        r.barrier();
        assert!(matches!(r.write(0, 4, 1, 5, 1, false), Check::Ok));
        assert!(matches!(r.read(0, 4, 2, 6, 1), Check::Ok));
        assert!(matches!(r.read(0, 4, 33, 6, 1), Check::Race(_)));
    }
}
