//! Inputs that are not what a Rust service looks like: missing paths,
//! broken manifests, files that do not parse, are not UTF-8, are binary,
//! are huge or are nested absurdly deep. Every case checks the exit code,
//! that the message names the offending file, and that nothing panicked.
//! Inputs are generated into temporary directories.

mod common;

use common::*;

/// A deterministic byte soup (xorshift), so failures reproduce.
fn junk(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn nonexistent_path_is_named() {
    let dir = scratch(&[]);
    let o = run(dir.path(), &["does/not/exist.rs"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: does/not/exist.rs: no such file or directory\n"
    );
    assert!(o.stdout.is_empty());

    // One missing path among good ones still stops the run before any work.
    write(dir.path(), "src/main.rs", LOOPBACK_MAIN.as_bytes());
    let o = run(dir.path(), &["src", "missing"]);
    assert_exit(&o, 2);
    assert_eq!(stderr(&o), "error: missing: no such file or directory\n");
}

#[test]
fn nonexistent_manifest_is_named() {
    let dir = scratch(&[]);
    let o = run(dir.path(), &["--manifest-path", "nowhere/Cargo.toml"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: nowhere/Cargo.toml: no such file or directory\n"
    );
}

#[test]
fn no_manifest_anywhere_says_what_to_do() {
    let dir = scratch(&[("main.rs", LOOPBACK_MAIN)]);
    if dir
        .path()
        .ancestors()
        .any(|d| d.join("Cargo.toml").is_file())
    {
        eprintln!("skipped: the temporary directory lies inside a Cargo project");
        return;
    }
    let o = run(dir.path(), &[]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.starts_with("error: no Cargo.toml in the current directory or any parent ("),
        "{err}"
    );
    assert!(
        err.contains("pass --manifest-path or paths to audit"),
        "{err}"
    );
}

const BROKEN_MANIFEST: &str = "[package\nname = \"svc\"\n";

/// A broken `Cargo.toml` does not stop the audit: its folder is walked as
/// plain paths, and an error entry names the manifest and quotes cargo.
#[test]
fn broken_cargo_toml_falls_back_to_a_plain_walk() {
    let dir = scratch(&[
        ("Cargo.toml", BROKEN_MANIFEST),
        ("src/main.rs", LOOPBACK_MAIN),
    ]);
    for args in [
        &["--format", "json"][..],
        &["--format", "json", "--manifest-path", "Cargo.toml"][..],
    ] {
        let o = run(dir.path(), args);
        assert_exit(&o, 1);
        let v = json(&o);
        assert_eq!(
            locations(&v),
            ["src/main.rs:4:20 loopback-bind"],
            "{args:?}"
        );
        let errs = errors(&v);
        assert_eq!(errs.len(), 1, "{errs:?}");
        let (file, line, column, message) = &errs[0];
        // At the line and column cargo names.
        assert_eq!(
            (file.as_str(), *line, *column),
            ("Cargo.toml", Some(1), Some(9))
        );
        assert!(
            message.starts_with("cargo metadata failed, audited the folder without Cargo: "),
            "{message}"
        );
        assert!(
            message.contains("Cargo.toml"),
            "cargo's own words name the manifest: {message}"
        );
    }
    // The human report lists it too, and the run fails even without findings.
    let o = run(
        dir.path(),
        &["--color", "never", "--ignore", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains(
            "error: Cargo.toml:1:9: cargo metadata failed, audited the folder without Cargo: "
        ),
        "{out}"
    );
    assert!(out.contains("1 file not analysed"), "{out}");
}

#[test]
fn broken_member_manifest_is_reported() {
    let root = "[workspace]\nmembers = [\"a\", \"b\"]\n";
    let dir = scratch(&[
        ("Cargo.toml", root),
        ("a/Cargo.toml", &package_manifest("a")),
        ("a/src/main.rs", LOOPBACK_MAIN),
        ("b/Cargo.toml", "[package]\nname = 7\n"),
        ("b/src/lib.rs", LOOPBACK_MAIN),
    ]);
    let o = run(
        dir.path(),
        &["--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    // Both members are still audited, from the workspace root.
    assert_eq!(
        locations(&v),
        [
            "a/src/main.rs:4:20 loopback-bind",
            "b/src/lib.rs:4:20 loopback-bind"
        ]
    );
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{errs:?}");
    // Under the member's manifest, at cargo's line, not under the root's.
    assert_eq!((errs[0].0.as_str(), errs[0].1), ("b/Cargo.toml", Some(2)));
    assert!(
        errs[0].3.contains("b/Cargo.toml"),
        "names the broken member: {}",
        errs[0].3
    );
}

#[test]
fn unparsable_file_is_an_error_entry_and_the_rest_is_still_audited() {
    let broken = "use std::io;\n\nfn main() {\n    let x = ;\n}\n";
    let dir = scratch(&[("src/broken.rs", broken), ("src/server.rs", LOOPBACK_MAIN)]);
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/server.rs:4:20 loopback-bind"]);
    assert_eq!(v["summary"]["files_scanned"], 2);
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let (file, line, column, message) = &errs[0];
    assert_eq!(
        (file.as_str(), *line, *column),
        ("src/broken.rs", Some(4), Some(13))
    );
    assert!(message.starts_with("cannot parse: "), "{message}");

    // Short and human formats show the position too.
    let o = run(
        dir.path(),
        &["src", "--format", "short", "--select", "loopback-bind"],
    );
    assert!(
        stdout(&o).contains("src/broken.rs:4:13: error[file]: cannot parse: "),
        "{}",
        stdout(&o)
    );
    let o = run(
        dir.path(),
        &["src", "--color", "never", "--select", "loopback-bind"],
    );
    assert!(
        stdout(&o).contains("error: src/broken.rs:4:13: cannot parse: "),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("2 files scanned: 1 error, 0 warnings, 0 infos; 1 file not analysed"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn non_utf8_file_is_named_with_its_line() {
    let mut bytes = b"fn main() {}\n// caf".to_vec();
    bytes.extend([0xE9, b'\n']);
    let dir = scratch(&[("src/server.rs", LOOPBACK_MAIN)]);
    write(dir.path(), "src/latin1.rs", &bytes);
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/server.rs:4:20 loopback-bind"]);
    assert_eq!(
        errors(&v),
        [(
            "src/latin1.rs".to_string(),
            Some(2),
            Some(1),
            "not valid UTF-8 (byte 19); Rust sources must be UTF-8".to_string()
        )]
    );
}

#[test]
fn macros_that_invoke_themselves_are_expanded_once() {
    // A rule that calls the macro again, two macros calling each other, and
    // one whose body loops around what it is given.
    let src = r#"
macro_rules! again {
    ($x:expr) => { again!($x, false) };
    ($x:expr, $y:literal) => { again!($x) };
}
macro_rules! ping { ($x:expr) => { pong!($x) }; }
macro_rules! pong { ($x:expr) => { ping!($x) }; }
macro_rules! spin { ($x:expr) => { loop { if $x.await.is_ok() { break; } } }; }
pub async fn f(client: reqwest::Client) {
    again!(1);
    ping!(2);
    spin!(client.get("http://a:1/").send());
}
"#;
    let dir = scratch(&[("src/lib.rs", src)]);
    let o = run(dir.path(), &["src", "--format", "json", "--include-tests"]);
    assert_no_panic(&o);
    assert_exit(&o, 1);
    assert_eq!(json(&o)["errors"], serde_json::json!([]));
}

#[test]
fn empty_and_comment_only_files_are_fine() {
    let dir = scratch(&[
        ("src/empty.rs", ""),
        ("src/comments.rs", "// nothing here\n/* or here */\n"),
        ("src/ws.rs", "\n\n   \n"),
    ]);
    let o = run(dir.path(), &["src", "--format", "json"]);
    assert_exit(&o, 0);
    let v = json(&o);
    assert_eq!(v["summary"]["files_scanned"], 3);
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_eq!(v["errors"], serde_json::json!([]));
}

#[test]
fn binary_junk_is_refused_by_name() {
    let dir = scratch(&[("src/server.rs", LOOPBACK_MAIN)]);
    // Random bytes: not UTF-8.
    let mut random = junk(64 * 1024, 0x9E37_79B9_7F4A_7C15);
    random[10] = 0;
    write(dir.path(), "src/random.rs", &random);
    // Valid UTF-8 with NUL bytes: an object file renamed, a corrupted checkout.
    write(dir.path(), "src/nul.rs", b"fn main() {\0\0\0}\n\x7fELF\0\0");
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/server.rs:4:20 loopback-bind"]);
    let errs = errors(&v);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, "src/nul.rs");
    assert_eq!(errs[0].3, "contains NUL bytes; not a Rust source file");
    assert_eq!(errs[1].0, "src/random.rs");
    assert!(
        errs[1].3.starts_with("not valid UTF-8 (byte "),
        "{}",
        errs[1].3
    );
}

#[test]
fn junk_that_is_valid_utf8_does_not_crash() {
    // Printable soup of Rust punctuation and keywords: parse errors, never panics.
    let tokens = [
        "fn", "{", "}", "(", ")", "[", "]", "<", ">", "::", "'a", "\"", "r#\"", "#", "!", "=>",
        "..=", "|", "&&", "mod", "impl", "where", ";", "'", "b'", "/*", "*/", "//", "\n", "ü",
        "\\",
    ];
    let dir = scratch(&[]);
    for seed in 1..=8u64 {
        let soup: String = junk(2000, seed * 7919)
            .iter()
            .map(|b| tokens[*b as usize % tokens.len()])
            .collect::<Vec<_>>()
            .join(" ");
        write(dir.path(), &format!("src/soup{seed}.rs"), soup.as_bytes());
    }
    let o = run(dir.path(), &["src", "--format", "json"]);
    assert_no_panic(&o);
    let code = code(&o);
    assert!(code == 0 || code == 1, "exit {code}: {}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["files_scanned"], 8);
    for (file, _, _, message) in errors(&v) {
        assert!(file.starts_with("src/soup"), "{file}");
        assert!(!message.contains("internal error"), "{file}: {message}");
    }
}

#[test]
fn a_one_megabyte_file_is_audited() {
    let mut text = String::from("use tokio::net::TcpListener;\n");
    let mut i = 0;
    while text.len() < 1_000_000 {
        text.push_str(&format!(
            "pub fn handler_{i}(x: u64) -> u64 {{\n    let y = x.wrapping_mul({i}) ^ 0x5bd1_e995;\n    if y % 3 == 0 {{ y / 3 }} else {{ y + {i} }}\n}}\n\n"
        ));
        i += 1;
    }
    let line = text.lines().count() + 2;
    text.push_str("async fn serve() {\n    let listener = TcpListener::bind(\"127.0.0.1:8080\").await.unwrap();\n}\n");
    let dir = scratch(&[("src/big.rs", &text)]);
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(
        locations(&v),
        [format!("src/big.rs:{line}:20 loopback-bind")]
    );
    assert_eq!(v["errors"], serde_json::json!([]));
}

#[test]
fn absurd_bracket_nesting_is_refused_with_a_position() {
    let depth = 5000;
    let parens = format!(
        "fn ok() {{}}\n\nfn f() {{\n    let x = {}1{};\n}}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let blocks = format!("fn g() {}{}\n", "{".repeat(depth), "}".repeat(depth));
    let arrays = format!(
        "const A: () = {}{};\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let dir = scratch(&[
        ("src/parens.rs", &parens),
        ("src/blocks.rs", &blocks),
        ("src/arrays.rs", &arrays),
        ("src/server.rs", LOOPBACK_MAIN),
    ]);
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/server.rs:4:20 loopback-bind"]);
    let message =
        "nested deeper than 256 levels or a statement longer than 20000 tokens; not analysed"
            .to_string();
    assert_eq!(
        errors(&v),
        [
            (
                "src/arrays.rs".to_string(),
                Some(1),
                Some(1),
                message.clone()
            ),
            (
                "src/blocks.rs".to_string(),
                Some(1),
                Some(1),
                message.clone()
            ),
            ("src/parens.rs".to_string(), Some(4), Some(1), message),
        ]
    );
}

#[test]
fn brackets_in_strings_and_comments_do_not_count_as_nesting() {
    let text = format!(
        "// {}\nconst S: &str = \"{}\";\nconst C: char = '(';\n/* {} */\n{}",
        "(".repeat(1000),
        "[".repeat(1000),
        "{".repeat(1000),
        LOOPBACK_MAIN
    );
    let dir = scratch(&[("src/main.rs", &text)]);
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(v["errors"], serde_json::json!([]));
    assert_eq!(locations(&v), ["src/main.rs:8:20 loopback-bind"]);
}

#[test]
fn deep_expressions_without_brackets_do_not_crash() {
    // Unary, binary, closure and method chains 5,000 deep: syn recurses on
    // most of them; the workers' stacks must hold.
    let n = 5000;
    let files = [
        (
            "src/unary.rs",
            format!("fn f() -> bool {{ {}true }}\n", "!".repeat(n)),
        ),
        (
            "src/negation.rs",
            format!("fn f() -> i64 {{ {}1 }}\n", "- ".repeat(n)),
        ),
        (
            "src/binary.rs",
            format!("fn f() -> u64 {{ {}1 }}\n", "1 + ".repeat(n)),
        ),
        (
            "src/closures.rs",
            format!("fn f() {{ let _c = {}1; }}\n", "|| ".repeat(n)),
        ),
        (
            "src/chain.rs",
            format!("fn f() {{ x{}; }}\n", ".clone()".repeat(n)),
        ),
        (
            "src/refs.rs",
            format!("fn f() {{ let _r = {}1; }}\n", "&".repeat(n)),
        ),
    ];
    let dir = scratch(&[("src/server.rs", LOOPBACK_MAIN)]);
    for (rel, text) in &files {
        write(dir.path(), rel, text.as_bytes());
    }
    let o = run(
        dir.path(),
        &[
            "src",
            "--format",
            "json",
            "--select",
            "loopback-bind",
            "-j",
            "2",
        ],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(v["summary"]["files_scanned"], 7);
    assert_eq!(v["errors"], serde_json::json!([]));
    assert_eq!(locations(&v), ["src/server.rs:4:20 loopback-bind"]);
}

#[test]
fn byte_order_mark_and_shebang_keep_positions_right() {
    let dir = scratch(&[
        ("src/bom.rs", &format!("\u{feff}{LOOPBACK_MAIN}")),
        (
            "src/shebang.rs",
            &format!("#!/usr/bin/env rust-script\n{LOOPBACK_MAIN}"),
        ),
        (
            "src/attr.rs",
            &format!("#![allow(dead_code)]\n{LOOPBACK_MAIN}"),
        ),
        ("src/crlf.rs", &LOOPBACK_MAIN.replace('\n', "\r\n")),
    ]);
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(v["errors"], serde_json::json!([]));
    assert_eq!(
        locations(&v),
        [
            "src/attr.rs:5:20 loopback-bind",
            "src/bom.rs:4:20 loopback-bind",
            "src/crlf.rs:4:20 loopback-bind",
            "src/shebang.rs:5:20 loopback-bind",
        ]
    );
    // Byte offsets point at the bind call in the file as it is on disk.
    for f in v["findings"].as_array().unwrap() {
        let text = std::fs::read_to_string(dir.path().join(s(&f["file"]))).unwrap();
        let (a, b) = (
            f["byte_start"].as_u64().unwrap() as usize,
            f["byte_end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            &text[a..b],
            "TcpListener::bind(\"127.0.0.1:8080\")",
            "{}",
            f["file"]
        );
    }
}

#[test]
fn non_rust_files_and_ignored_folders_are_skipped() {
    let dir = scratch(&[
        ("src/main.rs", LOOPBACK_MAIN),
        ("src/notes.txt", "TcpListener::bind(\"127.0.0.1:1\")"),
        ("target/debug/build/out.rs", LOOPBACK_MAIN),
        ("vendor/gen.rs", LOOPBACK_MAIN),
        (".hidden/x.rs", LOOPBACK_MAIN),
        (".gitignore", "vendor/\n"),
    ]);
    let o = run(
        dir.path(),
        &[".", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/main.rs:4:20 loopback-bind"]);
    assert_eq!(v["summary"]["files_scanned"], 1);
}

#[test]
fn unknown_rule_and_bad_config_stop_before_any_work() {
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN)]);
    let o = run(
        dir.path(),
        &["src", "--select", "loopback-bind,retry-everything"],
    );
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: unknown rule `retry-everything` (see --list-rules)\n"
    );
    assert!(o.stdout.is_empty());

    write(
        dir.path(),
        "mesh-audit.toml",
        b"[rules.loopback-bind]\nseverity = 3\n",
    );
    let o = run(dir.path(), &["src"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("mesh-audit.toml: `rules.loopback-bind.severity`: expected \"error\", \"warning\" or \"info\""), "{err}");
    assert!(o.stdout.is_empty());

    write(dir.path(), "mesh-audit.toml", b"\xff\xfe not toml");
    let o = run(dir.path(), &["src"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("mesh-audit.toml: cannot read: "), "{err}");
}

#[test]
fn a_directory_named_like_a_source_file_is_not_read() {
    let dir = scratch(&[("src/weird.rs/inner.rs", LOOPBACK_MAIN)]);
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/weird.rs/inner.rs:4:20 loopback-bind"]);
    assert_eq!(v["errors"], serde_json::json!([]));
}

// ---------------------------------------------------------------------------
// Hostile repositories (issue 8): nothing from the audited repository runs,
// nothing outside the output folder is written, no input crashes or hangs.

/// A server with a retry loop to `inventory` (line 2): one manifest,
/// `inventory.yaml`, with `--emit-manifests`.
const RETRY_MAIN: &str = "async fn fetch(client: reqwest::Client) {
    for _ in 0..3 {
        if client.get(\"http://inventory:8080/items\").send().await.is_ok() {
            break;
        }
    }
}

fn main() {}
";

#[cfg(unix)]
fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[cfg(unix)]
fn symlink(target: &std::path::Path, link: &std::path::Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// A run that must finish: a hang is a failure, not a stuck test suite.
fn run_bounded(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    cmd(cwd)
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("binary runs")
}

/// The rustup proxy obeys a `rust-toolchain.toml` in the current folder: a
/// `[toolchain] path` there would make `cargo metadata` run any program the
/// repository names. The audit runs cargo from outside the tree, so the fake
/// toolchain's `cargo` never runs, with or without `--manifest-path`.
#[cfg(unix)]
#[test]
fn rust_toolchain_file_of_the_audited_repo_runs_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let outside = tempfile::tempdir().unwrap();
    let marker = outside.path().join("MARKER");
    let fake = outside.path().join("toolchain");
    for tool in ["cargo", "rustc"] {
        let p = fake.join("bin").join(tool);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let dir = scratch(&[
        ("Cargo.toml", &package_manifest("svc")),
        ("src/main.rs", LOOPBACK_MAIN),
        (
            "rust-toolchain.toml",
            &format!("[toolchain]\npath = \"{}\"\n", fake.display()),
        ),
    ]);
    for args in [
        &["--format", "json"][..],
        &["--format", "json", "--manifest-path", "Cargo.toml"][..],
    ] {
        // As a user runs it from a shell: the rustup proxy on PATH, no
        // toolchain chosen by a calling cargo.
        let o = cmd(dir.path())
            .args(args)
            .env_remove("CARGO")
            .env_remove("RUSTUP_TOOLCHAIN")
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(
            !marker.exists(),
            "the repository's toolchain ran ({args:?}): {}",
            stderr(&o)
        );
        assert_exit(&o, 1);
        let v = json(&o);
        assert_eq!(
            locations(&v),
            ["src/main.rs:4:20 loopback-bind"],
            "{args:?}"
        );
        assert_eq!(v["errors"], serde_json::json!([]), "{args:?}");
    }
}

/// `--emit-manifests DIR --force` replaces a link committed in DIR; its
/// target (a file outside DIR) is never written, and a dangling link never
/// creates a file outside DIR.
#[cfg(unix)]
#[test]
fn emit_manifests_force_replaces_links_instead_of_writing_through_them() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("bashrc");
    std::fs::write(&victim, "secret\n").unwrap();
    let dangling = outside.path().join("created-by-audit");
    let dir = scratch(&[("src/main.rs", RETRY_MAIN)]);
    let out = dir.path().join("mesh");
    std::fs::create_dir_all(&out).unwrap();
    symlink(&victim, &out.join("inventory.yaml"));
    let o = run(
        dir.path(),
        &["src", "--emit-manifests", "mesh", "--force", "-q"],
    );
    assert_exit(&o, 1);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
    let written = out.join("inventory.yaml");
    let meta = std::fs::symlink_metadata(&written).unwrap();
    assert!(meta.file_type().is_file(), "the link itself was replaced");
    assert!(std::fs::read_to_string(&written)
        .unwrap()
        .contains("kind: VirtualService"));

    std::fs::remove_file(&written).unwrap();
    symlink(&dangling, &written);
    let o = run(
        dir.path(),
        &["src", "--emit-manifests", "mesh", "--force", "-q"],
    );
    assert_exit(&o, 1);
    assert!(
        !dangling.exists(),
        "a dangling link created a file outside DIR"
    );
    assert!(std::fs::symlink_metadata(&written).unwrap().is_file());
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["inventory.yaml"]);
}

/// `-o FILE` never replaces a file the audit reads, and a link at FILE is
/// replaced, not followed.
#[cfg(unix)]
#[test]
fn output_file_never_overwrites_an_audited_source_or_follows_a_link() {
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN)]);
    let o = run(dir.path(), &["src", "-o", "src/main.rs"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: cannot write src/main.rs: it is a file this audit reads; choose another output file\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/main.rs")).unwrap(),
        LOOPBACK_MAIN
    );

    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("profile");
    std::fs::write(&victim, "keep\n").unwrap();
    symlink(&victim, &dir.path().join("report.json"));
    let o = run(
        dir.path(),
        &["src", "--format", "json", "-o", "report.json"],
    );
    assert_exit(&o, 1);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep\n");
    let report = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert!(report.contains("\"loopback-bind\""), "{report}");

    // A link to a device is written through: `-o /dev/stdout` still works.
    std::fs::remove_file(dir.path().join("report.json")).unwrap();
    symlink(std::path::Path::new("/dev/null"), &dir.path().join("null"));
    let o = run(dir.path(), &["src", "-o", "null"]);
    assert_exit(&o, 1);
    assert!(std::fs::symlink_metadata(dir.path().join("null"))
        .unwrap()
        .file_type()
        .is_symlink());
    let o = run(
        dir.path(),
        &["src", "--format", "short", "-o", "/dev/stdout"],
    );
    assert_exit(&o, 1);
    assert!(
        stdout(&o).starts_with("src/main.rs:4:20: error[loopback-bind]"),
        "{}",
        stdout(&o)
    );
}

/// Chains that nest without brackets (or whose brackets close at once)
/// recurse in syn or in the tree it builds: each is an error entry naming
/// its line, the process does not abort, and every other file is reported.
#[test]
fn deep_chains_are_error_entries_not_crashes() {
    let files = [
        (
            "src/assign.rs",
            format!("fn f() {{\n    {}1;\n}}\n", "a() = ".repeat(200_000)),
        ),
        (
            "src/index.rs",
            format!("fn f() {{\n    a{};\n}}\n", "[0]".repeat(200_000)),
        ),
        (
            "src/plus.rs",
            format!("fn f() {{\n    {}1;\n}}\n", "f() + ".repeat(300_000)),
        ),
        (
            "src/else_if.rs",
            format!(
                "fn f() {{\n    if a {{}} {}\n}}\n",
                "else if a {} ".repeat(200_000)
            ),
        ),
        (
            "src/nested_chains.rs",
            format!(
                "fn f() {{\n    let x = {}1{};\n}}\n",
                format!("{}(", "a = ".repeat(50)).repeat(250),
                ")".repeat(250)
            ),
        ),
        // A raw string ending in `\` must not hide the chain from the check.
        (
            "src/raw_string.rs",
            format!(
                "const S: &str = r\"\\\";\nfn f() {{ {}1; }}\n",
                "a = ".repeat(200_000)
            ),
        ),
    ];
    let dir = scratch(&[("src/server.rs", LOOPBACK_MAIN)]);
    for (rel, text) in &files {
        write(dir.path(), rel, text.as_bytes());
    }
    let o = run_bounded(
        dir.path(),
        &[
            "src",
            "--format",
            "json",
            "--select",
            "loopback-bind",
            "-j",
            "2",
        ],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/server.rs:4:20 loopback-bind"]);
    let message =
        "nested deeper than 256 levels or a statement longer than 20000 tokens; not analysed";
    let expected: Vec<_> = [
        ("src/assign.rs", 2),
        ("src/else_if.rs", 2),
        ("src/index.rs", 2),
        ("src/nested_chains.rs", 2),
        ("src/plus.rs", 2),
        ("src/raw_string.rs", 2),
    ]
    .into_iter()
    .map(|(f, l)| (f.to_string(), Some(l), Some(1), message.to_string()))
    .collect();
    assert_eq!(errors(&v), expected);
}

/// The same shapes just under the budget are analysed: the limit refuses
/// nothing a person writes, and the worker stacks hold what it lets through.
#[test]
fn chains_just_under_the_depth_budget_are_analysed() {
    let n = 19_900;
    let files = [
        (
            "src/assign.rs",
            format!("fn f() {{ {}1; }}\n", "a() = ".repeat(n / 3)),
        ),
        (
            "src/not.rs",
            format!("fn f() -> bool {{ {}true }}\n", "!".repeat(n)),
        ),
        (
            "src/ret.rs",
            format!("fn f() {{ {}1; }}\n", "return ".repeat(n)),
        ),
        (
            "src/index.rs",
            format!("fn f() {{ a{}; }}\n", "[0]".repeat(n / 2)),
        ),
        (
            "src/else_if.rs",
            format!(
                "fn f() {{ if a {{}} {} }}\n",
                "else if a {} ".repeat(n / 4 - 1)
            ),
        ),
    ];
    let dir = scratch(&[("src/server.rs", LOOPBACK_MAIN)]);
    for (rel, text) in &files {
        write(dir.path(), rel, text.as_bytes());
    }
    let o = run_bounded(
        dir.path(),
        &[
            "src",
            "--format",
            "json",
            "--select",
            "loopback-bind",
            "-j",
            "2",
        ],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(v["errors"], serde_json::json!([]));
    assert_eq!(locations(&v), ["src/server.rs:4:20 loopback-bind"]);
}

/// `.gitignore` as a FIFO and `.ignore` linked to `/dev/zero` would hang the
/// walk or exhaust memory: each is an error entry naming it, its folder is
/// still audited.
#[cfg(unix)]
#[test]
fn special_ignore_files_are_named_not_read() {
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN), ("lib/x.rs", LOOPBACK_MAIN)]);
    mkfifo(&dir.path().join(".gitignore"));
    symlink(
        std::path::Path::new("/dev/zero"),
        &dir.path().join("lib/.ignore"),
    );
    let o = run_bounded(
        dir.path(),
        &[".", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(
        locations(&v),
        [
            "lib/x.rs:4:20 loopback-bind",
            "src/main.rs:4:20 loopback-bind"
        ]
    );
    let message = "not a regular file (a FIFO, device or folder); not read; its ignore patterns are not applied";
    assert_eq!(
        errors(&v),
        [
            (".gitignore".to_string(), None, None, message.to_string()),
            ("lib/.ignore".to_string(), None, None, message.to_string()),
        ]
    );
}

/// A `Cargo.toml` linked to `/dev/zero` is never handed to cargo (which
/// would read it forever): the folder is audited without Cargo.
#[cfg(unix)]
#[test]
fn cargo_toml_linked_to_dev_zero_is_not_read() {
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN)]);
    symlink(
        std::path::Path::new("/dev/zero"),
        &dir.path().join("Cargo.toml"),
    );
    for args in [
        &["--format", "json"][..],
        &["--format", "json", "--manifest-path", "Cargo.toml"][..],
    ] {
        let o = run_bounded(dir.path(), args);
        assert_exit(&o, 1);
        let v = json(&o);
        assert_eq!(
            locations(&v),
            ["src/main.rs:4:20 loopback-bind"],
            "{args:?}"
        );
        let errs = errors(&v);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, "Cargo.toml");
        assert!(
            errs[0]
                .3
                .starts_with("cargo metadata failed, audited the folder without Cargo: ")
                && errs[0].3.ends_with(
                    "Cargo.toml: not a regular file (a FIFO, device or folder); not read"
                ),
            "{}",
            errs[0].3
        );
    }
}

/// A workspace member's `Cargo.toml` linked to `/dev/zero` is never handed
/// to cargo either: the workspace folder is audited without Cargo.
#[cfg(unix)]
#[test]
fn member_manifest_linked_to_dev_zero_is_not_read() {
    let dir = scratch(&[
        ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
        ("crates/a/src/main.rs", LOOPBACK_MAIN),
    ]);
    symlink(
        std::path::Path::new("/dev/zero"),
        &dir.path().join("crates/a/Cargo.toml"),
    );
    let o = run_bounded(dir.path(), &["--format", "json"]);
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["crates/a/src/main.rs:4:20 loopback-bind"]);
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].3.ends_with(
            "crates/a/Cargo.toml: not a regular file (a FIFO, device or folder); not read"
        ),
        "{}",
        errs[0].3
    );
}

/// `--config` naming a FIFO would block forever on open: a configuration error.
#[cfg(unix)]
#[test]
fn config_that_is_a_fifo_is_an_error() {
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN)]);
    mkfifo(&dir.path().join("cfg.toml"));
    let o = run_bounded(dir.path(), &["src", "--config", "cfg.toml"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: cfg.toml: not a regular file (a FIFO, device or folder); not read\n"
    );
    // The same for a mesh-audit.toml found at the root.
    std::fs::rename(
        dir.path().join("cfg.toml"),
        dir.path().join("mesh-audit.toml"),
    )
    .unwrap();
    let o = run_bounded(dir.path(), &["src"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("mesh-audit.toml: not a regular file"),
        "{}",
        stderr(&o)
    );
}

/// Files above `max-file-size` (default 4 MB; config key or flag) are error
/// entries that say why; the rest is audited.
#[test]
fn files_over_the_size_limit_are_error_entries() {
    let big = format!("{LOOPBACK_MAIN}{}", "// padding\n".repeat(200));
    let dir = scratch(&[("src/server.rs", LOOPBACK_MAIN), ("src/big.rs", &big)]);
    let message = format!(
        "larger than the 1 KB limit ({} bytes), likely generated; not analysed (raise `max-file-size` or --max-file-size to audit it)",
        big.len()
    );
    let o = run(
        dir.path(),
        &[
            "src",
            "--format",
            "json",
            "--select",
            "loopback-bind",
            "--max-file-size",
            "1KB",
        ],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/server.rs:4:20 loopback-bind"]);
    assert_eq!(
        errors(&v),
        [("src/big.rs".to_string(), None, None, message.clone())]
    );
    write(dir.path(), "mesh-audit.toml", b"max-file-size = 1024\n");
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_eq!(
        errors(&json(&o)),
        [("src/big.rs".to_string(), None, None, message)]
    );
    // The flag wins over the configuration.
    let o = run(
        dir.path(),
        &[
            "src",
            "--format",
            "json",
            "--select",
            "loopback-bind",
            "--max-file-size",
            "8MB",
        ],
    );
    assert_eq!(errors(&json(&o)), []);
    // The default: 4 MB.
    let huge = "// generated\n".repeat(4 * 1024 * 1024 / 13 + 1);
    write(dir.path(), "mesh-audit.toml", b"");
    write(dir.path(), "src/big.rs", huge.as_bytes());
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    let errs = errors(&json(&o));
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].3.starts_with("larger than the 4 MB limit ("),
        "{}",
        errs[0].3
    );
    let o = run(dir.path(), &["src", "--max-file-size", "lots"]);
    assert_exit(&o, 2);
}

