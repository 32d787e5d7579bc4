//! CPU vs CUDA (simulator; a GPU too when present): max pooling (overlapping windows,
//! padding), average and adaptive average pooling, forward and backward.

use engine::Rng;
use tests::agree::{assert_agrees, inputs, F32_TOL};

#[test]
fn max_pool_agrees() {
    let mut rng = Rng::new(71);
    let x = inputs(&[&[2, 3, 9, 8]], &mut rng);
    for (k, s, p) in [
        ((2, 2), (2, 2), (0, 0)),
        ((3, 3), (2, 2), (1, 1)),
        ((3, 2), (1, 1), (1, 0)),
    ] {
        assert_agrees("max_pool2d", &x, F32_TOL, |t| t[0].max_pool2d(k, s, p));
    }
}

#[test]
fn avg_and_adaptive_pools_agree() {
    let mut rng = Rng::new(72);
    let x = inputs(&[&[2, 2, 7, 10]], &mut rng);
    for (k, s, p) in [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 1), (1, 1))] {
        assert_agrees("avg_pool2d", &x, F32_TOL, |t| t[0].avg_pool2d(k, s, p));
    }
    for out in [(1, 1), (3, 4), (7, 10), (4, 3)] {
        assert_agrees("adaptive_avg_pool2d", &x, F32_TOL, |t| {
            t[0].adaptive_avg_pool2d(out)
        });
    }
}
