//! The one error type of the compute domain, with nova's messages.
//!
//! Error policy: every public operation returns `Result<T, compute::Error>`.
//! The variants are what callers match on; each API crate turns them into
//! its own wire format in one place (nova JSON fault, EC2 XML, metadata
//! text). The `Display` text of a client-facing variant is nova's own
//! message and is safe to show; [`Error::Store`] and [`Error::Internal`]
//! carry internal details that must be logged, never shown.

use std::fmt;

/// What kind of thing was not found, duplicated or refused.
///
/// The API crates use it to pick their error codes (for instance EC2's
/// `InvalidInstanceID.NotFound` versus `InvalidKeyPair.NotFound`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A server (instance).
    Instance,
    /// A flavor.
    Flavor,
    /// A keypair.
    Keypair,
    /// An image.
    Image,
    /// A member of a shared image.
    ImageMember,
    /// An instance action (os-instance-actions).
    InstanceAction,
    /// A metadata key of an instance.
    MetadataKey,
    /// A flavor extra spec key.
    ExtraSpec,
    /// A flavor access entry.
    FlavorAccess,
    /// A tag of an instance.
    Tag,
    /// An EC2 credential.
    Ec2Credential,
    /// A service (os-services).
    Service,
    /// A hypervisor (os-hypervisors).
    Hypervisor,
    /// A compute host.
    Host,
    /// An availability zone.
    AvailabilityZone,
    /// A network (of the network domain).
    Network,
    /// A port (of the network domain).
    Port,
    /// A security group.
    SecurityGroup,
    /// A floating IP, by address.
    FloatingIp,
    /// A Glance task.
    Task,
    /// A server group (nova's instance group).
    ServerGroup,
    /// A host aggregate, by id.
    Aggregate,
    /// A console auth token (os-console-auth-tokens).
    ConsoleAuthToken,
}

impl Kind {
    /// The human name nova uses in its messages ("Instance", "Flavor", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Instance => "Instance",
            Kind::Flavor => "Flavor",
            Kind::Keypair => "Keypair",
            Kind::Image => "Image",
            Kind::ImageMember => "Image member",
            Kind::InstanceAction => "Action",
            Kind::MetadataKey => "Metadata key",
            Kind::ExtraSpec => "Flavor extra spec",
            Kind::FlavorAccess => "Flavor access",
            Kind::Tag => "Tag",
            Kind::Ec2Credential => "EC2 credential",
            Kind::Service => "Service",
            Kind::Hypervisor => "Hypervisor",
            Kind::Host => "Compute host",
            Kind::AvailabilityZone => "Availability zone",
            Kind::Network => "Network",
            Kind::Port => "Port",
            Kind::SecurityGroup => "Security group",
            Kind::FloatingIp => "Floating IP",
            Kind::Task => "Task",
            Kind::ServerGroup => "Instance group",
            Kind::Aggregate => "Aggregate",
            Kind::ConsoleAuthToken => "Console auth token",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every error of the compute domain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing does not exist, or is not visible to the caller (nova
    /// answers 404 for both, so another project's server is "not found").
    #[error("{}", not_found_message(*kind, id))]
    NotFound {
        /// What was looked up.
        kind: Kind,
        /// The id or name that was asked for.
        id: String,
    },

    /// An action is not allowed in the instance's current state (nova's
    /// `InstanceInvalidState`, shown as 409 by the compute API and as
    /// `IncorrectState` by EC2).
    #[error("Cannot '{action}' instance {uuid} while it is in {attr} {state}")]
    InvalidState {
        /// The action asked for, as nova names it (`stop`, `reboot`, ...).
        action: String,
        /// The instance uuid.
        uuid: String,
        /// Which state attribute blocks it: `vm_state` or `task_state`.
        attr: &'static str,
        /// The value of that attribute.
        state: String,
    },

    /// No migration record `migration_id` of instance `instance_uuid`
    /// (nova's `MigrationNotFoundForInstance`: 404, 400 for force_complete).
    #[error("Migration {migration_id} not found for instance {instance_uuid}")]
    MigrationNotFound {
        /// The record id asked for.
        migration_id: i64,
        /// The instance.
        instance_uuid: String,
    },

    /// The instance is locked and the caller may not act on it (409).
    #[error("Instance {uuid} is locked")]
    Locked {
        /// The instance uuid.
        uuid: String,
    },

    /// A quota would be exceeded (nova's `OverQuota` family: 403 for
    /// servers, 413/403 for others; EC2 `ResourceLimitExceeded`).
    #[error("{message}")]
    QuotaExceeded {
        /// The quota resource (`instances`, `cores`, `ram`, `key_pairs`,
        /// `metadata_items`, ...); several joined with ", " for servers.
        resource: String,
        /// How many were asked for.
        requested: i64,
        /// How many are in use already.
        used: i64,
        /// The limit.
        allowed: i64,
        /// nova's message for this case.
        message: String,
    },

    /// The thing exists already (a keypair or flavor name, a flavor id).
    #[error("{message}")]
    Duplicate {
        /// What kind of thing.
        kind: Kind,
        /// The name or id that clashed.
        name: String,
        /// nova's message ("Key pair 'k' already exists.").
        message: String,
    },

    /// A request that conflicts with the current state other than an
    /// instance state (e.g. the metadata password is set already; the
    /// fixed IP range is exhausted) (409).
    #[error("{0}")]
    Conflict(String),

    /// Bad input: a value failed validation here (400 / EC2
    /// `InvalidParameterValue`). The message names the field.
    #[error("{0}")]
    Invalid(String),

    /// The caller is not allowed to do this (policy: admin only) (403).
    #[error("{0}")]
    Forbidden(String),

    /// A `[database] connection` URL that names no engine we have.
    #[error("[database] connection: unsupported database URL '{url}': expected sqlite:///relative/path, sqlite:////absolute/path, postgresql://, postgresql+psycopg2:// or postgres://")]
    UnsupportedUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
    },

