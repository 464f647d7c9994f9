//! `convert-image digit.png` prints the JSON array of 784 grey levels (0-255, row-major) that
//! `mnist-inference` takes; several pictures give a JSON array of such arrays, one per line.
//! Unreadable pictures get a one-line error and exit code 2.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use convert_image::{ConvertError, Invert, Steps, convert, decode};

/// Prepares pictures of handwritten digits as MNIST's images were prepared (grey, light ink
/// on black, the digit scaled into a 20x20 box and centred by its centre of mass in 28x28)
/// and prints them as JSON for mnist-inference
#[derive(Debug, Parser)]
#[command(name = "convert-image", version)]
struct Cli {
    /// Pictures in any common format (png, jpeg, gif, bmp, tiff, webp, pnm, ico, tga, qoi),
    /// any size or colour; - reads one from stdin
    #[arg(required = true, value_name = "PICTURE")]
    pictures: Vec<PathBuf>,
    /// Never invert (by default a picture whose border is light is inverted)
    #[arg(long, conflicts_with = "invert")]
    no_invert: bool,
    /// Always invert
    #[arg(long)]
    invert: bool,
    /// Keep the grey levels (by default the background becomes 0, the ink 255, and faint
    /// marks are cleared)
    #[arg(long)]
    no_levels: bool,
    /// Do not crop to the digit and scale it into 20x20; only scale the whole picture to fit
    /// 28x28 (a 28x28 picture is left as it is)
    #[arg(long)]
    no_fit: bool,
    /// Do not move the centre of mass to the middle (the digit's box is centred instead)
    #[arg(long)]
    no_center: bool,
}

impl Cli {
    fn steps(&self) -> Steps {
        let invert = match (self.invert, self.no_invert) {
            (true, _) => Invert::Always,
            (_, true) => Invert::Never,
            _ => Invert::Auto,
        };
        Steps {
            invert,
            levels: !self.no_levels,
            fit: !self.no_fit,
            center: !self.no_center,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let steps = cli.steps();
    let mut images = Vec::with_capacity(cli.pictures.len());
    for path in &cli.pictures {
        match read(path).and_then(|bytes| convert(&decode(&bytes, Some(path))?, steps)) {
            Ok(levels) => images.push(levels),
            Err(error) => {
                eprintln!("convert-image: {}: {error}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let output = render(&images);
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
    {
        eprintln!("convert-image: cannot write to stdout: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn read(path: &PathBuf) -> Result<Vec<u8>, ConvertError> {
    let mut bytes = Vec::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut bytes).map(|_| ()))
    };
    result.map_err(|e| ConvertError(format!("cannot read: {e}")))?;
    Ok(bytes)
}

/// One image: one JSON array. Several: an array of arrays, one image per line.
fn render(images: &[Vec<u8>]) -> String {
    let array = |levels: &Vec<u8>| {
        let numbers: Vec<String> = levels.iter().map(u8::to_string).collect();
        format!("[{}]", numbers.join(","))
    };
    match images {
        [one] => format!("{}\n", array(one)),
        many => {
            let lines: Vec<String> = many.iter().map(array).collect();
            format!("[\n{}\n]\n", lines.join(",\n"))
        }
    }
}
