//! The caching allocator: freed device blocks go back to a free list of their size class and
//! are handed out again, so after the first training step no step allocates on the device and
//! a step's temporaries get the same addresses every time (what graph capture needs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::runtime::{DevPtr, Gpu};
use crate::error::Result;

/// Size classes: multiples of 512 bytes up to 1 MiB, then multiples of 1 MiB.
fn size_class(bytes: usize) -> usize {
    const SMALL: usize = 512;
    const LARGE: usize = 1 << 20;
    if bytes <= LARGE {
        bytes.max(1).next_multiple_of(SMALL)
    } else {
        bytes.next_multiple_of(LARGE)
    }
}

/// Free blocks per size class, and what the pool has asked of the device.
#[derive(Default)]
struct FreeLists {
    free: HashMap<usize, Vec<DevPtr>>,
    reused: u64,
}

/// A pool of device memory on one GPU.
pub struct Pool {
    gpu: Arc<dyn Gpu>,
    lists: Mutex<FreeLists>,
}

impl Pool {
    pub fn new(gpu: Arc<dyn Gpu>) -> Arc<Pool> {
        Arc::new(Pool {
            gpu,
            lists: Mutex::new(FreeLists::default()),
        })
    }

    /// A block of at least `bytes` bytes (uninitialised), from the free list when possible.
    pub fn alloc(self: &Arc<Pool>, bytes: usize) -> Result<DeviceBlock> {
        let class = size_class(bytes);
        let cached = {
            let mut l = self.lists.lock().expect("pool lock");
            let p = l.free.get_mut(&class).and_then(Vec::pop);
            if p.is_some() {
                l.reused += 1;
            }
            p
        };
        let ptr = match cached {
            Some(p) => p,
            None => self.gpu.alloc(class).or_else(|_| {
                // Out of memory: give the cached blocks back to the device and try once more.
                self.release_cached()?;
                self.gpu.alloc(class)
            })?,
        };
        Ok(DeviceBlock {
            ptr,
            class,
            pool: self.clone(),
        })
    }

    /// Frees every cached block on the device.
    pub fn release_cached(&self) -> Result<()> {
        let blocks: Vec<DevPtr> = {
            let mut l = self.lists.lock().expect("pool lock");
            l.free.drain().flat_map(|(_, v)| v).collect()
        };
        blocks.into_iter().try_for_each(|p| self.gpu.free(p))
    }

    /// How many allocations were served from the cache.
    pub fn reused(&self) -> u64 {
        self.lists.lock().expect("pool lock").reused
    }

    pub fn gpu(&self) -> &Arc<dyn Gpu> {
        &self.gpu
    }
}

/// One device allocation; dropping it returns it to its pool.
pub struct DeviceBlock {
    ptr: DevPtr,
    class: usize,
    pool: Arc<Pool>,
}

impl DeviceBlock {
    pub fn ptr(&self) -> DevPtr {
        self.ptr
    }
    /// The usable size in bytes (the size class, at least what was asked for).
    pub fn capacity(&self) -> usize {
        self.class
    }
}

impl Drop for DeviceBlock {
    fn drop(&mut self) {
        let mut l = self.pool.lists.lock().unwrap_or_else(|e| e.into_inner());
        l.free.entry(self.class).or_default().push(self.ptr);
    }
}

impl std::fmt::Debug for DeviceBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceBlock({:#x}, {} bytes)", self.ptr, self.class)
    }
}
