//! `docs/served.md` is what `served-doc` prints: a route, action or path
//! added to a table without regenerating the file fails here.

use std::path::Path;

#[test]
fn docs_served_md_is_what_the_code_serves() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/served.md");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();

    let generated = served_doc::render();

    assert!(
        checked_in == generated,
        "docs/served.md differs from what the code serves; regenerate it with `{}` \
         (from the repository's root) and commit it",
        served_doc::REGENERATE
    );
}
