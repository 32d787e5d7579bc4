//! Simulator errors: one variant per kind of finding, each printing one clear line.

use std::fmt;

/// A 3-D index (block or thread).
pub type Dim3 = (u32, u32, u32);

/// Everything that can go wrong loading PTX, launching, or executing a kernel.
#[derive(Debug, Clone, PartialEq)]
pub enum SimError {
    /// The PTX text could not be parsed or uses something the simulator does not know.
    Parse {
        line: usize,
        text: String,
        msg: String,
    },
    /// `Module::function` with a name the module does not define.
    NoSuchFunction { name: String },
    /// Bad launch: grid/block shape, shared memory size, argument count or sizes.
    BadLaunch { kernel: String, msg: String },
    /// Host-side memory API misuse (unknown pointer, copy past an allocation, double free).
    InvalidPointer { msg: String },
    /// A thread accessed memory outside any allocation / outside the space's size.
    OutOfBounds {
        kernel: String,
        ptx_line: usize,
        block: Dim3,
        thread: Dim3,
        space: &'static str,
        addr: u64,
        size: u32,
    },
    /// A thread accessed memory at an address not aligned to the access size.
    Misaligned {
        kernel: String,
        ptx_line: usize,
        block: Dim3,
        thread: Dim3,
        space: &'static str,
        addr: u64,
        size: u32,
    },
    /// Two threads of a block touched the same shared bytes with no barrier between,
    /// at least one of them with a plain (non-atomic) write.
    SharedRace {
        kernel: String,
        ptx_line: usize,
        block: Dim3,
        thread: Dim3,
        addr: u64,
        hazard: &'static str,
        other_thread: Dim3,
        other_line: usize,
    },
    /// A thread read shared memory that no thread of its block had written.
    Uninitialized {
        kernel: String,
        ptx_line: usize,
        block: Dim3,
        thread: Dim3,
        addr: u64,
    },
    /// A barrier reached by part of a block (or warp) while other live threads went elsewhere.
    BarrierDivergence {
        kernel: String,
        ptx_line: usize,
        block: Dim3,
        thread: Dim3,
        msg: String,
    },
    /// Nothing can run but threads are parked at synchronising instructions.
    Deadlock {
        kernel: String,
        block: Dim3,
        parked: Vec<String>,
    },
    /// A warp-synchronous instruction (shfl/vote/bar.warp.sync/match) whose members never
    /// arrive (exited, or waiting elsewhere), or whose mask excludes the thread itself.
    ShuffleMismatch {
        kernel: String,
        ptx_line: usize,
        block: Dim3,
        thread: Dim3,
        msg: String,
    },
    /// `trap` executed.
    Trap {
        kernel: String,
        ptx_line: usize,
        block: Dim3,
        thread: Dim3,
    },
    /// Any other run-time failure (unsupported operation at run time, call depth exceeded).
    Runtime {
        kernel: String,
        ptx_line: usize,
        block: Dim3,
        thread: Dim3,
        msg: String,
    },
    /// A launch with more than one finding (distinct kind or PTX line), in the order found;
    /// `kind()` and `ptx_line()` are those of the first, [`SimError::findings`] lists all.
    Findings(Vec<SimError>),
}

impl SimError {
    /// One error for a launch's findings (at least one): the finding itself when alone.
    pub fn from_findings(mut list: Vec<SimError>) -> SimError {
        if list.len() == 1 {
            list.remove(0)
        } else {
            SimError::Findings(list)
        }
    }

    /// Every finding this error reports (itself, unless it is [`SimError::Findings`]).
    pub fn findings(&self) -> &[SimError] {
        match self {
            SimError::Findings(list) => list,
            e => std::slice::from_ref(e),
        }
    }