// Near-linear work on long lines, long method chains and long functions is
// checked by counting allocations, not by timing runs on a shared machine:
// see `tests/robustness.rs`, `doubling_an_input_does_not_quadruple_the_work`.

/// A folder the walk cannot read is an error entry naming that folder.
#[cfg(unix)]
#[test]
fn unreadable_folder_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch(&[
        ("src/main.rs", LOOPBACK_MAIN),
        ("src/locked/x.rs", LOOPBACK_MAIN),
    ]);
    let locked = dir.path().join("src/locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_ok() {
        // Root reads any folder; the unit test in discover.rs covers naming.
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("skipped: permissions are not enforced for this user");
        return;
    }
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_exit(&o, 1);
    let errs = errors(&json(&o));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "src/locked");
    assert!(
        errs[0].3.starts_with("cannot read folder: "),
        "{}",
        errs[0].3
    );
}

/// Ignore files above the audited root and the user's global git excludes
/// are not read: a `*.rs` line in a parent folder's `.gitignore` does not make
/// the audit scan nothing. The tree's own `.gitignore` still applies.
#[test]
fn ignore_files_above_the_root_are_not_read() {
    let outer = scratch(&[
        (".gitignore", "*.rs\n"),
        ("repo/src/main.rs", LOOPBACK_MAIN),
        ("repo/gen/x.rs", LOOPBACK_MAIN),
        ("repo/.gitignore", "gen/\n"),
    ]);
    let repo = outer.path().join("repo");
    let o = cmd(&repo)
        .args([".", "--format", "json", "--select", "loopback-bind"])
        .env("HOME", outer.path())
        .env("XDG_CONFIG_HOME", outer.path())
        .output()
        .unwrap();
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/main.rs:4:20 loopback-bind"]);
    assert_eq!(v["summary"]["files_scanned"], 1);
}

