//! The time-to-accuracy part of `cargo xtask bench training`: the committed model's whole
//! recipe trained by burn (the release `mnist-ndarray` binary with its defaults) and by PyTorch
//! (`bench/mnist_pytorch.py --recipe`), one after the other on the same cores, and the seconds
//! each took to reach [`TARGET_PERCENT`] test accuracy.
//!
//! Both clocks start when the images are decoded: for burn, when the trainer's
//! `mnist: N training and M test images from ...` line reaches the pipe (each epoch line is
//! timestamped the same way as it arrives); for PyTorch, inside the script after it reads the
//! IDX files (it prints its own seconds). `BENCH_TIME_TO_ACCURACY=0` skips both trainings.

use std::env;
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench_common::{PYTORCH_SCRIPT, cores, json_lines, number, string, torch_python};
use crate::paths::{target_dir, workspace_root};

/// The target: test accuracy in percent.
const TARGET_PERCENT: f64 = 99.2;
/// Slack for the comparison with the target: a fraction times 100 can land a hair below the
/// percent it stands for (0.9923 * 100 = 99.22999... in f64).
const ROUNDING: f64 = 1e-9;
/// Set to 0 to skip the two full trainings (minutes on 2 cores).
const SKIP_VARIABLE: &str = "BENCH_TIME_TO_ACCURACY";
/// What burn's row is called: the binary's default backend, with the project's kernels.
const BURN_LABEL: &str = "burn 0.22 flex + train-ops";
/// The trainer's line announcing the decoded images, just before training starts:
/// `mnist: N training and M test images from ...` (`mnist/src/training.rs`).
const ANNOUNCEMENT: [&str; 2] = ["mnist: ", " training and "];
/// The trainer's per-epoch line when stdout is not a terminal (`crates/train-kit/src/epoch_log.rs`).
const EPOCH_PREFIX: &str = "epoch ";
/// Its test accuracy, in percent (burn's `AccuracyMetric`); the test images are the
/// validation split.
const VALID_ACCURACY: &str = "valid_accuracy";

/// One finished epoch: when its test pass ended and what it scored.
#[derive(Debug, Clone, PartialEq)]
struct Epoch {
    number: usize,
    seconds: f64,
    accuracy_percent: f64,
}

/// One framework's whole run.
#[derive(Debug)]
struct Run {
    label: String,
    threads: usize,
    epochs: Vec<Epoch>,
}

/// A line of a program's stdout and when it arrived, in seconds since the program started.
#[derive(Debug)]
struct TimedLine {
    seconds: f64,
    text: String,
}

/// The generated table, or a line saying it was skipped.
pub(crate) fn time_to_accuracy_section() -> Result<String> {
    let heading = format!("### Time to {TARGET_PERCENT}% test accuracy, the committed recipe\n\n");
    if !wanted()? {
        return Ok(format!(
            "{heading}Not measured in this run ({SKIP_VARIABLE}=0).\n\n"
        ));
    }
    println!("bench: time to {TARGET_PERCENT}% test accuracy, burn (mnist-ndarray)");
    let burn = burn_run()?;
    println!("bench: time to {TARGET_PERCENT}% test accuracy, PyTorch ({PYTORCH_SCRIPT} --recipe)");
    // A failed or missing PyTorch is a row saying why; a figure missing from its output is an
    // error, as everywhere in the bench.
    let pytorch = match pytorch_lines() {
        Ok(lines) => Ok(pytorch_epochs(&lines)?),
        Err(why) => Err(why),
    };
    Ok(heading + &accuracy_tables(&burn, &pytorch)?)
}

/// Whether to run the trainings: unless `BENCH_TIME_TO_ACCURACY` is 0.
fn wanted() -> Result<bool> {
    wanted_from(env::var(SKIP_VARIABLE).ok().as_deref())
}

/// [`wanted`] for the variable's value (`None` when unset).
fn wanted_from(value: Option<&str>) -> Result<bool> {
    match value {
        None | Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(other) => bail!("{SKIP_VARIABLE}='{other}' must be 0 (skip the trainings) or 1"),
    }
}

