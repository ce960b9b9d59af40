//! An in-memory compute domain for the in-process tests: instances by uuid
//! and by fixed address, and the password store with nova's semantics
//! (set once, cleared by the compute API).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use futures::future::BoxFuture;
use futures::FutureExt;

use metadata_api::instance::{InstanceSource, InstanceView, SourceError};

/// Instances and passwords kept in memory.
#[derive(Default)]
pub struct MemoryCompute {
    instances: Mutex<HashMap<String, InstanceView>>,
    passwords: Mutex<HashMap<String, String>>,
    /// How many lookups reached this "store" (to observe the cache).
    pub lookups: std::sync::atomic::AtomicUsize,
}

impl MemoryCompute {
    /// Adds or replaces an instance (what a compute API update does).
    pub fn put(&self, instance: InstanceView) {
        self.instances
            .lock()
            .unwrap()
            .insert(instance.uuid.clone(), instance);
    }

    /// Deletes an instance.
    pub fn delete(&self, uuid: &str) {
        self.instances.lock().unwrap().remove(uuid);
    }

    /// The instance holding `address`, if any.
    fn at_address(&self, address: IpAddr) -> Option<InstanceView> {
        self.instances
            .lock()
            .unwrap()
            .values()
            .find(|i| {
                i.fixed_ips
                    .iter()
                    .any(|ip| ip.parse::<IpAddr>().ok() == Some(address))
            })
            .cloned()
    }

    /// What `DELETE /servers/{id}/os-server-password` does.
    pub fn clear_password(&self, uuid: &str) {
        self.passwords.lock().unwrap().remove(uuid);
    }
}

impl InstanceSource for MemoryCompute {
    fn by_address(
        &self,
        address: IpAddr,
    ) -> BoxFuture<'_, Result<Option<InstanceView>, SourceError>> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let found = self.at_address(address);
        async move { Ok(found) }.boxed()
    }

    fn address_owner(&self, address: IpAddr) -> BoxFuture<'_, Result<Option<String>, SourceError>> {
        let owner = self.at_address(address).map(|i| i.uuid);
        async move { Ok(owner) }.boxed()
    }

    fn by_uuid<'a>(
        &'a self,
        uuid: &'a str,
    ) -> BoxFuture<'a, Result<Option<InstanceView>, SourceError>> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let found = self.instances.lock().unwrap().get(uuid).cloned();
        async move { Ok(found) }.boxed()
    }

    fn password<'a>(&'a self, uuid: &'a str) -> BoxFuture<'a, Result<Option<String>, SourceError>> {
        let found = self.passwords.lock().unwrap().get(uuid).cloned();
        async move { Ok(found.filter(|p| !p.is_empty())) }.boxed()
    }

    fn set_password<'a>(
        &'a self,
        uuid: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<bool, SourceError>> {
        let result = if !self.instances.lock().unwrap().contains_key(uuid) {
            Err(SourceError::NotFound)
        } else {
            let mut passwords = self.passwords.lock().unwrap();
            if passwords.get(uuid).is_some_and(|p| !p.is_empty()) {
                Ok(false)
            } else {
                passwords.insert(uuid.to_owned(), password.to_owned());
                Ok(true)
            }
        };
        async move { result }.boxed()
    }
}
