//! YAML key path -> line: where a config problem points. Best effort over the text, since
//! serde does not keep positions of values it accepted.

/// `["plates", "2", "target"]` -> `plates[2].target`.
pub(super) fn key_string(key: &[&str]) -> String {
    let mut s = String::new();
    for k in key {
        if k.parse::<usize>().is_ok() {
            s.push_str(&format!("[{k}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(k);
        }
    }
    s
}

/// `plates[2] (configs/run.yaml:31)`: a key path with where it is written in `settings`'
/// config file (without the line when it cannot be found).
#[must_use]
pub fn key_at(settings: &super::Settings, key: &[&str]) -> String {
    let path = settings.config_path.display();
    match locate(&settings.config_text, key) {
        Some(line) => format!("{} ({path}:{line})", key_string(key)),
        None => format!("{} ({path})", key_string(key)),
    }
}

/// `cfg.yaml:31: plates entry 3`: an entry of a config list, counted from 1 as a reader
/// counts them (the YAML key path `plates[2]` counts from 0), with the file and line where
/// it is written (the file alone when the line cannot be found).
#[must_use]
pub fn entry_at(settings: &super::Settings, list: &str, index: usize) -> String {
    let path = settings.config_path.display();
    let idx = index.to_string();
    match locate(&settings.config_text, &[list, &idx]) {
        Some(line) => format!("{path}:{line}: {list} entry {}", index + 1),
        None => format!("{path}: {list} entry {}", index + 1),
    }
}

/// Finds the 1-based line of a key path in YAML text (best effort: block and flow style).
///
/// Walks the path: a map key is the next `key:` after the current position at a deeper
/// indentation or inside the same flow mapping; a list index is the n-th `- ` item.
pub(super) fn locate(text: &str, key: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut line = 0usize;
    let mut found_any = false;
    let mut parent_indent: Option<usize> = None;
    for seg in key {
        if let Ok(n) = seg.parse::<usize>() {
            // n-th list item after `line`, at the first item indentation found.
            let mut count = 0;
            let mut item_indent = None;
            let mut hit = None;
            for (i, l) in lines.iter().enumerate().skip(line + usize::from(found_any)) {
                let t = l.trim_start();
                let ind = l.len() - t.len();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                if parent_indent.is_some_and(|p| ind <= p) && !t.starts_with("- ") {
                    break;
                }
                if t.starts_with("- ") || t == "-" {
                    let ii = *item_indent.get_or_insert(ind);
                    if ind == ii {
                        if count == n {
                            hit = Some((i, ind));
                            break;
                        }
                        count += 1;
                    }
                }
            }
            let Some((i, ind)) = hit else { break };
            line = i;
            parent_indent = Some(ind);
            found_any = true;
        } else {
            let mut hit = None;
            for (i, l) in lines.iter().enumerate().skip(line) {
                let t = l.trim_start();
                let ind = l.len() - t.len();
                if found_any && i > line && parent_indent.is_some_and(|p| ind <= p) && !t.is_empty()
                {
                    break;
                }
                if contains_key(l, seg) {
                    hit = Some((i, ind));
                    break;
                }
            }
            match hit {
                Some((i, ind)) => {
                    line = i;
                    parent_indent = Some(ind);
                    found_any = true;
                }
                None => break,
            }
        }
    }
    found_any.then_some(line + 1)
}

/// True when `line` has `key:` as a mapping key (block or flow style, optionally quoted).
fn contains_key(line: &str, key: &str) -> bool {
    let code = line.split(" #").next().unwrap_or(line);
    for pat in [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")] {
        let mut from = 0;
        while let Some(pos) = code[from..].find(&pat) {
            let at = from + pos;
            let before = code[..at].chars().next_back();
            if before.is_none_or(|c| c.is_whitespace() || c == '{' || c == ',' || c == '-') {
                return true;
            }
            from = at + 1;
        }
    }
    false
}
