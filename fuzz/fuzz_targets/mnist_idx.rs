//! The MNIST IDX reader (images, labels, gzip) on made-up files: the records or one error line.
#![no_main]

use mnist::idx::{gunzip, parse_images, parse_labels};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check(data);
    if let Ok(unpacked) = gunzip(data) {
        check(&unpacked);
    }
});

fn check(bytes: &[u8]) {
    match parse_images(bytes) {
        Ok(images) => assert!(images.len() * 784 <= bytes.len(), "no image from nothing"),
        Err(error) => fuzz_targets::one_line_error(&format!("{error:#}")),
    }
    match parse_labels(bytes) {
        Ok(labels) => assert!(labels.iter().all(|&l| l < 10), "labels are digits"),
        Err(error) => fuzz_targets::one_line_error(&format!("{error:#}")),
    }
}
