//! The metadata-api binary.

fn main() {}
