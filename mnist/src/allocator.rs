//! The allocator policy of the trainer's binaries. A training step allocates the same
//! large temporaries every step; glibc returns them to the kernel and page-faults them
//! back in each time (10-20% of a cnn step). mimalloc with purging off keeps them.

pub use mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's option enum (v2 and v3 agree).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never return freed pages to the OS (mimalloc purges after 10 ms by default).
/// Binaries call this first thing, with `#[global_allocator] static A: MiMalloc = MiMalloc;`.
pub fn keep_freed_pages() {
    // SAFETY: setting an option is thread-safe and takes effect for later purges.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}
