//! `osapi-compute`: nova's OpenStack Compute API v2.1 service
//! (`nova-api-os-compute`), with the admin commands nova-manage gives for
//! its database (`db sync`, `db version`, `db seed`).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use compute::open::{ServiceSettings, Settings};
use nova_conf::NovaConf;
use nova_runtime::api::{ApiBinary, DEFAULT_MAX_URL_LEN};
use nova_runtime::cli::ServiceArgs;
use osapi_compute::config::ApiConfig;
use osapi_compute::state::ApiState;

#[global_allocator]
static ALLOCATOR: nova_runtime::Allocator = nova_runtime::Allocator;

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

/// The compute API's settings and the compute domain's.
type Options = ServiceSettings<ApiConfig>;

const BINARY: ApiBinary<Options> = ApiBinary {
    name: "osapi_compute",
    prog: "osapi-compute",
    max_url_len: DEFAULT_MAX_URL_LEN,
    register: osapi_compute::factories::register_factories,
    groups: &[
        osapi_compute::config::OPTION_GROUPS,
        compute::options::OPTION_GROUPS,
    ],
    settings: |conf| ServiceSettings::from_conf(conf, |conf| Ok(ApiConfig::from_conf(conf))),
    init: |settings| Box::pin(init(settings)),
    prepare: Some(compute::open::prepare_service),
};

/// One worker's resources: the API state over the shared store.
async fn init(settings: Arc<Options>) -> anyhow::Result<http::Extensions> {
    let compute = compute::open::open(settings.compute.clone()).await?;
    Ok(osapi_compute::factories::resources(ApiState::new(
        Arc::new(compute),
        settings.api.clone(),
    )))
}

/// Runs a `db` command and prints its outcome.
async fn db(conf: NovaConf, action: DbAction) -> anyhow::Result<()> {
    let settings = Settings::from_conf(&conf)?;
    match action {
        DbAction::Sync => {
            let (report, bootstrap) = compute::open::sync_and_bootstrap(settings).await?;
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
            if let Some(bootstrap) = bootstrap {
                println!(
                    "identity: admin user {} {} in project {}",
                    bootstrap.user_id,
                    if bootstrap.user_created {
                        "created"
                    } else {
                        "kept"
                    },
                    bootstrap.project_id
                );
                if let Some(file) = bootstrap.generated_password_file {
                    println!(
                        "identity: the admin password was generated and written to {}",
                        file.display()
                    );
                }
            }
        }
        DbAction::Version => {
            let store = compute::Store::connect(&conf.database.connection, settings.store).await?;
            println!("{}", store.schema_version().await?);
        }
        DbAction::Seed { file } => {
            let seed = compute::Seed::from_file(&file)?;
            let compute = compute::open::open(settings).await?;
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
    let cli: Cli = nova_runtime::cli::parse(BINARY.name);
    let code = match cli.command {
        None => nova_runtime::api::main(BINARY, &cli.service),
        Some(Command::Db { action }) => {
            nova_runtime::admin::run(&BINARY, &cli.service, |conf| db(conf, action))
        }
    };
    std::process::exit(code);
}
