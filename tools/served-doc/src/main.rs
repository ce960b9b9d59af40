//! `cargo run -p served-doc > docs/served.md`: prints the tables of what
//! is served, from the code's own tables.

fn main() {
    print!("{}", served_doc::render());
}
