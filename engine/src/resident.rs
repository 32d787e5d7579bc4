//! A u8 image dataset resident on a CUDA device: uploaded once, batches gathered and
//! normalised there (`kernels/cuda/data.cu`), so a training step on the GPU sends neither
//! pixels nor labels through the host. (On the CPU, batches are built where the data is.)

use std::ops::Range;
use std::sync::Arc;

use kernels::ptx::{data, Module};

use crate::backend::cuda::{
    scalar_arg, to_u32s, u32_arg, Arg, CudaDevice, CudaStorage, DeviceBlock, LaunchShape,
};
use crate::device::{Device, Storage};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::tensor::Tensor;

/// `n` images of `pixels` bytes each with one u8 label each, in device memory.
pub struct ResidentImages {
    dev: Arc<CudaDevice>,
    n: usize,
    pixels: usize,
    images: DeviceBlock,
    labels: DeviceBlock,
}

/// An epoch's visiting order, on the dataset's device.
pub struct EpochOrder {
    len: usize,
    order: DeviceBlock,
}

impl EpochOrder {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl ResidentImages {
    /// Uploads `images` (`labels.len()` images, row-major bytes) and `labels` to the CUDA
    /// `device` (the CPU is an error: there the data already is where the model runs).
    pub fn new(device: Device, images: &[u8], labels: &[u8]) -> Result<ResidentImages> {
        let n = labels.len();
        if n == 0 || !images.len().is_multiple_of(n) {
            return Err(Error::shape(
                "resident images",
                format!("{} bytes are not {n} equal images", images.len()),
            ));
        }
        if !device.is_cuda() {
            return Err(Error::device("resident images", "needs a CUDA device"));
        }
        let dev = CudaDevice::get(device)?;
        let (im, lb) = (dev.pool().alloc(images.len())?, dev.pool().alloc(n)?);
        dev.gpu().copy_htod(im.ptr(), images)?;
        dev.gpu().copy_htod(lb.ptr(), labels)?;
        Ok(ResidentImages {
            dev,
            n,
            pixels: images.len() / n,
            images: im,
            labels: lb,
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn device(&self) -> Device {
        self.dev.device()
    }

    /// `order` (indices into the dataset) placed on the device once for the whole epoch.
    pub fn epoch_order(&self, order: Vec<usize>) -> Result<EpochOrder> {
        if let Some(&i) = order.iter().find(|&&i| i >= self.n) {
            return Err(Error::argument(
                "epoch order",
                format!("index {i} out of range for {} images", self.n),
            ));
        }
        Ok(EpochOrder {
            len: order.len(),
            order: self.dev.upload_u32(&to_u32s("epoch order", &order)?)?,
        })
    }

    /// The images at positions `range` of `order` as a `(batch, pixels)` tensor of `dtype`,
    /// normalised as `(p / 255 - mean) / std`, with their labels, both on the device.
    pub fn batch(
        &self,
        order: &EpochOrder,
        range: Range<usize>,
        (mean, std): (f64, f64),
        dtype: DType,
    ) -> Result<(Tensor, Labels)> {
        if range.end > order.len() || range.is_empty() {
            return Err(Error::argument(
                "batch",
                format!("range {range:?} of an order of {}", order.len()),
            ));
        }
        let (dev, b) = (&self.dev, range.len());
        let idx_ptr = order.order.ptr() + (range.start * 4) as u64;
        let x = CudaStorage::uninit(dev, b * self.pixels, dtype)?;
        let args = [
            Arg::Ptr(self.images.ptr()),
            Arg::Ptr(idx_ptr),
            Arg::Ptr(x.ptr()),
            u32_arg("batch", b)?,
            u32_arg("batch", self.pixels)?,
            scalar_arg(dtype, mean),
            scalar_arg(dtype, std),
        ];
        let shape = LaunchShape::linear(b * self.pixels, data::THREADS);
        dev.launch_typed(Module::Data, "gather_normalize_u8", dtype, shape, &args)?;
        let y = dev.pool().alloc(b * 4)?;
        let args = [
            Arg::Ptr(self.labels.ptr()),
            Arg::Ptr(idx_ptr),
            Arg::Ptr(y.ptr()),
            u32_arg("batch", b)?,
        ];
        let shape = LaunchShape::linear(b, data::THREADS);
        dev.launch(Module::Data, data::GATHER_LABELS_U32, shape, &args)?;
        let x = Tensor::from_storage(Storage::Cuda(x), [b, self.pixels])?;
        Ok((x, Labels::from_device(self.device(), y, b)))
    }
}
