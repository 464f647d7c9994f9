//! The whole user path on real data: official test images written as PNG files, turned into
//! JSON by the `convert-image` binary, read by the wasm module under the wasmtime CLI in one
//! batch, and compared with the native build of the module.

use std::path::{Path, PathBuf};
use std::process::Command;

use mnist::data::{MnistItem, load_test_set};
use mnist::input::SIDE;
use test_kit::process::{expect_success, run_native, run_wasm, wasm_module};
use train_kit::paths::resolve_data_dir;

const NATIVE: &str = env!("CARGO_BIN_EXE_mnist-inference");
/// Official test images taken through the whole path.
const IMAGES: usize = 1000;

/// The `convert-image` binary of the same build (`cargo test --workspace` builds it, as that
/// package has tests of its own).
fn convert_image() -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in <target>/<profile>/deps");
    let binary = profile_dir.join(format!("convert-image{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build --release -p convert-image` (or run the \
         workspace's tests, which build it)",
        binary.display()
    );
    binary
}

/// Writes each image as `<dir>/<index>-<label>.png` and returns the paths in order.
fn write_pngs(dir: &Path, items: &[MnistItem]) -> Vec<PathBuf> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = dir.join(format!("{index:05}-{}.png", item.label));
            image::GrayImage::from_raw(SIDE as u32, SIDE as u32, item.pixels.to_vec())
                .unwrap()
                .save(&path)
                .unwrap();
            path
        })
        .collect()
}

/// `convert-image <flags> <pictures...>`: the JSON batch it prints.
fn convert(flags: &[&str], pictures: &[PathBuf]) -> String {
    let output = Command::new(convert_image())
        .args(flags)
        .args(pictures)
        .output()
        .unwrap();
    expect_success(&output)
}

fn accuracy(answers: &str, items: &[MnistItem]) -> f64 {
    let correct = answers
        .lines()
        .zip(items)
        .filter(|(answer, item)| *answer == item.label.to_string())
        .count();
    correct as f64 / items.len() as f64
}

#[test]
fn png_files_through_convert_image_and_wasm_match_native_at_99_percent() {
    let items = &load_test_set(&resolve_data_dir(None).path).unwrap()[..IMAGES];
    let dir = tempfile::tempdir().unwrap();
    let pictures = write_pngs(dir.path(), items);

    // The images are already in MNIST's format: with the steps that would redo that
    // preparation turned off, conversion gives back exactly the original grey levels
    // (automatic inversion stays on and leaves these dark-background images alone).
    let batch = convert(&["--no-levels", "--no-fit", "--no-center"], &pictures);
    let converted: Vec<Vec<u8>> = serde_json::from_str(&batch).unwrap();
    assert_eq!(converted.len(), IMAGES);
    for (image, item) in converted.iter().zip(items) {
        assert_eq!(image, &item.pixels.to_vec(), "conversion is the identity");
    }

    let wasm = expect_success(&run_wasm(&wasm_module("mnist-inference"), &["-"], &batch));
    let native = expect_success(&run_native(NATIVE, &["-"], &batch));
    assert_eq!(wasm.lines().count(), IMAGES);
    assert_eq!(
        wasm, native,
        "every answer of the wasm module equals the native build's"
    );
    let accuracy = accuracy(&wasm, items);
    assert!(
        accuracy >= 0.99,
        "accuracy {accuracy} on {IMAGES} converted test images"
    );
}

/// With every automatic step on, MNIST digits are re-cropped, re-scaled and re-centred: the
/// model still reads nearly all of them, so the preparation matches what it was trained on.
#[test]
fn the_full_preparation_keeps_mnist_digits_readable() {
    let items = &load_test_set(&resolve_data_dir(None).path).unwrap()[..IMAGES];
    let dir = tempfile::tempdir().unwrap();
    let pictures = write_pngs(dir.path(), items);
    let batch = convert(&[], &pictures);
    let answers = expect_success(&run_native(NATIVE, &["-"], &batch));
    let accuracy = accuracy(&answers, items);
    assert!(
        accuracy >= 0.98,
        "accuracy {accuracy} after the full preparation"
    );
}

/// A test digit as a photo might show it: dark blue ink on off-white paper with a shading
/// gradient and grain, scaled up 8x, off-centre in a 480x360 picture, saved as JPEG.
fn photograph(item: &MnistItem, index: usize) -> image::RgbImage {
    let digit = image::imageops::resize(
        &image::GrayImage::from_raw(SIDE as u32, SIDE as u32, item.pixels.to_vec()).unwrap(),
        224,
        224,
        image::imageops::FilterType::Triangle,
    );
    let (left, top) = (
        40 + (index as u32 * 37) % 200,
        30 + (index as u32 * 53) % 100,
    );
    let mut seed = index as u32 + 1;
    image::RgbImage::from_fn(480, 360, |x, y| {
        // A small linear congruential generator: grain that is the same on every run.
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let grain = (seed >> 28) as f32 - 8.0;
        let paper = 235.0 - 25.0 * y as f32 / 360.0 + grain;
        let ink = match (x.checked_sub(left), y.checked_sub(top)) {
            (Some(dx), Some(dy)) if dx < 224 && dy < 224 => {
                f32::from(digit.get_pixel(dx, dy)[0]) / 255.0
            }
            _ => 0.0,
        };
        let channel = |ink_colour: f32| (paper * (1.0 - ink) + ink_colour * ink) as u8;
        image::Rgb([channel(20.0), channel(30.0), channel(80.0)])
    })
}

/// Photos of handwritten digits (the test set's, see [`photograph`]) through convert-image
/// with every automatic step, and the wasm module.
#[test]
fn photographed_digits_are_read_after_the_full_preparation() {
    const PHOTOS: usize = 300;
    let items = &load_test_set(&resolve_data_dir(None).path).unwrap()[..PHOTOS];
    let dir = tempfile::tempdir().unwrap();
    let pictures: Vec<PathBuf> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = dir.path().join(format!("photo-{index:03}.jpg"));
            photograph(item, index).save(&path).unwrap();
            path
        })
        .collect();
    let batch = convert(&[], &pictures);
    let answers = expect_success(&run_wasm(&wasm_module("mnist-inference"), &["-"], &batch));
    let accuracy = accuracy(&answers, items);
    assert!(
        accuracy >= 0.98,
        "accuracy {accuracy} on {PHOTOS} photographed digits (measured: 99.7%)"
    );
}