/// The release `mnist-ndarray` with its defaults, its artifacts written to a scratch directory
/// so that the committed ones are never touched.
fn burn_run() -> Result<Run> {
    let binary = target_dir().join("release/mnist-ndarray");
    let scratch = env::temp_dir().join(format!("xtask-time-to-accuracy-{}", std::process::id()));
    let mut command = Command::new(&binary);
    // The trainer keeps its checkpoints beside the artifact directory: inside the scratch too.
    command
        .arg("--artifact-dir")
        .arg(scratch.join("mnist"))
        .current_dir(workspace_root());
    let streamed = streamed_lines(&mut command, "burn");
    // Best effort: a leftover scratch directory is only disk space.
    let _ = fs::remove_dir_all(&scratch);
    let (lines, status) = streamed?;
    if !status.success() {
        bail!("{} failed ({status})", binary.display());
    }
    Ok(Run {
        label: BURN_LABEL.to_owned(),
        threads: cores(),
        epochs: burn_epochs(&lines)?,
    })
}

/// The JSON lines of the script's recipe mode, or why PyTorch is not measured.
fn pytorch_lines() -> Result<Vec<Value>, String> {
    let python = torch_python()?;
    let mut command = Command::new(python);
    command.arg(workspace_root().join(PYTORCH_SCRIPT)).args([
        "--recipe",
        "--threads",
        &cores().to_string(),
    ]);
    let (lines, status) =
        streamed_lines(&mut command, "pytorch").map_err(|e| format!("not measured: {e:#}"))?;
    if !status.success() {
        return Err(format!("not measured: the script failed ({status})"));
    }
    let text: String = lines
        .iter()
        .map(|line| format!("{}\n", line.text))
        .collect();
    json_lines(text.as_bytes()).map_err(|e| format!("not measured: {e:#}"))
}

/// Runs `command`, echoing its stdout (prefixed with `name`) as it streams and timestamping
/// each line on arrival; stderr goes to ours.
fn streamed_lines(command: &mut Command, name: &str) -> Result<(Vec<TimedLine>, ExitStatus)> {
    let shown = format!("{command:?}");
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let mut lines = Vec::new();
    for text in BufReader::new(stdout).lines() {
        let text = text.with_context(|| format!("cannot read the output of {shown}"))?;
        let seconds = started.elapsed().as_secs_f64();
        println!("  {name}: {text}");
        lines.push(TimedLine { seconds, text });
    }
    let status = child.wait()?;
    Ok((lines, status))
}

/// burn's epochs, their seconds counted from the announcement of the decoded images.
fn burn_epochs(lines: &[TimedLine]) -> Result<Vec<Epoch>> {
    let [prefix, middle] = ANNOUNCEMENT;
    let announces = |text: &str| text.starts_with(prefix) && text.contains(middle);
    let Some(start) = lines.iter().position(|line| announces(&line.text)) else {
        bail!(
            "mnist-ndarray printed no `{prefix}N{middle}M test images` line before training; \
             update ANNOUNCEMENT in xtask/src/accuracy_bench.rs to what mnist/src/training.rs \
             prints"
        );
    };
    let started = lines[start].seconds;
    let mut epochs = Vec::new();
    for line in &lines[start + 1..] {
        if let Some((number, accuracy_percent)) = epoch_line(&line.text)? {
            epochs.push(Epoch {
                number,
                seconds: line.seconds - started,
                accuracy_percent,
            });
        }
    }
    if epochs.is_empty() {
        bail!(
            "mnist-ndarray printed no `{EPOCH_PREFIX}N/M ... {VALID_ACCURACY} X` lines; update \
             xtask/src/accuracy_bench.rs to what crates/train-kit/src/epoch_log.rs prints"
        );
    }
    Ok(epochs)
}

/// The epoch number and test accuracy (percent) of an `epoch   3/8  train_loss 0.1  ...
/// valid_accuracy 99.2100 ...` line; `None` for any other line.
fn epoch_line(text: &str) -> Result<Option<(usize, f64)>> {
    let Some(rest) = text.strip_prefix(EPOCH_PREFIX) else {
        return Ok(None);
    };
    let mut words = rest.split_whitespace();
    let number = words
        .next()
        .and_then(|count| count.split_once('/'))
        .and_then(|(number, _total)| number.parse().ok())
        .with_context(|| format!("no `N/M` epoch count in the epoch line `{text}`"))?;
    let accuracy = words
        .skip_while(|&word| word != VALID_ACCURACY)
        .nth(1)
        .and_then(|value| value.parse::<f64>().ok())
        .filter(|value| value.is_finite())
        .with_context(|| format!("no `{VALID_ACCURACY}` figure in the epoch line `{text}`"))?;
    Ok(Some((number, accuracy)))
}

