//! A sorted table too large to hold: rows arrive in runs, each run is sorted by its key and
//! spilled to a file in a scratch folder, and [`Spill::merge`] merges the runs (a k-way merge)
//! into `<stem>.csv` and `<stem>.parquet` through [`TableSink`], a bounded number of rows at a
//! time. The bytes of the CSV are those of the whole table written at once.
//!
//! A spill file holds rows one after another: the key (three text cells: target, compound,
//! experiment), then each column's cell (text as a length and UTF-8 bytes; numbers as a
//! presence byte and 8 little-endian bytes; booleans as one byte). The files are private to
//! the run and removed after the merge.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::tables::{Col, TableSink};

/// The sort key of a row: target, compound, experiment (`None` first).
pub type Key = (String, String, Option<String>);

/// Rows merged into the table at a time.
const MERGE_ROWS: usize = 16_384;

/// One cell as read back.
pub(crate) enum Cell {
    Str(Option<String>),
    F64(Option<f64>),
    U64(Option<u64>),
    Bool(bool),
}

/// Runs of sorted rows spilled to files, merged into one table at the end.
pub struct Spill {
    dir: PathBuf,
    runs: Vec<PathBuf>,
}

impl Spill {
    /// Spills into `dir` (created).
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn create(dir: &Path) -> Result<Spill> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Spill { dir: dir.to_path_buf(), runs: Vec::new() })
    }

    /// Whether any run was spilled.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Writes one run: `keys[i]` is the key of row `i` of `cols` (same columns every call);
    /// the rows are written in key order.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(crate) fn spill(&mut self, keys: &[Key], cols: &[Col]) -> Result<()> {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
        let path = self.dir.join(format!("run-{:05}.bin", self.runs.len()));
        let mut w = BufWriter::new(
            File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        );
        let mut buf = Vec::new();
        for i in order {
            buf.clear();
            let (t, c, e) = &keys[i];
            put_str(&mut buf, Some(t));
            put_str(&mut buf, Some(c));
            put_str(&mut buf, e.as_deref());
            for col in cols {
                match col {
                    Col::Str(_, v) => put_str(&mut buf, v[i].as_deref()),
                    Col::F64(_, v) => put_opt(&mut buf, v[i].map(f64::to_bits)),
                    Col::U64(_, v) => put_opt(&mut buf, v[i]),
                    Col::Bool(_, v) => buf.push(u8::from(v[i])),
                }
            }
            w.write_all(&buf).with_context(|| format!("writing {}", path.display()))?;
        }
        w.flush().with_context(|| format!("writing {}", path.display()))?;
        self.runs.push(path);
        Ok(())
    }

    /// Merges every run into `<stem>.csv|parquet` in `to`; `empty` gives the columns (names
    /// and kinds, no rows). The spill folder is removed.
    ///
    /// # Errors
    /// When a file cannot be read or written.
    pub(crate) fn merge(self, to: &Path, stem: &str, empty: &[Col]) -> Result<()> {
        let mut sink = TableSink::create(to, stem)?;
        let mut cols = fresh(empty);
        let mut rows = 0;
        self.merge_with(empty, &mut |cells| {
            push(&mut cols, cells);
            rows += 1;
            if rows == MERGE_ROWS {
                sink.append(rows, &cols)?;
                cols = fresh(empty);
                rows = 0;
            }
            Ok(())
        })?;
        if rows > 0 || !sink.started() {
            sink.append(rows, &cols)?;
        }
        sink.finish()
    }

    /// Merges every run, calling `each` with each row's cells in key order; the spill folder
    /// is removed.
    ///
    /// # Errors
    /// When a file cannot be read, or what `each` returns.
    pub(crate) fn merge_with(
        self,
        empty: &[Col],
        each: &mut dyn FnMut(Vec<Cell>) -> Result<()>,
    ) -> Result<()> {
        let mut readers = Vec::new();
        for p in &self.runs {
            let f = File::open(p).with_context(|| format!("opening {}", p.display()))?;
            readers.push(BufReader::with_capacity(1 << 16, f));
        }
        let mut heads: Vec<Option<(Key, Vec<Cell>)>> = Vec::new();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            let row = read_row(r, empty)
                .with_context(|| format!("reading {}", self.runs[i].display()))?;
            if let Some((k, _)) = &row {
                heap.push(Reverse((k.clone(), i)));
            }
            heads.push(row);
        }
        while let Some(Reverse((_, i))) = heap.pop() {
            let Some((_, cells)) = heads[i].take() else { continue };
            each(cells)?;
            let next = read_row(&mut readers[i], empty)
                .with_context(|| format!("reading {}", self.runs[i].display()))?;
            if let Some((k, _)) = &next {
                heap.push(Reverse((k.clone(), i)));
            }
            heads[i] = next;
        }
        drop(readers);
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("removing {}", self.dir.display()))?;
        Ok(())
    }
}

