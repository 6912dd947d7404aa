//! The CLI's error type and exit codes, and writing results to stdout.
//!
//! Exit codes (the interface contract in DESIGN.md): 0 success; 1 the operation
//! failed (a rejected transaction, one the dry run refuses, an unknown transaction,
//! a disk error); 2 bad input (unreadable file, invalid genesis, malformed address,
//! an amount with too many decimals); 3 the node could not be reached (no
//! connection: down, or the wrong `--api`). clap's own usage errors also exit with 2.

use std::io::Write;
use std::process::ExitCode;

/// Why a command did not succeed. The message is printed as `error: <message>`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The user gave something unusable: fix the input and retry. Exit code 2.
    #[error("{0}")]
    BadInput(String),
    /// The input was fine but the operation failed. Exit code 1.
    #[error("{0}")]
    Failed(String),
    /// No connection to the node could be made. Exit code 3.
    #[error("{0}")]
    Unreachable(String),
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            CliError::BadInput(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::from(1),
            CliError::Unreachable(_) => ExitCode::from(3),
        }
    }
}

/// Writes `text` to stdout. Unlike `print!`, a closed pipe is an error, not a panic.
pub(crate) fn stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Failed(format!("cannot write to stdout: {e}")))
}
