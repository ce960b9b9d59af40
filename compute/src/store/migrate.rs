//! Versioned schema migrations, embedded in the binary.
//!
//! Each migration has one SQL script per engine. Applied versions are
//! recorded in a `schema_version` table; [`Store::migrate`] applies the
//! missing ones under the store's write lock (so several processes may run
//! it at once), does nothing when the schema is current, and refuses a
//! database whose schema is newer than this build ([`Error::SchemaTooNew`]).

use super::{Engine, Store, Tx};
use crate::{Error, Result};

/// One schema version.
struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial schema",
        sqlite: include_str!("../../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        description: "client tokens",
        sqlite: include_str!("../../migrations/sqlite/0002_client_tokens.sql"),
        postgres: include_str!("../../migrations/postgres/0002_client_tokens.sql"),
    },
    Migration {
        version: 3,
        description: "injected files",
        sqlite: include_str!("../../migrations/sqlite/0003_injected_files.sql"),
        postgres: include_str!("../../migrations/postgres/0003_injected_files.sql"),
    },
    Migration {
        version: 4,
        description: "index of the addresses deleted instances held",
        sqlite: include_str!("../../migrations/sqlite/0004_fixed_ip_history.sql"),
        postgres: include_str!("../../migrations/postgres/0004_fixed_ip_history.sql"),
    },
    Migration {
        version: 5,
        description: "networks, subnets, ports and their addresses",
        sqlite: include_str!("../../migrations/sqlite/0005_network.sql"),
        postgres: include_str!("../../migrations/postgres/0005_network.sql"),
    },
    Migration {
        version: 6,
        description: "security groups, their rules and the groups of ports",
        sqlite: include_str!("../../migrations/sqlite/0006_security_groups.sql"),
        postgres: include_str!("../../migrations/postgres/0006_security_groups.sql"),
    },
    Migration {
        version: 7,
        description: "routers and floating IPs",
        sqlite: include_str!("../../migrations/sqlite/0007_routers_floating_ips.sql"),
        postgres: include_str!("../../migrations/postgres/0007_routers_floating_ips.sql"),
    },
    Migration {
        version: 8,
        description:
            "the built-in identity: domains, projects, users, groups, roles, assignments, tokens",
        sqlite: include_str!("../../migrations/sqlite/0008_identity.sql"),
        postgres: include_str!("../../migrations/postgres/0008_identity.sql"),
    },
    Migration {
        version: 9,
        description: "image writes: hidden images, hashes, tags, members, deletes",
        sqlite: include_str!("../../migrations/sqlite/0009_image_writes.sql"),
        postgres: include_str!("../../migrations/postgres/0009_image_writes.sql"),
    },
    Migration {
        version: 10,
        description: "instance ports",
        sqlite: include_str!("../../migrations/sqlite/0010_instance_ports.sql"),
        postgres: include_str!("../../migrations/postgres/0010_instance_ports.sql"),
    },
    Migration {
        version: 11,
        description: "network quotas, the default external network, auto-allocated topologies",
        sqlite: include_str!("../../migrations/sqlite/0011_network_quotas_auto_topology.sql"),
        postgres: include_str!("../../migrations/postgres/0011_network_quotas_auto_topology.sql"),
    },
    Migration {
        version: 12,
        description: "interface order",
        sqlite: include_str!("../../migrations/sqlite/0012_interface_order.sql"),
        postgres: include_str!("../../migrations/postgres/0012_interface_order.sql"),
    },
    Migration {
        version: 13,
        description: "image tasks and the metadata definitions catalog",
        sqlite: include_str!("../../migrations/sqlite/0013_image_tasks_metadefs.sql"),
        postgres: include_str!("../../migrations/postgres/0013_image_tasks_metadefs.sql"),
    },
    Migration {
        version: 14,
        description: "application credentials, access rules, /v3/credentials",
        sqlite: include_str!("../../migrations/sqlite/0014_application_credentials.sql"),
        postgres: include_str!("../../migrations/postgres/0014_application_credentials.sql"),
    },
    Migration {
        version: 15,
        description: "server groups and their members, host aggregates with hosts and metadata",
        sqlite: include_str!("../../migrations/sqlite/0015_server_groups_aggregates.sql"),
        postgres: include_str!("../../migrations/postgres/0015_server_groups_aggregates.sql"),
    },
    Migration {
        version: 16,
        description: "instance system metadata (shelve)",
        sqlite: include_str!("../../migrations/sqlite/0016_instance_system_metadata.sql"),
        postgres: include_str!("../../migrations/postgres/0016_instance_system_metadata.sql"),
    },
    Migration {
        version: 17,
        description: "EC2 tags of images and security groups",
        sqlite: include_str!("../../migrations/sqlite/0017_ec2_tags.sql"),
        postgres: include_str!("../../migrations/postgres/0017_ec2_tags.sql"),
    },
    Migration {
        version: 18,
        description: "quota classes; the pinned availability zone and scheduler hints of a create",
        sqlite: include_str!("../../migrations/sqlite/0018_quota_classes_request_spec.sql"),
        postgres: include_str!("../../migrations/postgres/0018_quota_classes_request_spec.sql"),
    },
    Migration {
        version: 19,
        description: "migration records (cold and live migrations, resizes, evacuations)",
        sqlite: include_str!("../../migrations/sqlite/0019_migrations.sql"),
        postgres: include_str!("../../migrations/postgres/0019_migrations.sql"),
    },
    Migration {
        version: 20,
        description: "console auth tokens; the uploads of snapshots being saved",
        sqlite: include_str!("../../migrations/sqlite/0020_console_tokens_snapshot_uploads.sql"),
        postgres: include_str!(
            "../../migrations/postgres/0020_console_tokens_snapshot_uploads.sql"
        ),
    },
    Migration {
        version: 21,
        description: "the sequence of an instance's network view, kept by triggers",
        sqlite: include_str!("../../migrations/sqlite/0021_instance_net_seq.sql"),
        postgres: include_str!("../../migrations/postgres/0021_instance_net_seq.sql"),
    },
];