/// PyTorch's epochs (`{"epoch", "seconds", "test_accuracy"}` lines, accuracy a fraction) and
/// its label and threads (the summary line, which has a `backend`).
fn pytorch_epochs(lines: &[Value]) -> Result<Run> {
    let benchmark = format!("{PYTORCH_SCRIPT} --recipe");
    let at = |line: &Value, key: &str| number(line, &[key], &benchmark);
    let mut epochs = Vec::new();
    for line in lines.iter().filter(|line| line.get("epoch").is_some()) {
        epochs.push(Epoch {
            number: at(line, "epoch")? as usize,
            seconds: at(line, "seconds")?,
            accuracy_percent: at(line, "test_accuracy")? * 100.0,
        });
    }
    let Some(summary) = lines.iter().find(|line| line.get("backend").is_some()) else {
        bail!("benchmark `{benchmark}` printed no summary line (one with a `backend`)");
    };
    if epochs.is_empty() {
        bail!("benchmark `{benchmark}` printed no epoch lines");
    }
    Ok(Run {
        label: string(summary, &["backend"], &benchmark)?.to_owned(),
        threads: at(summary, "threads")? as usize,
        epochs,
    })
}

/// The first epoch whose test accuracy reached `target` percent.
fn first_reaching(epochs: &[Epoch], target: f64) -> Option<&Epoch> {
    epochs
        .iter()
        .find(|epoch| epoch.accuracy_percent >= target - ROUNDING)
}

