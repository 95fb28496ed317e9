//! `sqlx::migrate!` embeds `migrations/` when the crate compiles; without this, a migration
//! added on its own (no Rust file changed) is not compiled in until something else changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
