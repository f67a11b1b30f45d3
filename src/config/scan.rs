//! A pass over the YAML before it becomes [`super::Options`]: what serde would accept
//! silently or could not point at.
//!
//! - a key given twice in one mapping (`rows:` twice in a plate entry, a second `H1:` under
//!   `targets:`, a second layout of one name, at any depth): YAML parsers keep the last one,
//!   so one of them would vanish without a word; reported with the lines of both;
//! - a control or text-direction character ([`crate::units::is_unsafe_char`]) in a key or a
//!   value (line breaks and tabs are allowed inside values): config text is typed by people,
//!   an invisible character there is a mistake (or an attack) and would give names that look
//!   alike but differ, or reach terminals and files; refused with its line;
//! - whether merge keys (`<<: *defaults`) are used, so the loader applies them.
//!
//! Lines come from serde_norway itself: a finding stops the parse with an error at the
//! offending scalar, whose location is the line; the first of two duplicate keys is found by a
//! second parse that stops there. Text that does not parse is left to the real
//! deserialisation, which reports it as before.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::ConfigProblem;
use super::locate::key_string;

/// Most findings reported from one config (each costs a parse or two of the text).
const MAX_FINDINGS: usize = 20;

/// What the scan found.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Duplicate keys and unsafe characters, in text order.
    pub problems: Vec<ConfigProblem>,
    /// The text uses merge keys (`<<`).
    pub merges: bool,
}

/// Scans YAML text (see the module docs).
pub(super) fn scan(text: &str) -> Scan {
    let mut out = Scan::default();
    for skip in 0..MAX_FINDINGS {
        let ctx = Ctx { skip, ..Ctx::default() };
        let result = run(text, &ctx);
        let found = ctx.found.into_inner();
        match (result, found) {
            (Ok(()), _) => {
                out.merges = ctx.merges.into_inner();
                return out;
            }
            (Err(e), Some(f)) => {
                let line = e.location().map(|l| l.line());
                let problem = f.problem(text, line);
                if !out.problems.contains(&problem) {
                    out.problems.push(problem);
                }
            }
            // Not a finding: the deserialisation proper reports it.
            (Err(_), None) => return out,
        }
    }
    out
}

fn run(text: &str, ctx: &Ctx) -> Result<(), serde_yaml::Error> {
    Node { path: Vec::new(), ctx }.deserialize(serde_yaml::Deserializer::from_str(text))
}

#[derive(Default)]
struct Ctx {
    /// Findings before this many are passed over (already reported).
    skip: usize,
    /// Findings met so far in this parse.
    met: RefCell<usize>,
    /// The finding that stopped this parse.
    found: RefCell<Option<Finding>>,
    /// Stop at the first occurrence of this key in the mapping at this path instead.
    first_of: Option<(Vec<String>, String)>,
    merges: RefCell<bool>,
}