/// The newest schema version this build knows.
pub const LATEST_SCHEMA_VERSION: i64 = 21;

/// What [`Store::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// The schema version before (0: an empty database).
    pub from_version: i64,
    /// The schema version after.
    pub to_version: i64,
    /// Whether the default flavors and image were seeded.
    pub seeded: bool,
}

const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (\
    version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)";

impl Store {
    /// Brings the schema to [`LATEST_SCHEMA_VERSION`] (idempotent) and, on
    /// the first migration of an empty database, seeds the defaults unless
    /// [`super::StoreOptions::seed_defaults`] is off. This is the `db sync`
    /// admin command.
    pub async fn migrate(&self) -> Result<MigrationReport> {
        let mut tx = self.begin_locked("nova-api-rs:migrate").await?;
        tx.execute(CREATE_VERSION_TABLE, vec![]).await?;
        let from = current_version(&mut tx).await?;
        if from > LATEST_SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found: from,
                supported: LATEST_SCHEMA_VERSION,
            });
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > from) {
            let sql = match self.engine() {
                Engine::Sqlite => m.sqlite,
                Engine::Postgres => m.postgres,
            };
            tx.execute_script(sql).await?;
            tx.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES ($1, $2, $3)",
                super::args![m.version, m.description, super::now_micros()],
            )
            .await?;
            tracing::info!(
                version = m.version,
                description = m.description,
                "applied schema migration"
            );
        }
        let seeded = from == 0 && self.options().seed_defaults;
        if seeded {
            crate::seed::seed_defaults(
                &mut tx,
                self.options().seed_network,
                self.options().seed_external_network,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(MigrationReport {
            from_version: from,
            to_version: LATEST_SCHEMA_VERSION,
            seeded,
        })
    }

    /// The schema version of the database (0 when it has none).
    pub async fn schema_version(&self) -> Result<i64> {
        let exists: (i64,) = match self.engine() {
            Engine::Sqlite => {
                self.fetch_one_ungated(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
                    vec![],
                )
                .await?
            }
            Engine::Postgres => {
                self.fetch_one_ungated(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_version'",
                    vec![],
                )
                .await?
            }
        };
        if exists.0 == 0 {
            return Ok(0);
        }
        let (v,): (i64,) = self
            .fetch_one_ungated(
                "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM schema_version",
                vec![],
            )
            .await?;
        Ok(v)
    }

    /// Fails unless the schema is exactly the one this build knows:
    /// [`Error::SchemaMissing`] for an empty database, [`Error::SchemaTooNew`]
    /// for a newer one. Binaries that do not migrate on start call this.
    pub async fn check_schema(&self) -> Result<()> {
        match self.schema_version().await? {
            0 => Err(Error::SchemaMissing),
            v if v > LATEST_SCHEMA_VERSION => Err(Error::SchemaTooNew { found: v, supported: LATEST_SCHEMA_VERSION }),
            v if v < LATEST_SCHEMA_VERSION => Err(Error::Internal(format!(
                "the database schema is at version {v}, older than {LATEST_SCHEMA_VERSION}: run the db sync command"
            ))),
            _ => Ok(()),
        }
    }
}

async fn current_version(tx: &mut Tx) -> Result<i64> {
    let (v,): (i64,) = tx
        .fetch_one(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM schema_version",
            vec![],
        )
        .await?;
    Ok(v)
}
