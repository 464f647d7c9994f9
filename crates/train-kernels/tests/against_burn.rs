//! Each op against burn's own layer on the same device, parameters and input: outputs,
//! every gradient and the running statistics agree to float rounding, in training and in
//! inference on flex (the project's kernels), and bit for bit where the ops hand over to
//! burn (ndarray).

#![recursion_limit = "256"]

use burn::module::RunningState;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::{Distribution, Gradients};

/// Largest difference allowed, relative to the largest magnitude compared.
const TOLERANCE: f32 = 1e-5;

fn assert_close(what: &str, ours: Tensor<1>, burns: Tensor<1>) {
    let ours: Vec<f32> = ours.into_data().try_to_vec().unwrap();
    let burns: Vec<f32> = burns.into_data().try_to_vec().unwrap();
    assert_eq!(ours.len(), burns.len(), "{what}: lengths differ");
    let scale = burns.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    let worst = ours
        .iter()
        .zip(&burns)
        .map(|(a, b)| (a - b).abs() / scale)
        .fold(0f32, f32::max);
    assert!(worst <= TOLERANCE, "{what}: off by {worst} (relative)");
    assert!(ours.iter().all(|v| v.is_finite()), "{what}: not finite");
}

fn flat<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let n = t.shape().num_elements();
    t.reshape([n])
}

/// Held by every test for its whole run. flex draws from one process-wide generator, and
/// burn initialises a layer's parameters lazily, at their first use (after [`seeded`] has
/// returned): a test drawing while another runs would shift the other's numbers (it did, at
/// random, under `cargo test --workspace`), so the tests here run one at a time.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `f` with the process-wide seed set (the caller holds [`one_at_a_time`]).
fn seeded<T>(device: &Device, f: impl FnOnce() -> T) -> T {
    device.seed(7);
    f()
}

/// A loss weighing every output differently, so a permuted gradient cannot pass.
fn weighted_sum<const D: usize>(y: Tensor<D>, weights: &Tensor<D>) -> Tensor<1> {
    (y * weights.clone()).sum()
}

/// Picks one parameter's gradient out of a layer, flattened.
type ParamGrad<'a, L> = (&'a str, &'a dyn Fn(&L, &Gradients) -> Option<Tensor<1>>);

/// Builds the layer and its input twice from the same seed, runs the project's op on one and
/// burn's layer on the other, and compares the outputs, the input's gradient and the
/// gradients `params` picks out. Returns both layers, for what the forward pass updated.
fn compare<L, const D: usize, const O: usize>(
    name: &str,
    make: impl Fn(&Device) -> L,
    shape: [usize; D],
    ours: impl Fn(&L, Tensor<D>) -> Tensor<O>,
    burns: impl Fn(&L, Tensor<D>) -> Tensor<O>,
    params: &[ParamGrad<'_, L>],
) -> (L, L) {
    let device = Device::flex().autodiff();
    let run = |forward: &dyn Fn(&L, Tensor<D>) -> Tensor<O>| {
        seeded(&device, || {
            let layer = make(&device);
            let x = input(shape, &device).require_grad();
            let y = forward(&layer, x.clone());
            let weights = Tensor::<O>::random(y.shape(), Distribution::Normal(0.0, 1.0), &device);
            let grads = weighted_sum(y.clone(), &weights).backward();
            (layer, x, y, grads)
        })
    };
    let (layer_ours, x_ours, y_ours, grads_ours) = run(&ours);
    let (layer_burns, x_burns, y_burns, grads_burns) = run(&burns);
    assert_eq!(y_ours.dims(), y_burns.dims(), "{name}: shapes differ");
    assert_close(&format!("{name} output"), flat(y_ours), flat(y_burns));
    let grad = |x: &Tensor<D>, grads| flat(x.grad(grads).expect("the input's gradient"));
    assert_close(
        &format!("{name} input gradient"),
        grad(&x_ours, &grads_ours),
        grad(&x_burns, &grads_burns),
    );
    for (param, pick) in params {
        let grad = |layer, grads| pick(layer, grads).expect("a parameter's gradient");
        assert_close(
            &format!("{name} {param} gradient"),
            grad(&layer_ours, &grads_ours),
            grad(&layer_burns, &grads_burns),
        );
    }
    (layer_ours, layer_burns)
}

fn input<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.5, 1.5), device)
}

