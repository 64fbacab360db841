//! Defaults of settings structs, as the code declares them: serde
//! `#[serde(default = "fn")]` functions and clap `default_value` /
//! `default_value_t` attributes. A service reads its retries and timeouts
//! from such a struct; the default is the value that runs unless someone
//! configures another, so findings report it and say where it is written.
//! (`impl Default` literals are struct literals, which the crate index
//! reads already.)

use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, Token};

use super::eval::{parse_humantime, Evaluator, Value};
use super::scope::{type_name, FnScope};
use super::testcode::is_test_item;
use super::FileCtx;

/// `(field, default value, line of the default)` for the fields of this
/// file's structs that declare a default; test-only structs are skipped.
/// Returns (struct type, field, default value, line of the default).
pub fn field_defaults(cx: &FileCtx<'_>) -> Vec<(String, String, Value, u32)> {
    struct V<'c, 'a> {
        cx: &'c FileCtx<'a>,
        out: Vec<(String, String, Value, u32)>,
    }
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_item_mod(&mut self, m: &'x syn::ItemMod) {
            if !is_test_item(&m.attrs) {
                syn::visit::visit_item_mod(self, m);
            }
        }
        fn visit_item_struct(&mut self, s: &'x syn::ItemStruct) {
            if is_test_item(&s.attrs) {
                return;
            }
            for f in &s.fields {
                let Some(id) = &f.ident else { continue };
                if let Some((v, line)) = field_default(self.cx, f) {
                    self.out
                        .push((s.ident.to_string(), id.to_string(), v, line));
                }
            }
        }
    }
    let mut v = V {
        cx,
        out: Vec::new(),
    };
    v.visit_file(cx.file);
    v.out
}

fn field_default(cx: &FileCtx<'_>, f: &syn::Field) -> Option<(Value, u32)> {
    for attr in &f.attrs {
        let name = attr.path().segments.last()?.ident.to_string();
        if !matches!(
            name.as_str(),
            "serde" | "arg" | "clap" | "structopt" | "config"
        ) {
            continue;
        }
        let Ok(list) = attr.meta.require_list() else {
            continue;
        };
        let Ok(metas) = list.parse_args_with(Punctuated::<syn::Meta, Token![,]>::parse_terminated)
        else {
            continue;
        };
        for meta in metas {
            let syn::Meta::NameValue(nv) = meta else {
                continue;
            };
            let key = nv
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            let line = cx.range(attr.pound_token.span).line;
            match (name.as_str(), key.as_str()) {
                ("serde", "default") => {
                    // `default = "path::to::fn"`: that function's value.
                    let Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) = &nv.value
                    else {
                        continue;
                    };
                    let fn_name = s.value().rsplit("::").next()?.to_string();
                    if let Some(found) = fn_default(cx, &fn_name) {
                        return Some(found);
                    }
                }
                (_, "default_value_t") => {
                    let empty = FnScope::empty();
                    let v = Evaluator::new(cx, &empty).eval(&nv.value);
                    if !v.is_unknown() {
                        return Some((v, line));
                    }
                }
                (_, "default_value") => {
                    let empty = FnScope::empty();
                    if let Value::Str(text) = Evaluator::new(cx, &empty).eval(&nv.value) {
                        if let Some(v) = typed(&f.ty, &text) {
                            return Some((v, line));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// A default written as text, read as the field's type reads it.
fn typed(ty: &syn::Type, text: &str) -> Option<Value> {
    let name = type_name(ty)?;
    match name.as_str() {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" => text.trim().parse::<i128>().ok().map(Value::Int),
        // `humantime::Duration`, or clap's `value_parser = humantime::parse_duration`.
        "Duration" => parse_humantime(text).map(Value::Duration),
        "String" | "Url" | "Uri" => Some(Value::Str(text.to_string())),
        _ => None,
    }
}

/// The value a default function of this file returns, and its line.
fn fn_default(cx: &FileCtx<'_>, name: &str) -> Option<(Value, u32)> {
    let f = cx
        .functions()
        .iter()
        .find(|f| f.name == name && f.sig.inputs.is_empty())?;
    let Some(syn::Stmt::Expr(tail, None)) = f.body.stmts.last() else {
        return None;
    };
    let scope = FnScope::new(Some(f.sig), f.body);
    let v = Evaluator::new(cx, &scope).eval(tail);
    use syn::spanned::Spanned;
    (!v.is_unknown()).then(|| (v, cx.range(tail.span()).line))
}