    /// A short stable name of the error's kind, for tests to match on.
    pub fn kind(&self) -> &'static str {
        match self {
            SimError::Findings(list) => list.first().map_or("findings", |e| e.kind()),
            SimError::Parse { .. } => "parse",
            SimError::NoSuchFunction { .. } => "no-such-function",
            SimError::BadLaunch { .. } => "bad-launch",
            SimError::InvalidPointer { .. } => "invalid-pointer",
            SimError::OutOfBounds { .. } => "out-of-bounds",
            SimError::Misaligned { .. } => "misaligned",
            SimError::SharedRace { .. } => "shared-race",
            SimError::Uninitialized { .. } => "uninitialized",
            SimError::BarrierDivergence { .. } => "barrier-divergence",
            SimError::Deadlock { .. } => "deadlock",
            SimError::ShuffleMismatch { .. } => "shuffle-mismatch",
            SimError::Trap { .. } => "trap",
            SimError::Runtime { .. } => "runtime",
        }
    }

    /// The PTX source line the error points at, where there is one.
    pub fn ptx_line(&self) -> Option<usize> {
        match self {
            SimError::Parse { line, .. } => Some(*line),
            SimError::Findings(list) => list.first().and_then(|e| e.ptx_line()),
            SimError::OutOfBounds { ptx_line, .. }
            | SimError::Misaligned { ptx_line, .. }
            | SimError::SharedRace { ptx_line, .. }
            | SimError::Uninitialized { ptx_line, .. }
            | SimError::BarrierDivergence { ptx_line, .. }
            | SimError::ShuffleMismatch { ptx_line, .. }
            | SimError::Trap { ptx_line, .. }
            | SimError::Runtime { ptx_line, .. } => Some(*ptx_line),
            _ => None,
        }
    }
}

fn d3(d: &Dim3) -> String {
    format!("({},{},{})", d.0, d.1, d.2)
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Parse { line, text, msg } => {
                write!(f, "PTX parse error at line {line}: {msg}: `{}`", text.trim())
            }
            SimError::NoSuchFunction { name } => write!(f, "no function `{name}` in module"),
            SimError::BadLaunch { kernel, msg } => write!(f, "bad launch of `{kernel}`: {msg}"),
            SimError::InvalidPointer { msg } => write!(f, "invalid device pointer: {msg}"),
            SimError::OutOfBounds { kernel, ptx_line, block, thread, space, addr, size } => write!(
                f,
                "out-of-bounds {space} access of {size} bytes at 0x{addr:x} in `{kernel}` (PTX line {ptx_line}), block {}, thread {}",
                d3(block),
                d3(thread)
            ),
            SimError::Misaligned { kernel, ptx_line, block, thread, space, addr, size } => write!(
                f,
                "misaligned {space} access of {size} bytes at 0x{addr:x} in `{kernel}` (PTX line {ptx_line}), block {}, thread {}",
                d3(block),
                d3(thread)
            ),
            SimError::SharedRace { kernel, ptx_line, block, thread, addr, hazard, other_thread, other_line } => write!(
                f,
                "shared-memory race ({hazard}) at shared 0x{addr:x} in `{kernel}`: PTX line {ptx_line} thread {} vs PTX line {other_line} thread {}, block {}, no barrier between",
                d3(thread),
                d3(other_thread),
                d3(block)
            ),
            SimError::Uninitialized { kernel, ptx_line, block, thread, addr } => write!(
                f,
                "read of uninitialised shared memory at shared 0x{addr:x} in `{kernel}` (PTX line {ptx_line}), block {}, thread {}",
                d3(block),
                d3(thread)
            ),
            SimError::BarrierDivergence { kernel, ptx_line, block, thread, msg } => write!(
                f,
                "barrier divergence in `{kernel}` at PTX line {ptx_line}, block {}, thread {}: {msg}",
                d3(block),
                d3(thread)
            ),
            SimError::Deadlock { kernel, block, parked } => write!(
                f,
                "deadlock in `{kernel}`, block {}: nothing can run; parked: {}",
                d3(block),
                parked.join("; ")
            ),
            SimError::ShuffleMismatch { kernel, ptx_line, block, thread, msg } => write!(
                f,
                "warp-synchronous instruction never completes in `{kernel}` at PTX line {ptx_line}, block {}, thread {}: {msg}",
                d3(block),
                d3(thread)
            ),
            SimError::Trap { kernel, ptx_line, block, thread } => write!(
                f,
                "trap in `{kernel}` at PTX line {ptx_line}, block {}, thread {}",
                d3(block),
                d3(thread)
            ),
            SimError::Findings(list) => {
                write!(f, "{} findings:", list.len())?;
                for (i, e) in list.iter().enumerate() {
                    write!(f, "\n  {}. {e}", i + 1)?;
                }
                Ok(())
            }
            SimError::Runtime { kernel, ptx_line, block, thread, msg } => write!(
                f,
                "error in `{kernel}` at PTX line {ptx_line}, block {}, thread {}: {msg}",
                d3(block),
                d3(thread)
            ),
        }
    }
}

impl std::error::Error for SimError {}