    /// A `[database] connection` URL of a known engine that cannot be read
    /// (a port that is no number, say).
    #[error("[database] connection: cannot read the database URL '{url}': {reason}")]
    BadUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// `[database] connection` names an in-memory SQLite database, which
    /// the services refuse: it would be private to one process.
    #[error("[database] connection = {url} is an in-memory SQLite database, private to one process: each worker, each API and each admin command would get its own empty one, lost at exit; use a file path, such as sqlite:////var/lib/nova/nova.sqlite")]
    InMemoryDatabase {
        /// The URL as given.
        url: String,
    },

    /// The database of `[database] connection` cannot be opened or reached
    /// (found when a store connects at once, as at start-up).
    #[error("[database] connection: cannot open {target}: {reason}; {advice}")]
    Unavailable {
        /// What was opened: the SQLite file's path, or the PostgreSQL
        /// server's host and port (never its password).
        target: String,
        /// Why it failed.
        reason: String,
        /// What the operator can do about it.
        advice: String,
    },

    /// The database was migrated by a newer release than this one.
    #[error("the database schema is at version {found}, newer than the latest this release knows ({supported}); upgrade nova-api-rs or point it at another database")]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },

    /// The database has not been migrated (no schema at all).
    #[error("the database has no schema: run the db sync command first")]
    SchemaMissing,

    /// A database error. Internal: log it, answer 500 without the text.
    #[error("database error: {0}")]
    Store(sqlx::Error),

    /// Any other internal failure. Internal: log it, answer 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        crate::store::health::note_error(&err);
        Error::Store(err)
    }
}

fn not_found_message(kind: Kind, id: &str) -> String {
    match kind {
        Kind::Keypair => format!("Keypair {id} not found"),
        Kind::MetadataKey => format!("Metadata item was not found: {id}"),
        Kind::ExtraSpec => format!("Flavor has no extra specs with key {id}."),
        Kind::Tag => format!("Tag {id} could not be found."),
        Kind::ImageMember => format!("{id} not found in the member list of the image."),
        Kind::InstanceAction => format!("Action for request_id {id} not found"),
        Kind::FlavorAccess => format!("Flavor access not found for {id}."),
        Kind::Host => format!("Compute host {id} could not be found."),
        Kind::Port => format!("Port id {id} could not be found."),
        Kind::SecurityGroup => format!("Security group {id} not found."),
        Kind::FloatingIp => "floating IP not found".to_string(),
        Kind::Task => format!("Task with the given id {id} was not found"),
        Kind::ConsoleAuthToken => "Token not found".to_string(),
        other => format!("{other} {id} could not be found."),
    }
}

impl Error {
    /// A [`Error::NotFound`] of `kind` for `id`.
    pub fn not_found(kind: Kind, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// An [`Error::Invalid`] with `msg`.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }

    /// True for errors whose text is internal ([`Error::Store`],
    /// [`Error::Internal`] and the start-up errors): log, do not show.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Error::Store(_)
                | Error::Internal(_)
                | Error::UnsupportedUrl { .. }
                | Error::BadUrl { .. }
                | Error::InMemoryDatabase { .. }
                | Error::Unavailable { .. }
                | Error::SchemaTooNew { .. }
                | Error::SchemaMissing
        )
    }

    pub(crate) fn quota(resource: &str, requested: i64, used: i64, allowed: i64) -> Self {
        let message = match resource {
            "key_pairs" => "Quota exceeded, too many key pairs.".to_string(),
            "metadata_items" => format!("Maximum number of metadata items exceeds {allowed}"),
            "injected_files" => "Personality file limit exceeded".to_string(),
            "injected_file_path_length" => {
                format!("Personality file path exceeds maximum {allowed}")
            }
            "injected_file_content_bytes" => {
                format!("Personality file content exceeds maximum {allowed}")
            }
            _ => format!(
                "Quota exceeded for {resource}: Requested {requested}, but already used {used} of {allowed} {resource}"
            ),
        };
        Error::QuotaExceeded {
            resource: resource.to_string(),
            requested,
            used,
            allowed,
            message,
        }
    }

    pub(crate) fn duplicate(kind: Kind, name: impl Into<String>) -> Self {
        let name = name.into();
        let message = match kind {
            Kind::Keypair => format!("Key pair '{name}' already exists."),
            Kind::Flavor => format!("Flavor with name {name} already exists."),
            Kind::FlavorAccess => format!("Flavor access already exists for {name}."),
            Kind::Image => format!("Image {name} already exists."),
            other => format!("{other} {name} already exists."),
        };
        Error::Duplicate {
            kind,
            name,
            message,
        }
    }
}

/// The result type of the compute domain.
pub type Result<T, E = Error> = std::result::Result<T, E>;
