//! The key pair actions: DescribeKeyPairs, CreateKeyPair (generated
//! server-side), ImportKeyPair and DeleteKeyPair.
//!
//! A key pair's EC2 id is `key-%08x` of its integer id (never reused), and
//! its tags are kept per project in the store like an image's
//! (`compute::ec2_tags`, kind `key-pair`); deleting the key pair, through
//! either API, drops them.

use std::collections::BTreeMap;

use base64::Engine as _;
use compute::{KeyType, Keypair, NewKeypair};

use super::common::{any_matches, compute_ctx, map_err, tag_filter_matches, unknown_filter};
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::state::Ec2State;
use crate::xml::{timestamp, Xml};

fn key_pair_id(k: &Keypair) -> String {
    compute::ec2_key_pair_id(k.id)
}

fn write_key(x: &mut Xml, k: &Keypair, tags: &BTreeMap<String, String>) {
    x.text("keyPairId", &key_pair_id(k));
    x.text("keyName", &k.name);
    x.text("keyFingerprint", &k.fingerprint);
    x.text("keyType", "rsa");
    x.text("createTime", &timestamp(k.created_at));
    super::tags::write_tag_set(x, tags);
}

/// A new key pair's `TagSpecification`s (kind `key-pair`) stored on it.
async fn tag_new_key(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    k: &Keypair,
    tags: &BTreeMap<String, String>,
) -> Result<(), Ec2Error> {
    if tags.is_empty() {
        return Ok(());
    }
    let id = key_pair_id(k);
    state
        .compute
        .set_ec2_tags(&compute_ctx(req), super::tags::KEY_PAIR, &id, tags)
        .await
        .map_err(|e| map_err(e, Some(&id)))
}

fn map_key_err(e: compute::Error, name: &str) -> Ec2Error {
    match e {
        compute::Error::NotFound {
            kind: compute::Kind::Keypair,
            ..
        } => Ec2Error::KeyPairNotFound(name.to_string()),
        compute::Error::Duplicate {
            kind: compute::Kind::Keypair,
            ..
        } => Ec2Error::KeyPairDuplicate(name.to_string()),
        compute::Error::QuotaExceeded { .. } => {
            Ec2Error::ResourceLimitExceeded("Maximum number of key pairs has been reached".into())
        }
        other => map_err(other, Some(name)),
    }
}

/// DescribeKeyPairs (`KeyName.N`, `KeyPairId.N`, filters `key-name`,
/// `key-pair-id`, `fingerprint` and the tag filters).
pub async fn describe_key_pairs(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let ctx = compute_ctx(req);
    let names = req.params.list("KeyName");
    let ids = req.params.list("KeyPairId");
    let filters = req.params.filters()?;
    let all = state
        .compute
        .list_keypairs(&ctx, None, None, None)
        .await
        .map_err(|e| map_err(e, None))?;
    for n in &names {
        if !all.iter().any(|k| &k.name == n) {
            return Err(Ec2Error::KeyPairNotFound(n.clone()));
        }
    }
    for i in &ids {
        if !all.iter().any(|k| &key_pair_id(k) == i) {
            return Err(Ec2Error::KeyPairNotFound(i.clone()));
        }
    }
    let tags = state
        .compute
        .ec2_tags_by_resource(&ctx, super::tags::KEY_PAIR)
        .await
        .map_err(|e| map_err(e, None))?;
    let none = BTreeMap::new();
    let mut kept = Vec::new();
    'next: for k in all {
        let key_tags = tags.get(&key_pair_id(&k)).unwrap_or(&none);
        if (!names.is_empty() || !ids.is_empty())
            && !names.contains(&k.name)
            && !ids.contains(&key_pair_id(&k))
        {
            continue;
        }
        for f in &filters {
            if let Some(m) = tag_filter_matches(f, key_tags) {
                if !m {
                    continue 'next;
                }
                continue;
            }
            let ok = match f.name.as_str() {
                "key-name" => any_matches(f, Some(&k.name)),
                "fingerprint" => any_matches(f, Some(&k.fingerprint)),
                "key-pair-id" => any_matches(f, Some(&key_pair_id(&k))),
                other => return Err(unknown_filter(other)),
            };
            if !ok {
                continue 'next;
            }
        }
        kept.push((k, key_tags.clone()));
    }
    Ok(req.respond(|x| {
        x.set("keySet", &kept, |x, (k, t)| write_key(x, k, t));
    }))
}

/// CreateKeyPair: a new RSA key; the private half is answered once.
pub async fn create_key_pair(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let name = req.params.require("KeyName")?.to_string();
    let tags = super::tags::specified_tags(req, super::tags::KEY_PAIR)?;
    let new = NewKeypair {
        name: name.clone(),
        key_type: KeyType::Ssh,
        public_key: None,
        user_id: None,
    };
    let k = state
        .compute
        .create_keypair(&compute_ctx(req), new)
        .await
        .map_err(|e| map_key_err(e, &name))?;
    tag_new_key(state, req, &k, &tags).await?;
    Ok(req.respond(|x| {
        x.text("keyPairId", &key_pair_id(&k));
        x.text("keyName", &k.name);
        x.text("keyFingerprint", &k.fingerprint);
        x.text("keyMaterial", k.private_key.as_deref().unwrap_or(""));
        if !tags.is_empty() {
            super::tags::write_tag_set(x, &tags);
        }
    }))
}

/// ImportKeyPair (`PublicKeyMaterial` is base64 of an OpenSSH public key).
pub async fn import_key_pair(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let name = req.params.require("KeyName")?.to_string();
    let material = req.params.require("PublicKeyMaterial")?;
    let tags = super::tags::specified_tags(req, super::tags::KEY_PAIR)?;
    let compact: String = material.chars().filter(|c| !c.is_whitespace()).collect();
    // botocore base64-encodes the blob; a client that sent the key itself still works.
    let public_key = match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| Ec2Error::KeyFormat)?,
        Err(_) => material.to_string(),
    };
    let new = NewKeypair {
        name: name.clone(),
        key_type: KeyType::Ssh,
        public_key: Some(public_key),
        user_id: None,
    };
    let k = state
        .compute
        .create_keypair(&compute_ctx(req), new)
        .await
        .map_err(|e| match e {
            compute::Error::Invalid(m)
                if m.contains("Keypair data is invalid") && !m.contains("name") =>
            {
                Ec2Error::KeyFormat
            }
            other => map_key_err(other, &name),
        })?;
    tag_new_key(state, req, &k, &tags).await?;
    Ok(req.respond(|x| {
        x.text("keyPairId", &key_pair_id(&k));
        x.text("keyName", &k.name);
        x.text("keyFingerprint", &k.fingerprint);
        if !tags.is_empty() {
            super::tags::write_tag_set(x, &tags);
        }
    }))
}

/// DeleteKeyPair (deleting a missing key succeeds, as on AWS).
pub async fn delete_key_pair(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let name = req.params.require("KeyName")?.to_string();
    match state
        .compute
        .delete_keypair(&compute_ctx(req), &name, None)
        .await
    {
        Ok(()) | Err(compute::Error::NotFound { .. }) => Ok(req.respond_true()),
        Err(e) => Err(map_key_err(e, &name)),
    }
}
