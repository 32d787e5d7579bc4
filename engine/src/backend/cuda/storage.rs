//! Device memory holding one tensor's elements, and the copies between it and the host.

use std::sync::Arc;

use super::alloc::DeviceBlock;
use super::runtime::DevPtr;
use super::CudaDevice;
use crate::device::{CpuStorage, Device};
use crate::dtype::DType;
use crate::error::{Error, Result};

/// `len` elements of `dtype` in a pooled device block.
#[derive(Debug)]
pub struct CudaStorage {
    block: DeviceBlock,
    len: usize,
    dtype: DType,
    dev: Arc<CudaDevice>,
}

impl CudaStorage {
    /// Uninitialised storage for `len` elements (every kernel writes all of its output).
    pub fn uninit(dev: &Arc<CudaDevice>, len: usize, dtype: DType) -> Result<CudaStorage> {
        let bytes = len
            .checked_mul(dtype.size_in_bytes())
            .ok_or_else(|| Error::shape("cuda alloc", format!("{len} elements overflow")))?;
        let block = dev.pool().alloc(bytes)?;
        if dev.poisoning() {
            dev.gpu().memset(block.ptr(), 0xff, bytes)?; // all-ones bytes are NaN in f32 and f64
        }
        Ok(CudaStorage {
            block,
            len,
            dtype,
            dev: dev.clone(),
        })
    }

    /// A copy of host storage on `dev`.
    pub fn from_host(dev: &Arc<CudaDevice>, src: &CpuStorage) -> Result<CudaStorage> {
        let s = CudaStorage::uninit(dev, src.len(), src.dtype())?;
        s.write_at(0, src)?;
        Ok(s)
    }

    /// All elements copied to the host.
    pub fn to_host(&self) -> Result<CpuStorage> {
        fn read<T: Copy + Default>(s: &CudaStorage) -> Result<Vec<T>> {
            let mut v = vec![T::default(); s.len];
            // SAFETY: `v` is `len` initialised plain numbers; viewing them as bytes is sound.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(
                    v.as_mut_ptr() as *mut u8,
                    std::mem::size_of_val(v.as_slice()),
                )
            };
            s.dev.gpu().copy_dtoh(bytes, s.ptr())?;
            Ok(v)
        }
        Ok(match self.dtype {
            DType::F32 => CpuStorage::F32(read(self)?),
            DType::F64 => CpuStorage::F64(read(self)?),
        })
    }

    /// Overwrites elements `offset..offset + src.len()` with `src` (same dtype).
    pub fn write_at(&self, offset: usize, src: &CpuStorage) -> Result<()> {
        if src.dtype() != self.dtype || offset + src.len() > self.len {
            return Err(Error::shape(
                "cuda write",
                format!(
                    "{} {} values at {offset} do not fit {} {} elements",
                    src.len(),
                    src.dtype(),
                    self.len,
                    self.dtype
                ),
            ));
        }
        let bytes: &[u8] = match src {
            CpuStorage::F32(v) => as_bytes(v),
            CpuStorage::F64(v) => as_bytes(v),
        };
        self.dev.gpu().copy_htod(self.ptr_at(offset), bytes)
    }

    /// A device-side copy.
    pub fn try_clone(&self) -> Result<CudaStorage> {
        let s = CudaStorage::uninit(&self.dev, self.len, self.dtype)?;
        let bytes = self.len * self.dtype.size_in_bytes();
        self.dev.gpu().copy_dtod(s.ptr(), self.ptr(), bytes)?;
        Ok(s)
    }

    pub fn ptr(&self) -> DevPtr {
        self.block.ptr()
    }
    /// The address of element `index` (for views with an offset).
    pub fn ptr_at(&self, index: usize) -> DevPtr {
        self.ptr() + (index * self.dtype.size_in_bytes()) as u64
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn device(&self) -> Device {
        self.dev.device()
    }
    pub fn cuda_device(&self) -> &Arc<CudaDevice> {
        &self.dev
    }
}

fn as_bytes<T: Copy>(v: &[T]) -> &[u8] {
    // SAFETY: plain numbers; any initialised value is valid as bytes.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}
