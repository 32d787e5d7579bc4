//! Class-index targets for the classification losses, on the device the logits live on, so
//! a training step on the GPU never sends labels through the host.

use std::sync::Arc;

use crate::backend::cuda::{CudaDevice, DeviceBlock};
use crate::device::Device;
use crate::error::{Error, Result};

/// `n` class indices, on the CPU or in device memory (u32).
#[derive(Clone, Debug)]
pub struct Labels {
    len: usize,
    place: Place,
}

#[derive(Clone, Debug)]
enum Place {
    Host(Arc<Vec<usize>>),
    /// u32 indices; ranges were checked where they were made (see [`Labels::from_device`]).
    Cuda(Device, Arc<DeviceBlock>),
}

impl Labels {
    /// Labels held on the host (checked against the class count by each loss).
    pub fn host(values: &[usize]) -> Labels {
        Labels {
            len: values.len(),
            place: Place::Host(Arc::new(values.to_vec())),
        }
    }

    /// These labels on `device` (a copy; the same labels when already there).
    pub fn to_device(&self, device: Device) -> Result<Labels> {
        if self.device() == device {
            return Ok(self.clone());
        }
        let values = self.to_vec()?;
        if device == Device::Cpu {
            return Ok(Labels::host(&values));
        }
        let dev = CudaDevice::get(device)?;
        let block = dev.pool().alloc(values.len() * 4)?;
        let mut bytes = Vec::with_capacity(values.len() * 4);
        for &v in &values {
            let v = u32::try_from(v)
                .map_err(|_| Error::argument("labels", format!("label {v} exceeds u32")))?;
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        dev.gpu().copy_htod(block.ptr(), &bytes)?;
        Ok(Labels::from_device(device, block, values.len()))
    }

    /// `len` u32 labels already in device memory (e.g. gathered from a resident dataset whose
    /// labels were range-checked when it was loaded).
    pub fn from_device(device: Device, block: DeviceBlock, len: usize) -> Labels {
        Labels {
            len,
            place: Place::Cuda(device, Arc::new(block)),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn device(&self) -> Device {
        match &self.place {
            Place::Host(_) => Device::Cpu,
            Place::Cuda(d, _) => *d,
        }
    }

    /// The labels on the host (a device copy when they live on a GPU).
    pub fn to_vec(&self) -> Result<Vec<usize>> {
        match &self.place {
            Place::Host(v) => Ok(v.to_vec()),
            Place::Cuda(d, block) => {
                let mut bytes = vec![0u8; self.len * 4];
                CudaDevice::get(*d)?
                    .gpu()
                    .copy_dtoh(&mut bytes, block.ptr())?;
                Ok(bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
                    .collect())
            }
        }
    }

    /// The host slice, when the labels are on the host.
    pub(crate) fn host_slice(&self) -> Option<&[usize]> {
        match &self.place {
            Place::Host(v) => Some(v),
            Place::Cuda(..) => None,
        }
    }

    /// The device address of the u32 labels, when they are on a GPU.
    pub(crate) fn device_ptr(&self) -> Option<u64> {
        match &self.place {
            Place::Host(_) => None,
            Place::Cuda(_, b) => Some(b.ptr()),
        }
    }
}
