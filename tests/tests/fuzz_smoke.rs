//! A short run of every fuzz target (issue 16): no panic, no hang, no allocation out of
//! proportion to the input. The long runs are `cargo run --release -p tests --bin fuzz`.

use std::time::Duration;

use tests::fuzz::{self, alloc::CountingAlloc, Limits};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// One test function: the allocator's peak and the panic hook are process-wide, so the
/// runs must not overlap.
#[test]
fn every_target_survives_a_short_run() {
    harness_reports_panics_and_allocations();
    let limits = Limits {
        duration: Duration::from_millis(400),
        min_inputs: 2_000,
        ..Limits::default()
    };
    let targets = fuzz::targets::all();
    assert_eq!(targets.len(), 8, "one target per parser");
    let mut failures = Vec::new();
    for t in &targets {
        let r = fuzz::run_target(t, &limits);
        eprintln!("{}", fuzz::format_report(&r));
        assert!(r.inputs >= 2_000, "{}: only {} inputs", r.target, r.inputs);
        // The seeds are valid files: a target that accepts nothing tests nothing.
        assert!(
            r.accepted >= t.seeds.len() as u64 / 2,
            "{}: accepted {}",
            r.target,
            r.accepted
        );
        failures.extend(
            r.crashes
                .iter()
                .map(|c| format!("{}: {} {}", r.target, c.kind, c.message)),
        );
    }
    assert!(fuzz::alloc::installed(), "the counting allocator is active");
    assert!(failures.is_empty(), "crashes:\n{}", failures.join("\n"));
}

/// The harness itself catches what it must: a panicking target is reported as a crash,
/// and one that allocates far more than its input as a memory failure.
fn harness_reports_panics_and_allocations() {
    let limits = Limits {
        duration: Duration::from_millis(50),
        crash_dir: std::env::temp_dir().join("fuzz-smoke-harness"),
        ..Limits::default()
    };
    let panicky = fuzz::Target {
        name: "panicky",
        seeds: vec![b"abc".to_vec()],
        run: |b| b[b.len().wrapping_sub(1).min(2)] == b'z' || panic!("boom"),
        structured: None,
        text: false,
    };
    let r = fuzz::run_target(&panicky, &limits);
    assert!(r.crash_count > 0 && r.crashes[0].kind == "panic", "{r:?}");
    assert!(r.crashes[0].message.contains("boom"));
    let greedy = fuzz::Target {
        name: "greedy",
        seeds: vec![vec![1]],
        run: |_| std::hint::black_box(vec![1u8; 64 << 20]).len() > 1,
        structured: None,
        text: false,
    };
    let r = fuzz::run_target(&greedy, &limits);
    assert!(r.crash_count > 0 && r.crashes[0].kind == "memory", "{r:?}");
}