/// Zero files scanned is a warning and exit 2 (a CI gate must not pass
/// having audited nothing), unless `--allow-empty`.
#[test]
fn nothing_to_audit_exits_2_unless_allow_empty() {
    let dir = scratch(&[
        ("src/notes.txt", "nothing"),
        (".gitignore", "*.rs\n"),
        ("src/x.rs", LOOPBACK_MAIN),
    ]);
    let o = run(dir.path(), &["src", "--format", "json"]);
    assert_exit(&o, 2);
    assert_eq!(json(&o)["summary"]["files_scanned"], 0);
    assert_eq!(
        stderr(&o),
        "warning: no Rust files were found to audit (ignored, excluded or absent); pass --allow-empty if that is expected\n"
    );
    let o = run(dir.path(), &["src", "--format", "json", "--allow-empty"]);
    assert_exit(&o, 0);
    assert_eq!(stderr(&o), "");
}

/// `--message-format json` carries `errors[]` as error diagnostics on the
/// file (line 1 when the position is unknown).
#[test]
fn message_format_json_reports_files_that_were_not_analysed() {
    let dir = scratch(&[
        ("src/broken.rs", "fn main() {\n    let x = ;\n}\n"),
        ("src/nul.rs", "fn main() {\0}\n"),
    ]);
    let o = run(dir.path(), &["src", "--message-format", "json"]);
    assert_exit(&o, 1);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<_> = lines
        .iter()
        .map(|d| {
            let span = &d["spans"][0];
            (
                s(&d["level"]),
                s(&span["file_name"]),
                span["line_start"].as_u64().unwrap(),
                span["column_start"].as_u64().unwrap(),
                s(&d["code"]["code"]),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "error".to_string(),
                "src/broken.rs".to_string(),
                2,
                13,
                "mesh_audit::file".to_string()
            ),
            (
                "error".to_string(),
                "src/nul.rs".to_string(),
                1,
                1,
                "mesh_audit::file".to_string()
            ),
        ]
    );
    assert!(s(&lines[0]["message"]).starts_with("cannot parse: "));
}

