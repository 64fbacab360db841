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
        assert_eq!((file.as_str(), *line, *column), ("Cargo.toml", None, None));
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
            "error: Cargo.toml: cargo metadata failed, audited the folder without Cargo: "
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
    assert_eq!(errs[0].0, "Cargo.toml");
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
