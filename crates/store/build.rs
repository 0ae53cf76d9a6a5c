// sqlx::migrate! embeds the migration files at compile time; without this a
// new or edited migration would not reach the binary until a .rs file of
// this crate changed (sqlx's documented advice).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
