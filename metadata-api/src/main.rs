//! `metadata-api`: nova's metadata service (`nova-api-metadata`), which
//! guests and cloud-init read at 169.254.169.254.

use std::sync::Arc;

use clap::Parser;
use compute::open::ServiceSettings;
use metadata_api::config::MetadataConfig;
use nova_runtime::api::{ApiBinary, DEFAULT_MAX_URL_LEN};
use nova_runtime::cli::ServiceArgs;

#[global_allocator]
static ALLOCATOR: nova_runtime::Allocator = nova_runtime::Allocator;

#[derive(Parser)]
#[command(
    name = "metadata-api",
    version,
    about = "nova's metadata service (EC2 and OpenStack trees)"
)]
struct Cli {
    #[command(flatten)]
    service: ServiceArgs,
}

/// The metadata service's settings and the compute domain's.
type Options = ServiceSettings<MetadataConfig>;

const BINARY: ApiBinary<Options> = ApiBinary {
    name: "metadata",
    prog: "metadata-api",
    max_url_len: DEFAULT_MAX_URL_LEN,
    register: metadata_api::register_factories,
    groups: &[
        metadata_api::config::OPTION_GROUPS,
        compute::options::OPTION_GROUPS,
    ],
    settings: |conf| ServiceSettings::from_conf(conf, |conf| Ok(MetadataConfig::from_conf(conf))),
    init: |settings| Box::pin(init(settings)),
    prepare: Some(compute::open::prepare_service),
};

async fn init(settings: Arc<Options>) -> anyhow::Result<http::Extensions> {
    let compute = compute::open::open(settings.compute.clone()).await?;
    let mut resources = http::Extensions::new();
    resources.insert(metadata_api::service_over_compute(
        settings.api.clone(),
        compute,
    )?);
    Ok(resources)
}

fn main() {
    let cli: Cli = nova_runtime::cli::parse(BINARY.name);
    std::process::exit(nova_runtime::api::main(BINARY, &cli.service));
}
