//! `completion`: shell completion scripts generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionArgs};
use crate::exit::CtlResult;
use crate::output::write_stdout;

/// Prints the script for one shell.
pub fn run(args: &CompletionArgs) -> CtlResult {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "holocronctl", &mut buf);
    write_stdout(&buf)
}