/// The explanation, the summary table, the comparison and the per-epoch table.
fn accuracy_tables(burn: &Run, pytorch: &Result<Run, String>) -> Result<String> {
    let mut text = String::from(
        "Both frameworks train the committed model's recipe in full, one after the other on \
         the same cores: the 60,000 training images, each shifted by up to 2 pixels, in \
         shuffled batches of 64, Adam with the learning rate cosine-annealed from 0.002 to \
         0.00002, 8 epochs, the 10,000 test images evaluated after every epoch \
         (`mnist-ndarray` with its defaults, artifacts written to a scratch directory; \
         `bench/mnist_pytorch.py --recipe`). Seconds run from the moment the images are \
         decoded (burn: when the trainer's line announcing them reaches the pipe; PyTorch: \
         inside the script after it reads the IDX files) to the end of that epoch's test \
         pass; process start-up and reading the files are not counted. Each framework \
         initialises the weights and draws the order, shifts and dropout with its own \
         generator: the same recipe, not the same numbers.\n\n",
    );
    text += &format!(
        "| framework | threads | first epoch >= {TARGET_PERCENT}% | seconds to {TARGET_PERCENT}% \
         | final test accuracy | epochs | seconds, all epochs |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    text += &summary_row(burn)?;
    match pytorch {
        Ok(run) => text += &summary_row(run)?,
        Err(why) => text += &format!("| PyTorch CPU | | {why} | | | | |\n"),
    }
    text += "\n";
    if let Ok(pytorch) = pytorch {
        text += &comparison(burn, pytorch);
        text += &per_epoch_table(&[burn, pytorch]);
    } else {
        text += &per_epoch_table(&[burn]);
    }
    Ok(text + "\n")
}

fn summary_row(run: &Run) -> Result<String> {
    let Some(last) = run.epochs.last() else {
        bail!("{}: no epochs to report", run.label);
    };
    let (epoch, seconds) = match first_reaching(&run.epochs, TARGET_PERCENT) {
        Some(reached) => (
            reached.number.to_string(),
            format!("{:.0} s", reached.seconds),
        ),
        None => ("not reached".to_owned(), "not reached".to_owned()),
    };
    Ok(format!(
        "| {} | {} | {epoch} | {seconds} | {:.2}% | {} | {:.0} s |\n",
        run.label, run.threads, last.accuracy_percent, last.number, last.seconds
    ))
}

/// One sentence on the question, when both runs reached the target.
fn comparison(burn: &Run, pytorch: &Run) -> String {
    match (
        first_reaching(&burn.epochs, TARGET_PERCENT),
        first_reaching(&pytorch.epochs, TARGET_PERCENT),
    ) {
        (Some(ours), Some(theirs)) => format!(
            "Time to {TARGET_PERCENT}%: burn {:.0} s, PyTorch {:.0} s; burn took {:.2}x \
             PyTorch's time.\n\n",
            ours.seconds,
            theirs.seconds,
            ours.seconds / theirs.seconds
        ),
        _ => format!("At least one run did not reach {TARGET_PERCENT}%; no ratio.\n\n"),
    }
}

/// Seconds and test accuracy after every epoch, a pair of columns per run.
fn per_epoch_table(runs: &[&Run]) -> String {
    let mut text = String::from("| epoch |");
    let mut rule = String::from("| ---: |");
    for run in runs {
        text += &format!(" {} s | {} test accuracy |", run.label, run.label);
        rule += " ---: | ---: |";
    }
    text += &format!("\n{rule}\n");
    let epochs = runs.iter().map(|run| run.epochs.len()).max().unwrap_or(0);
    for index in 0..epochs {
        text += &format!("| {} |", index + 1);
        for run in runs {
            text += &match run.epochs.get(index) {
                Some(epoch) => format!(" {:.0} | {:.2}% |", epoch.seconds, epoch.accuracy_percent),
                None => " | |".to_owned(),
            };
        }
        text += "\n";
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn epoch(number: usize, seconds: f64, accuracy_percent: f64) -> Epoch {
        Epoch {
            number,
            seconds,
            accuracy_percent,
        }
    }

    fn timed(seconds: f64, text: &str) -> TimedLine {
        TimedLine {
            seconds,
            text: text.to_owned(),
        }
    }

    #[test]
    fn the_skip_variable_takes_0_or_1_and_names_itself_otherwise() {
        assert!(wanted_from(None).unwrap());
        assert!(wanted_from(Some("1")).unwrap());
        assert!(!wanted_from(Some("0")).unwrap());
        let error = wanted_from(Some("yes")).unwrap_err().to_string();
        assert!(
            error.contains(SKIP_VARIABLE) && error.contains("'yes'") && error.contains("0"),
            "{error}"
        );
    }

    #[test]
    fn an_epoch_line_gives_its_number_and_test_accuracy() {
        let line = "epoch   3/8  train_accuracy 98.9100  train_learning_rate 0.0015  \
                    train_loss 0.0357  valid_accuracy 99.2100  valid_loss 0.0249";
        assert_eq!(epoch_line(line).unwrap(), Some((3, 99.21)));
        assert_eq!(
            epoch_line("mnist: 60000 training and 10000 test images").unwrap(),
            None
        );
        // `train_accuracy` is the training split's: never taken for the test accuracy.
        let without = "epoch   1/8  train_accuracy 97.0000  train_loss 0.1";
        assert_eq!(
            epoch_line(without).unwrap_err().to_string(),
            format!("no `valid_accuracy` figure in the epoch line `{without}`")
        );
        let unreadable = "epoch 1/8  valid_accuracy NaN";
        assert!(epoch_line(unreadable).is_err());
        let no_count = "epoch one  valid_accuracy 99.0";
        assert!(
            epoch_line(no_count)
                .unwrap_err()
                .to_string()
                .contains("no `N/M` epoch count")
        );
    }

    #[test]
    fn burn_seconds_count_from_the_announcement_of_the_images() {
        let lines = [
            timed(0.5, "mnist: training pair a + b, test pair c + d"),
            timed(
                2.0,
                "mnist: 60000 training and 10000 test images from the official IDX files",
            ),
            timed(
                20.0,
                "epoch   1/2  train_loss 0.2  valid_accuracy 98.5000  valid_loss 0.05",
            ),
            timed(
                37.5,
                "epoch   2/2  train_loss 0.1  valid_accuracy 99.2500  valid_loss 0.03",
            ),
            timed(40.0, "mnist: test accuracy 99.25%"),
        ];
        assert_eq!(
            burn_epochs(&lines).unwrap(),
            vec![epoch(1, 18.0, 98.5), epoch(2, 35.5, 99.25)]
        );

        let no_announcement = burn_epochs(&lines[2..4]).unwrap_err().to_string();
        assert!(no_announcement.contains("no `mnist: N training and M test images` line"));
        let no_epochs = burn_epochs(&lines[..2]).unwrap_err().to_string();
        assert!(no_epochs.contains("no `epoch N/M ... valid_accuracy X` lines"));
    }

    #[test]
    fn the_first_epoch_at_the_target_counts_not_a_later_or_earlier_one() {
        let epochs = [
            epoch(1, 18.0, 98.9),
            epoch(2, 36.0, 99.1999),
            epoch(3, 54.0, 99.2),
            epoch(4, 72.0, 99.1),
            epoch(5, 90.0, 99.4),
        ];
        assert_eq!(first_reaching(&epochs, 99.2), Some(&epochs[2]));
        assert_eq!(first_reaching(&epochs, 99.3), Some(&epochs[4]));
        assert_eq!(first_reaching(&epochs, 99.5), None);
        // 0.9923 * 100 is 99.22999999999999 in f64: a fraction exactly at the target reaches it.
        let from_fraction = [epoch(1, 9.0, 0.9923 * 100.0)];
        assert_eq!(
            first_reaching(&from_fraction, 99.23),
            Some(&from_fraction[0])
        );
    }

    #[test]
    fn pytorch_lines_make_a_run_and_a_missing_figure_is_an_error() {
        let lines = [
            json!({"epoch": 1, "seconds": 9.5, "test_accuracy": 0.9891}),
            json!({"epoch": 2, "seconds": 19.0, "test_accuracy": 0.9925}),
            json!({"backend": "pytorch 2.15.0 cpu", "threads": 2, "seconds": 19.1}),
        ];
        let run = pytorch_epochs(&lines).unwrap();
        assert_eq!(run.label, "pytorch 2.15.0 cpu");
        assert_eq!(run.threads, 2);
        assert_eq!(run.epochs.len(), 2);
        assert_eq!(run.epochs[1].number, 2);
        assert_eq!(run.epochs[1].seconds, 19.0);
        assert!((run.epochs[1].accuracy_percent - 99.25).abs() < 1e-9);

        let missing = [json!({"epoch": 1, "seconds": 9.5}), lines[2].clone()];
        assert_eq!(
            pytorch_epochs(&missing).unwrap_err().to_string(),
            "benchmark `bench/mnist_pytorch.py --recipe`: no number at `test_accuracy` (missing)"
        );
        let no_summary = pytorch_epochs(&lines[..2]).unwrap_err().to_string();
        assert!(no_summary.contains("printed no summary line"));
        let no_epochs = pytorch_epochs(&lines[2..]).unwrap_err().to_string();
        assert!(no_epochs.contains("printed no epoch lines"));
    }

    #[test]
    fn the_tables_show_when_each_run_reached_the_target_or_that_it_did_not() {
        let burn = Run {
            label: BURN_LABEL.to_owned(),
            threads: 2,
            epochs: vec![epoch(1, 18.4, 98.9), epoch(2, 36.6, 99.25)],
        };
        let pytorch = Run {
            label: "pytorch 2.15.0 cpu".to_owned(),
            threads: 2,
            epochs: vec![epoch(1, 9.2, 99.0), epoch(2, 18.3, 99.1)],
        };
        assert_eq!(
            summary_row(&burn).unwrap(),
            "| burn 0.22 flex + train-ops | 2 | 2 | 37 s | 99.25% | 2 | 37 s |\n"
        );
        assert_eq!(
            summary_row(&pytorch).unwrap(),
            "| pytorch 2.15.0 cpu | 2 | not reached | not reached | 99.10% | 2 | 18 s |\n"
        );
        assert_eq!(
            per_epoch_table(&[&burn, &pytorch]),
            "| epoch | burn 0.22 flex + train-ops s | burn 0.22 flex + train-ops test accuracy | \
             pytorch 2.15.0 cpu s | pytorch 2.15.0 cpu test accuracy |\n\
             | ---: | ---: | ---: | ---: | ---: |\n\
             | 1 | 18 | 98.90% | 9 | 99.00% |\n\
             | 2 | 37 | 99.25% | 18 | 99.10% |\n"
        );
        assert!(comparison(&burn, &pytorch).contains("no ratio"));

        let faster = Run {
            epochs: vec![epoch(1, 9.2, 99.2)],
            ..pytorch
        };
        assert_eq!(
            comparison(&burn, &faster),
            "Time to 99.2%: burn 37 s, PyTorch 9 s; burn took 3.98x PyTorch's time.\n\n"
        );

        let without_pytorch =
            accuracy_tables(&burn, &Err("not measured: no torch".to_owned())).unwrap();
        assert!(without_pytorch.contains(
            "| framework | threads | first epoch >= 99.2% | seconds to 99.2% | final test \
             accuracy | epochs | seconds, all epochs |\n"
        ));
        assert!(without_pytorch.contains("| PyTorch CPU | | not measured: no torch | | | | |\n"));
        assert!(!without_pytorch.contains("pytorch 2.15.0"));
    }
}
