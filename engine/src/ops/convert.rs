//! Element-type conversion, differentiable like PyTorch's `.to(dtype)`: the gradient
//! flows back converted to the input's dtype.

use crate::autograd::{record, BackwardOp};
use crate::backend::cuda;
use crate::device::{Device, Storage};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

impl Tensor {
    /// A copy converted to `dtype` (the same tensor when it already is).
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        let out = match self.device() {
            Device::Cpu => match dtype {
                DType::F32 => Tensor::from_vec(self.to_vec::<f32>()?, self.shape())?,
                DType::F64 => Tensor::from_vec(self.to_vec::<f64>()?, self.shape())?,
            },
            Device::Cuda(_) | Device::CudaSim => {
                let x = self.contiguous()?;
                let r = x.dense_range();
                let storage = match &*x.read_storage() {
                    Storage::Cuda(s) => cuda::copy::convert(s, r.start, r.len(), dtype)?,
                    Storage::Cpu(_) => {
                        return Err(Error::device("to_dtype", "storage/device mismatch"))
                    }
                };
                Tensor::from_storage(Storage::Cuda(storage), self.shape())?
            }
        };
        let from = self.dtype();
        Ok(record(out, &[self], || ToDtypeBackward { from }))
    }
}

struct ToDtypeBackward {
    from: DType,
}

impl BackwardOp for ToDtypeBackward {
    fn name(&self) -> &'static str {
        "to_dtype"
    }
    fn backward(&self, _inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.to_dtype(self.from)?)])
    }
}
