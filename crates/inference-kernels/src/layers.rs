//! The layers the four networks are made of, as Burn defines them (burn-nn's `Linear` with its
//! row layout, `Conv2d`, `BatchNorm` on its running statistics, `Embedding`, ReLU), over the
//! weights of a [`Record`]. Names and shapes are checked when a layer is loaded, so a network
//! built wrong is an error, not a wrong answer.

use crate::matmul::PackedWeights;
use crate::record::{F32View, Record, RecordError};

/// A fully connected layer: `x · weight + bias`, weight `[inputs, outputs]` (burn's row layout).
#[derive(Debug, Clone)]
pub struct Dense {
    weight: PackedWeights,
    bias: Vec<f32>,
}

impl Dense {
    /// `<name>.weight` `[inputs, outputs]` and `<name>.bias` `[outputs]`.
    pub fn load(
        record: &Record<'_>,
        name: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self, RecordError> {
        let weight = record.f32s(&format!("{name}.weight"), &[inputs, outputs])?;
        Ok(Self {
            weight: PackedWeights::pack(&weight, inputs, outputs),
            bias: record.f32s(&format!("{name}.bias"), &[outputs])?,
        })
    }

    pub fn inputs(&self) -> usize {
        self.weight.inputs()
    }

    /// `rows` rows of `inputs` values to `rows` rows of `outputs` values.
    ///
    /// # Panics
    /// When `x` does not hold `rows` rows: the networks size their own buffers.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.inputs(), "a dense layer's input size");
        let outputs = self.weight.outputs();
        let mut out = vec![0.0; rows * outputs];
        self.weight.multiply(x, rows, &mut out);
        // The bias after the sum, as Burn's linear adds it to the product.
        for row in out.chunks_exact_mut(outputs) {
            for (value, bias) in row.iter_mut().zip(&self.bias) {
                *value += bias;
            }
        }
        out
    }
}

/// `max(x, 0)` in place (NaN becomes 0, as `f32::max` makes it). Written as a comparison:
/// `f32::max` is a call to `fmaxf` in wasm (whose `f32.max` treats NaN otherwise), a
/// measurable share of an MNIST batch.
pub fn relu(values: &mut [f32]) {
    for value in values {
        *value = if *value > 0.0 { *value } else { 0.0 };
    }
}

/// One image's feature maps, channels last: `values[(y * width + x) * channels + c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub values: Vec<f32>,
}

impl FeatureMap {
    /// A map from burn's channels-first layout (`[channels, height, width]`, one image).
    pub fn from_channels_first(
        values: &[f32],
        channels: usize,
        height: usize,
        width: usize,
    ) -> Self {
        let mut map = Self {
            height,
            width,
            channels,
            values: vec![0.0; values.len()],
        };
        for (c, plane) in values.chunks_exact(height * width).enumerate() {
            for (position, &value) in plane.iter().enumerate() {
                map.values[position * channels + c] = value;
            }
        }
        map
    }

    /// The values in burn's channels-first order, as its `reshape` flattens them.
    pub fn to_channels_first(&self) -> Vec<f32> {
        let plane = self.height * self.width;
        let mut values = vec![0.0; self.values.len()];
        for (position, pixel) in self.values.chunks_exact(self.channels).enumerate() {
            for (c, &value) in pixel.iter().enumerate() {
                values[c * plane + position] = value;
            }
        }
        values
    }
}

/// A square-kernel 2-D convolution with equal stride and zero padding on both axes, one
/// group, no dilation, and no bias (the networks follow it with batch norm).
#[derive(Debug, Clone)]
pub struct Conv2d {
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    /// Burn's `[out, in, ky, kx]` rearranged to `[ky, kx, in, out]` (one row per patch value),
    /// packed.
    weight: PackedWeights,
}

