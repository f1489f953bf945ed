//! Test harness for Holocron's end-to-end tests.
//!
//! The integration tests in `tests/tests/*.rs` start real `holocrond`
//! processes and talk to them with real Kafka clients. This crate gives them:
//!
//! - [`broker`]: [`Broker`], one `holocrond` on free 127.0.0.1 ports with a
//!   temp data dir, started only once it answers ApiVersions, stopped by PID
//!   (never left behind), with its log printed when a test fails;
//! - [`process`]: running commands (Python client scripts, kcat) with a time
//!   limit and captured output;
//! - [`records`]: reading the producer's acknowledgement log and topic dumps
//!   written by the Python scripts, and the durability checks on them;
//! - [`tools`]: where the binaries, the Python scripts and kcat are, and
//!   helpers to run them.
//!
//! Binaries are found through `HOLOCROND_BIN` / `HOLOCRONCTL_BIN`, else next
//! to the test executable (`target/<profile>/`), which `scripts/test` fills
//! with `cargo build --workspace --bins` before `cargo test`.

pub mod broker;
pub mod process;
pub mod records;
pub mod tools;

pub use broker::{Broker, BrokerOpts, Stopped};
pub use tools::{holocronctl_bin, holocrond_bin, kcat, python_script, run_python};
