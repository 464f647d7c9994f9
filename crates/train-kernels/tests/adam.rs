//! The fused Adam against burn's Adam: the same parameters and moments bit for bit over
//! several steps, through burn's optimizer machinery, and its fused pass taken on flex only.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, Optimizer};
use burn::prelude::*;

/// Two parameters of different ranks and sizes (one larger than a parallel chunk).
#[derive(Module, Debug)]
struct Pair {
    matrix: Param<Tensor<2>>,
    vector: Param<Tensor<1>>,
}

/// `n` values spread over [-1, 1] without a pattern a bug could line up with (and without the
/// process-wide generator, which tests running in parallel would share).
fn values(n: usize, salt: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 + salt) * 12.9898).sin())
        .collect()
}

fn pair(device: &Device) -> Pair {
    let matrix = TensorData::new(values(300 * 70, 0.5), [300, 70]);
    let vector = TensorData::new(values(33, 7.25), [33]);
    Pair {
        matrix: Param::from_tensor(Tensor::from_data(matrix, device)),
        vector: Param::from_tensor(Tensor::from_data(vector, device)),
    }
}

/// A loss whose gradients vary from step to step and include exact zeros (the ReLU), whose
/// moments decay as the MNIST net's do.
fn loss(pair: &Pair, step: usize) -> Tensor<1> {
    let matrix = pair.matrix.val();
    let scale = 1.0 + step as f32 * 0.37;
    let hidden = burn::tensor::activation::relu(matrix.mul_scalar(scale) - 0.5);
    (hidden.powf_scalar(2.0).sum() + pair.vector.val().sin().sum() * scale).mul_scalar(0.01)
}

fn train(mut optimizer: ModuleOptimizer, device: &Device, steps: usize) -> (Pair, Vec<Vec<u32>>) {
    let mut pair = pair(device);
    for step in 0..steps {
        let grads = loss(&pair, step).backward();
        let grads = GradientsParams::from_grads(grads, &pair);
        // A learning rate that changes every step, as the cosine schedule's does.
        let lr = 2e-3 * (1.0 - step as f64 / (2 * steps) as f64);
        pair = optimizer.step(lr, pair, grads);
    }
    let bits = |t: Tensor<1>| -> Vec<u32> {
        let values: Vec<f32> = t.into_data().try_to_vec().unwrap();
        values.iter().map(|v| v.to_bits()).collect()
    };
    let matrix = pair.matrix.val().reshape([300 * 70]);
    let state = vec![bits(matrix), bits(pair.vector.val())];
    (pair, state)
}

#[test]
fn the_fused_step_gives_burns_parameters_bit_for_bit() {
    let device = Device::flex().autodiff();
    let (_, ours) = train(
        train_kernels::Adam::new(0.9, 0.999, 1e-5).init(),
        &device,
        12,
    );
    let (_, burns) = train(AdamConfig::new().init(), &device, 12);
    let (_, untrained) = train(AdamConfig::new().init(), &device, 0);
    assert_ne!(ours, untrained, "the steps changed nothing");
    for (name, (a, b)) in ["matrix", "vector"].iter().zip(ours.iter().zip(&burns)) {
        let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
        assert_eq!(
            differing,
            0,
            "{name}: {differing} of {} values differ",
            a.len()
        );
    }
}

#[test]
fn other_settings_give_burns_parameters_bit_for_bit() {
    let device = Device::flex().autodiff();
    let config = AdamConfig::new()
        .with_beta_1(0.8)
        .with_beta_2(0.99)
        .with_epsilon(1e-7);
    let (_, ours) = train(train_kernels::Adam::new(0.8, 0.99, 1e-7).init(), &device, 5);
    let (_, burns) = train(config.init(), &device, 5);
    assert_eq!(ours, burns);
}

/// The moments the fused step keeps are burn's: a step from burn's state after steps of the
/// fused one gives the same parameter as burn continuing its own.
#[test]
fn its_state_is_burns_state() {
    let device = Device::flex();
    let adam = train_kernels::Adam::new(0.9, 0.999, 1e-5);
    let burn = AdamConfig::new().build();
    let tensor =
        |salt| Tensor::<1>::from_data(TensorData::new(values(1000, salt), [1000]), &device);
    let param = tensor(0.0);
    let grads: Vec<Tensor<1>> = (1..5).map(|step| tensor(step as f32 * 100.0)).collect();
    let (mut ours, mut burns) = ((param.clone(), None), (param, None));
    for grad in &grads {
        ours = adam.step(1e-3, ours.0, grad.clone(), ours.1);
        burns = burn.step(1e-3, burns.0, grad.clone(), burns.1);
    }
    let (ours_state, burns_state) = (ours.1.unwrap().momentum, burns.1.unwrap().momentum);
    assert_eq!(ours_state.time, burns_state.time);
    for (a, b) in [
        (ours_state.moment_1, burns_state.moment_1),
        (ours_state.moment_2, burns_state.moment_2),
        (ours.0, burns.0),
    ] {
        a.into_data().assert_eq(&b.into_data(), true);
    }
}

#[test]
fn the_fused_pass_runs_on_flex_only() {
    assert!(train_kernels::Adam::fuses(&Tensor::<1>::zeros(
        [4],
        &Device::flex()
    )));
    #[allow(deprecated)] // ndarray: the other CPU backend the binaries offer
    let ndarray = Device::ndarray();
    assert!(!train_kernels::Adam::fuses(&Tensor::<1>::zeros(
        [4],
        &ndarray
    )));
    let f64_flex = Tensor::<1>::zeros([4], &Device::flex()).cast(burn::tensor::DType::F64);
    assert!(!train_kernels::Adam::fuses(&f64_flex));
}

/// On ndarray the optimizer is burn's Adam: the same bits there too.
#[test]
fn on_ndarray_it_is_burns_adam() {
    #[allow(deprecated)] // ndarray: the other CPU backend the binaries offer
    let device = Device::ndarray().autodiff();
    let (_, ours) = train(
        train_kernels::Adam::new(0.9, 0.999, 1e-5).init(),
        &device,
        3,
    );
    let (_, burns) = train(AdamConfig::new().init(), &device, 3);
    assert_eq!(ours, burns);
}
