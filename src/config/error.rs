//! What is wrong with a config: every problem found, each with its key and line.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a config: the key, its line when found, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key path, e.g. `plates[2].target`.
    pub key: String,
    /// 1-based line in the config file, when it could be located.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

/// A config that cannot be used. Lists every problem found.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// Every problem found.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{} has {n} problem{}:", self.path.display(), if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {}", self.format_problem(p))?;
        }
        Ok(())
    }
}

impl ConfigError {
    pub(super) fn single(
        path: &Path,
        key: &str,
        line: Option<usize>,
        message: String,
    ) -> ConfigError {
        ConfigError {
            path: path.to_path_buf(),
            problems: vec![ConfigProblem { key: key.to_string(), line, message }],
        }
    }

    /// One problem as `file:line: key: message`.
    #[must_use]
    pub fn format_problem(&self, p: &ConfigProblem) -> String {
        let loc = match p.line {
            Some(l) => format!("{}:{l}", self.path.display()),
            None => self.path.display().to_string(),
        };
        if p.key.is_empty() {
            format!("{loc}: {}", p.message)
        } else {
            format!("{loc}: `{}`: {}", p.key, p.message)
        }
    }
}
