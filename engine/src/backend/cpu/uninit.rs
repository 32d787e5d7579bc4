//! Output vectors built without zeroing them first. With the trainer's allocator policy
//! (freed pages kept), a zeroed allocation is a `memset` over reused memory: in a cnn
//! step about 14% of the CPU time (perf, before this), a full extra pass over each
//! output for kernels that overwrite every element anyway.

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// A vector of `n` elements filled in parallel by `fill(task, out)`, task `t` owning
/// elements `t * chunk ..` of the result.
///
/// # Safety
/// `fill` must write every element of the slice it is given.
pub(crate) unsafe fn par_build_uninit<T: Send>(
    n: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    v.spare_capacity_mut()[..n]
        .par_chunks_mut(chunk.max(1))
        .enumerate()
        .for_each(|(t, o)| fill(t, o));
    // SAFETY: the caller's `fill` initialised all `n` elements.
    unsafe { v.set_len(n) };
    v
}