/// A path argument that is neither a regular file nor a folder is an error.
#[cfg(unix)]
#[test]
fn fifo_or_device_path_argument_is_an_error() {
    let dir = scratch(&[]);
    mkfifo(&dir.path().join("pipe.rs"));
    let o = run_bounded(dir.path(), &["pipe.rs"]);
    assert_exit(&o, 2);
    assert_eq!(stderr(&o), "error: pipe.rs: not a regular file or folder\n");
    let o = run_bounded(dir.path(), &["/dev/null"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: /dev/null: not a regular file or folder\n"
    );
}

/// Symlinked `.rs` files inside the tree are not followed; `-v` says so.
#[cfg(unix)]
#[test]
fn symlinked_sources_are_skipped_and_named_with_verbose() {
    let outside = scratch(&[("secret.rs", LOOPBACK_MAIN)]);
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN)]);
    symlink(
        &outside.path().join("secret.rs"),
        &dir.path().join("src/linked.rs"),
    );
    let o = run(
        dir.path(),
        &["src", "--format", "json", "-v", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    assert_eq!(locations(&json(&o)), ["src/main.rs:4:20 loopback-bind"]);
    assert!(
        stderr(&o).contains("note: src/linked.rs: a symbolic link; not followed, not audited\n"),
        "{}",
        stderr(&o)
    );
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert!(!stderr(&o).contains("linked.rs"), "{}", stderr(&o));
}

/// File names with control characters are escaped in human and short
/// output: an ESC sequence or a newline in a name cannot reach the terminal
/// or forge a `file:line:col:` line.
#[cfg(unix)]
#[test]
fn control_characters_in_file_names_are_escaped() {
    let dir = scratch(&[]);
    write(
        dir.path(),
        "src/a\nsrc/forged.rs:1:1: error[x]: y.rs",
        LOOPBACK_MAIN.as_bytes(),
    );
    write(dir.path(), "src/\x1b[2Jclear.rs", LOOPBACK_MAIN.as_bytes());
    let o = run(
        dir.path(),
        &["src", "--format", "short", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "{out:?}");
    assert_eq!(out.lines().count(), 2, "{out:?}");
    assert!(
        out.contains("src/\\u{1b}[2Jclear.rs:4:20: error[loopback-bind]"),
        "{out:?}"
    );
    assert!(
        out.contains("src/a\\nsrc/forged.rs:1:1: error[x]: y.rs:4:20: error[loopback-bind]"),
        "{out:?}"
    );
    let o = run(
        dir.path(),
        &["src", "--color", "never", "--select", "loopback-bind"],
    );
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "{out:?}");
    assert!(out.contains("src/\\u{1b}[2Jclear.rs:4:20"), "{out:?}");
    assert!(
        !out.lines().any(|l| l.starts_with("src/forged.rs")),
        "{out:?}"
    );
}

/// Paths outside the root are printed absolute, once (not `//abs/path`).
#[test]
fn paths_outside_the_root_are_printed_absolute() {
    let a = scratch(&[("main.rs", LOOPBACK_MAIN)]);
    let b = scratch(&[("other.rs", LOOPBACK_MAIN)]);
    let other = std::fs::canonicalize(b.path().join("other.rs")).unwrap();
    let o = run(
        a.path(),
        &[
            std::fs::canonicalize(a.path().join("main.rs"))
                .unwrap()
                .to_str()
                .unwrap(),
            other.to_str().unwrap(),
            "--format",
            "short",
            "--select",
            "loopback-bind",
        ],
    );
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("{}:4:20: error[loopback-bind]", other.display()))),
        "{out}"
    );
    assert!(!out.contains("//"), "{out}");
}

