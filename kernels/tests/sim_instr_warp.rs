//! PTX simulator tests, warp and memory family (shuffles, vote, barriers, atomics, vectors,
//! local/generic memory, calls, the context memory API and counters): hand-written PTX
//! snippets with hand-computed expected values, corners included.

mod sim_util;
use kernels::sim::*;
use sim_util::*;

#[test]
fn shuffles_partial_width_and_mask() {
    // every lane holds 100 + lane
    let o = run_n(
        r#"
    add.s32 %r1, %tid, 100;
    mov.u32 %r9, -1;
    shfl.sync.down.b32 %r2|%p1, %r1, 3, 0x181f, %r9;
    shfl.sync.up.b32 %r3|%p2, %r1, 2, 0x1800, %r9;
    shfl.sync.bfly.b32 %r4|%p3, %r1, 4, 0x1f, %r9;
    shfl.sync.idx.b32 %r5|%p4, %r1, 5, 0x181f, %r9;
    shfl.sync.idx.b32 %r6, %r1, 40, 0x1f, %r9;
    selp.u32 %r7, 1, 0, %p1;
    selp.u32 %r8, 1, 0, %p2;
    shl.b32 %r10, %tid, 4;
    cvt.u64.u32 %rd1, %r10;
    add.s64 %rd2, %out, %rd1;
    st.global.v4.u32 [%rd2], {%r2, %r3, %r4, %r5};
    add.s64 %rd3, %rd2, 512;
    st.global.v4.u32 [%rd3], {%r6, %r7, %r8, %r8};
    "#,
        32,
    );
    for lane in 0..32u32 {
        let (down, up, bfly, idx) = (
            o[lane as usize * 4],
            o[lane as usize * 4 + 1],
            o[lane as usize * 4 + 2],
            o[lane as usize * 4 + 3],
        );
        // width 8: down by 3 stays inside the 8-lane segment, else own value
        let seg = lane / 8 * 8;
        let want_down = if lane + 3 <= seg + 7 { lane + 3 } else { lane };
        assert_eq!(down, 100 + want_down, "down lane {lane}");
        let want_up = if lane >= seg + 2 { lane - 2 } else { lane };
        assert_eq!(up, 100 + want_up, "up lane {lane}");
        assert_eq!(bfly, 100 + (lane ^ 4));
        assert_eq!(idx, 100 + seg + 5, "idx lane {lane}");
        let q = &o[128 + lane as usize * 4..];
        assert_eq!(q[0], 100 + (40 & 31), "idx 40 is taken mod 32");
        assert_eq!(q[1], (lane + 3 <= seg + 7) as u32);
        assert_eq!(q[2], (lane >= seg + 2) as u32);
    }
}

#[test]
fn vote_ballot_with_born_exited_lanes() {
    // 20 threads: lanes 20..31 of the warp are born exited and contribute 0
    let o = run_n(
        r#"
    and.b32 %r1, %tid, 1;
    setp.eq.u32 %p1, %r1, 0;
    mov.u32 %r9, -1;
    vote.sync.ballot.b32 %r2, %p1, %r9;
    vote.sync.all.pred %p2, %p1, %r9;
    vote.sync.any.pred %p3, %p1, %r9;
    setp.lt.u32 %p4, %tid, 100;
    vote.sync.all.pred %p5, %p4, %r9;
    vote.sync.uni.pred %p6, %p4, %r9;
    vote.sync.ballot.b32 %r7, !%p1, %r9;
    setp.ne.u32 %p7, %tid, 0;
    @%p7 bra DONE;
    selp.u32 %r3, 1, 0, %p2;
    selp.u32 %r4, 1, 0, %p3;
    selp.u32 %r5, 1, 0, %p5;
    selp.u32 %r6, 1, 0, %p6;
    st.global.v4.u32 [%out], {%r2, %r3, %r4, %r5};
    st.global.v2.u32 [%out+16], {%r6, %r7};
DONE:
    "#,
        20,
    );
    assert_eq!(o[0], 0x55555);
    assert_eq!(&o[1..6], &[0, 1, 1, 1, 0xAAAAA]);
}

#[test]
fn barrier_reductions_and_early_exit() {
    // 100 threads; threads >= 90 return before the barrier (legal: exited threads release it)
    let o = run_n(
        r#"
    setp.ge.u32 %p1, %tid, 90;
    @%p1 bra END;
    setp.lt.u32 %p2, %tid, 10;
    bar.red.popc.u32 %r1, 0, %p2;
    bar.red.or.pred %p3, 0, %p2;
    bar.red.and.pred %p4, 0, %p2;
    bar.sync 0;
    setp.ne.u32 %p5, %tid, 0;
    @%p5 bra END;
    selp.u32 %r2, 1, 0, %p3;
    selp.u32 %r3, 1, 0, %p4;
    st.global.v2.u32 [%out], {%r1, %r2};
    st.global.u32 [%out+8], %r3;
END:
    "#,
        100,
    );
    assert_eq!(&o[..3], &[10, 1, 0]);
}