/// The shape of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Conv2d {
    /// `<name>.weight` `[out, in, kernel, kernel]`. A `<name>.bias` is not read: none of the
    /// networks has one, and each algorithm's test against Burn would fail if one had.
    pub fn load(record: &Record<'_>, name: &str, shape: ConvShape) -> Result<Self, RecordError> {
        let ConvShape {
            in_channels: cin,
            out_channels: cout,
            kernel: k,
            ..
        } = shape;
        let burn_order = record.f32s(&format!("{name}.weight"), &[cout, cin, k, k])?;
        let mut weight = vec![0.0; burn_order.len()];
        for (o, filter) in burn_order.chunks_exact(cin * k * k).enumerate() {
            for (i, plane) in filter.chunks_exact(k * k).enumerate() {
                for (tap, &value) in plane.iter().enumerate() {
                    weight[(tap * cin + i) * cout + o] = value;
                }
            }
        }
        Ok(Self {
            in_channels: cin,
            out_channels: cout,
            kernel: k,
            stride: shape.stride,
            padding: shape.padding,
            weight: PackedWeights::pack(&weight, k * k * cin, cout),
        })
    }

    /// Output side for an input side, as burn computes it.
    pub fn output_side(&self, side: usize) -> usize {
        (side + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// # Panics
    /// When `input` has another channel count than the layer's.
    pub fn forward(&self, input: &FeatureMap) -> FeatureMap {
        assert_eq!(
            input.channels, self.in_channels,
            "a convolution's input channels"
        );
        let (height, width) = (
            self.output_side(input.height),
            self.output_side(input.width),
        );
        let patches = self.patches(input, height, width);
        let mut values = vec![0.0; height * width * self.out_channels];
        self.weight.multiply(&patches, height * width, &mut values);
        FeatureMap {
            height,
            width,
            channels: self.out_channels,
            values,
        }
    }

    /// One row per output position: the input values under the kernel (`[ky, kx, in]`), zeros
    /// where the kernel hangs over the padding.
    fn patches(&self, input: &FeatureMap, height: usize, width: usize) -> Vec<f32> {
        let (k, cin) = (self.kernel, self.in_channels);
        let mut patches = vec![0.0; height * width * k * k * cin];
        let rows = patches.chunks_exact_mut(k * k * cin);
        for (position, row) in rows.enumerate() {
            let (oy, ox) = (position / width, position % width);
            for ky in 0..k {
                let Some(iy) = (oy * self.stride + ky).checked_sub(self.padding) else {
                    continue;
                };
                if iy >= input.height {
                    continue;
                }
                for kx in 0..k {
                    let Some(ix) = (ox * self.stride + kx).checked_sub(self.padding) else {
                        continue;
                    };
                    if ix >= input.width {
                        continue;
                    }
                    let from = (iy * input.width + ix) * cin;
                    let to = (ky * k + kx) * cin;
                    if cin == 1 {
                        // One value: in wasm a slice copy is a `memory.copy`, a call into the
                        // engine for every value of a one-channel image.
                        row[to] = input.values[from];
                    } else {
                        row[to..to + cin].copy_from_slice(&input.values[from..from + cin]);
                    }
                }
            }
        }
        patches
    }
}

/// Batch norm with its running statistics (inference):
/// `(x - mean) / sqrt(var + epsilon) * gamma + beta` per channel.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl BatchNorm {
    /// `<name>.{gamma,beta,running_mean,running_var}`, each `[channels]`.
    pub fn load(
        record: &Record<'_>,
        name: &str,
        channels: usize,
        epsilon: f64,
    ) -> Result<Self, RecordError> {
        let take = |part: &str| record.f32s(&format!("{name}.{part}"), &[channels]);
        let (gamma, beta) = (take("gamma")?, take("beta")?);
        let (mean, variance) = (take("running_mean")?, take("running_var")?);
        let scale: Vec<f32> = gamma
            .iter()
            .zip(&variance)
            .map(|(g, v)| g / (v + epsilon as f32).sqrt())
            .collect();
        let shift = beta
            .iter()
            .zip(&mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        Ok(Self { scale, shift })
    }

    /// Normalises a channels-last map in place.
    pub fn forward(&self, map: &mut FeatureMap) {
        for pixel in map.values.chunks_exact_mut(self.scale.len()) {
            for ((value, scale), shift) in pixel.iter_mut().zip(&self.scale).zip(&self.shift) {
                *value = *value * scale + shift;
            }
        }
    }
}

/// An embedding table left in the record's bytes: a row is decoded when a token asks for it,
/// so a run reads a few rows of a table of megabytes.
#[derive(Debug, Clone, Copy)]
pub struct Embedding<'a> {
    rows: usize,
    dim: usize,
    table: F32View<'a>,
}

impl<'a> Embedding<'a> {
    /// `<name>.weight` `[rows, dim]`.
    pub fn load(
        record: &Record<'a>,
        name: &str,
        rows: usize,
        dim: usize,
    ) -> Result<Self, RecordError> {
        Ok(Self {
            rows,
            dim,
            table: record.f32_view(&format!("{name}.weight"), &[rows, dim])?,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The weighted mean of the rows of `ids`: `Σ weight·row / max(Σ weight, 1e-6)` (the
    /// networks' bag of embeddings), or `None` when an id is outside the table.
    pub fn weighted_mean(&self, ids: &[u32], weights: &[f32]) -> Option<Vec<f32>> {
        let mut sum = vec![0.0f32; self.dim];
        let mut row = vec![0.0f32; self.dim];
        let mut total = 0.0f32;
        for (&id, &weight) in ids.iter().zip(weights) {
            let id = usize::try_from(id).ok().filter(|&id| id < self.rows)?;
            self.table.read_into(id * self.dim, &mut row);
            for (s, r) in sum.iter_mut().zip(&row) {
                *s += r * weight;
            }
            total += weight;
        }
        let total = total.max(1e-6);
        Some(sum.into_iter().map(|s| s / total).collect())
    }
}

/// Dense layers with ReLU between them (not after the last): Iris' and Wine Quality's
/// networks, whose dropout does nothing at inference.
#[derive(Debug, Clone)]
pub struct Perceptron {
    layers: Vec<Dense>,
}

impl Perceptron {
    /// The layers, first to last, as `(name, inputs, outputs)`.
    pub fn load(record: &Record<'_>, layers: &[(&str, usize, usize)]) -> Result<Self, RecordError> {
        let layers = layers
            .iter()
            .map(|&(name, inputs, outputs)| Dense::load(record, name, inputs, outputs))
            .collect::<Result<_, _>>()?;
        Ok(Self { layers })
    }

    /// `rows` rows of the first layer's inputs to rows of the last layer's outputs.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut x = x.to_vec();
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x, rows);
            if i + 1 < self.layers.len() {
                relu(&mut x);
            }
        }
        x
    }

    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, Dense::inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_keeps_positives_and_zeroes_the_rest_nan_included() {
        let mut values = [
            -1.5,
            0.0,
            -0.0,
            2.25,
            f32::NAN,
            f32::NEG_INFINITY,
            f32::INFINITY,
        ];
        relu(&mut values);
        // Bits, so that -0.0 and 0.0 differ: the same bits in wasm and natively.
        let bits: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
        let expected: Vec<u32> = [0.0f32, 0.0, 0.0, 2.25, 0.0, 0.0, f32::INFINITY]
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(bits, expected);
    }
}
