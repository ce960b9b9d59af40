//! The worker's token cache: Keystone's answers, good and bad, kept for
//! `token_cache_time` and never past the token's own `expires_at`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use http::{HeaderName, HeaderValue};

use super::token::TokenInfo;

/// A valid token with the headers it gives the request, built once.
#[derive(Debug)]
pub struct Validated {
    /// The token's facts.
    pub info: TokenInfo,
    /// keystonemiddleware's headers for it (user prefix `X-`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Keystone's answer about a token.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Valid.
    Valid(Arc<Validated>),
    /// Unknown, revoked or expired.
    Invalid,
}

struct Entry {
    verdict: Verdict,
    until: Instant,
    /// The token source's generation when the answer was made (0 for a
    /// remote Keystone, whose answers only age).
    generation: u64,
}

/// At most this many tokens are remembered; beyond, expired entries are
/// dropped, and if that is not enough the whole cache is.
const MAX_ENTRIES: usize = 10_000;

/// Answers per token, shared by one worker's requests.
pub struct TokenCache {
    ttl: Option<Duration>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache keeping answers for `ttl` (`None`: nothing is cached).
    pub fn new(ttl: Option<Duration>) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached answer for `token`, if still fresh. A valid answer whose
    /// token has expired since is dropped.
    pub fn get(&self, token: &str) -> Option<Verdict> {
        self.get_at(token, 0)
    }

    /// As [`TokenCache::get`], dropping an answer made in another
    /// `generation` of the token source (see [`super::source`]).
    pub fn get_at(&self, token: &str, generation: u64) -> Option<Verdict> {
        self.ttl?;
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.get(token)?;
        let fresh = Instant::now() < entry.until
            && entry.generation == generation
            && match &entry.verdict {
                Verdict::Valid(v) => v.info.expires_at > Utc::now(),
                Verdict::Invalid => true,
            };
        if fresh {
            Some(entry.verdict.clone())
        } else {
            map.remove(token);
            None
        }
    }

    /// Remembers `verdict` for `token`: for `token_cache_time`, and a valid
    /// answer no longer than until the token expires.
    pub fn put(&self, token: &str, verdict: Verdict) {
        self.put_at(token, verdict, 0)
    }

    /// As [`TokenCache::put`], in the token source's `generation`.
    pub fn put_at(&self, token: &str, verdict: Verdict, generation: u64) {
        let Some(ttl) = self.ttl else { return };
        let now = Instant::now();
        let mut until = now + ttl;
        if let Verdict::Valid(v) = &verdict {
            match (v.info.expires_at - Utc::now()).to_std() {
                Ok(left) => until = until.min(now + left),
                Err(_) => return,
            }
        }
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.until > now);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(
            token.to_string(),
            Entry {
                verdict,
                until,
                generation,
            },
        );
    }
}