fn conv_layer(
    [cin, cout]: [usize; 2],
    kernel: usize,
    stride: usize,
    padding: PaddingConfig2d,
) -> Conv2dConfig {
    Conv2dConfig::new([cin, cout], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(padding)
        .with_bias(false)
}

fn conv_cases() -> Vec<(&'static str, Conv2dConfig, [usize; 4])> {
    vec![
        (
            "5x5 stride 2 (MNIST's first)",
            conv_layer([1, 8], 5, 2, PaddingConfig2d::Explicit(2, 2, 2, 2)),
            [3, 1, 28, 28],
        ),
        (
            "3x3 stride 2 (MNIST's second)",
            conv_layer([4, 6], 3, 2, PaddingConfig2d::Explicit(1, 1, 1, 1)),
            [2, 4, 14, 14],
        ),
        (
            "3x3 stride 1, uneven padding, odd sides",
            conv_layer([3, 5], 3, 1, PaddingConfig2d::Explicit(0, 2, 1, 0)),
            [2, 3, 9, 7],
        ),
        (
            "2x2 valid with bias",
            Conv2dConfig::new([2, 3], [2, 2]),
            [2, 2, 5, 6],
        ),
    ]
}

/// The weight's gradient, and the bias's when the layer has one.
fn weight_and_bias<'a, L>(
    weight: ParamGrad<'a, L>,
    bias: ParamGrad<'a, L>,
    has_bias: bool,
) -> Vec<ParamGrad<'a, L>> {
    if has_bias {
        vec![weight, bias]
    } else {
        vec![weight]
    }
}

#[test]
fn convolutions_match_burns() {
    let _serial = one_at_a_time();
    let weight: ParamGrad<'_, Conv2d> = ("weight", &|l, g| l.weight.val().grad(g).map(flat));
    let bias: ParamGrad<'_, Conv2d> = ("bias", &|l, g| l.bias.as_ref()?.val().grad(g));
    for (name, config, shape) in conv_cases() {
        let params = weight_and_bias(weight, bias, config.bias);
        compare(
            name,
            |device| config.init(device),
            shape,
            train_kernels::conv2d,
            Conv2d::forward,
            &params,
        );
    }
}

#[test]
fn batch_norm_relu_matches_burns_and_updates_the_running_statistics_alike() {
    let _serial = one_at_a_time();
    let make = |device: &Device| {
        let norm = BatchNormConfig::new(6).init(device);
        // gamma and beta away from 1 and 0, so a mix-up of the two shows.
        BatchNorm {
            gamma: norm.gamma.map(|g| (g * 1.5).detach().require_grad()),
            beta: norm.beta.map(|b| (b + 0.25).detach().require_grad()),
            ..norm
        }
    };
    let (ours, burns) = compare(
        "batch norm + relu",
        make,
        [4, 6, 5, 3],
        train_kernels::batch_norm_relu,
        |l, x| relu(l.forward(x)),
        &[
            ("gamma", &|l: &BatchNorm, g: &Gradients| {
                l.gamma.val().grad(g)
            }),
            ("beta", &|l: &BatchNorm, g: &Gradients| l.beta.val().grad(g)),
        ],
    );
    let mean = |l: &BatchNorm| l.running_mean.value_sync();
    let variance = |l: &BatchNorm| l.running_var.value_sync();
    assert_close("running mean", mean(&ours), mean(&burns));
    assert_close("running variance", variance(&ours), variance(&burns));
    let moved: Vec<f32> = mean(&ours).into_data().try_to_vec().unwrap();
    assert!(
        moved.iter().all(|m| m.abs() > 0.01),
        "the running mean did not move from zero: {moved:?}"
    );
}

