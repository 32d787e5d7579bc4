//! Class-index targets for the classification losses, on the device the logits live on, so
//! a training step on the GPU never sends labels through the host.

use std::sync::Arc;

use crate::backend::cuda::{to_u32s, CudaDevice, DeviceBlock};
use crate::device::Device;
use crate::error::Result;

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
        let block = CudaDevice::get(device)?.upload_u32(&to_u32s("labels", &values)?)?;
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
                let values = CudaDevice::get(*d)?.download_u32(block, self.len)?;
                Ok(values.into_iter().map(|v| v as usize).collect())
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
