//! `novncproxy`: nova's noVNC console proxy (`nova-novncproxy`).

use clap::Parser;
use novncproxy::cli::Cli;

#[global_allocator]
static ALLOCATOR: nova_runtime::Allocator = nova_runtime::Allocator;

fn main() {
    let cli = Cli::parse();
    std::process::exit(novncproxy::startup::main(&cli));
}
