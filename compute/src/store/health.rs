//! Recovery from storage failures on SQLite.
//!
//! While the database file cannot be written (a read-only or immutable
//! directory, a full or failing disk), SQLite fails statements with an I/O
//! or read-only error, and a connection the pool opens meanwhile silently
//! falls back to read-only. Such connections would keep failing every
//! write after the storage recovers. So each storage error is noted with
//! its time, and the pool closes, instead of handing out, every connection
//! opened before the latest one: fresh connections pick the file up as it
//! is now, and writes recover without a restart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// SQLite primary result codes that say the storage, not the statement,
/// failed: READONLY, IOERR, CORRUPT, FULL, CANTOPEN, NOTADB.
const STORAGE_CODES: &[i64] = &[8, 10, 11, 13, 14, 26];

/// Microseconds since [`epoch`] of the latest storage error, plus one (0:
/// none yet).
static LAST_STORAGE_ERROR: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn micros_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_micros()).unwrap_or(u64::MAX)
}

/// Whether `err` is a SQLite storage failure (see [`STORAGE_CODES`]).
pub fn is_storage_error(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_none() {
        return false;
    }
    // SQLite's extended result code; its low byte is the primary code.
    let code = db
        .code()
        .and_then(|c| c.parse::<i64>().ok())
        .unwrap_or_default();
    STORAGE_CODES.contains(&(code & 0xff))
}

/// Records `err` if it is a storage failure.
pub fn note_error(err: &sqlx::Error) {
    if is_storage_error(err) {
        tracing::warn!("database storage error, reopening pooled connections: {err}");
        let now = micros_since_epoch(Instant::now()).saturating_add(1);
        LAST_STORAGE_ERROR.fetch_max(now, Ordering::Relaxed);
    }
}

/// Whether a pooled connection of this `age` was opened after the latest
/// storage error (or none happened), so that it may be reused.
pub fn opened_after_last_error(age: Duration) -> bool {
    let last = LAST_STORAGE_ERROR.load(Ordering::Relaxed);
    if last == 0 {
        return true;
    }
    let opened = Instant::now().checked_sub(age).unwrap_or_else(epoch);
    micros_since_epoch(opened).saturating_add(1) > last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_storage_codes_are_told_from_statement_errors() {
        assert!(
            STORAGE_CODES.contains(&(778 & 0xff)),
            "IOERR_WRITE is an I/O error"
        );
        assert!(STORAGE_CODES.contains(&8), "READONLY");
        assert!(
            !STORAGE_CODES.contains(&(2067 & 0xff)),
            "a UNIQUE violation is not"
        );
        assert!(!STORAGE_CODES.contains(&5), "BUSY is not");
    }
}
