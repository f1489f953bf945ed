//! `holocron-tui`: everything lives in the library.

fn main() -> std::process::ExitCode {
    holocron_tui::main_with_args(std::env::args_os())
}
