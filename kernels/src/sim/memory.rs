//! The device's global address space: allocations placed far apart with unmapped gaps
//! between them (an overflow never lands in a neighbour), plus the generic-address windows
//! of shared and local memory.
//!
//! Memory is stored as `AtomicU64` words and accessed with relaxed atomics of the access
//! size (plain moves on x86/ARM), so that blocks running on several host threads never
//! form a Rust data race; `atom`/`red` use real read-modify-write atomics.

use super::error::SimError;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

/// A device address (in the simulator's global address space).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DevicePtr(pub u64);

impl DevicePtr {
    /// The address `bytes` further on.
    pub fn offset(self, bytes: u64) -> DevicePtr {
        DevicePtr(self.0.wrapping_add(bytes))
    }
}

/// First global allocation address.
pub const GLOBAL_BASE: u64 = 1 << 32;
/// Gap of unmapped addresses after each allocation (at least).
pub const GLOBAL_GAP: u64 = 1 << 24;
/// Generic addresses `SHARED_WINDOW + off` are shared-space offset `off`.
pub const SHARED_WINDOW: u64 = 0x7000_0000_0000;
/// Generic addresses `LOCAL_WINDOW + off` are local-space offset `off` (of the thread).
pub const LOCAL_WINDOW: u64 = 0x7100_0000_0000;
/// Size of each window.
pub const WINDOW_SIZE: u64 = 1 << 32;

/// One allocation.
pub struct Alloc {
    pub base: u64,
    pub size: u64,
    data: Box<[AtomicU64]>,
}

impl Alloc {
    fn new(base: u64, size: u64) -> Alloc {
        let words = size.div_ceil(8).max(1) as usize;
        let data: Box<[AtomicU64]> = (0..words).map(|_| AtomicU64::new(0)).collect();
        Alloc { base, size, data }
    }
    /// Host pointer to the first byte.
    pub fn ptr(&self) -> *mut u8 {
        self.data.as_ptr() as *mut u8
    }
    /// Byte-wise read (host copies).
    pub fn read(&self, off: u64, dst: &mut [u8]) {
        for (i, d) in dst.iter_mut().enumerate() {
            // SAFETY: off + i < size checked by callers; memory is atomics.
            *d = unsafe { load(self.ptr().add(off as usize + i), 1) } as u8;
        }
    }
    pub fn write(&self, off: u64, src: &[u8]) {
        let mut i = 0;
        // word-wise where aligned (host copies of large buffers)
        while i < src.len() {
            let o = off as usize + i;
            if o % 8 == 0 && i + 8 <= src.len() {
                let v = u64::from_le_bytes(src[i..i + 8].try_into().unwrap_or([0; 8]));
                unsafe { store(self.ptr().add(o), 8, v) };
                i += 8;
            } else {
                unsafe { store(self.ptr().add(o), 1, src[i] as u64) };
                i += 1;
            }
        }
    }
}

/// Load `size` (1, 2, 4, 8) bytes, little-endian, at `p`.
///
/// # Safety
/// `p..p+size` must lie inside memory owned by an `Alloc` or other atomics-backed buffer.
#[inline(always)]
pub unsafe fn load(p: *const u8, size: u32) -> u64 {
    let a = p as usize;
    match size {
        4 if a % 4 == 0 => (*(p as *const AtomicU32)).load(Relaxed) as u64,
        8 if a % 8 == 0 => (*(p as *const AtomicU64)).load(Relaxed),
        1 => (*(p as *const AtomicU8)).load(Relaxed) as u64,
        2 if a % 2 == 0 => (*(p as *const AtomicU16)).load(Relaxed) as u64,
        _ => {
            let mut v = 0u64;
            for i in 0..size as usize {
                v |= ((*(p.add(i) as *const AtomicU8)).load(Relaxed) as u64) << (8 * i);
            }
            v
        }
    }
}

/// Store `size` bytes of `v` at `p`.
///
/// # Safety
/// As for [`load`].
#[inline(always)]
pub unsafe fn store(p: *mut u8, size: u32, v: u64) {
    let a = p as usize;
    match size {
        4 if a % 4 == 0 => (*(p as *const AtomicU32)).store(v as u32, Relaxed),
        8 if a % 8 == 0 => (*(p as *const AtomicU64)).store(v, Relaxed),
        1 => (*(p as *const AtomicU8)).store(v as u8, Relaxed),
        2 if a % 2 == 0 => (*(p as *const AtomicU16)).store(v as u16, Relaxed),
        _ => {
            for i in 0..size as usize {
                (*(p.add(i) as *const AtomicU8)).store((v >> (8 * i)) as u8, Relaxed);
            }
        }
    }
}

