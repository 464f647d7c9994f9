//! The CSV dataset readers (Iris in both layouts, Wine Quality, AG News) on made-up files:
//! the rows, with the layout said, or one error line naming the file.
#![no_main]

use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = Path::new("datasets/upload.csv");
    match iris::data::parse(path, data) {
        Ok((_, items)) => assert!(!items.is_empty(), "a dataset has rows"),
        Err(error) => fuzz_targets::one_line_error(&format!("{error:#}")),
    }
    match wine_quality::data::parse(path, data, None) {
        Ok((_, _, items)) => assert!(!items.is_empty(), "a dataset has rows"),
        Err(error) => fuzz_targets::one_line_error(&format!("{error:#}")),
    }
    match ag_news::data::parse_csv(data) {
        Ok((items, _)) => assert!(!items.is_empty(), "a dataset has rows"),
        Err(error) => fuzz_targets::one_line_error(&error),
    }
});
