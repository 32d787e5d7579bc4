//! Per-launch statistics and the context's transfer counters.

use std::fmt;

/// What one launch executed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaunchStats {
    /// Lanes issued, summed over every warp instruction (predicated-off lanes included).
    pub thread_instructions: u64,
    /// Warp-level instruction issues (one per group of lanes stepping together).
    pub warp_instructions: u64,
    pub global_load_requests: u64,
    pub global_store_requests: u64,
    /// Distinct 32-byte sectors touched per global request, summed over requests.
    pub global_sectors: u64,
    /// Warp-level shared loads + stores + atomics.
    pub shared_requests: u64,
    /// Extra shared wavefronts caused by bank conflicts, summed over requests.
    pub shared_bank_conflicts: u64,
    /// Thread-level atomic (and `red`) operations.
    pub atomics: u64,
    pub local_requests: u64,
    /// Block-wide barriers released.
    pub barriers: u64,
    pub blocks: u64,
    pub threads: u64,
    /// Wall time of the launch in seconds.
    pub seconds: f64,
}

impl LaunchStats {
    /// Average 32-byte sectors per global request (4.0 is a perfectly coalesced f32 warp access).
    pub fn sectors_per_request(&self) -> f64 {
        let r = self.global_load_requests + self.global_store_requests;
        if r == 0 {
            0.0
        } else {
            self.global_sectors as f64 / r as f64
        }
    }
    /// Average active lanes per warp instruction divided by 32.
    pub fn simd_efficiency(&self) -> f64 {
        if self.warp_instructions == 0 {
            0.0
        } else {
            self.thread_instructions as f64 / (32.0 * self.warp_instructions as f64)
        }
    }
    /// Simulated thread-instructions per second of wall time.
    pub fn throughput(&self) -> f64 {
        if self.seconds > 0.0 {
            self.thread_instructions as f64 / self.seconds
        } else {
            0.0
        }
    }
    /// What was added to these totals since they were `earlier` (all but `seconds`).
    pub fn since(&self, earlier: &LaunchStats) -> LaunchStats {
        LaunchStats {
            thread_instructions: self.thread_instructions - earlier.thread_instructions,
            warp_instructions: self.warp_instructions - earlier.warp_instructions,
            global_load_requests: self.global_load_requests - earlier.global_load_requests,
            global_store_requests: self.global_store_requests - earlier.global_store_requests,
            global_sectors: self.global_sectors - earlier.global_sectors,
            shared_requests: self.shared_requests - earlier.shared_requests,
            shared_bank_conflicts: self.shared_bank_conflicts - earlier.shared_bank_conflicts,
            atomics: self.atomics - earlier.atomics,
            local_requests: self.local_requests - earlier.local_requests,
            barriers: self.barriers - earlier.barriers,
            blocks: self.blocks - earlier.blocks,
            threads: self.threads - earlier.threads,
            seconds: 0.0,
        }
    }
    /// Adds `o` into these totals (all but `seconds`).
    pub fn merge(&mut self, o: &LaunchStats) {
        self.thread_instructions += o.thread_instructions;
        self.warp_instructions += o.warp_instructions;
        self.global_load_requests += o.global_load_requests;
        self.global_store_requests += o.global_store_requests;
        self.global_sectors += o.global_sectors;
        self.shared_requests += o.shared_requests;
        self.shared_bank_conflicts += o.shared_bank_conflicts;
        self.atomics += o.atomics;
        self.local_requests += o.local_requests;
        self.barriers += o.barriers;
        self.blocks += o.blocks;
        self.threads += o.threads;
    }
}

impl fmt::Display for LaunchStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28}{:>16}",
            "blocks / threads",
            format!("{} / {}", self.blocks, self.threads)
        )?;
        writeln!(
            f,
            "{:<28}{:>16}",
            "thread instructions", self.thread_instructions
        )?;
        writeln!(
            f,
            "{:<28}{:>16}",
            "warp instructions", self.warp_instructions
        )?;
        writeln!(
            f,
            "{:<28}{:>16.3}",
            "SIMD efficiency",
            self.simd_efficiency()
        )?;
        writeln!(
            f,
            "{:<28}{:>16}",
            "global load requests", self.global_load_requests
        )?;
        writeln!(
            f,
            "{:<28}{:>16}",
            "global store requests", self.global_store_requests
        )?;
        writeln!(
            f,
            "{:<28}{:>16}",
            "global sectors (32 B)", self.global_sectors
        )?;
        writeln!(
            f,
            "{:<28}{:>16.2}",
            "sectors per request",
            self.sectors_per_request()
        )?;
        writeln!(f, "{:<28}{:>16}", "shared requests", self.shared_requests)?;
        writeln!(
            f,
            "{:<28}{:>16}",
            "shared bank conflicts", self.shared_bank_conflicts
        )?;
        writeln!(f, "{:<28}{:>16}", "atomics", self.atomics)?;
        writeln!(f, "{:<28}{:>16}", "local requests", self.local_requests)?;
        writeln!(f, "{:<28}{:>16}", "barriers", self.barriers)?;
        write!(
            f,
            "{:<28}{:>16.1}",
            "M thread-instr / s",
            self.throughput() / 1e6
        )
    }
}

/// Host<->device traffic and synchronisations of a context so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferCounters {
    pub htod_copies: u64,
    pub htod_bytes: u64,
    pub dtoh_copies: u64,
    pub dtoh_bytes: u64,
    pub dtod_copies: u64,
    pub dtod_bytes: u64,
    pub memsets: u64,
    pub syncs: u64,
    pub launches: u64,
}
