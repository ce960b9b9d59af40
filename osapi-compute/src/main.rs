//! `osapi-compute`: nova's OpenStack Compute API v2.1 service
//! (`nova-api-os-compute`), with the admin commands nova-manage gives for
//! its database (`db sync`, `db version`, `db seed`).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use common::api::{ApiBinary, DEFAULT_MAX_URL_LEN};
use common::cli::ServiceArgs;
use common::config::NovaConf;
use osapi_compute::config::ApiConfig;
use osapi_compute::state::ApiState;

/// glibc's malloc, with small reallocations made cheap (see `common::alloc`).
#[global_allocator]
static ALLOCATOR: common::alloc::Allocator = common::alloc::Allocator;

#[derive(Parser)]
#[command(
    name = "osapi-compute",
    version,
    about = "nova's OpenStack Compute API v2.1"
)]
struct Cli {
    #[command(flatten)]
    service: ServiceArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Database administration (nova-manage db).
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
}

#[derive(Subcommand)]
enum DbAction {
    /// Applies every pending schema migration (and seeds an empty database
    /// unless `[simulator] seed_defaults = false`).
    Sync,
    /// Prints the schema version of the database.
    Version,
    /// Loads flavors and images from a JSON catalogue file, skipping those
    /// that exist.
    Seed {
        /// The catalogue: `{"flavors": [...], "images": [...]}`.
        file: PathBuf,
    },
}

const BINARY: ApiBinary = ApiBinary {
    name: "osapi_compute",
    prog: "osapi-compute",
    max_url_len: DEFAULT_MAX_URL_LEN,
    register: osapi_compute::factories::register_factories,
    check: |conf| {
        api_config(conf)?;
        settings(conf)?;
        Ok(())
    },
    init: |conf| Box::pin(init(conf)),
    prepare: Some(|conf| {
        let settings = settings(&conf);
        Box::pin(async move { Ok(compute::open::prepare(settings?).await?) })
    }),
};

/// One worker's resources: the API state over the shared store.
async fn init(conf: Arc<NovaConf>) -> anyhow::Result<http::Extensions> {
    let config = api_config(&conf)?;
    let compute = compute::open::open(settings(&conf)?).await?;
    let mut resources = http::Extensions::new();
    resources.insert(ApiState::new(Arc::new(compute), config));
    Ok(resources)
}

/// The compute API's options; a bad value names its source.
fn api_config(conf: &NovaConf) -> anyhow::Result<ApiConfig> {
    ApiConfig::from_raw(|group, option| conf.get_str(group, option).ok().flatten()).map_err(|e| {
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

/// Runs a `db` command and prints its outcome.
async fn db(conf: NovaConf, action: DbAction) -> anyhow::Result<()> {
    match action {
        DbAction::Sync => {
            let report = compute::open::sync(settings(&conf)?).await?;
            println!(
                "schema version {} -> {}{}",
                report.from_version,
                report.to_version,
                if report.seeded {
                    ", default flavors and image seeded"
                } else {
                    ""
                }
            );
        }
        DbAction::Version => {
            let store =
                compute::Store::connect(&conf.database.connection, settings(&conf)?.store).await?;
            println!("{}", store.schema_version().await?);
        }
        DbAction::Seed { file } => {
            let seed = compute::Seed::from_file(&file)?;
            let compute = compute::open::open(settings(&conf)?).await?;
            let ctx = compute::RequestContext::admin("admin", "admin");
            let report = compute.apply_seed(&ctx, &seed).await?;
            println!(
                "flavors created: {:?}\nimages created: {:?}",
                report.flavors_created, report.images_created
            );
        }
    }
    Ok(())
}

fn main() {
    let cli: Cli = common::cli::parse(BINARY.name);
    let code = match cli.command {
        None => common::api::main(BINARY, &cli.service),
        Some(Command::Db { action }) => {
            common::admin::run(BINARY.prog, &cli.service, BINARY.name, |conf| {
                db(conf, action)
            })
        }
    };
    std::process::exit(code);
}
