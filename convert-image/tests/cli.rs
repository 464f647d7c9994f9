//! The binary's contract: JSON out for pictures in any format and colour, one-line errors
//! with exit code 2 for anything unreadable, never a panic.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

const BINARY: &str = env!("CARGO_BIN_EXE_convert-image");

fn run(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().unwrap()
}

fn run_path(args: &[&str], path: &Path) -> Output {
    Command::new(BINARY).args(args).arg(path).output().unwrap()
}

fn expect_error(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty());
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(expected), "{expected}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A photo-like picture: a dark, slightly blue "7" on uneven off-white paper.
fn photo_of_a_seven(width: u32, height: u32) -> DynamicImage {
    let mut picture = RgbImage::from_fn(width, height, |x, y| {
        let shade = 220 - ((x + y) % 17) as u8;
        Rgb([shade, shade, shade - 10])
    });
    let stroke = (width / 40).max(2);
    let (left, right, top) = (width / 3, width * 2 / 3, height / 4);
    for x in left..right {
        for dy in 0..stroke {
            picture.put_pixel(x, top + dy, Rgb([30, 30, 60]));
        }
    }
    for y in top..height * 3 / 4 {
        let x = right - (y - top) * (right - left) / (height / 2) / 2;
        for dx in 0..stroke {
            picture.put_pixel(x + dx, y, Rgb([30, 30, 60]));
        }
    }
    DynamicImage::ImageRgb8(picture)
}

fn levels(output: &Output) -> Vec<u8> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn every_enabled_format_converts_to_784_levels() {
    let dir = tempfile::tempdir().unwrap();
    let picture = photo_of_a_seven(300, 240);
    let formats = [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
        ImageFormat::WebP,
        ImageFormat::Pnm,
        ImageFormat::Qoi,
    ];
    for format in formats {
        // Misleading extensions on purpose: the format is read from the content.
        let path = dir.path().join(format!("digit-{format:?}.jpg"));
        picture.save_with_format(&path, format).unwrap();
        let out = levels(&run_path(&[], &path));
        assert_eq!(out.len(), 784, "{format:?}");
        assert_eq!(out[0], 0, "{format:?}: the paper becomes black");
        assert_eq!(
            *out.iter().max().unwrap(),
            255,
            "{format:?}: the ink becomes white"
        );
    }
    // TGA has no signature, so its extension names it; icons are small.
    for (name, size) in [("digit.tga", 300), ("digit.ico", 64)] {
        let path = dir.path().join(name);
        DynamicImage::ImageRgba8(photo_of_a_seven(size, size).to_rgba8())
            .save(&path)
            .unwrap();
        assert_eq!(levels(&run_path(&[], &path)).len(), 784, "{name}");
    }
}

#[test]
fn several_pictures_give_an_array_of_arrays_and_dash_reads_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seven.png");
    photo_of_a_seven(120, 120).save(&path).unwrap();
    let path_text = path.to_str().unwrap();
    let output = run(&[path_text, path_text]);
    let batch: Vec<Vec<u8>> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[0], batch[1]);

    let mut child = Command::new(BINARY)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        &std::fs::read(&path).unwrap(),
    )
    .unwrap();
    let from_stdin = child.wait_with_output().unwrap();
    assert_eq!(levels(&from_stdin), batch[0]);
}

#[test]
fn unreadable_input_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    expect_error(
        &run_path(&[], &dir.path().join("missing.png")),
        "missing.png: cannot read",
    );
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "a shopping list").unwrap();
    expect_error(&run_path(&[], &text), "not a picture in a known format");
    let renamed = dir.path().join("notes.png");
    std::fs::write(&renamed, "a shopping list").unwrap();
    expect_error(&run_path(&[], &renamed), "Invalid PNG signature");
    let truncated = dir.path().join("truncated.png");
    let mut png = Vec::new();
    photo_of_a_seven(64, 64)
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    std::fs::write(&truncated, &png[..png.len() / 3]).unwrap();
    expect_error(&run_path(&[], &truncated), "cannot decode the picture");
    expect_error(&run_path(&[], dir.path()), "cannot read");
    let blank = dir.path().join("blank.png");
    RgbImage::from_pixel(50, 50, Rgb([255, 255, 255]))
        .save(&blank)
        .unwrap();
    expect_error(&run_path(&[], &blank), "no digit found");
}

/// clap's usage errors: exit code 2, the problem on the first line, then a usage hint.
#[test]
fn usage_errors_exit_with_2() {
    for (args, expected) in [
        (&[][..], "PICTURE"),
        (
            &["--invert", "--no-invert", "x.png"][..],
            "cannot be used with",
        ),
        (&["--frobnicate", "x.png"][..], "unexpected argument"),
    ] {
        let output = run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.lines().next().unwrap().contains(expected) || stderr.contains(expected),
            "{stderr}"
        );
        assert!(output.stdout.is_empty());
    }
    let help = run(&["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    for option in ["--no-invert", "--no-levels", "--no-fit", "--no-center"] {
        assert!(help.contains(option), "{help}");
    }
}