/// All live allocations, sorted by base (copy-on-write so launches take a cheap snapshot).
pub struct GlobalMem {
    state: RwLock<(Arc<Vec<Arc<Alloc>>>, u64)>,
}

impl Default for GlobalMem {
    fn default() -> Self {
        GlobalMem {
            state: RwLock::new((Arc::new(Vec::new()), GLOBAL_BASE)),
        }
    }
}

impl GlobalMem {
    pub fn alloc(&self, bytes: usize) -> Result<DevicePtr, SimError> {
        let bytes = bytes as u64;
        if bytes > (1 << 36) {
            return Err(SimError::InvalidPointer {
                msg: format!("allocation of {bytes} bytes is too large"),
            });
        }
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        let base = st.1;
        if base + bytes + GLOBAL_GAP >= SHARED_WINDOW {
            return Err(SimError::InvalidPointer {
                msg: "device address space exhausted".into(),
            });
        }
        let next = (base + bytes + GLOBAL_GAP).next_multiple_of(1 << 16);
        let a = Arc::new(Alloc::new(base, bytes));
        let mut v: Vec<Arc<Alloc>> = st.0.as_ref().clone();
        v.push(a);
        st.0 = Arc::new(v);
        st.1 = next;
        Ok(DevicePtr(base))
    }

    pub fn free(&self, ptr: DevicePtr) -> Result<(), SimError> {
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        let Some(i) = st.0.iter().position(|a| a.base == ptr.0) else {
            return Err(SimError::InvalidPointer {
                msg: format!("free of 0x{:x}, not an allocation", ptr.0),
            });
        };
        let mut v: Vec<Arc<Alloc>> = st.0.as_ref().clone();
        v.remove(i);
        st.0 = Arc::new(v);
        Ok(())
    }

    pub fn snapshot(&self) -> GlobalView {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        GlobalView::new(st.0.clone())
    }

    /// The allocation holding `[addr, addr+len)` and the offset of `addr` in it.
    pub fn find(&self, addr: u64, len: u64) -> Result<(Arc<Alloc>, u64), SimError> {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        for a in st.0.iter() {
            if addr >= a.base && addr - a.base <= a.size && len <= a.size - (addr - a.base) {
                return Ok((a.clone(), addr - a.base));
            }
        }
        Err(SimError::InvalidPointer {
            msg: format!("range 0x{addr:x}+{len} is not inside one allocation"),
        })
    }
}

/// A launch's read-only view of the allocations.
pub struct GlobalView {
    allocs: Arc<Vec<Arc<Alloc>>>,
    bases: Vec<u64>,
    ends: Vec<u64>,
    ptrs: Vec<usize>,
}

impl GlobalView {
    fn new(allocs: Arc<Vec<Arc<Alloc>>>) -> GlobalView {
        let bases = allocs.iter().map(|a| a.base).collect();
        let ends = allocs.iter().map(|a| a.base + a.size).collect();
        let ptrs = allocs.iter().map(|a| a.ptr() as usize).collect();
        GlobalView {
            allocs,
            bases,
            ends,
            ptrs,
        }
    }

    /// Host pointer for device range `[addr, addr+size)`, if inside one allocation.
    /// `hint` caches the allocation index of the previous lookup.
    #[inline]
    pub fn translate(&self, addr: u64, size: u32, hint: &mut usize) -> Option<*mut u8> {
        let h = *hint;
        if h < self.bases.len()
            && addr >= self.bases[h]
            && addr.wrapping_add(size as u64) <= self.ends[h]
        {
            return Some((self.ptrs[h] + (addr - self.bases[h]) as usize) as *mut u8);
        }
        let i = self.bases.partition_point(|&b| b <= addr);
        if i == 0 {
            return None;
        }
        let i = i - 1;
        if addr.checked_add(size as u64)? <= self.ends[i] {
            *hint = i;
            Some((self.ptrs[i] + (addr - self.bases[i]) as usize) as *mut u8)
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.allocs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.allocs.is_empty()
    }
}
