//! Placeholder until this family's benchmarks land.
fn main() {}