/// An invalid `exclude` glob is a configuration error naming it (exit 2).
#[test]
fn invalid_exclude_glob_is_a_config_error() {
    let dir = scratch(&[
        ("src/main.rs", LOOPBACK_MAIN),
        (
            "mesh-audit.toml",
            "exclude = [\"gen/**\", \"src/[z-a].rs\"]\n",
        ),
    ]);
    let o = run(dir.path(), &["src"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.starts_with("error: ")
            && err.ends_with("mesh-audit.toml: `exclude`: invalid glob `src/[z-a].rs`: invalid range; 'z' > 'a'\n"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

/// Values: a loop that cannot re-try (`5..3`, `0..1`, `0..=0`) is not a
/// retry loop; a duration that overflows is left out rather than wrong;
/// `format!` padding is honoured when building hosts.
#[test]
fn values_that_overflow_or_cannot_retry_are_not_reported_as_such() {
    let text = "use std::time::Duration;

const BIG: u64 = 18_446_744_073_709_551_615;
const HUGE: u64 = BIG * 1000;

async fn never_retries(client: reqwest::Client) {
    for _ in 5..3 {
        if client.get(\"http://inventory:8080/x\").send().await.is_ok() { break; }
    }
    for _ in 0..1 {
        if client.get(\"http://inventory:8080/x\").send().await.is_ok() { break; }
    }
    for _ in 0..=0 {
        if client.get(\"http://inventory:8080/x\").send().await.is_ok() { break; }
    }
}

async fn overflowing(client: reqwest::Client) {
    let a = tokio::time::timeout(Duration::from_secs(HUGE), client.get(\"http://inventory:8080/x\").send()).await;
    let b = tokio::time::timeout(Duration::from_secs(BIG) * 2, client.get(\"http://inventory:8080/x\").send()).await;
    let c = tokio::time::timeout(Duration::from_secs(3), client.get(\"http://inventory:8080/x\").send()).await;
}

async fn padded(client: reqwest::Client) {
    let url = format!(\"http://shard{:0>3}:8080/x\", 7);
    for _ in 0..3 {
        if client.get(&url).send().await.is_ok() { break; }
    }
    let url = format!(\"http://{:.9}:8080/x\", \"inventory-v2\");
    for _ in 0..3 {
        if client.get(&url).send().await.is_ok() { break; }
    }
}
";
    let dir = scratch(&[("src/lib.rs", text)]);
    let o = run(dir.path(), &["src", "--format", "json"]);
    assert_exit(&o, 1);
    let v = json(&o);
    let got: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let values: Vec<String> = f["values"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "host" | "timeout" | "retries"))
                .map(|(k, v)| format!("{k}={}", s(v)))
                .collect();
            format!("{} {} {}", f["line"], s(&f["rule"]), values.join(" "))
        })
        .collect();
    assert_eq!(
        got,
        [
            "19 timeout-wrapper host=inventory",
            "20 timeout-wrapper host=inventory",
            "21 timeout-wrapper host=inventory timeout=3s",
            "26 retry-loop host=shard007 retries=2",
            "30 retry-loop host=inventory retries=2",
        ]
    );
}

/// cargo quotes the offending line of a broken manifest; a `Cargo.toml`
/// linked to a private file must not put its lines into the report.
#[cfg(unix)]
#[test]
fn broken_manifest_lines_are_not_quoted_in_the_report() {
    let outside = scratch(&[("id_key", "PRIVATE-KEY-MATERIAL abc\n")]);
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN)]);
    symlink(
        &outside.path().join("id_key"),
        &dir.path().join("Cargo.toml"),
    );
    let o = run_bounded(dir.path(), &["--format", "json"]);
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), ["src/main.rs:4:20 loopback-bind"]);
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].3.starts_with("cargo metadata failed"),
        "{}",
        errs[0].3
    );
    assert!(
        !stdout(&o).contains("PRIVATE-KEY-MATERIAL"),
        "{}",
        stdout(&o)
    );
}