impl Ctx {
    /// Records a finding; true when the parse should stop at it.
    fn finding(&self, f: Finding) -> bool {
        if self.first_of.is_some() {
            return false;
        }
        let mut met = self.met.borrow_mut();
        *met += 1;
        if *met > self.skip {
            *self.found.borrow_mut() = Some(f);
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone)]
struct Finding {
    /// Path of the mapping (or value) where it was found.
    path: Vec<String>,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// This key again in the mapping at `path`.
    Duplicate(String),
    /// This character in a key of the mapping at `path`.
    InKey(String, char),
    /// This character in the value at `path`.
    InValue(char),
}

impl Finding {
    /// The problem, `line` being where the parse stopped.
    fn problem(&self, text: &str, line: Option<usize>) -> ConfigProblem {
        let shown = |p: &[String]| {
            let p: Vec<String> =
                p.iter().map(|s| crate::units::printable(s).into_owned()).collect();
            key_string(&p.iter().map(String::as_str).collect::<Vec<_>>())
        };
        match &self.kind {
            Kind::Duplicate(key) => {
                let mut full = self.path.clone();
                full.push(key.clone());
                let first = first_line(text, &self.path, key);
                let both = match (first, line) {
                    (Some(a), Some(b)) if a == b => format!("twice on line {a}"),
                    (Some(a), Some(b)) => format!("on line {a} and again on line {b}"),
                    _ => "twice".to_string(),
                };
                ConfigProblem {
                    key: shown(&full),
                    line,
                    message: format!(
                        "duplicate key `{}`: given {both} in the same mapping; YAML would keep \
                         only the last and drop the first without a word: remove or rename one",
                        crate::units::printable(key)
                    ),
                }
            }
            Kind::InKey(key, c) => {
                let mut full = self.path.clone();
                full.push(key.clone());
                ConfigProblem { key: shown(&full), line, message: unsafe_message(*c, "key") }
            }
            Kind::InValue(c) => {
                ConfigProblem { key: shown(&self.path), line, message: unsafe_message(*c, "value") }
            }
        }
    }
}

fn unsafe_message(c: char, what: &str) -> String {
    let kind = if c.is_control() { "a control character" } else { "a text-direction character" };
    format!(
        "the {what} holds U+{:04X} ({kind}, invisible or reordering when shown); config text \
         may not hold control or text-direction characters: remove it",
        u32::from(c)
    )
}

/// The line of the first occurrence of `key` in the mapping at `path`.
fn first_line(text: &str, path: &[String], key: &str) -> Option<usize> {
    let ctx = Ctx { first_of: Some((path.to_vec(), key.to_string())), ..Ctx::default() };
    run(text, &ctx).err()?.location().map(|l| l.line())
}

/// Any YAML node at `path`.
struct Node<'c> {
    path: Vec<String>,
    ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        let bad = v.chars().find(|&c| c != '\n' && c != '\t' && crate::units::is_unsafe_char(c));
        match bad {
            Some(c) if self.ctx.finding(Finding { path: self.path, kind: Kind::InValue(c) }) => {
                Err(E::custom("unsafe character"))
            }
            _ => Ok(()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let mut path = self.path.clone();
            path.push(i.to_string());
            if seq.next_element_seed(Node { path, ctx: self.ctx })?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let seen = RefCell::new(Vec::<String>::new());
        while let Some(key) =
            map.next_key_seed(Key { path: &self.path, seen: &seen, ctx: self.ctx })?
        {
            let mut path = self.path.clone();
            path.push(key.unwrap_or_else(|| "?".to_string()));
            map.next_value_seed(Node { path, ctx: self.ctx })?;
        }
        Ok(())
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use de::VariantAccess;
        let (IgnoredAny, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant_seed(self)
    }
}

/// A key of the mapping at `path`; `None` for a key that is not a scalar.
struct Key<'a, 'c> {
    path: &'a [String],
    seen: &'a RefCell<Vec<String>>,
    ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
        let ctx = self.ctx;
        if let Some((path, key)) = &ctx.first_of {
            if path == self.path && key == v {
                return Err(E::custom("first occurrence"));
            }
            return Ok(Some(v.to_string()));
        }
        if v == "<<" {
            *ctx.merges.borrow_mut() = true;
        }
        let path = self.path.to_vec();
        if let Some(c) = v.chars().find(|&c| crate::units::is_unsafe_char(c)) {
            if ctx.finding(Finding { path, kind: Kind::InKey(v.to_string(), c) }) {
                return Err(E::custom("unsafe character"));
            }
        } else if self.seen.borrow().iter().any(|k| k == v)
            && ctx.finding(Finding { path, kind: Kind::Duplicate(v.to_string()) })
        {
            return Err(E::custom("duplicate key"));
        }
        self.seen.borrow_mut().push(v.to_string());
        Ok(Some(v.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(String, Option<usize>, String)> {
        scan(text).problems.into_iter().map(|p| (p.key, p.line, p.message)).collect()
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let text = "targets:\n  H1: {kd_nM: 1}\n  H2: {kd_nM: 2}\n  H1: {kd_nM: 3}\n";
        let found = lines(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "targets.H1");
        assert_eq!(found[0].1, Some(4));
        assert!(found[0].2.contains("on line 2 and again on line 4"), "{}", found[0].2);
    }

    #[test]
    fn duplicates_at_any_depth_and_in_flow_style() {
        let text = "plates:\n  - {plate: 1, rows: {A-B: x, A-B: y}}\n  - plate: 2\n    rows: {C: z}\n    rows: {D: w}\n";
        let found = lines(text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "plates[0].rows.A-B");
        assert!(found[0].2.contains("twice on line 2"), "{}", found[0].2);
        assert_eq!(found[1].0, "plates[1].rows");
        assert!(found[1].2.contains("on line 4 and again on line 5"), "{}", found[1].2);
    }

    #[test]
    fn same_key_in_different_mappings_is_fine() {
        let text = "a: {x: 1}\nb: {x: 2}\nc: [{x: 1}, {x: 2}]\n";
        let s = scan(text);
        assert!(s.problems.is_empty() && !s.merges);
    }

    #[test]
    fn merge_keys_are_noticed() {
        let s = scan("d: &d {x: 1}\ne: {<<: *d, y: 2}\n");
        assert!(s.problems.is_empty());
        assert!(s.merges);
    }

    #[test]
    fn unsafe_characters_in_keys_and_values() {
        let found = lines(
            "experiment: \"a\\x1b[31m\"\ntargets:\n  \"H\\u202e1\": {}\nnote: \"two\\nlines\\tok\"\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].0.as_str(), found[0].1), ("experiment", Some(1)));
        assert!(found[0].2.contains("U+001B (a control character"), "{}", found[0].2);
        assert_eq!((found[1].0.as_str(), found[1].1), ("targets.H\\u{202e}1", Some(3)));
        assert!(found[1].2.contains("U+202E (a text-direction character"), "{}", found[1].2);
    }

    #[test]
    fn text_that_does_not_parse_is_left_alone() {
        assert!(scan("a: [1, 2\n").problems.is_empty());
        assert!(scan("").problems.is_empty());
    }
}
