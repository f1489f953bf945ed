//! `holocronctl`: parses nothing itself — everything lives in the library.

#[global_allocator]
static GLOBAL: holocron_proto::alloc::LazyLargeAlloc = holocron_proto::alloc::LazyLargeAlloc;

fn main() -> std::process::ExitCode {
    holocronctl::main_with_args(std::env::args_os())
}
