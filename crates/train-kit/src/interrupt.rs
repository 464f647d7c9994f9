//! Named points where a run can be held for a test to kill it.
//!
//! `TRAIN_KIT_STOP_AT=<point>` makes a training binary print one line naming the point to
//! stderr when it gets there and then wait, doing nothing, until it is killed: the resume tests
//! send SIGKILL at exactly the moments that matter (mid-epoch, right after a checkpoint, while
//! the artifacts are being written, between swapping the new artifact directory in and
//! removing the old one). Unset, every point is a no-op.

use std::sync::OnceLock;

/// The variable that names the point to stop at.
pub const STOP_AT_ENV: &str = "TRAIN_KIT_STOP_AT";

/// Where a run can be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopPoint {
    /// Before training batch `batch` (from 1) of `batches` in epoch `epoch` is handed out;
    /// `epoch:N` holds halfway through epoch N.
    TrainingBatch {
        epoch: usize,
        batch: usize,
        batches: usize,
    },
    /// After the last record of epoch N's checkpoint is written; `checkpoint:N`.
    Checkpoint(usize),
    /// After `model.bpk` and `config.json` are in the staging directory, before the rest and
    /// the swap; `artifacts`.
    Artifacts,
    /// After the new artifact directory has replaced the old, before the old is removed;
    /// `commit`.
    Commit,
}

/// The point `TRAIN_KIT_STOP_AT` names, parsed once; `None` when unset or unreadable.
fn requested() -> Option<&'static Requested> {
    static REQUESTED: OnceLock<Option<Requested>> = OnceLock::new();
    REQUESTED
        .get_or_init(|| {
            std::env::var(STOP_AT_ENV)
                .ok()
                .and_then(|v| Requested::parse(&v))
        })
        .as_ref()
}

#[derive(Debug, PartialEq, Eq)]
enum Requested {
    MidEpoch(usize),
    Checkpoint(usize),
    Artifacts,
    Commit,
}

impl Requested {
    fn parse(text: &str) -> Option<Self> {
        let number = |s: &str| s.parse::<usize>().ok();
        match text.split_once(':') {
            Some(("epoch", n)) => number(n).map(Self::MidEpoch),
            Some(("checkpoint", n)) => number(n).map(Self::Checkpoint),
            None if text == "artifacts" => Some(Self::Artifacts),
            None if text == "commit" => Some(Self::Commit),
            _ => None,
        }
    }
}

/// The epochs a run held at the point named `point` has finished: N-1 at `epoch:N`, N at
/// `checkpoint:N`; `None` for the points after training and for names that are no point.
/// burn writes an epoch's checkpoint and logs in background threads, so they can reach the
/// disk after the run is held.
pub fn epochs_done_at(point: &str) -> Option<usize> {
    match Requested::parse(point)? {
        Requested::MidEpoch(n) => Some(n.saturating_sub(1)),
        Requested::Checkpoint(n) => Some(n),
        Requested::Artifacts | Requested::Commit => None,
    }
}

/// Holds the process at `point` when `TRAIN_KIT_STOP_AT` names it.
pub fn stop_point(point: StopPoint) {
    let Some(requested) = requested() else {
        return;
    };
    let hit = match (requested, point) {
        (
            Requested::MidEpoch(n),
            StopPoint::TrainingBatch {
                epoch,
                batch,
                batches,
            },
        ) => *n == epoch && batch == batches / 2 + 1,
        (Requested::Checkpoint(n), StopPoint::Checkpoint(epoch)) => *n == epoch,
        (Requested::Artifacts, StopPoint::Artifacts) | (Requested::Commit, StopPoint::Commit) => {
            true
        }
        _ => false,
    };
    if !hit {
        return;
    }
    eprintln!("stopped at {point:?} ({STOP_AT_ENV} is set); waiting to be killed");
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_named_as_documented() {
        assert_eq!(Requested::parse("epoch:2"), Some(Requested::MidEpoch(2)));
        assert_eq!(
            Requested::parse("checkpoint:3"),
            Some(Requested::Checkpoint(3))
        );
        assert_eq!(Requested::parse("artifacts"), Some(Requested::Artifacts));
        assert_eq!(Requested::parse("commit"), Some(Requested::Commit));
        assert_eq!(Requested::parse("epoch:"), None);
        assert_eq!(Requested::parse("later"), None);
    }

    #[test]
    fn a_point_says_which_epochs_are_done_there() {
        assert_eq!(epochs_done_at("epoch:2"), Some(1));
        assert_eq!(epochs_done_at("checkpoint:2"), Some(2));
        assert_eq!(epochs_done_at("artifacts"), None);
        assert_eq!(epochs_done_at("commit"), None);
        assert_eq!(epochs_done_at("later"), None);
    }
}
