//! Where data and artifacts live, independent of the current directory.

use std::path::{Path, PathBuf};

/// Environment variable naming the data directory when `--data-dir` is not given.
pub const DATA_DIR_ENV: &str = "DATASETS_DIR";

/// The workspace root, never the current directory: the nearest directory holding
/// `Cargo.lock` above the running package's directory as cargo reports it (`cargo run`,
/// `cargo test` and their children), else above this crate's directory fixed at compile time.
/// Packages sit at the top level or under `crates/`; preferring cargo's value keeps a binary
/// correct when a build cache shared by several checkouts hands it over.
pub fn workspace_root() -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    package
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map_or_else(|| package.clone(), Path::to_path_buf)
}

/// A resolved data directory and what chose it (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    pub path: PathBuf,
    pub chosen_by: &'static str,
}

/// `--data-dir`, else `$DATASETS_DIR`, else `datasets/` at the workspace root.
pub fn resolve_data_dir(flag: Option<&Path>) -> DataDir {
    resolve_data_dir_from(flag, std::env::var_os(DATA_DIR_ENV).map(PathBuf::from))
}

fn resolve_data_dir_from(flag: Option<&Path>, env: Option<PathBuf>) -> DataDir {
    if let Some(path) = flag {
        return DataDir {
            path: path.to_path_buf(),
            chosen_by: "--data-dir",
        };
    }
    if let Some(path) = env.filter(|p| !p.as_os_str().is_empty()) {
        return DataDir {
            path,
            chosen_by: DATA_DIR_ENV,
        };
    }
    DataDir {
        path: workspace_root().join("datasets"),
        chosen_by: "default",
    }
}

/// `--artifact-dir`, else `artifacts/<algorithm>/` at the workspace root.
pub fn resolve_artifact_dir(flag: Option<&Path>, algorithm: &str) -> PathBuf {
    flag.map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("artifacts").join(algorithm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_wins_over_environment_and_default() {
        let chosen = resolve_data_dir_from(Some(Path::new("/x")), Some("/y".into()));
        assert_eq!(chosen.path, Path::new("/x"));
        assert_eq!(chosen.chosen_by, "--data-dir");
    }

    #[test]
    fn environment_wins_over_default() {
        let chosen = resolve_data_dir_from(None, Some("/y".into()));
        assert_eq!(chosen.path, Path::new("/y"));
        assert_eq!(chosen.chosen_by, DATA_DIR_ENV);
    }

    #[test]
    fn default_is_under_the_workspace_root_not_the_current_directory() {
        let chosen = resolve_data_dir_from(None, None);
        assert!(chosen.path.is_absolute());
        assert_eq!(chosen.path, workspace_root().join("datasets"));
        assert!(workspace_root().join("Cargo.toml").is_file());
    }

    #[test]
    fn artifact_dir_defaults_to_the_algorithm_folder() {
        assert_eq!(
            resolve_artifact_dir(None, "iris"),
            workspace_root().join("artifacts/iris")
        );
        assert_eq!(
            resolve_artifact_dir(Some(Path::new("out")), "iris"),
            Path::new("out")
        );
    }
}
