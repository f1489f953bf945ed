//! Test harness: start and stop real holocrond processes.
