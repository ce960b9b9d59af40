//! `metadata-api`: nova's metadata service (`nova-api-metadata`), which
//! guests and cloud-init read at 169.254.169.254.

use std::sync::Arc;

use clap::Parser;
use common::api::{ApiBinary, DEFAULT_MAX_URL_LEN};
use common::cli::ServiceArgs;
use common::config::NovaConf;

/// glibc's malloc, with small reallocations made cheap (see `common::alloc`).
#[global_allocator]
static ALLOCATOR: common::alloc::Allocator = common::alloc::Allocator;

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

const BINARY: ApiBinary = ApiBinary {
    name: "metadata",
    prog: "metadata-api",
    max_url_len: DEFAULT_MAX_URL_LEN,
    register: metadata_api::register_factories,
    check: |conf| {
        metadata_config(conf)?;
        settings(conf)?;
        Ok(())
    },
    init: |conf| Box::pin(init(conf)),
    prepare: Some(|conf| {
        let settings = settings(&conf);
        Box::pin(async move { Ok(compute::open::prepare(settings?).await?) })
    }),
};

/// One worker's resources: the metadata service over the shared store.
async fn init(conf: Arc<NovaConf>) -> anyhow::Result<http::Extensions> {
    let compute = compute::open::open(settings(&conf)?).await?;
    let config = metadata_config(&conf)?;
    let mut resources = http::Extensions::new();
    resources.insert(metadata_api::service_over_compute(config, compute)?);
    Ok(resources)
}

/// The metadata service's options; a bad value names its source.
fn metadata_config(conf: &NovaConf) -> anyhow::Result<metadata_api::config::MetadataConfig> {
    metadata_api::config::MetadataConfig::from_nova_conf(conf).map_err(|e| {
        conf.invalid_value(&e.section, &e.option, &e.value, e.reason)
            .into()
    })
}

/// The compute domain's options, read from nova.conf.
fn settings(conf: &NovaConf) -> compute::Result<compute::open::Settings> {
    compute::open::Settings::from_raw(&conf.database.connection, |group, option| {
        conf.get_str(group, option).ok().flatten()
    })
}

fn main() {
    let cli: Cli = common::cli::parse(BINARY.name);
    std::process::exit(common::api::main(BINARY, &cli.service));
}
