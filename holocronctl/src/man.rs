//! Man pages rendered from the clap definitions: `holocronctl.1` and one
//! page per subcommand (`holocronctl-topic-create.1`, …). `man/` in the
//! repository holds the output; a test fails when it is stale, and
//! `HOLOCRON_UPDATE_MAN=1 cargo test -p holocronctl man_pages` rewrites it.

use clap::CommandFactory;

use crate::cli::Cli;

/// Every page as (file name, roff text).
pub fn render_all() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let cmd = Cli::command();
    walk(cmd, "holocronctl", &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn walk(cmd: clap::Command, name: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let cmd = cmd.name(name.to_owned()).bin_name(name.replace('-', " "));
    let mut buf = Vec::new();
    if clap_mangen::Man::new(cmd.clone()).render(&mut buf).is_ok() {
        out.push((format!("{name}.1"), buf));
    }
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        walk(sub.clone(), &format!("{name}-{}", sub.get_name()), out);
    }
}
