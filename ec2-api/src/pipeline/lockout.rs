//! nova.api.ec2:Lockout: failed authentications counted per access key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::StatusCode;

use nova_paste::http::HttpService;

use super::parsed_filter;
use crate::auth;
use crate::error::Ec2Error;
use crate::state::Ec2State;

/// Failure counts per access key for [`lockout`].
#[derive(Debug, Default)]
pub struct LockoutTable {
    entries: Mutex<HashMap<String, LockoutEntry>>,
}

#[derive(Debug)]
struct LockoutEntry {
    failures: u32,
    expires: Instant,
}

impl LockoutTable {
    fn locked(&self, key: &str, attempts: u32) -> bool {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some(e) if e.expires <= Instant::now() => {
                map.remove(key);
                false
            }
            Some(e) => e.failures >= attempts,
            None => false,
        }
    }

    fn fail(&self, key: &str, attempts: u32, window: Duration, lock: Duration) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let e = map.entry(key.to_string()).or_insert(LockoutEntry {
            failures: 0,
            expires: now + window,
        });
        if e.expires <= now {
            *e = LockoutEntry {
                failures: 0,
                expires: now + window,
            };
        }
        e.failures += 1;
        if e.failures == attempts {
            tracing::warn!(
                access_key = key,
                "access key locked out after {attempts} failed authentications"
            );
            e.expires = now + lock;
        }
    }
}

/// nova.api.ec2:Lockout: after `lockout_attempts` failed authentications
/// (401/403 answers) within `lockout_window` minutes, an access key is refused
/// for `lockout_minutes`. Counts are per worker (nova kept them in memcache).
pub fn lockout(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    parsed_filter(state, inner, |state, inner, req, raw| async move {
        let Some(key) = auth::access_key_of(req.headers(), &raw.query.params) else {
            return Ok(inner.answer(req).await);
        };
        let o = &state.options;
        if state.lockout.locked(&key, o.lockout_attempts) {
            return Err(Ec2Error::LockedOut);
        }
        let resp = inner.answer(req).await;
        if matches!(
            resp.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            state.lockout.fail(
                &key,
                o.lockout_attempts,
                Duration::from_secs(o.lockout_window.saturating_mul(60)),
                Duration::from_secs(o.lockout_minutes.saturating_mul(60)),
            );
        }
        Ok(resp)
    })
}
