//! A fresh PostgreSQL store per test: its own schema in the test database, its own runtime, dropped after.

use std::sync::Arc;

use journey_core::content_keys::{KeyEncryptionKey, LocalKek};
use journey_core::store::DynStore;
use journey_core::testkit::store_contract::Harness;
use journey_core::{Clock, ManualClock};
use journey_postgres::{PostgresOptions, PostgresStore};

/// A key-encryption key made from one repeated byte: tests tell keys apart by the byte.
pub fn kek(byte: u8) -> Arc<dyn KeyEncryptionKey> {
    Arc::new(LocalKek::from_bytes([byte; 32]))
}

/// The test server's URL; `None` (after saying so on stderr) when none is configured, unless CI requires one.
pub fn test_url() -> Option<String> {
    match std::env::var("JOURNEY_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("JOURNEY_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "JOURNEY_REQUIRE_POSTGRES=1 but JOURNEY_TEST_POSTGRES is not set: \
                 start a server with ./scripts/postgres-setup and export the URL it prints"
            );
            eprintln!(
                "SKIPPED: this test needs a PostgreSQL server; set JOURNEY_TEST_POSTGRES \
                 (./scripts/postgres-setup starts one and prints its URL)"
            );
            None
        }
    }
}

/// One test's store. Tests run in parallel (nextest runs each in its own process), so each gets a schema of
/// its own, dropped with the harness.
pub struct Pg {
    store: Option<Arc<PostgresStore>>,
    pub options: PostgresOptions,
    pub runtime: tokio::runtime::Runtime,
}

impl Pg {
    pub fn new(clock: Arc<ManualClock>) -> Option<Pg> {
        Pg::with(clock, |o| o)
    }

    /// A store that seals each child's content under its own key (ADR 11), wrapped by `kek(5)`.
    pub fn sealed(clock: Arc<ManualClock>) -> Option<Pg> {
        Pg::with(clock, |o| o.with_kek(kek(5)))
    }

    /// With options adjusted (batch size, poll interval...).
    pub fn with(
        clock: Arc<ManualClock>,
        adjust: impl FnOnce(PostgresOptions) -> PostgresOptions,
    ) -> Option<Pg> {
        let url = test_url()?;
        let schema = format!("test_{:016x}", rand::random::<u64>());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let options = adjust(PostgresOptions::new(url).with_schema(schema));
        let store = runtime
            .block_on(PostgresStore::open(options.clone(), clock as Arc<dyn Clock>))
            .unwrap();
        Some(Pg {
            store: Some(Arc::new(store)),
            options,
            runtime,
        })
    }

    pub fn pg(&self) -> Arc<PostgresStore> {
        self.store.clone().expect("open")
    }

    /// Another store on the same schema, as a second server process would open it.
    pub fn open_another(&self, clock: Arc<dyn Clock>, options: PostgresOptions) -> Arc<PostgresStore> {
        Arc::new(
            self.runtime
                .block_on(PostgresStore::open(options, clock))
                .unwrap(),
        )
    }

    /// Runs SQL in the test's schema on a connection of its own, as someone with database access could.
    pub fn sql(&self, sql: &str) -> Result<u64, tokio_postgres::Error> {
        let mut config: tokio_postgres::Config = self.options.url.parse().unwrap();
        config.options(format!("-c search_path={}", self.pg().schema()));
        self.runtime.block_on(async move {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client.execute(sql, &[]).await
        })
    }
}

impl Pg {
    /// Rows of a query in the test's schema, on a connection of its own.
    pub fn query(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        let mut config: tokio_postgres::Config = self.options.url.parse().unwrap();
        config.options(format!("-c search_path={}", self.pg().schema()));
        self.runtime.block_on(async move {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            client.query(sql, &[]).await.unwrap()
        })
    }
}

impl Harness for Pg {
    fn store(&self) -> DynStore {
        self.pg()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else { return };
        let schema = store.schema().to_owned();
        drop(store);
        let url = self.options.url.clone();
        let statement = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
        let dropped = self.runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client.batch_execute(&statement).await
        });
        if let Err(e) = dropped {
            eprintln!("could not drop the test schema {schema}: {e}");
        }
    }
}