#[test]
fn dense_layers_match_burns() {
    let _serial = one_at_a_time();
    let weight: ParamGrad<'_, Linear> = ("weight", &|l, g| l.weight.val().grad(g).map(flat));
    let bias: ParamGrad<'_, Linear> = ("bias", &|l, g| l.bias.as_ref()?.val().grad(g));
    for (name, config) in [
        ("with bias", LinearConfig::new(37, 11)),
        ("without bias", LinearConfig::new(5, 3).with_bias(false)),
    ] {
        let params = weight_and_bias(weight, bias, config.bias);
        compare(
            name,
            |device| config.init(device),
            [9, config.d_input],
            train_kernels::linear,
            Linear::forward,
            &params,
        );
    }
}

#[test]
fn in_inference_on_flex_the_ops_match_burns_layers() {
    let _serial = one_at_a_time();
    let device = Device::flex();
    for (name, config, shape) in conv_cases() {
        let (conv, x) = seeded(&device, || (config.init(&device), input(shape, &device)));
        let ours = train_kernels::conv2d(&conv, x.clone());
        assert_close(name, flat(ours), flat(conv.forward(x)));
    }
    let (dense, x) = seeded(&device, || {
        (
            LinearConfig::new(37, 11).init(&device),
            input([9, 37], &device),
        )
    });
    let ours = train_kernels::linear(&dense, x.clone());
    assert_close("dense", flat(ours), flat(dense.forward(x)));

    // Running statistics, gamma and beta all away from their initial 0 and 1, so that a
    // statistic left out or two swapped shows.
    let (norm, x) = seeded(&device, || {
        let norm = BatchNormConfig::new(6).init(&device);
        let uniform =
            |low, high| Tensor::<1>::random([6], Distribution::Uniform(low, high), &device);
        let norm = BatchNorm {
            gamma: norm.gamma.map(|_| uniform(0.5, 2.0)),
            beta: norm.beta.map(|_| uniform(-0.5, 0.5)),
            running_mean: RunningState::new(uniform(-1.0, 1.0)),
            running_var: RunningState::new(uniform(0.25, 4.0)),
            ..norm
        };
        (norm, input([4, 6, 5, 3], &device))
    });
    let ours = train_kernels::batch_norm_relu(&norm, x.clone());
    let burns = relu(norm.forward(x));
    let zeros = burns
        .clone()
        .equal_elem(0.0)
        .int()
        .sum()
        .into_scalar::<i64>();
    assert!(
        zeros > 0 && zeros < 4 * 6 * 5 * 3,
        "the ReLU clamps some values and keeps others ({zeros} zeros)"
    );
    assert_close(
        "batch norm + relu, running statistics",
        flat(ours),
        flat(burns),
    );
}

#[test]
fn elsewhere_the_ops_are_burns_layers_bit_for_bit() {
    let _serial = one_at_a_time();
    #[allow(deprecated)] // ndarray: the other CPU backend the binaries offer
    for device in [Device::ndarray(), Device::ndarray().autodiff()] {
        let (name, config, shape) = conv_cases().swap_remove(0);
        let (conv, x) = seeded(&device, || (config.init(&device), input(shape, &device)));
        let ours = train_kernels::conv2d(&conv, x.clone()).into_data();
        assert_eq!(ours, conv.forward(x).into_data(), "{name} on {device:?}");
        let norm = BatchNormConfig::new(3).init(&device);
        let x = seeded(&device, || input([2, 3, 4, 4], &device));
        let ours = train_kernels::batch_norm_relu(&norm, x.clone()).into_data();
        assert_eq!(
            ours,
            relu(norm.forward(x)).into_data(),
            "norm on {device:?}"
        );
    }
}
