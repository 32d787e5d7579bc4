//! Train/validation split, normalization, batching and augmentation on synthetic data.

use mnist::augment::{self, Augment, Warp};
use mnist::dataset::{
    normalize, normalize_value, split_train_val, Dataset, Loader, MNIST_MEAN, MNIST_STD,
};
use mnist::rng::Rng;

/// `n` images whose first two pixels encode the index (so items can be identified).
fn synthetic(n: usize) -> Dataset {
    let mut images = vec![0u8; n * 784];
    for i in 0..n {
        images[i * 784] = (i % 256) as u8;
        images[i * 784 + 1] = (i / 256) as u8;
        images[i * 784 + 400] = 255;
    }
    let labels = (0..n).map(|i| (i % 10) as u8).collect();
    Dataset::new(images, labels)
}

fn ids(d: &Dataset) -> Vec<usize> {
    (0..d.len())
        .map(|i| d.image(i)[0] as usize + 256 * d.image(i)[1] as usize)
        .collect()
}

#[test]
fn split_sizes_disjoint_and_deterministic() {
    let d = synthetic(1000);
    let (train, val) = split_train_val(&d, 100, 42);
    assert_eq!((train.len(), val.len()), (900, 100));
    let (t, v) = (ids(&train), ids(&val));
    let mut all: Vec<usize> = t.iter().chain(&v).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..1000).collect::<Vec<_>>(), "split is a partition");
    // Labels follow their images.
    for (k, &i) in v.iter().enumerate() {
        assert_eq!(val.labels[k] as usize, i % 10);
    }
    // Same seed, same split; another seed, another split.
    assert_eq!(split_train_val(&d, 100, 42), (train.clone(), val.clone()));
    assert_ne!(split_train_val(&d, 100, 43).1, val);
    // Not simply the last 100.
    assert!(v.iter().any(|&i| i < 900));
}

#[test]
fn split_edge_sizes() {
    let d = synthetic(50);
    let (t, v) = split_train_val(&d, 0, 1);
    assert_eq!((t.len(), v.len()), (50, 0));
    assert_eq!(t, d);
    let (t, v) = split_train_val(&d, 500, 1);
    assert_eq!((t.len(), v.len()), (0, 50));
}

#[test]
fn normalization_values() {
    assert!((normalize_value(0.0) - (-MNIST_MEAN / MNIST_STD)).abs() < 1e-6);
    assert!((normalize_value(0.0) - (-0.424_212_9)).abs() < 1e-5);
    assert!((normalize_value(255.0) - 2.821_487_3).abs() < 1e-5);
    let v = normalize(&[0, 255, 128]);
    assert!((v[2] - (128.0 / 255.0 - 0.1307) / 0.3081).abs() < 1e-6);
    assert_eq!(v[0], normalize_value(0.0));
}

#[test]
fn batches_cover_the_epoch_with_partial_last() {
    let d = synthetic(103);
    let loader = Loader::new(&d, 10);
    assert_eq!(loader.num_batches(), 11);
    let batches: Vec<_> = loader.epoch(0).collect();
    assert_eq!(batches.len(), 11);
    assert_eq!(batches[10].len(), 3);
    assert_eq!(batches[10].pixels.len(), 3 * 784);
    // In order without shuffle; pixels normalized; labels match.
    let order: Vec<usize> = batches.iter().flat_map(|b| b.indices.clone()).collect();
    assert_eq!(order, (0..103).collect::<Vec<_>>());
    let b = &batches[1];
    assert_eq!(
        b.labels,
        (10..20).map(|i| (i % 10) as u8).collect::<Vec<_>>()
    );
    assert_eq!(b.pixels[400], normalize_value(255.0));
    assert_eq!(b.pixels[784 + 5], normalize_value(0.0));

    let dropping = Loader::new(&d, 10).drop_last(true);
    assert_eq!(dropping.num_batches(), 10);
    let batches: Vec<_> = dropping.epoch(0).collect();
    assert_eq!(batches.len(), 10);
    assert!(batches.iter().all(|b| b.len() == 10));
    assert_eq!(dropping.epoch(0).len(), 10);
}

#[test]
fn shuffle_is_seeded_per_epoch() {
    let d = synthetic(200);
    let loader = Loader::new(&d, 32).shuffle(true).seed(7);
    let order = |l: &Loader, e| -> Vec<usize> { l.epoch(e).flat_map(|b| b.indices).collect() };
    let (e0, e1) = (order(&loader, 0), order(&loader, 1));
    assert_ne!(e0, (0..200).collect::<Vec<_>>());
    assert_ne!(e0, e1, "each epoch has its own order");
    let mut s = e1.clone();
    s.sort_unstable();
    assert_eq!(s, (0..200).collect::<Vec<_>>(), "every item once per epoch");
    let again = Loader::new(&d, 32).shuffle(true).seed(7);
    assert_eq!(order(&again, 1), e1, "deterministic");
    assert_eq!(loader.order(1), e1);
    let other = Loader::new(&d, 32).shuffle(true).seed(8);
    assert_ne!(order(&other, 1), e1);
}

