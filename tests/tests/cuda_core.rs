//! The CUDA backend's core on the simulator: devices, transfers (differentiable), storage.

use engine::backend::cuda::CudaDevice;
use engine::{DType, Device, Rng, Tensor};

#[test]
fn device_names_parse_and_print() {
    for (s, d) in [
        ("cpu", Device::Cpu),
        ("cuda", Device::Cuda(0)),
        ("cuda:3", Device::Cuda(3)),
        ("cuda-sim", Device::CudaSim),
    ] {
        assert_eq!(s.parse::<Device>().unwrap(), d);
    }
    assert_eq!(Device::CudaSim.to_string(), "cuda-sim");
    let e = "gpu".parse::<Device>().unwrap_err().to_string();
    assert!(e.contains("cuda-sim"), "{e}");
}

#[test]
fn missing_gpu_is_a_one_line_error() {
    if engine::backend::cuda::gpu_count() > 0 {
        eprintln!("skipped: a GPU is present, so cuda:0 is available");
        return;
    }
    let e = Device::Cuda(0).ensure_available().unwrap_err().to_string();
    assert!(e.contains("cuda:0") && !e.contains('\n'), "{e}");
    let e = Tensor::zeros([2], DType::F32, Device::Cuda(0)).unwrap_err();
    assert!(e.to_string().contains("cuda:0"), "{e}");
}

#[test]
fn bad_ordinal_is_an_error() {
    let n = engine::backend::cuda::gpu_count();
    let e = Device::Cuda(n + 7)
        .ensure_available()
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("cuda:{}", n + 7)), "{e}");
}

#[test]
fn round_trip_keeps_values_and_views() {
    let mut rng = Rng::new(1);
    for dtype in [DType::F32, DType::F64] {
        let x = Tensor::rand([3, 5, 7], -1.0, 1.0, dtype, Device::Cpu, &mut rng).unwrap();
        let d = x.to_device(Device::CudaSim).unwrap();
        assert_eq!((d.device(), d.dtype()), (Device::CudaSim, dtype));
        assert_eq!(d.to_vec_f64().unwrap(), x.to_vec_f64().unwrap());
        // A strided view read back from the device follows its layout.
        let t = d.permute(&[2, 0, 1]).unwrap();
        let want = x.permute(&[2, 0, 1]).unwrap().to_vec_f64().unwrap();
        assert_eq!(t.to_vec_f64().unwrap(), want);
        let back = d.to_device(Device::Cpu).unwrap();
        assert_eq!(back.to_vec_f64().unwrap(), x.to_vec_f64().unwrap());
    }
}

#[test]
fn to_device_is_differentiable() {
    let x = Tensor::from_vec(vec![1.0f32, -2.0, 3.0], [3])
        .unwrap()
        .requires_grad_(true);
    let on_gpu = x.to_device(Device::CudaSim).unwrap();
    // The product runs on the CPU after a round trip, so the gradient crosses twice.
    let back = on_gpu.to_device(Device::Cpu).unwrap();
    let w = Tensor::from_vec(vec![0.5f32, 2.0, -1.0], [3]).unwrap();
    back.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec_f32().unwrap(),
        vec![0.5, 2.0, -1.0]
    );
}

#[test]
fn full_and_assign_on_the_device() {
    let t = Tensor::full([4, 3], 2.5, DType::F32, Device::CudaSim).unwrap();
    assert_eq!(t.to_vec_f32().unwrap(), vec![2.5; 12]);
    let src = Tensor::arange(0.0, 12.0, 1.0, DType::F64, Device::Cpu).unwrap();
    t.assign(&src.reshape([4, 3]).unwrap()).unwrap();
    let want: Vec<f32> = (0..12).map(|i| i as f32).collect();
    assert_eq!(t.to_vec_f32().unwrap(), want);
}

#[test]
fn pool_reuses_freed_blocks() {
    let dev = CudaDevice::get(Device::CudaSim).unwrap();
    let _warm = Tensor::zeros([1000], DType::F32, Device::CudaSim).unwrap();
    drop(_warm);
    let before = dev.gpu().counters().device_allocs;
    for _ in 0..5 {
        let t = Tensor::zeros([1000], DType::F32, Device::CudaSim).unwrap();
        drop(t);
    }
    assert_eq!(
        dev.gpu().counters().device_allocs,
        before,
        "freed blocks are reused"
    );
}

/// The agreement harness itself can fail: an op that computes something else on the GPU.
#[test]
#[should_panic(expected = "relative error")]
fn agreement_harness_catches_a_wrong_kernel() {
    let mut rng = Rng::new(2);
    let x = tests::agree::inputs(&[&[4, 5]], &mut rng);
    tests::agree::assert_agrees("wrong on purpose", &x, 1e-5, |t| {
        if t[0].device().is_cuda() {
            t[0].exp()
        } else {
            t[0].tanh()
        }
    });
}

/// A model trained a step on the simulator saves the same safetensors a CPU model loads, and
/// back: outputs agree on both devices after each move.
#[test]
fn checkpoints_move_between_cuda_and_cpu() {
    use engine::io::{load_checkpoint, save_checkpoint, Checkpoint};
    use engine::nn::{BatchNorm2d, Conv2d, Flatten, Linear, Module, Sequential};
    use engine::optim::{Adam, Optimizer};
    let build = |seed| {
        let mut rng = Rng::new(seed);
        Sequential::new()
            .push(Conv2d::new(1, 3, 3, &mut rng))
            .push(BatchNorm2d::new(3))
            .push(Flatten)
            .push(Linear::new(3 * 4 * 4, 5, &mut rng))
    };
    let mut rng = Rng::new(5);
    let x = Tensor::rand([2, 1, 6, 6], -1.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let mut gpu = build(1);
    gpu.to_device(Device::CudaSim).unwrap();
    let xd = x.to_device(Device::CudaSim).unwrap();
    let mut opt = Adam::new(gpu.parameters(), 0.1);
    gpu.forward(&xd)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    opt.step().unwrap();
    gpu.set_training(false);
    let want = gpu.forward(&xd).unwrap().to_vec_f64().unwrap();

    let dir = std::env::temp_dir().join(format!("cuda_ckpt_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    save_checkpoint(&path, &Checkpoint::of(&gpu)).unwrap();
    let loaded = load_checkpoint(&path).unwrap();

    let mut cpu = build(2); // other weights until loaded
    loaded.load_into(&cpu).unwrap();
    assert_eq!(cpu.counts(), vec![("1.num_batches_tracked".to_string(), 1)]);
    cpu.set_training(false);
    let got = cpu.forward(&x).unwrap().to_vec_f64().unwrap();
    assert!(tests::agree::rel_error(&got, &want) < 1e-5, "cuda -> cpu");

    let mut back = build(3);
    back.to_device(Device::CudaSim).unwrap();
    back.load_state_dict(&cpu.state_dict()).unwrap();
    back.set_training(false);
    let again = back.forward(&xd).unwrap().to_vec_f64().unwrap();
    assert!(tests::agree::rel_error(&again, &want) < 1e-5, "cpu -> cuda");
    std::fs::remove_dir_all(&dir).unwrap();
}
