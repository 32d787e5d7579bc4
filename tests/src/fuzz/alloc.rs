//! A counting global allocator for the fuzz binary and the smoke test: it tracks live bytes
//! and the peak since the last [`reset_peak`], so the runner can report an input whose
//! parse allocated far more than the input's size (an allocation sized from a header
//! field). A request that would take live memory past [`HARD_CAP`] is refused before it
//! reaches the system: the current input is saved and the process stops with a report,
//! instead of the machine swapping.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Live heap bytes above which an allocation is refused (the fuzz inputs are kilobytes).
pub const HARD_CAP: usize = 2 << 30;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TRIPPED: AtomicBool = AtomicBool::new(false);

/// Install with `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
pub struct CountingAlloc;

/// True when [`CountingAlloc`] is the global allocator (it has seen an allocation).
pub fn installed() -> bool {
    PEAK.load(Ordering::Relaxed) > 0
}

/// Live bytes now.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a new peak measurement at the current live size.
pub fn reset_peak() {
    PEAK.store(live(), Ordering::Relaxed);
}

/// The highest live size since [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

fn grow(size: usize) -> bool {
    let now = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    if now > HARD_CAP && !TRIPPED.swap(true, Ordering::Relaxed) {
        LIVE.fetch_sub(size, Ordering::Relaxed);
        super::current::abort_with("allocation over the hard cap", size);
    }
    PEAK.fetch_max(now, Ordering::Relaxed);
    true
}

// SAFETY: every call forwards to `System` with the same layout; the counters are atomics
// and never unwind.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grow(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}
