//! Copies between devices. `to_device` is differentiable: the gradient goes back to the
//! device the input came from, so a model can span devices (hybrid placement).

use crate::autograd::{record, BackwardOp};
use crate::backend::cuda::{CudaDevice, CudaStorage};
use crate::device::{CpuStorage, Device, Storage};
use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;

impl Tensor {
    /// This tensor on `device` (the same tensor when it already is there).
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        device.ensure_available()?;
        if device == self.device() {
            return Ok(self.clone());
        }
        let out = Tensor::from_storage(storage_on(device, self.host_values()?)?, self.shape())?;
        let from = self.device();
        Ok(record(out, &[self], || ToDevice { from }))
    }

    /// The elements in row-major order as host storage of this tensor's dtype.
    pub(crate) fn host_values(&self) -> Result<CpuStorage> {
        Ok(match self.dtype() {
            DType::F32 => CpuStorage::F32(self.to_vec()?),
            DType::F64 => CpuStorage::F64(self.to_vec()?),
        })
    }
}

/// `values` placed on `device`.
pub(crate) fn storage_on(device: Device, values: CpuStorage) -> Result<Storage> {
    Ok(match device {
        Device::Cpu => Storage::Cpu(values),
        Device::Cuda(_) | Device::CudaSim => {
            Storage::Cuda(CudaStorage::from_host(&CudaDevice::get(device)?, &values)?)
        }
    })
}

struct ToDevice {
    from: Device,
}

impl BackwardOp for ToDevice {
    fn name(&self) -> &'static str {
        "to_device"
    }
    fn backward(&self, _: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.to_device(self.from)?)])
    }
}
