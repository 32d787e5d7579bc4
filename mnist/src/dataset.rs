//! In-memory datasets, the train/validation split, normalization and batching.
//!
//! Everything here is plain `Vec<u8>`/`Vec<f32>` so that the trainer decides how batches
//! become tensors (or gathers them on the GPU from [`Loader::order`]). Shuffling and
//! augmentation are seeded by (seed, epoch, sample index): the same settings give the same
//! batches on every run, whatever the batch size.

use rayon::prelude::*;

use crate::augment::Augment;
use crate::idx::IMAGE_PIXELS;
use crate::rng::{self, Rng};

/// MNIST training-set mean of pixel/255.
pub const MNIST_MEAN: f32 = 0.1307;
/// MNIST training-set standard deviation of pixel/255.
pub const MNIST_STD: f32 = 0.3081;
/// Validation images held out of the 60,000 training images by default.
pub const DEFAULT_VAL_SIZE: usize = 5_000;

/// Images (n x 784 u8, row-major 28x28 each) with their labels (n, 0..=9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Panics when `images.len() != labels.len() * 784` (a programming error: the loader
    /// checks file contents before building one).
    pub fn new(images: Vec<u8>, labels: Vec<u8>) -> Self {
        assert_eq!(
            images.len(),
            labels.len() * IMAGE_PIXELS,
            "Dataset::new: {} pixels for {} labels",
            images.len(),
            labels.len()
        );
        Self { images, labels }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 784 pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
    }

    /// The items at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut images = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Dataset { images, labels }
    }

    /// The first `n` items (all when `n >= len`); for quick runs and tests.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            images: self.images[..n * IMAGE_PIXELS].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// Count of each label 0..=9.
    pub fn class_counts(&self) -> [usize; 10] {
        let mut c = [0; 10];
        for &l in &self.labels {
            c[(l as usize).min(9)] += 1;
        }
        c
    }
}

/// Splits `data` into (train, validation) with `val_size` items drawn by a seeded shuffle
/// (`val_size` is capped at `len`; 0 gives an empty validation set). Each part keeps the
/// original relative order, so the split depends only on the seed.
pub fn split_train_val(data: &Dataset, val_size: usize, seed: u64) -> (Dataset, Dataset) {
    let val_size = val_size.min(data.len());
    let perm = rng::permutation(data.len(), &[seed, 0x5B1D]);
    let (val_idx, train_idx) = perm.split_at(val_size);
    let (mut val_idx, mut train_idx) = (val_idx.to_vec(), train_idx.to_vec());
    val_idx.sort_unstable();
    train_idx.sort_unstable();
    (data.subset(&train_idx), data.subset(&val_idx))
}

/// `(p / 255 - MNIST_MEAN) / MNIST_STD`.
pub fn normalize_value(p: f32) -> f32 {
    (p / 255.0 - MNIST_MEAN) / MNIST_STD
}

/// Normalizes u8 pixels into `out` (same length).
pub fn normalize_into(pixels: &[u8], out: &mut [f32]) {
    let lut: [f32; 256] = std::array::from_fn(|v| normalize_value(v as f32));
    for (o, &p) in out.iter_mut().zip(pixels) {
        *o = lut[p as usize];
    }
}

/// Normalized copy of u8 pixels.
pub fn normalize(pixels: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0; pixels.len()];
    normalize_into(pixels, &mut out);
    out
}

/// One batch: `pixels` is `len x 784` normalized f32 (row-major 28x28 per image, ready for
/// an `[len, 1, 28, 28]` tensor), `labels` and the dataset `indices` of its items.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub pixels: Vec<f32>,
    pub labels: Vec<u8>,
    pub indices: Vec<usize>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Batching over a [`Dataset`]: optional per-epoch shuffle, optional augmentation.
#[derive(Debug, Clone)]
pub struct Loader<'a> {
    data: &'a Dataset,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    seed: u64,
    augment: Option<Augment>,
}

