//! `ec2-api`: nova's EC2-compatible Query API service, with the admin
//! commands that manage its store (`db sync`, `credentials`).

use std::sync::Arc;

use clap::{Parser, Subcommand};
use compute::open::ServiceSettings;
use ec2_api::config::Ec2Options;
use nova_conf::NovaConf;
use nova_runtime::api::ApiBinary;
use nova_runtime::cli::ServiceArgs;

#[global_allocator]
static ALLOCATOR: nova_runtime::Allocator = nova_runtime::Allocator;

#[derive(Parser)]
#[command(name = "ec2-api", version, about = "nova's EC2-compatible Query API")]
struct Cli {
    #[command(flatten)]
    service: ServiceArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// EC2 credentials kept in the store, for signature verification.
    Credentials {
        #[command(subcommand)]
        action: CredentialsAction,
    },
}

#[derive(Subcommand)]
enum CredentialsAction {
    /// Creates an access/secret pair for a user in a project.
    Create {
        /// The user id the credential acts as.
        #[arg(long)]
        user: String,
        /// The project id the credential acts in.
        #[arg(long)]
        project: String,
    },
    /// Lists a user's credentials.
    List {
        /// The user id.
        #[arg(long)]
        user: String,
    },
}

/// The EC2 API's settings and the compute domain's.
type Options = ServiceSettings<Ec2Options>;

const BINARY: ApiBinary<Options> = ApiBinary {
    name: "ec2",
    prog: "ec2-api",
    max_url_len: ec2_api::MAX_URL_LEN,
    register: ec2_api::register_factories,
    groups: &[
        ec2_api::config::OPTION_GROUPS,
        compute::options::OPTION_GROUPS,
    ],
    settings: |conf| ServiceSettings::from_conf(conf, Ec2Options::from_conf),
    init: |settings| Box::pin(init(settings)),
    prepare: Some(compute::open::prepare_service),
};

async fn init(settings: Arc<Options>) -> anyhow::Result<http::Extensions> {
    let compute = compute::open::open(settings.compute.clone()).await?;
    Ok(ec2_api::worker_resources(compute, settings.api.clone()))
}

async fn admin(conf: NovaConf, command: Command) -> anyhow::Result<()> {
    let Command::Credentials { action } = command;
    let settings = compute::open::Settings::from_conf(&conf)?;
    compute::open::prepare(settings.clone()).await?;
    let compute = compute::open::open(settings).await?;
    let ctx = compute::RequestContext::admin("admin", "admin");
    match action {
        CredentialsAction::Create { user, project } => {
            let cred = compute
                .create_ec2_credential(&ctx, Some(&user), Some(&project))
                .await?;
            println!("access: {}\nsecret: {}", cred.access, cred.secret);
        }
        CredentialsAction::List { user } => {
            for cred in compute.list_ec2_credentials(&ctx, Some(&user)).await? {
                println!("{} {} {}", cred.access, cred.user_id, cred.project_id);
            }
        }
    }
    Ok(())
}

fn main() {
    let cli: Cli = nova_runtime::cli::parse(BINARY.name);
    let code = match cli.command {
        None => nova_runtime::api::main(BINARY, &cli.service),
        Some(command) => {
            nova_runtime::admin::run(&BINARY, &cli.service, |conf| admin(conf, command))
        }
    };
    std::process::exit(code);
}
