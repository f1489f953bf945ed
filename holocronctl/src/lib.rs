//! holocronctl, the operator CLI, as a library (the binary only calls
//! [`main_with_args`]).
//!
//! The flow of every invocation:
//!
//! 1. [`cli`]: clap parses the raw arguments (a usage error exits 2);
//! 2. [`cmd`]: the command turns them into a validated plan, then does its
//!    I/O through the `holocron-proto` client ([`connect`] resolves
//!    `--brokers`, `HOLOCRON_BROKERS`, [`profile`]s and TLS settings);
//! 3. [`output`]: the result, a documented serde type, is printed as a table
//!    or as one JSON document;
//! 4. [`exit`]: a failure is one line (or one JSON object) on stderr and a
//!    documented exit code.
//!
//! [`man`] renders the man pages in `man/` from the clap definitions.

pub mod cli;
pub mod cmd;
pub mod connect;
pub mod exit;
pub mod man;
pub mod output;
pub mod profile;
pub mod timespec;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::exit::{CtlError, ErrorClass, ErrorDoc};

/// Runs holocronctl with these arguments (the first is the program name) and
/// returns the exit code.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let json_hint = args.iter().skip(1).any(|a| a == "--json");
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e, json_hint),
    };
    let json = cli.global.json;
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.broken_pipe => ExitCode::SUCCESS,
        Err(e) => {
            report(&e, json);
            ExitCode::from(e.class.code())
        }
    }
}

/// Help and version go to stdout with exit 0; anything else is a usage error.
fn clap_exit(e: clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let msg = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                "a subcommand is required (see --help)".to_owned()
            } else {
                format!("{first} (see --help)")
            };
            let err = CtlError::usage(msg);
            report(&err, json);
            ExitCode::from(ErrorClass::Usage.code())
        }
    }
}

/// Prints an error on stderr: one line, or one JSON object with `--json`.
pub fn report(e: &CtlError, json: bool) {
    if json {
        let doc = output::Doc {
            schema: "holocron.error/v1".to_owned(),
            data: ErrorDoc::from(e),
        };
        match serde_json::to_string(&doc) {
            Ok(line) => eprintln!("{line}"),
            Err(_) => eprintln!("holocronctl: error: {}", e.message),
        }
    } else {
        eprintln!("holocronctl: error: {}", e.message);
    }
}