#[test]
fn atomics_shared_and_global() {
    let o = run_n(
        r#"
    .shared .align 4 .b8 sm[16];
    setp.ne.u32 %p1, %tid, 0;
    @%p1 bra SKIP;
    st.shared.u32 [sm], 0;
    st.shared.u32 [sm+4], 0;
SKIP:
    bar.sync 0;
    atom.shared.add.u32 %r1, [sm], 1;
    atom.shared.inc.u32 %r2, [sm+4], 9;
    atom.global.add.f32 %f1, [%out+8], 0f3F000000;
    red.global.max.s32 [%out+12], %tid;
    atom.global.cas.b32 %r3, [%out+16], 0, 77;
    atom.global.exch.b32 %r4, [%out+20], %tid;
    atom.global.min.u32 %r5, [%out+24], %tid;
    bar.sync 0;
    @%p1 bra END;
    ld.shared.u32 %r6, [sm];
    ld.shared.u32 %r7, [sm+4];
    st.global.v2.u32 [%out], {%r6, %r7};
END:
    "#,
        64,
    );
    assert_eq!(o[0], 64);
    assert_eq!(o[1], 64 % 10); // inc wraps at 9: 0..9,0..
    assert_eq!(f(o[2]), 32.0);
    assert_eq!(o[3], 63);
    assert_eq!(o[4], 77);
    assert!(o[5] < 64);
    assert_eq!(o[6], 0);
}

#[test]
fn vectors_local_generic_and_calls() {
    let src = r#".version 7.8
.target sm_70
.address_size 64
.func (.param .b32 r) twice(.param .b32 x)
{
    .reg .b32 %a;
    ld.param.b32 %a, [x];
    shl.b32 %a, %a, 1;
    st.param.b32 [r], %a;
    ret;
}
.visible .entry t(.param .u64 t_out)
{
    .local .align 16 .b8 depot[32];
    .shared .align 16 .b8 sh[64];
    .reg .b64 %rd<12>;
    .reg .b32 %r<12>;
    .reg .f32 %f<8>;
    ld.param.u64 %rd1, [t_out];
    mov.u64 %rd2, depot;
    st.local.v4.f32 [%rd2], {0f3F800000, 0f40000000, 0f40400000, 0f40800000};
    cvta.local.u64 %rd3, %rd2;
    ld.v2.f32 {%f1, %f2}, [%rd3+8];
    mov.u64 %rd4, sh;
    cvta.shared.u64 %rd5, %rd4;
    st.u32 [%rd5+4], 41;
    ld.shared.u32 %r1, [sh+4];
    cvta.to.shared.u64 %rd6, %rd5;
    ld.shared.u32 %r2, [%rd6+4];
    mov.b64 %rd7, {%r1, %r2};
    mov.b64 {%r3, %r4}, %rd7;
    {
    .reg .b32 %r1;
    .param .b32 p0;
    .param .b32 r0;
    mov.u32 %r1, 21;
    st.param.b32 [p0], %r1;
    call.uni (r0), twice, (p0);
    ld.param.b32 %r5, [r0];
    }
    st.global.v2.f32 [%rd1], {%f1, %f2};
    st.global.v4.u32 [%rd1+16], {%r1, %r3, %r4, %r5};
    st.global.u64 [%rd1+32], %rd7;
    ret;
}
"#;
    let c = Context::new(SimOptions::default());
    let m = c.load_module(src).unwrap();
    let f_ = m.function("t").unwrap();
    assert_eq!(f_.params().len(), 1);
    let out = c.alloc(64).unwrap();
    c.launch(&f_, LaunchConfig::linear(1, 1), &[KernelArg::Ptr(out)])
        .unwrap();
    let mut b = vec![0u8; 64];
    c.copy_dtoh(&mut b, out).unwrap();
    let w: Vec<u32> = b
        .chunks(4)
        .map(|x| u32::from_le_bytes(x.try_into().unwrap()))
        .collect();
    assert_eq!(f(w[0]), 3.0);
    assert_eq!(f(w[1]), 4.0);
    assert_eq!(&w[4..8], &[41, 41, 41, 42]);
    assert_eq!(d64(&w, 8), 41 | 41 << 32);
}

#[test]
fn context_memory_api_and_counters() {
    let c = Context::new(SimOptions::default());
    let a = c.alloc(100).unwrap();
    let b = c.alloc(100).unwrap();
    assert!(b.0 - a.0 > 1 << 20, "allocations far apart");
    c.memset_d8(a, 7, 100).unwrap();
    c.copy_dtod(b, a, 100).unwrap();
    let mut h = vec![0u8; 100];
    c.copy_dtoh(&mut h, b).unwrap();
    assert!(h.iter().all(|&x| x == 7));
    assert!(c.copy_htod(a.offset(90), &[0u8; 20]).is_err());
    c.synchronize().unwrap();
    let t = c.counters();
    assert_eq!(
        (t.dtoh_copies, t.dtoh_bytes, t.dtod_copies, t.syncs),
        (1, 100, 1, 1)
    );
    c.free(a).unwrap();
    assert_eq!(c.free(a).unwrap_err().kind(), "invalid-pointer");
}
