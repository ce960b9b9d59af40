//! The stable fuzz smoke (`cargo test --lib` in `fuzz/`): every target body
//! over its seed corpus (`corpus/<target>/`), the reproducers of past
//! findings (`regressions/<target>/`), then `FUZZ_SMOKE_MUTATIONS`
//! (default 10000) deterministic mutants of those seeds. A panic names the
//! target and the input that caused it, escaped, ready to be saved as a
//! regression file.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use super::{Body, Mutator, TARGETS};

fn files_in(dir: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| std::fs::read(&p).expect("read a corpus file"))
        .collect()
}

fn run_one(target: &str, body: Body, input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| body(input))).is_err() {
        panic!(
            "{target} panicked on {} bytes: b\"{}\"",
            input.len(),
            input.escape_ascii()
        );
    }
}

fn smoke(target: &str) {
    let body = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .expect("a known target");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = files_in(&root.join("corpus").join(target));
    assert!(!seeds.is_empty(), "corpus/{target}/ has no seed");
    let regressions = files_in(&root.join("regressions").join(target));
    for input in seeds.iter().chain(&regressions) {
        run_one(target, body, input);
    }
    let n: usize = std::env::var("FUZZ_SMOKE_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10000);
    let seed = target.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut m = Mutator::new(seed);
    let mut current = seeds[0].clone();
    for i in 0..n {
        let base = if i % 4 == 0 {
            &seeds[i / 4 % seeds.len()]
        } else {
            &current
        };
        let other = &seeds[(i * 7 + 3) % seeds.len()];
        let input = m.mutate(base, other);
        run_one(target, body, &input);
        current = if input.len() > 16 * 1024 {
            seeds[i % seeds.len()].clone()
        } else {
            input
        };
    }
}

#[test]
fn paste_ini_survives_its_corpus_and_mutants() {
    smoke("paste_ini");
}

#[test]
fn nova_conf_survives_its_corpus_and_mutants() {
    smoke("nova_conf");
}

#[test]
fn ec2_query_survives_its_corpus_and_mutants() {
    smoke("ec2_query");
}

#[test]
fn ec2_signature_survives_its_corpus_and_mutants() {
    smoke("ec2_signature");
}

#[test]
fn compute_body_survives_its_corpus_and_mutants() {
    smoke("compute_body");
}

#[test]
fn compute_query_survives_its_corpus_and_mutants() {
    smoke("compute_query");
}

#[test]
fn metadata_path_survives_its_corpus_and_mutants() {
    smoke("metadata_path");
}

#[test]
fn every_target_has_a_fuzz_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, _) in TARGETS {
        assert!(
            root.join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "fuzz_targets/{name}.rs missing"
        );
    }
}
