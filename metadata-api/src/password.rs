//! The instance password the guest posts to `/openstack/<v>/password`:
//! nova's size limit and its storage as four 255-character chunks of
//! system metadata (`password_0` .. `password_3`).

/// How many system-metadata chunks hold a password.
pub const CHUNKS: usize = 4;
/// Characters per chunk.
pub const CHUNK_LENGTH: usize = 255;
/// The largest body a guest may post, in bytes: 4 × 255 = 1020.
pub const MAX_SIZE: usize = CHUNKS * CHUNK_LENGTH;

/// Splits a password into the `password_N` system-metadata items, as nova's
/// `convert_password` does (by characters; empty chunks clear the rest).
pub fn to_chunks(password: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = password.chars().collect();
    (0..CHUNKS)
        .map(|i| {
            let start = (i * CHUNK_LENGTH).min(chars.len());
            let end = ((i + 1) * CHUNK_LENGTH).min(chars.len());
            (format!("password_{i}"), chars[start..end].iter().collect())
        })
        .collect()
}

/// Joins `password_*` items back in sorted-key order; an empty result means
/// no password (nova's `extract_password`).
pub fn from_chunks<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let mut parts: Vec<(&str, &str)> = items
        .into_iter()
        .filter(|(k, _)| k.starts_with("password_"))
        .collect();
    parts.sort();
    let joined: String = parts.into_iter().map(|(_, v)| v).collect();
    if joined.is_empty() {
        None
    } else {
        Some(joined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_size_is_1020() {
        assert_eq!(MAX_SIZE, 1020);
    }

    #[test]
    fn chunks_round_trip() {
        let pw: String = "x".repeat(600) + "yz";
        let chunks = to_chunks(&pw);
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks[0].1.len(), 255);
        assert_eq!(chunks[2].1, "x".repeat(90) + "yz");
        assert_eq!(chunks[3].1, "");
        let back = from_chunks(chunks.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, Some(pw));
    }

    #[test]
    fn empty_chunks_mean_no_password() {
        let chunks = to_chunks("");
        assert_eq!(
            from_chunks(chunks.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            None
        );
    }
}
