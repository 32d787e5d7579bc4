//! The race checker's atomics rules and a launch reporting every finding.
//! - The CUDA Programming Guide's CAS loop (a plain read of a word that other threads update
//!   only with atomics, then `atomicCAS` until it succeeds) is no race; a plain write racing an
//!   atomic is (PTX ISA memory model: a plain access and an atomic to the same location, with
//!   no ordering between them, conflict unless both are atomic (morally strong)).
//! - A kernel with several bugs gets each named, in the order found, with its PTX line.

mod sim_util;
use sim_util::*;

/// The PTX line (in the wrapped kernel) of the first body line containing `marker`.
fn line_of(body: &str, marker: &str) -> usize {
    ptx(body)
        .lines()
        .position(|l| l.contains(marker))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no `{marker}` in the kernel"))
}

/// Thread 0 zeroes `s`, a barrier, then every thread adds `tid + 1` with `UPDATE`, a barrier,
/// thread 0 stores `s` to out[0].
fn shared_sum(update: &str) -> String {
    format!(
        "    .shared .align 4 .b8 s[4];
    setp.ne.u32 %p1, %tid, 0;
    @%p1 bra INIT;
    st.shared.u32 [s], 0;
INIT:
    bar.sync 0;
    add.u32 %r5, %tid, 1;
{update}
    bar.sync 0;
    @%p1 bra END;
    ld.shared.u32 %r4, [s];
    st.global.u32 [%out], %r4;
END:"
    )
}

/// The CAS loop of the CUDA Programming Guide (its `atomicAdd` for double, on a u32 here).
const CAS_LOOP: &str = "    ld.shared.u32 %r1, [s]; // plain read: the guess
LOOP:
    add.u32 %r2, %r1, %r5;
    atom.shared.cas.b32 %r3, [s], %r1, %r2;
    setp.ne.u32 %p2, %r3, %r1;
    mov.u32 %r1, %r3;
    @%p2 bra LOOP;";

#[test]
fn cas_loop_is_not_a_race_and_sums_right() {
    for threads in [1, 32, 64, 100] {
        let o = run_n(&shared_sum(CAS_LOOP), threads);
        assert_eq!(o[0], threads * (threads + 1) / 2, "{threads} threads");
    }
}

#[test]
fn plain_write_racing_an_atomic_is_still_a_race() {
    // thread 1 stores plainly while the others add atomically
    let update = "    setp.eq.u32 %p3, %tid, 1;
    @%p3 st.shared.u32 [s], 7; // plain write
    @!%p3 atom.shared.add.u32 %r1, [s], %r5;";
    let body = shared_sum(update);
    let e = run_opts(&body, 64, true).unwrap_err();
    assert_eq!(e.kind(), "shared-race", "{e}");
    assert!(e.to_string().contains("atomic"), "{e}");
    let plain = line_of(&body, "plain write");
    assert!(
        e.findings()
            .iter()
            .any(|f| f.to_string().contains(&format!("line {plain}"))),
        "{e}"
    );
    // a plain read that its thread never follows with an atomic of its own: still a race
    let update = "    atom.shared.add.u32 %r1, [s], %r5;
    ld.shared.u32 %r2, [s]; // uses the value";
    let e = run_opts(&shared_sum(update), 64, true).unwrap_err();
    assert_eq!(e.kind(), "shared-race", "{e}");
    assert!(e.to_string().contains("read after atomic"), "{e}");
}

#[test]
fn a_launch_reports_every_finding() {
    // thread 0 reads u[0] that nobody wrote (uninitialised), then thread 1 writes s[0] and
    // thread 0 reads it with no barrier between (a race)
    let body = "    .shared .align 4 .b8 u[4];
    .shared .align 4 .b8 s[4];
    setp.ne.u32 %p1, %tid, 0;
    setp.ne.u32 %p2, %tid, 1;
    @!%p1 ld.shared.u32 %r1, [u]; // uninit
    @!%p2 st.shared.u32 [s], %tid;
    @!%p1 ld.shared.u32 %r2, [s]; // racy read
    st.global.u32 [%out], %r2;";
    let e = run_opts(body, 64, true).unwrap_err();
    let f = e.findings();
    assert_eq!(f.len(), 2, "{e}");
    assert_eq!(f[0].kind(), "uninitialized", "{e}");
    assert_eq!(f[0].ptx_line(), Some(line_of(body, "// uninit")), "{e}");
    assert_eq!(f[1].kind(), "shared-race", "{e}");
    let racy = line_of(body, "racy read");
    let write = line_of(body, "st.shared.u32 [s], %tid");
    // whichever access came second names the other
    let text = f[1].to_string();
    assert!(
        text.contains(&format!("line {racy}")) && text.contains(&format!("line {write}")),
        "{e}"
    );
    assert!(e.to_string().starts_with("2 findings"), "{e}");

    // a race, then a fatal out-of-bounds store: both named, the fatal one last
    let body = "    .shared .align 4 .b8 s[4];
    setp.ne.u32 %p2, %tid, 1;
    @!%p2 st.shared.u32 [s], %tid;
    ld.shared.u32 %r2, [s];
    st.global.u32 [%out+4096], %r2; // oob";
    let e = run_opts(body, 64, true).unwrap_err();
    let kinds: Vec<_> = e.findings().iter().map(|f| f.kind()).collect();
    assert_eq!(kinds, ["shared-race", "out-of-bounds"], "{e}");
    assert_eq!(e.findings()[1].ptx_line(), Some(line_of(body, "// oob")));

    // one bug alone is reported as itself, not as a list
    let body = "    .shared .align 4 .b8 u[4];\n    ld.shared.u32 %r1, [u];";
    let e = run_opts(body, 32, true).unwrap_err();
    assert_eq!(e.kind(), "uninitialized");
    assert_eq!(e.findings().len(), 1);
}
