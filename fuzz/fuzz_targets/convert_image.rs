//! `convert-image` on made-up picture files: the 784 grey levels or one error line, within the
//! decoder's limits (libFuzzer's memory limit catches an allocation beyond them).
#![no_main]

use convert_image::{Steps, convert, decode};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let picture = match decode(data, None) {
        Ok(picture) => picture,
        Err(error) => return fuzz_targets::one_line_error(&error),
    };
    match convert(&picture, Steps::default()) {
        Ok(levels) => assert_eq!(levels.len(), 784, "28x28 grey levels"),
        Err(error) => fuzz_targets::one_line_error(&error),
    }
});