impl<'a> Loader<'a> {
    /// In-order batches of `batch_size` (at least 1), last partial batch kept, no augmentation.
    pub fn new(data: &'a Dataset, batch_size: usize) -> Self {
        Self {
            data,
            batch_size: batch_size.max(1),
            shuffle: false,
            drop_last: false,
            seed: 0,
            augment: None,
        }
    }

    /// Shuffle the order every epoch (seeded by `seed` and the epoch number).
    pub fn shuffle(mut self, on: bool) -> Self {
        self.shuffle = on;
        self
    }

    /// Drop the last batch when it is smaller than `batch_size`.
    pub fn drop_last(mut self, on: bool) -> Self {
        self.drop_last = on;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Augment every image (None: plain normalization).
    pub fn augment(mut self, augment: Option<Augment>) -> Self {
        self.augment = augment;
        self
    }

    /// True when batches are augmented (on the CPU).
    pub fn augments(&self) -> bool {
        self.augment.is_some()
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    pub fn dataset(&self) -> &'a Dataset {
        self.data
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        let n = self.data.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// The item order of `epoch` (the identity when not shuffling), before dropping.
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        if self.shuffle {
            rng::permutation(self.data.len(), &[self.seed, epoch as u64, 0xE90C])
        } else {
            (0..self.data.len()).collect()
        }
    }

    /// The batches of `epoch`.
    pub fn epoch(&self, epoch: usize) -> Batches<'a> {
        let mut order = self.order(epoch);
        if self.drop_last {
            order.truncate(self.num_batches() * self.batch_size);
        }
        Batches {
            data: self.data,
            order,
            pos: 0,
            batch_size: self.batch_size,
            augment: self.augment,
            keys: [self.seed, epoch as u64],
        }
    }
}

/// The augmented intensities (in [0, 255]) the loader gives item `index` of its dataset in
/// `epoch` of a run seeded `seed`: every sample draws from its own stream, keyed by all three.
pub fn augment_image(
    aug: &Augment,
    src: &[u8],
    [seed, epoch]: [u64; 2],
    index: usize,
    out: &mut [f32],
) {
    let mut r = Rng::from_keys(&[seed, epoch, index as u64, 0xA06]);
    aug.apply(src, out, &mut r);
}

/// Iterator over one epoch's batches (see [`Loader::epoch`]).
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    data: &'a Dataset,
    order: Vec<usize>,
    pos: usize,
    batch_size: usize,
    augment: Option<Augment>,
    keys: [u64; 2],
}

impl Iterator for Batches<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.pos >= self.order.len() {
            return None;
        }
        let end = (self.pos + self.batch_size).min(self.order.len());
        let indices = self.order[self.pos..end].to_vec();
        self.pos = end;
        let mut pixels = vec![0.0f32; indices.len() * IMAGE_PIXELS];
        let data = self.data;
        match &self.augment {
            None => {
                for (out, &i) in pixels.chunks_exact_mut(IMAGE_PIXELS).zip(&indices) {
                    normalize_into(data.image(i), out);
                }
            }
            // Augmentation costs ~10 us per image: spread a batch over the thread pool.
            // Each sample has its own RNG stream, so the result does not depend on threads.
            Some(aug) => {
                let [seed, epoch] = self.keys;
                pixels
                    .par_chunks_exact_mut(IMAGE_PIXELS)
                    .zip(indices.par_iter())
                    .for_each(|(out, &i)| {
                        augment_image(aug, data.image(i), [seed, epoch], i, out);
                        out.iter_mut().for_each(|v| *v = normalize_value(*v));
                    });
            }
        }
        let labels = indices.iter().map(|&i| self.data.labels[i]).collect();
        Some(Batch {
            pixels,
            labels,
            indices,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.order.len() - self.pos).div_ceil(self.batch_size);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batches<'_> {}
