//! The runtime alone, with no API behind it: serves whatever paste's
//! debugging apps (`egg:Paste#test`, `egg:Paste#slow`) the api-paste.ini
//! maps for the `osapi_compute` app name. For trying launcher behaviour
//! (workers, signals, limits) without a database.

use clap::Parser;
use nova_runtime::api::{ApiBinary, DEFAULT_MAX_URL_LEN};
use nova_runtime::cli::ServiceArgs;

#[derive(Parser)]
#[command(
    name = "debug-service",
    about = "The nova-api runtime serving paste's debug apps"
)]
struct Cli {
    #[command(flatten)]
    service: ServiceArgs,
}

const BINARY: ApiBinary<()> = ApiBinary {
    name: "osapi_compute",
    prog: "debug-service",
    max_url_len: DEFAULT_MAX_URL_LEN,
    register: |_| {},
    groups: &[],
    settings: |_| Ok(()),
    init: |_| Box::pin(async { Ok(http::Extensions::new()) }),
    prepare: None,
};

fn main() {
    let cli = Cli::parse();
    std::process::exit(nova_runtime::api::main(BINARY, &cli.service));
}
