//! The one error type of `journey-postgres`. At the [`EventStore`](journey_core::store::EventStore) boundary it
//! becomes a `journey_core::Error`: database and pool failures are infrastructure failures (`Io`), data that
//! Journey could not have written is `Decode`. Rule violations and conflicts never pass through here: they are
//! judged by `journey_core::store::backend::plan_append`, exactly as in the other stores.

use tokio_postgres::error::SqlState;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The connection URL or the options are unusable.
    #[error("invalid PostgreSQL configuration: {0}")]
    Config(String),
    #[error("PostgreSQL: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("schema migration failed: {0}")]
    Migration(#[from] refinery::Error),
    /// A row says something its stored bytes do not, or a column holds what Journey never writes.
    #[error("the database holds a record Journey did not write this way: {0}")]
    Inconsistent(String),
    /// Records that a head row shows were committed are not in their table (or the head row was moved):
    /// refused, never appended over.
    #[error("{0}")]
    Lost(String),
    /// A content key could not be used: destroyed (the child's content is erased), missing, or wrapped by
    /// another key-encryption key (ADR 11).
    #[error(transparent)]
    Key(#[from] journey_core::content_keys::KeyError),
}

impl PgError {
    /// A UNIQUE constraint refused a row: another writer stored that version or event id first. With the
    /// log-head lock this cannot happen between Journey's own writers; the constraint is the backstop.
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            PgError::Db(e) => e.code() == Some(&SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }
}

impl From<PgError> for journey_core::Error {
    fn from(e: PgError) -> journey_core::Error {
        match e {
            PgError::Inconsistent(detail) => journey_core::Error::Decode(detail),
            PgError::Lost(detail) => journey_core::Error::Corrupt {
                location: journey_core::error::LogLocation {
                    segment: "PostgreSQL".to_owned(),
                    offset: 0,
                    position: None,
                },
                detail,
            },
            PgError::Key(e) => journey_core::Error::Key(e),
            other => journey_core::Error::Io(std::io::Error::other(other)),
        }
    }
}

pub(crate) type PgResult<T> = std::result::Result<T, PgError>;
