//! `tui`: hands over to the `holocron-tui` binary (found next to this one,
//! else on PATH) with the connection flags given to holocronctl, so
//! `holocronctl --brokers X tui` and `holocron-tui --brokers X` are the same.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use crate::cli::{GlobalArgs, TuiArgs};
use crate::exit::{CtlError, CtlResult, ErrorClass};

/// The dashboard's binary name.
const BIN: &str = "holocron-tui";

/// The arguments holocron-tui gets: the connection flags, then `args`.
pub fn forwarded(global: &GlobalArgs, args: &TuiArgs) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    let mut flag = |name: &str, value: Option<OsString>| {
        out.push(format!("--{name}").into());
        out.extend(value);
    };
    if !global.brokers.is_empty() {
        flag("brokers", Some(global.brokers.join(",").into()));
    }
    if let Some(p) = &global.profile {
        flag("profile", Some(p.into()));
    }
    if let Some(c) = &global.config {
        flag("config-file", Some(c.into()));
    }
    flag(
        "timeout",
        Some(
            humantime::format_duration(global.timeout)
                .to_string()
                .into(),
        ),
    );
    let t = &global.tls;
    if t.tls {
        flag("tls", None);
    }
    for (name, v) in [
        ("tls-ca", &t.tls_ca),
        ("tls-cert", &t.tls_cert),
        ("tls-key", &t.tls_key),
    ] {
        if let Some(v) = v {
            flag(name, Some(v.into()));
        }
    }
    if let Some(n) = &t.tls_server_name {
        flag("tls-server-name", Some(n.into()));
    }
    out.extend(args.args.iter().cloned());
    out
}

fn binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(BIN))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(BIN))
}

/// Runs the dashboard; returns when it exits (or replaces this process).
pub fn run(global: &GlobalArgs, args: TuiArgs) -> CtlResult {
    let mut cmd = Command::new(binary());
    cmd.args(forwarded(global, &args));
    let fail = |e: std::io::Error| {
        CtlError::new(
            ErrorClass::Failure,
            format!("cannot start {BIN} (install it next to holocronctl or on PATH): {e}"),
        )
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(fail(cmd.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(fail)?;
        match status.code() {
            Some(0) => Ok(()),
            _ => Err(CtlError::new(
                ErrorClass::Failure,
                format!("{BIN} failed: {status}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command as Cmd};

    #[test]
    fn connection_flags_and_the_rest_are_passed_on() {
        let cli = Cli::try_parse_from([
            "holocronctl",
            "--brokers",
            "127.0.0.1:9",
            "--timeout",
            "3s",
            "tui",
            "--interval",
            "1s",
            "--tail",
            "orders",
        ])
        .expect("parses");
        let Cmd::Tui(args) = cli.command else {
            panic!("not tui")
        };
        let got: Vec<String> = forwarded(&cli.global, &args)
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            got,
            [
                "--brokers",
                "127.0.0.1:9",
                "--timeout",
                "3s",
                "--interval",
                "1s",
                "--tail",
                "orders"
            ]
        );
    }
}