#[test]
fn augmented_batches_are_deterministic_and_independent_of_batch_size() {
    let d = synthetic(40);
    let aug = Some(Augment::new(15.0, 2.0).with_elastic(8.0, 3.0));
    let a: Vec<f32> = Loader::new(&d, 8)
        .seed(3)
        .augment(aug)
        .epoch(2)
        .flat_map(|b| b.pixels)
        .collect();
    let b: Vec<f32> = Loader::new(&d, 5)
        .seed(3)
        .augment(aug)
        .epoch(2)
        .flat_map(|b| b.pixels)
        .collect();
    assert_eq!(a, b);
    let plain: Vec<f32> = Loader::new(&d, 8).epoch(2).flat_map(|b| b.pixels).collect();
    assert_ne!(a, plain, "augmentation changes the pixels");
    let other_epoch: Vec<f32> = Loader::new(&d, 8)
        .seed(3)
        .augment(aug)
        .epoch(3)
        .flat_map(|b| b.pixels)
        .collect();
    assert_ne!(a, other_epoch);
}

/// A 28x28 test digit: a bar and a dot, distinct intensities.
fn test_image() -> Vec<u8> {
    let mut img = vec![0u8; 784];
    for y in 6..22 {
        img[y * 28 + 12] = 200;
    }
    img[10 * 28 + 20] = 255;
    img
}

#[test]
fn zero_augmentation_is_identity() {
    let img = test_image();
    let out = augment::warp(&img, &Warp::default());
    let want: Vec<f32> = img.iter().map(|&p| p as f32).collect();
    assert_eq!(out, want);
    let mut out = vec![0.0; 784];
    let mut rng = Rng::new(1);
    Augment::new(0.0, 0.0)
        .with_elastic(0.0, 4.0)
        .apply(&img, &mut out, &mut rng);
    assert_eq!(out, want);
}

#[test]
fn augmentation_keeps_shape_and_range() {
    let img = test_image();
    let aug = Augment::new(20.0, 3.0).with_elastic(34.0, 4.0);
    let mut rng = Rng::new(9);
    for _ in 0..20 {
        let mut out = vec![-1.0; 784];
        aug.apply(&img, &mut out, &mut rng);
        assert!(out.iter().all(|&v| (0.0..=255.0).contains(&v)));
        assert!(out.iter().any(|&v| v > 50.0), "digit did not vanish");
    }
}

#[test]
fn rotation_by_90_degrees_moves_a_pixel_where_expected() {
    // Counter-clockwise as displayed (y down), about (13.5, 13.5): (20, 10) -> (10, 7).
    let mut img = vec![0u8; 784];
    img[10 * 28 + 20] = 255;
    let out = augment::warp(
        &img,
        &Warp {
            angle_deg: 90.0,
            dx: 0.0,
            dy: 0.0,
        },
    );
    let (argmax, &max) = out
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    assert_eq!((argmax % 28, argmax / 28), (10, 7));
    assert!(max > 254.0, "{max}");
    // The vertical bar of the test image becomes horizontal.
    let bar = augment::warp(
        &test_image(),
        &Warp {
            angle_deg: 90.0,
            dx: 0.0,
            dy: 0.0,
        },
    );
    let row15: usize = (0..28).filter(|&x| bar[15 * 28 + x] > 100.0).count();
    assert!(row15 >= 14, "row 15 has {row15} bright pixels");
}

#[test]
fn shift_moves_right_and_down() {
    let mut img = vec![0u8; 784];
    img[10 * 28 + 10] = 255;
    let out = augment::warp(
        &img,
        &Warp {
            angle_deg: 0.0,
            dx: 3.0,
            dy: -2.0,
        },
    );
    assert_eq!(out[8 * 28 + 13], 255.0);
    assert_eq!(out.iter().filter(|&&v| v > 0.0).count(), 1);
    // Half-pixel shift splits the intensity between two pixels (bilinear).
    let out = augment::warp(
        &img,
        &Warp {
            angle_deg: 0.0,
            dx: 0.5,
            dy: 0.0,
        },
    );
    assert_eq!((out[10 * 28 + 10], out[10 * 28 + 11]), (127.5, 127.5));
}
