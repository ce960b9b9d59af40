//! The shared compute domain: the state store (SQLite default, PostgreSQL), the instance lifecycle, quotas and ids. It knows nothing about HTTP.
