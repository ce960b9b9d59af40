//! The key pair actions: DescribeKeyPairs, CreateKeyPair (generated
//! server-side), ImportKeyPair and DeleteKeyPair.

use base64::Engine as _;
use compute::{KeyType, Keypair, NewKeypair};

use super::common::{any_matches, compute_ctx, map_err, unknown_filter};
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::state::Ec2State;
use crate::xml::{timestamp, Xml};

fn key_pair_id(k: &Keypair) -> String {
    format!("key-{:08x}", k.id)
}

fn write_key(x: &mut Xml, k: &Keypair) {
    x.text("keyPairId", &key_pair_id(k));
    x.text("keyName", &k.name);
    x.text("keyFingerprint", &k.fingerprint);
    x.text("keyType", "rsa");
    x.text("createTime", &timestamp(k.created_at));
    x.empty("tagSet");
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

/// DescribeKeyPairs (`KeyName.N`, `KeyPairId.N`, filters `key-name`, `fingerprint`).
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
    let mut kept = Vec::new();
    'next: for k in all {
        if (!names.is_empty() || !ids.is_empty())
            && !names.contains(&k.name)
            && !ids.contains(&key_pair_id(&k))
        {
            continue;
        }
        for f in &filters {
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
        kept.push(k);
    }
    Ok(req.respond(|x| {
        x.set("keySet", &kept, write_key);
    }))
}

/// CreateKeyPair: a new RSA key; the private half is answered once.
pub async fn create_key_pair(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let name = req.params.require("KeyName")?.to_string();
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
    Ok(req.respond(|x| {
        x.text("keyPairId", &key_pair_id(&k));
        x.text("keyName", &k.name);
        x.text("keyFingerprint", &k.fingerprint);
        x.text("keyMaterial", k.private_key.as_deref().unwrap_or(""));
    }))
}

/// ImportKeyPair (`PublicKeyMaterial` is base64 of an OpenSSH public key).
pub async fn import_key_pair(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let name = req.params.require("KeyName")?.to_string();
    let material = req.params.require("PublicKeyMaterial")?;
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
    Ok(req.respond(|x| {
        x.text("keyPairId", &key_pair_id(&k));
        x.text("keyName", &k.name);
        x.text("keyFingerprint", &k.fingerprint);
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
