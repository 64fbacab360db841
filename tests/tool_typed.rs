//! Scope at function level through typed method calls
//! (`fixtures/tool-typed`): each subcommand of a serving program keeps its
//! arguments in a struct whose methods share names with the other
//! commands' (`launch`, `client`). A method call names the methods of its
//! receiver's type when the code declares it (the value a variant holds, a
//! typed parameter, a field, what a method returns, `self`), so the
//! `backfill` and `balance` commands' own methods are not audited; a call
//! on a receiver whose type is not written (a loop variable) still names
//! every method of its name, so `Mirror::upload`, which the server also
//! reaches that way, stays audited.

mod common;

use common::*;

fn audit(extra: &[&str]) -> serde_json::Value {
    audit_manifest("fixtures/tool-typed/Cargo.toml", extra)
}

#[test]
fn typed_receivers_keep_other_commands_methods_apart() {
    let v = audit(&[]);
    assert_eq!(findings_with_values(&v), Vec::<String>::new());
}
