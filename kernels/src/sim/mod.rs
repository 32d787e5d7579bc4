//! The PTX simulator: runs PTX text (as NVRTC 11.8 emits it for `compute_70`) on the CPU.
//!
//! Layout, one concept per file:
//! - [`lexer`] / [`parse`]: PTX text to a syntax tree (strict; unknown syntax is a `Parse` error),
//! - [`ir`] / [`decode`] / [`decode_ops`] / [`decode_mem`] / [`decode_call`] /
//!   [`decode_operands`] / [`decode_ctx`]: syntax tree to a compact instruction form (register
//!   indices, resolved branch targets, immediates as constant registers, handler chosen once);
//!   imports run one way, each module only on those after it in this list,
//! - [`alu`] / [`float`] / [`softfloat`]: the arithmetic semantics (integer corners, cvt; IEEE
//!   directed rounding from exact integer arithmetic, one rounding routine for f16/f32/f64),
//! - [`memory`]: the device's global address space (allocations far apart, unmapped gaps),
//! - [`exec`] / [`exec_ops`] / [`exec_mem`] / [`warpops`]: execution (per-lane PCs,
//!   warp-grouped stepping, barriers and warp rendezvous, deadlock and divergence detection),
//! - [`checks::race`]: the shared-memory race detector (happens-before; the CAS-loop idiom is
//!   no race); a launch reports every finding ([`SimError::findings`]),
//! - [`stats`]: per-launch statistics, [`context`]: the driver-like API, [`error`]: errors.
//!
//! Integer division by zero gives all ones (`u32::MAX` for `div.u32`, -1 for `div.s32`) and
//! `rem` by zero gives the dividend; `INT_MIN / -1` gives `INT_MIN` and `INT_MIN % -1` gives 0.
//! None of them traps (see [`alu`]).

// `is_multiple_of` needs Rust 1.87; the workspace's MSRV is 1.80.
#![allow(
    unknown_lints,
    clippy::manual_is_multiple_of,
    clippy::manual_checked_ops
)]

pub mod alu;
pub mod checks;
pub mod context;
pub mod decode;
pub mod decode_call;
pub mod decode_ctx;
pub mod decode_mem;
pub mod decode_operands;
pub mod decode_ops;
pub mod error;
pub mod exec;
pub mod exec_mem;
pub mod exec_ops;
pub mod float;
pub mod ir;
pub mod lexer;
pub mod memory;
pub mod parse;
pub mod softfloat;
pub mod stats;
pub mod warpops;

pub use context::{Context, Function, KernelArg, LaunchConfig, Module, SimOptions};
pub use error::SimError;
pub use memory::DevicePtr;
pub use stats::{LaunchStats, TransferCounters};