/// Empty columns like `empty`.
fn fresh(empty: &[Col]) -> Vec<Col> {
    empty
        .iter()
        .map(|c| match c {
            Col::Str(n, _) => Col::Str(n, Vec::with_capacity(MERGE_ROWS)),
            Col::F64(n, _) => Col::F64(n, Vec::with_capacity(MERGE_ROWS)),
            Col::U64(n, _) => Col::U64(n, Vec::with_capacity(MERGE_ROWS)),
            Col::Bool(n, _) => Col::Bool(n, Vec::with_capacity(MERGE_ROWS)),
        })
        .collect()
}

/// Appends one row's cells to the columns.
fn push(cols: &mut [Col], cells: Vec<Cell>) {
    for (col, cell) in cols.iter_mut().zip(cells) {
        match (col, cell) {
            (Col::Str(_, v), Cell::Str(x)) => v.push(x),
            (Col::F64(_, v), Cell::F64(x)) => v.push(x),
            (Col::U64(_, v), Cell::U64(x)) => v.push(x),
            (Col::Bool(_, v), Cell::Bool(x)) => v.push(x),
            _ => unreachable!("spilled cells follow the columns"),
        }
    }
}

fn put_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            let n = u32::try_from(s.len()).unwrap_or(u32::MAX - 1);
            buf.extend_from_slice(&n.to_le_bytes());
            buf.extend_from_slice(&s.as_bytes()[..n as usize]);
        }
        None => buf.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

fn put_opt(buf: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(x) => {
            buf.push(1);
            buf.extend_from_slice(&x.to_le_bytes());
        }
        None => buf.push(0),
    }
}

fn get_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn get_str(r: &mut impl Read) -> std::io::Result<Option<String>> {
    let n = get_u32(r)?;
    if n == u32::MAX {
        return Ok(None);
    }
    let mut b = vec![0u8; n as usize];
    r.read_exact(&mut b)?;
    String::from_utf8(b).map(Some).map_err(std::io::Error::other)
}

fn get_opt(r: &mut impl Read) -> std::io::Result<Option<u64>> {
    let mut tag = [0u8; 1];
    r.read_exact(&mut tag)?;
    if tag[0] == 0 {
        return Ok(None);
    }
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(Some(u64::from_le_bytes(b)))
}

/// The next row of a run, `None` at its end.
fn read_row(r: &mut impl Read, cols: &[Col]) -> std::io::Result<Option<(Key, Vec<Cell>)>> {
    let mut first = [0u8; 4];
    match r.read_exact(&mut first) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let n = u32::from_le_bytes(first) as usize;
    let mut t = vec![0u8; n];
    r.read_exact(&mut t)?;
    let target = String::from_utf8(t).map_err(std::io::Error::other)?;
    let compound = get_str(r)?.unwrap_or_default();
    let experiment = get_str(r)?;
    let mut cells = Vec::with_capacity(cols.len());
    for c in cols {
        cells.push(match c {
            Col::Str(..) => Cell::Str(get_str(r)?),
            Col::F64(..) => Cell::F64(get_opt(r)?.map(f64::from_bits)),
            Col::U64(..) => Cell::U64(get_opt(r)?),
            Col::Bool(..) => {
                let mut b = [0u8; 1];
                r.read_exact(&mut b)?;
                Cell::Bool(b[0] != 0)
            }
        });
    }
    Ok(Some(((target, compound, experiment), cells)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_into_the_sorted_table() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Spill::create(&tmp.path().join("spill")).unwrap();
        let key = |c: &str| ("T".to_string(), c.to_string(), None);
        let cols = |names: &[&str], xs: &[f64]| {
            vec![
                Col::Str("compound", names.iter().map(|n| Some((*n).to_string())).collect()),
                Col::F64("x", xs.iter().map(|x| Some(*x)).collect()),
                Col::U64("n", xs.iter().map(|_| None).collect()),
                Col::Bool("b", xs.iter().map(|x| *x > 1.5).collect()),
            ]
        };
        s.spill(&[key("c"), key("a")], &cols(&["c", "a"], &[3.0, 1.0])).unwrap();
        s.spill(&[key("b"), key("d")], &cols(&["b", "d"], &[2.0, 4.0])).unwrap();
        s.merge(tmp.path(), "t", &cols(&[], &[])).unwrap();
        let csv = std::fs::read_to_string(tmp.path().join("t.csv")).unwrap();
        assert_eq!(csv, "compound,x,n,b\na,1.0,,false\nb,2.0,,true\nc,3.0,,true\nd,4.0,,true\n");
        assert!(!tmp.path().join("spill").exists());
    }
}
