//! Structured mutation fuzzing of every parser of untrusted input (issue 16), on stable
//! Rust: seeds from real files, generic and format-aware mutations, each input under
//! `catch_unwind` with a time limit (a watchdog) and a memory limit (a counting global
//! allocator, [`alloc::CountingAlloc`], installed by the fuzz binary and the smoke test).

pub mod alloc;
pub mod current;
pub mod formats;
pub mod mutate;
pub mod runner;
pub mod seeds;
pub mod targets;

pub use runner::{run_target, Crash, Limits, Report, Target};

/// One line per target: name, inputs, accepted, seconds, slowest input, crashes.
pub fn format_report(r: &Report) -> String {
    format!(
        "| {} | {} | {} | {:.1} | {:.2} | {} |",
        r.target, r.inputs, r.accepted, r.seconds, r.max_input_ms, r.crash_count
    )
}

/// The table header matching [`format_report`].
pub const REPORT_HEADER: &str = "| target | inputs | accepted | seconds | slowest input (ms) | crashes |\n|---|---:|---:|---:|---:|---:|";
