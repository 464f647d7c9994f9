//! Small MNIST files and folders for the data tests.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::MnistData;
use crate::idx::tests::{images_file, labels_file};
use crate::input::{PIXELS, SIDE};

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, bytes).unwrap();
    encoder.finish().unwrap()
}

pub(super) fn digit_image(value: u8) -> [u8; PIXELS] {
    let mut image = [0u8; PIXELS];
    image[SIDE * 14 + 14] = value;
    image
}

pub(super) fn write_png(path: &Path, pixels: &[u8; PIXELS]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_raw(SIDE as u32, SIDE as u32, pixels.to_vec())
        .unwrap()
        .save(path)
        .unwrap();
}

/// Writes `bytes` as `dir/name`, returning the path.
pub(super) fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

pub(super) fn refusal(result: Result<MnistData>) -> String {
    let message = format!("{:#}", result.unwrap_err());
    assert!(!message.contains('\n'), "one line: {message}");
    message
}

/// Three training and two test images, as IDX files: images, labels of each split.
pub(super) fn small_idx() -> [Vec<u8>; 4] {
    let train: Vec<[u8; PIXELS]> = (1..=3).map(digit_image).collect();
    let test: Vec<[u8; PIXELS]> = (7..=8).map(digit_image).collect();
    [
        images_file(&train),
        labels_file(&[1, 2, 3]),
        images_file(&test),
        labels_file(&[7, 8]),
    ]
}
