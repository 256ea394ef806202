//! Connecting, and creating or migrating the schema. Journey runs its own versioned migrations
//! (`postgres/migrations/V<n>__<name>.sql`, applied by refinery, recorded in `refinery_schema_history`) every
//! time a store opens; a database with a migration this build does not know, or a changed one, is refused.

use std::sync::Arc;
use std::time::Duration;

use journey_core::content_keys::KeyEncryptionKey;
use refinery::{Migration, Runner};
use tokio_postgres::NoTls;

use crate::error::{PgError, PgResult};

/// Every migration, in order. Released ones are never edited: the checksum refinery keeps would refuse the
/// database.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "V1__journey_log",
        include_str!("../migrations/V1__journey_log.sql"),
    ),
    (
        "V2__journey_journal_and_blobs",
        include_str!("../migrations/V2__journey_journal_and_blobs.sql"),
    ),
    (
        "V3__journey_tree",
        include_str!("../migrations/V3__journey_tree.sql"),
    ),
    (
        "V4__journey_checkpoints",
        include_str!("../migrations/V4__journey_checkpoints.sql"),
    ),
    (
        "V5__journey_content_keys",
        include_str!("../migrations/V5__journey_content_keys.sql"),
    ),
];

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// `postgresql://user:password@host:port/database` (or libpq's `key=value` form).
    pub url: String,
    /// The schema holding Journey's tables, created if missing; `None` uses the connection's default
    /// (`public`, usually). Tests give each case its own.
    pub schema: Option<String>,
    /// Connections in the pool, shared by reads and the appender.
    pub pool_size: usize,
    /// How many appends queued in this process go into one transaction at most.
    pub max_batch: usize,
    /// How often the head is read when no notification arrives: the fallback if LISTEN/NOTIFY is lost (a
    /// dropped connection, a proxy that does not pass notifications).
    pub poll_interval: Duration,
    /// The key-encryption key that wraps each child's content key (ADR 11). A new log opened with one seals
    /// every child's content from its first record, and then opens only with it; a log made in the clear
    /// stays in the clear (a warning says so). `None`: a sealed log is refused at open.
    pub kek: Option<Arc<dyn KeyEncryptionKey>>,
}

impl PostgresOptions {
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions {
            url: url.into(),
            schema: None,
            pool_size: 16,
            max_batch: 256,
            poll_interval: Duration::from_secs(1),
            kek: None,
        }
    }

    pub fn with_kek(mut self, kek: Arc<dyn KeyEncryptionKey>) -> PostgresOptions {
        self.kek = Some(kek);
        self
    }

    pub fn with_schema(mut self, schema: impl Into<String>) -> PostgresOptions {
        self.schema = Some(schema.into());
        self
    }

    pub fn with_pool_size(mut self, pool_size: usize) -> PostgresOptions {
        self.pool_size = pool_size;
        self
    }

    pub fn with_max_batch(mut self, max_batch: usize) -> PostgresOptions {
        self.max_batch = max_batch;
        self
    }

    pub fn with_poll_interval(mut self, poll_interval: Duration) -> PostgresOptions {
        self.poll_interval = poll_interval;
        self
    }

    /// The client configuration: the URL, a connect timeout, and the schema as the search path (so every
    /// statement names tables unqualified and one database can hold several independent logs).
    pub(crate) fn client_config(&self) -> PgResult<tokio_postgres::Config> {
        let mut config: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|e| PgError::Config(format!("connection URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("journey");
        }
        if let Some(schema) = &self.schema {
            check_schema_name(schema)?;
            config.options(format!("-c search_path={schema}"));
        }
        if self.pool_size == 0 || self.max_batch == 0 {
            return Err(PgError::Config(
                "pool_size and max_batch must be at least 1".into(),
            ));
        }
        Ok(config)
    }
}

/// Schema names are put into SQL and into the connection options, so only plain lower-case identifiers are
/// accepted: nothing to quote, nothing to escape.
fn check_schema_name(schema: &str) -> PgResult<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 48
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(PgError::Config(format!(
            "schema {schema:?}: use 1 to 48 characters a-z, 0-9 and _, not starting with a digit"
        )))
    }
}

/// Opens one connection of its own (not the pool's), creates the schema if needed and applies the
/// migrations that are missing, under an advisory lock so that several servers starting together migrate
/// once. Returns the schema the tables are in. The lock goes with the connection, even if this fails.
pub(crate) async fn migrate(config: &tokio_postgres::Config, schema: Option<&str>) -> PgResult<String> {
    let (mut client, connection) = config.connect(NoTls).await?;
    let driver = tokio::spawn(connection);
    let result = async {
        client
            .batch_execute("SELECT pg_advisory_lock(hashtext('journey-postgres-migrations'))")
            .await?;
        if let Some(schema) = schema {
            // The name was checked by `check_schema_name`: nothing to quote.
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await?;
        }
        let migrations = MIGRATIONS
            .iter()
            .map(|(name, sql)| Migration::unapplied(name, sql))
            .collect::<Result<Vec<_>, _>>()?;
        let report = Runner::new(&migrations)
            .set_abort_divergent(true)
            .set_abort_missing(true)
            .run_async(&mut client)
            .await?;
        for m in report.applied_migrations() {
            tracing::info!(migration = %m, "applied a schema migration");
        }
        let schema: Option<String> = client.query_one("SELECT current_schema()", &[]).await?.get(0);
        schema.ok_or_else(|| PgError::Config("the connection has no current schema".into()))
    }
    .await;
    drop(client);
    // The connection ends once the client is gone; its own error, if any, is already in `result`.
    let _ = driver.await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_schema_names_are_accepted() {
        for good in ["journey", "t_0a", "_x"] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Journey",
            "1abc",
            "a-b",
            "a;drop",
            "a b",
            "\"x\"",
            &"a".repeat(49),
        ] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_schema_becomes_the_search_path() {
        let options = PostgresOptions::new("postgresql://journey@127.0.0.1:5432/journey").with_schema("t1");
        let config = options.client_config().unwrap();
        assert_eq!(config.get_options(), Some("-c search_path=t1"));
        assert_eq!(config.get_dbname(), Some("journey"));
        assert!(
            PostgresOptions::new("postgresql://x@h/db")
                .with_schema("Bad")
                .client_config()
                .is_err()
        );
        assert!(PostgresOptions::new("not a url at all=").client_config().is_err());
    }
}
