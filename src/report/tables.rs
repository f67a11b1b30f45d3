//! Tables: `fits`, `wells`, `plates` and `selectivity` as CSV and Parquet through polars,
//! and the one table radbind reads back: a run's `fits.csv`, for `radbind panel`.
//!
//! All polars calls of the project are in this file (its API changes between releases).
//! Numbers that are undefined (NaN, no fit) are written as nulls (empty CSV cells).
//! Text cells of the CSV files that a spreadsheet would run as a formula (starting with
//! `=`, `+`, `-`, `@`, tab or carriage return) get a leading `'`, and control and
//! text-direction characters are written as escapes (`\u{1b}`); Parquet keeps the raw text.
//! `-0` is written `0`.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use polars::prelude::*;

use super::selectivity::{KiEntry, SelectivityRow};
use crate::derive::primary::PrimaryRow;
use crate::derive::rows::{
    Censor, CompareNumbers, CurveRow, FitNumbers, FunctionalNumbers, PlateRow, RunResults,
    TwoSiteNumbers, WellRow,
};
use crate::fit::status::CurveStatus;
use crate::saturation::SaturationRow;

/// A column under construction: a name and its cells. Counts (`U64`) are written as signed
/// 64-bit integers, which every Parquet reader accepts (Spark has no unsigned type).
pub(crate) enum Col {
    Str(&'static str, Vec<Option<String>>),
    F64(&'static str, Vec<Option<f64>>),
    U64(&'static str, Vec<Option<u64>>),
    Bool(&'static str, Vec<bool>),
}

impl Col {
    /// The column's name.
    fn name(&self) -> &'static str {
        match self {
            Col::Str(n, _) | Col::F64(n, _) | Col::U64(n, _) | Col::Bool(n, _) => n,
        }
    }
}

/// A number cell: `None` (empty) when not finite; `-0` written `0`.
pub(crate) fn num(v: f64) -> Option<f64> {
    v.is_finite().then_some(crate::units::plain_zero(v))
}

/// Whether any text cell of `cols` changes for CSV ([`csv_text`]): if not, one frame serves
/// both files.
fn csv_changes(cols: &[Col]) -> bool {
    cols.iter().any(|c| match c {
        Col::Str(_, v) => {
            v.iter().flatten().any(|s| matches!(csv_text(s), std::borrow::Cow::Owned(_)))
        }
        _ => false,
    })
}

/// The table as a data frame; `csv_safe` neutralises formula-like text cells.
fn frame(stem: &str, height: usize, cols: &[Col], csv_safe: bool) -> Result<DataFrame> {
    let columns = cols
        .iter()
        .map(|c| match c {
            Col::Str(n, v) => {
                // Text goes into the frame's buffers from borrowed cells; only a CSV cell that
                // must change is copied.
                if csv_safe {
                    let cells: Vec<Option<std::borrow::Cow<'_, str>>> =
                        v.iter().map(|s| s.as_deref().map(csv_text)).collect();
                    let cells: Vec<Option<&str>> = cells.iter().map(|c| c.as_deref()).collect();
                    Column::new((*n).into(), cells)
                } else {
                    let cells: Vec<Option<&str>> = v.iter().map(|s| s.as_deref()).collect();
                    Column::new((*n).into(), cells)
                }
            }
            Col::F64(n, v) => Column::new((*n).into(), v.clone()),
            Col::U64(n, v) => Column::new(
                (*n).into(),
                v.iter()
                    .map(|x| x.map(|x| i64::try_from(x).unwrap_or(i64::MAX)))
                    .collect::<Vec<_>>(),
            ),
            Col::Bool(n, v) => Column::new((*n).into(), v.clone()),
        })
        .collect();
    DataFrame::new(height, columns).map_err(|e| anyhow!("building table {stem}: {e}"))
}

/// Writes `<stem>.csv` and `<stem>.parquet` for one table.
pub(crate) fn write_table(dir: &Path, stem: &str, height: usize, cols: Vec<Col>) -> Result<()> {
    let mut sink = TableSink::create(dir, stem)?;
    sink.append(height, &cols)?;
    sink.finish()
}

/// Writes the fits of one shard as hive-partitioned Parquet: one file
/// `<dir>/tables/fits/target=<target>/part-<part>.parquet` per target, holding that target's
/// rows of `fits` without the `target` column (the partition names it;
/// [`crate::units::safe_name`] of the target). Returns the files written.
///
/// # Errors
/// When a file cannot be written.
pub fn write_fits_partitioned(
    curves: &[CurveRow],
    dir: &Path,
    part: usize,
) -> Result<Vec<std::path::PathBuf>> {
    let mut targets: Vec<&str> = curves.iter().map(|c| c.target.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    let mut written = Vec::new();
    for t in targets {
        let rows: Vec<CurveRow> = curves.iter().filter(|c| c.target == t).cloned().collect();
        let cols: Vec<Col> =
            fit_columns(&rows).into_iter().filter(|c| c.name() != "target").collect();
        let folder =
            dir.join("tables").join("fits").join(format!("target={}", crate::units::safe_name(t)));
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        let path = folder.join(format!("part-{part}.parquet"));
        let mut df = frame("fits", rows.len(), &cols, false)?;
        let f = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let key = polars_parquet::write::schema_to_metadata_key(&portable_arrow_schema(&df));
        let meta = polars::io::parquet::write::KeyValueMetadata::Static(vec![key]);
        ParquetWriter::new(f)
            .with_key_value_metadata(Some(meta))
            .finish(&mut df)
            .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `selectivity.csv`/`selectivity.parquet` from the Ki entries of a `fits.csv` read back
/// ([`read_fits_ki`] with an empty run name, as a run's own panel has), the panel built as a
/// run builds it (`radbind merge`).
///
/// # Errors
/// When a file cannot be written.
pub fn write_selectivity(dir: &Path, entries: Vec<KiEntry>, primary: Option<&str>) -> Result<()> {
    let panel = super::selectivity::panel_of(entries, primary);
    write_table(dir, "selectivity", panel.len(), selectivity_columns(&panel))
}

/// Joins Parquet tables of one schema (the shards' `<stem>.parquet`, in order) into `to`,
/// rows taken in the order `order` gives (indices into the joined rows; `None`: as joined),
/// written in the same portable types as a run writes them.
///
/// # Errors
/// When a file cannot be read or written, or the schemas differ.
pub fn join_parquet(
    parts: &[std::path::PathBuf],
    order: Option<&[usize]>,
    to: &Path,
) -> Result<()> {
    let mut all: Option<DataFrame> = None;
    for p in parts {
        let f = File::open(p).with_context(|| format!("opening {}", p.display()))?;
        let df =
            ParquetReader::new(f).finish().map_err(|e| anyhow!("reading {}: {e}", p.display()))?;
        all = Some(match all {
            None => df,
            Some(mut a) => {
                a.vstack_mut(&df).map_err(|e| anyhow!("joining {}: {e}", p.display()))?;
                a
            }
        });
    }
    let Some(mut df) = all else { return Ok(()) };
    if let Some(order) = order {
        let idx: Vec<IdxSize> =
            order.iter().map(|i| IdxSize::try_from(*i).unwrap_or(IdxSize::MAX)).collect();
        df = df
            .take(&IdxCa::from_vec("idx".into(), idx))
            .map_err(|e| anyhow!("ordering {}: {e}", to.display()))?;
    }
    let f = File::create(to).with_context(|| format!("creating {}", to.display()))?;
    let key = polars_parquet::write::schema_to_metadata_key(&portable_arrow_schema(&df));
    let meta = polars::io::parquet::write::KeyValueMetadata::Static(vec![key]);
    ParquetWriter::new(f)
        .with_key_value_metadata(Some(meta))
        .finish(&mut df)
        .map_err(|e| anyhow!("writing {}: {e}", to.display()))?;
    Ok(())
}

/// The Arrow schema stored in a Parquet file's footer (`ARROW:schema`), in the types every
/// reader accepts: text as plain UTF-8 (`string`, not Arrow's `string_view`, which Spark and
/// pyarrow before 16 reject) and counts as signed 64-bit integers.
fn portable_arrow_schema(df: &DataFrame) -> ArrowSchema {
    df.schema()
        .to_arrow(CompatLevel::oldest())
        .iter_values()
        .map(|f| {
            let dtype = match f.dtype {
                ArrowDataType::Utf8View | ArrowDataType::LargeUtf8 => ArrowDataType::Utf8,
                ref d => d.clone(),
            };
            (f.name.clone(), ArrowField::new(f.name.clone(), dtype, f.is_nullable))
        })
        .collect()
}

/// One table written in batches: `<stem>.csv` appended (the header once) and `<stem>.parquet`
/// one row group per batch, so a run never holds a whole table. The bytes of the CSV do not
/// depend on how the rows are cut into batches.
pub(crate) struct TableSink {
    stem: String,
    csv_path: std::path::PathBuf,
    csv: std::io::BufWriter<File>,
    pq_path: std::path::PathBuf,
    parquet: Option<polars::io::parquet::write::BatchedWriter<File>>,
    header: bool,
}

impl TableSink {
    /// Creates (truncates) both files of table `stem` in `dir`.
    ///
    /// # Errors
    /// When a file cannot be created.
    pub(crate) fn create(dir: &Path, stem: &str) -> Result<TableSink> {
        let csv_path = dir.join(format!("{stem}.csv"));
        let csv = std::io::BufWriter::new(
            File::create(&csv_path).with_context(|| format!("creating {}", csv_path.display()))?,
        );
        Ok(TableSink {
            stem: stem.to_string(),
            csv_path,
            csv,
            pq_path: dir.join(format!("{stem}.parquet")),
            parquet: None,
            header: true,
        })
    }

    /// Appends `height` rows given as columns (the same columns every call).
    ///
    /// # Errors
    /// When polars cannot build the frame or a file cannot be written.
    pub(crate) fn append(&mut self, height: usize, cols: &[Col]) -> Result<()> {
        let changes = csv_changes(cols);
        let mut df = frame(&self.stem, height, cols, changes)?;
        CsvWriter::new(&mut self.csv)
            .include_header(self.header)
            .finish(&mut df)
            .map_err(|e| anyhow!("writing {}: {e}", self.csv_path.display()))?;
        self.header = false;
        if changes {
            df = frame(&self.stem, height, cols, false)?;
        }
        let pq_path = &self.pq_path;
        if self.parquet.is_none() {
            let f =
                File::create(pq_path).with_context(|| format!("creating {}", pq_path.display()))?;
            let key = polars_parquet::write::schema_to_metadata_key(&portable_arrow_schema(&df));
            let meta = polars::io::parquet::write::KeyValueMetadata::Static(vec![key]);
            let w = ParquetWriter::new(f)
                .with_key_value_metadata(Some(meta))
                .batched(df.schema())
                .map_err(|e| anyhow!("writing {}: {e}", pq_path.display()))?;
            self.parquet = Some(w);
        }
        if height > 0
            && let Some(w) = self.parquet.as_mut()
        {
            let df = polars::frame::chunk_df_for_writing(&mut df, 512 * 512)
                .map_err(|e| anyhow!("writing {}: {e}", pq_path.display()))?;
            w.write_batch(&df).map_err(|e| anyhow!("writing {}: {e}", pq_path.display()))?;
        }
        Ok(())
    }

    /// Whether rows (or the header) were appended.
    pub(crate) fn started(&self) -> bool {
        !self.header
    }

    /// Writes the Parquet footer and flushes the CSV.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub(crate) fn finish(mut self) -> Result<()> {
        use std::io::Write as _;
        self.csv.flush().with_context(|| format!("writing {}", self.csv_path.display()))?;
        if let Some(w) = self.parquet.take() {
            w.finish().map_err(|e| anyhow!("writing {}: {e}", self.pq_path.display()))?;
        }
        Ok(())
    }
}

/// Neutralises a text cell: control and text-direction characters written as escapes
/// ([`crate::units::printable`]), and a leading `'` when a spreadsheet would evaluate it as a
/// formula.
#[must_use]
pub fn csv_cell(s: &str) -> String {
    csv_text(s).into_owned()
}

/// [`csv_cell`], borrowing the text when it needs no change.
fn csv_text(s: &str) -> std::borrow::Cow<'_, str> {
    let s = crate::units::printable(s);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}").into() } else { s }
}

/// Writes `fits.csv`/`fits.parquet`, `wells.csv`/`wells.parquet`, `plates.csv`/`plates.parquet`
/// and `selectivity.csv`/`selectivity.parquet`.
///
/// # Errors
/// When a file cannot be written.
pub fn write_all(results: &RunResults, dir: &Path) -> Result<()> {
    write_tables(results, dir, true)
}

/// [`write_all`], the wells and plates tables only when `wells` (a run in batches writes them
/// as it goes).
///
/// # Errors
/// When a file cannot be written.
pub fn write_tables(results: &RunResults, dir: &Path, wells: bool) -> Result<()> {
    // A large run (`crate::stream`) wrote its fits and selectivity tables as it merged them.
    let large = results.large.is_some();
    if !large {
        write_table(dir, "fits", results.curves.len(), fit_columns(&results.curves))?;
    }
    if wells {
        write_table(dir, "wells", results.wells.len(), well_columns(results.wells.clone()))?;
        write_table(dir, "plates", results.plates.len(), plate_columns(&results.plates))?;
    }
    if !results.saturation.is_empty() {
        let s = &results.saturation;
        write_table(dir, "saturation", s.len(), saturation_columns(s))?;
    }
    if !large {
        let panel = super::selectivity::panel(&results.curves, results.primary_target.as_deref());
        write_table(dir, "selectivity", panel.len(), selectivity_columns(&panel))?;
    }
    if !results.primary.rows.is_empty() {
        let rows: Vec<&PrimaryRow> = results.primary.rows.iter().collect();
        write_table(dir, "primary", rows.len(), primary_columns(&rows))?;
        let hits: Vec<&PrimaryRow> = results.primary.rows.iter().filter(|r| r.hit).collect();
        write_table(dir, "hits", hits.len(), primary_columns(&hits))?;
        write_table(dir, "followup", hits.len(), followup_columns(&hits))?;
    }
    Ok(())
}

/// `primary.csv` and `hits.csv`: one row per compound and primary-screen plate.
fn primary_columns(r: &[&PrimaryRow]) -> Vec<Col> {
    let s = |f: &dyn Fn(&PrimaryRow) -> String| {
        r.iter().map(|x| Some(f(x)).filter(|v| !v.is_empty())).collect()
    };
    let f = |g: &dyn Fn(&PrimaryRow) -> f64| r.iter().map(|x| num(g(x))).collect();
    let u = |g: &dyn Fn(&PrimaryRow) -> usize| r.iter().map(|x| Some(g(x) as u64)).collect();
    vec![
        Col::Str("experiment", s(&|x| x.experiment.clone())),
        Col::Str("target", s(&|x| x.target.clone())),
        Col::Str("plate", s(&|x| x.plate.clone())),
        Col::Str("barcode", s(&|x| x.barcode.clone())),
        Col::Str("source", s(&|x| x.source.clone())),
        Col::U64("index_in_file", u(&|x| x.index_in_file)),
        Col::Str("compound", s(&|x| x.compound.clone())),
        Col::F64("conc_nM", f(&|x| x.conc_nm)),
        Col::Str("wells", s(&|x| x.wells.join(";"))),
        Col::U64("n", u(&|x| x.n)),
        Col::U64("n_excluded", u(&|x| x.n_excluded)),
        Col::F64("mean_pct_specific", f(&|x| x.mean_pct_specific)),
        Col::F64("sd_pct_specific", f(&|x| x.sd_pct_specific)),
        Col::F64("se_pct_specific", f(&|x| x.se_pct_specific)),
        Col::F64("pct_inhibition", f(&|x| x.pct_inhibition)),
        Col::F64("mean_cpm", f(&|x| x.mean_cpm)),
        Col::F64("cv_pct", f(&|x| x.cv_pct)),
        Col::F64("z_prime", f(&|x| x.z_prime)),
        Col::F64("robust_z", f(&|x| x.robust_z)),
        Col::Bool("plate_qc_pass", r.iter().map(|x| x.plate_qc_pass).collect()),
        Col::Bool("hit", r.iter().map(|x| x.hit).collect()),
        Col::Str("outlier_wells", s(&|x| x.outlier_wells.join(";"))),
        Col::Str(
            "flags",
            s(&|x| x.flags.iter().map(ToString::to_string).collect::<Vec<_>>().join(";")),
        ),
    ]
}

/// `followup.csv`: the hits as a pick list, one row per hit: where the compound was
/// (plate, barcode, file, wells) and what it did, for a liquid handler or the follow-up
/// config (`radbind init --secondary`).
fn followup_columns(r: &[&PrimaryRow]) -> Vec<Col> {
    let s = |f: &dyn Fn(&PrimaryRow) -> String| {
        r.iter().map(|x| Some(f(x)).filter(|v| !v.is_empty())).collect()
    };
    let f = |g: &dyn Fn(&PrimaryRow) -> f64| r.iter().map(|x| num(g(x))).collect();
    vec![
        Col::Str("compound", s(&|x| x.compound.clone())),
        Col::Str("target", s(&|x| x.target.clone())),
        Col::Str("source_plate", s(&|x| x.plate.clone())),
        Col::Str("source_barcode", s(&|x| x.barcode.clone())),
        Col::Str("source_file", s(&|x| x.source.clone())),
        Col::Str("source_well", s(&|x| x.wells.first().cloned().unwrap_or_default())),
        Col::Str("source_wells", s(&|x| x.wells.join(";"))),
        Col::F64("conc_nM", f(&|x| x.conc_nm)),
        Col::F64("pct_inhibition", f(&|x| x.pct_inhibition)),
        Col::F64("robust_z", f(&|x| x.robust_z)),
        Col::Str(
            "flags",
            s(&|x| x.flags.iter().map(ToString::to_string).collect::<Vec<_>>().join(";")),
        ),
    ]
}

/// The selectivity panel as CSV bytes, exactly as `selectivity.csv` is written (for
/// `radbind panel`, which writes to stdout or a file of the user's choosing).
///
/// # Errors
/// When polars cannot build or write the table.
pub fn selectivity_csv(rows: &[SelectivityRow]) -> Result<Vec<u8>> {
    let mut df = frame("selectivity", rows.len(), &selectivity_columns(rows), true)?;
    let mut out = Vec::new();
    CsvWriter::new(&mut out)
        .include_header(true)
        .finish(&mut df)
        .map_err(|e| anyhow!("writing the selectivity table: {e}"))?;
    Ok(out)
}

pub(crate) fn selectivity_columns(r: &[SelectivityRow]) -> Vec<Col> {
    let s = |f: &dyn Fn(&SelectivityRow) -> String| {
        r.iter().map(|x| Some(f(x)).filter(|v| !v.is_empty())).collect()
    };
    let f = |g: &dyn Fn(&SelectivityRow) -> f64| r.iter().map(|x| num(g(x))).collect();
    vec![
        Col::Str("run", s(&|x| x.run.clone())),
        Col::Str("experiment", s(&|x| x.experiment.clone())),
        Col::Str("experiment_id", s(&|x| x.experiment_id.clone())),
        Col::Str("compound", s(&|x| x.compound.clone())),
        Col::Str("target", s(&|x| x.target.clone())),
        Col::Str("model", s(&|x| x.model.clone())),
        Col::Str("ki_qualifier", s(&|x| x.ki_censor.mark().to_string())),
        Col::F64("ki_nM", f(&|x| x.ki_nm)),
        Col::F64("ki_ci_low_nM", f(&|x| x.ki_ci_nm.0)),
        Col::F64("ki_ci_high_nM", f(&|x| x.ki_ci_nm.1)),
        Col::F64("pki", f(&|x| x.pki)),
        Col::Str("status", s(&|x| x.status.to_string())),
        Col::Str("flags", s(&|x| x.flags.join(";"))),
        Col::Str("primary_target", s(&|x| x.primary_target.clone().unwrap_or_default())),
        Col::Str("primary_run", s(&|x| x.primary_run.clone())),
        Col::Str("primary_ki_qualifier", s(&|x| x.primary_ki_censor.mark().to_string())),
        Col::F64("primary_ki_nM", f(&|x| x.primary_ki_nm)),
        Col::Str("ratio_qualifier", s(&|x| x.ratio_censor.mark().to_string())),
        Col::F64("ratio", f(&|x| x.ratio)),
        Col::Str("ratio_note", s(&|x| x.ratio_note.clone())),
    ]
}

/// Undoes [`csv_cell`]: drops the leading `'` put before a formula-like cell.
fn uncell(s: &str) -> String {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => s.to_string(),
    }
}

/// Reads the `(target, compound)` pairs of a run's `followup.csv` or `hits.csv` (both have
/// `target` and `compound` columns), in file order, for `radbind init --secondary`.
///
/// # Errors
/// When the file cannot be read or parsed, or lacks a `target` or `compound` column.
pub fn read_followup(path: &Path) -> Result<Vec<(String, String)>> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(polars::prelude::SerReader::finish)
        .map_err(|e| anyhow!("reading {}: {e}", path.display()))?;
    let text = |name: &str| -> Result<Vec<String>> {
        let col = df.column(name).map_err(|_| {
            anyhow!(
                "{}: no column `{name}` (give a radbind followup.csv or hits.csv)",
                path.display()
            )
        })?;
        let ca = col.str().map_err(|e| anyhow!("{}: column `{name}`: {e}", path.display()))?;
        Ok(ca.iter().map(|v| uncell(v.unwrap_or_default())).collect())
    };
    let (t, c) = (text("target")?, text("compound")?);
    Ok(t.into_iter().zip(c).filter(|(_, c)| !c.is_empty()).collect())
}

/// Reads the Ki of every curve of a run's `fits.csv` for the selectivity panel, with `run`
/// as the run name of each entry.
///
/// Read with polars, the library that wrote the file, so quoting follows the writer exactly;
/// every column is read as text (no type inference: a compound called `007` stays text, an
/// all-empty column is not an error) and numbers are parsed here, so they come back
/// bit-for-bit as written. Needs the columns `experiment, target, compound, model, ki_nM,
/// ki_ci_low_nM, ki_ci_high_nM, pki, ic50_qualifier, status, flags`, takes a censored
/// curve's bound from `ki_bound_nM` when the file has it and reads `experiment_id` when
/// present; others are ignored.
///
/// # Errors
/// When the file cannot be read or parsed, lacks a column, or holds a cell that is not a
/// number or qualifier where one belongs; the message names the file (and the data row,
/// counted from 1 below the header).
pub fn read_fits_ki(path: &Path, run: &str) -> Result<Vec<KiEntry>> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(polars::prelude::SerReader::finish)
        .map_err(|e| anyhow!("reading {}: {e}", path.display()))?;
    let text = |name: &str| -> Result<Vec<String>> {
        let col = df.column(name).map_err(|_| {
            anyhow!("{}: no column `{name}` (is this a radbind fits.csv?)", path.display())
        })?;
        let ca = col.str().map_err(|e| anyhow!("{}: column `{name}`: {e}", path.display()))?;
        Ok(ca.iter().map(|v| uncell(v.unwrap_or_default())).collect())
    };
    let number = |name: &str| -> Result<Vec<f64>> {
        text(name)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if v.trim().is_empty() {
                    Ok(f64::NAN)
                } else {
                    v.trim().parse::<f64>().map_err(|_| {
                        anyhow!("{} row {}: `{name}` is `{v}`, not a number", path.display(), i + 1)
                    })
                }
            })
            .collect()
    };
    let experiment = text("experiment")?;
    // Runs written before experiments existed have no `experiment_id`: every curve is the run's.
    let experiment_id = if df.column("experiment_id").is_ok() {
        text("experiment_id")?
    } else {
        vec![String::new(); df.height()]
    };
    let target = text("target")?;
    let compound = text("compound")?;
    let model = text("model")?;
    let ki = number("ki_nM")?;
    // Runs written before the bounds had their own column hold them in `ki_nM`.
    let ki_bound = number("ki_bound_nM").unwrap_or_else(|_| vec![f64::NAN; df.height()]);
    let ci_lo = number("ki_ci_low_nM")?;
    let ci_hi = number("ki_ci_high_nM")?;
    let pki = number("pki")?;
    let qualifier = text("ic50_qualifier")?;
    let status = text("status")?;
    let flags = text("flags")?;
    (0..df.height())
        .map(|i| {
            let ki_censor = Censor::from_mark(&qualifier[i]).with_context(|| {
                format!(
                    "{} row {}: `ic50_qualifier` is `{}`; expected >, < or empty",
                    path.display(),
                    i + 1,
                    qualifier[i]
                )
            })?;
            let status = status[i]
                .parse::<CurveStatus>()
                .map_err(|e| anyhow!("{} row {}: `status`: {e}", path.display(), i + 1))?;
            Ok(KiEntry {
                run: run.to_string(),
                experiment: experiment[i].clone(),
                experiment_id: experiment_id[i].clone(),
                compound: compound[i].clone(),
                target: target[i].clone(),
                model: model[i].clone(),
                ki_nm: if ki_censor.is_exact() || ki_bound[i].is_nan() {
                    ki[i]
                } else {
                    ki_bound[i]
                },
                ki_censor,
                ki_ci_nm: (ci_lo[i], ci_hi[i]),
                pki: pki[i],
                status,
                flags: flags[i].split(';').filter(|f| !f.is_empty()).map(str::to_string).collect(),
            })
        })
        .collect()
}

/// A table read back from a run's Parquet file (`radbind summarize`): its text columns and
/// its number columns (integers as f64, nulls as NaN), by name.
#[derive(Debug, Default)]
pub struct ReadTable {
    /// The file, for messages.
    pub path: std::path::PathBuf,
    /// Number of rows.
    pub height: usize,
    text: std::collections::BTreeMap<String, Vec<String>>,
    numbers: std::collections::BTreeMap<String, Vec<f64>>,
}

impl ReadTable {
    /// A text column (nulls as empty text).
    ///
    /// # Errors
    /// When the table has no such text column.
    pub fn text(&self, name: &str) -> Result<&[String]> {
        self.text.get(name).map(Vec::as_slice).ok_or_else(|| {
            anyhow!("{}: no text column `{name}` (is this a radbind table?)", self.path.display())
        })
    }

    /// A text column, or empty text in every row when the table has none (a column newer
    /// than the run).
    #[must_use]
    pub fn text_or_empty(&self, name: &str) -> Vec<String> {
        self.text.get(name).cloned().unwrap_or_else(|| vec![String::new(); self.height])
    }

    /// A number column (nulls as NaN), or NaN in every row when the table has none or the
    /// column is all null (written as text).
    #[must_use]
    pub fn numbers(&self, name: &str) -> Vec<f64> {
        self.numbers.get(name).cloned().unwrap_or_else(|| vec![f64::NAN; self.height])
    }
}

/// Reads a Parquet table a run wrote (`fits.parquet`, `plates.parquet`): every text and
/// numeric column, bit-for-bit as written (Parquet keeps the f64s and the raw text).
///
/// # Errors
/// When the file cannot be read or is not Parquet.
pub fn read_parquet(path: &Path) -> Result<ReadTable> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let df =
        ParquetReader::new(f).finish().map_err(|e| anyhow!("reading {}: {e}", path.display()))?;
    let mut t = ReadTable { path: path.to_path_buf(), height: df.height(), ..ReadTable::default() };
    for col in df.columns() {
        let name = col.name().to_string();
        match col.dtype() {
            DataType::String => {
                let ca = col.str().map_err(|e| anyhow!("{}: `{name}`: {e}", path.display()))?;
                t.text.insert(name, ca.iter().map(|v| v.unwrap_or_default().to_string()).collect());
            }
            DataType::Boolean => {}
            dt if dt.is_primitive_numeric() => {
                let c = col
                    .cast(&DataType::Float64)
                    .map_err(|e| anyhow!("{}: `{name}`: {e}", path.display()))?;
                let ca = c.f64().map_err(|e| anyhow!("{}: `{name}`: {e}", path.display()))?;
                t.numbers.insert(name, ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect());
            }
            _ => {}
        }
    }
    Ok(t)
}

pub(crate) fn fit_columns(c: &[CurveRow]) -> Vec<Col> {
    let s = |f: &dyn Fn(&CurveRow) -> String| c.iter().map(|r| Some(f(r))).collect();
    let fit = |f: &dyn Fn(&FitNumbers) -> f64| {
        c.iter().map(|r| r.fit.as_ref().and_then(|x| num(f(x)))).collect()
    };
    // A censored IC50 has no log IC50 estimate worth reporting: the value lies beyond the
    // tested range, so these columns stay empty and ic50_nM holds the bound.
    let uncensored = |f: &dyn Fn(&FitNumbers) -> f64| {
        c.iter()
            .map(|r| r.fit.as_ref().filter(|x| x.censor.is_exact()).and_then(|x| num(f(x))))
            .collect()
    };
    let two = |f: &dyn Fn(&TwoSiteNumbers) -> f64| {
        c.iter()
            .map(|r| r.fit.as_ref().and_then(|x| x.two_site.as_ref()).and_then(|t| num(f(t))))
            .collect()
    };
    let fun = |f: &dyn Fn(&FunctionalNumbers) -> f64| {
        c.iter().map(|r| r.functional.as_ref().and_then(|x| num(f(x)))).collect()
    };
    let fun_s = |f: &dyn Fn(&FunctionalNumbers) -> String| {
        c.iter().map(|r| r.functional.as_ref().map(f).filter(|s| !s.is_empty())).collect()
    };
    let sig = |f: &dyn Fn(&crate::fit::SignalPlateaus) -> f64| {
        c.iter()
            .map(|r| {
                r.fit.as_ref().and_then(|x| x.signal_plateaus.as_ref()).and_then(|p| num(f(p)))
            })
            .collect()
    };
    let cmp_s = |f: &dyn Fn(&CompareNumbers) -> String| {
        c.iter().map(|r| r.comparison.as_ref().map(f)).collect()
    };
    vec![
        Col::Str("experiment", s(&|r| r.experiment.clone())),
        Col::Str(
            "experiment_id",
            c.iter().map(|r| Some(r.experiment_id.clone()).filter(|e| !e.is_empty())).collect(),
        ),
        Col::Str("target", s(&|r| r.target.clone())),
        Col::Str("compound", s(&|r| r.compound.clone())),
        Col::Str("plates", s(&|r| r.plates.join(";"))),
        Col::Str("radioligand", s(&|r| r.radioligand.clone())),
        Col::F64("radioligand_nM", c.iter().map(|r| num(r.radioligand_nm)).collect()),
        Col::F64("kd_nM", c.iter().map(|r| num(r.kd_nm)).collect()),
        Col::Str("model", s(&|r| r.model.clone())),
        Col::U64("n_points", c.iter().map(|r| Some(r.n_points as u64)).collect()),
        Col::F64("top", fit(&|f| f.top)),
        Col::F64("top_se", fit(&|f| f.plateau_hill_se[0])),
        Col::F64("bottom", fit(&|f| f.bottom)),
        Col::F64("bottom_se", fit(&|f| f.plateau_hill_se[1])),
        Col::F64("hill_slope", fit(&|f| f.hill_slope)),
        Col::F64("hill_slope_se", fit(&|f| f.plateau_hill_se[2])),
        Col::F64("log_ic50", uncensored(&|f| f.log_ic50)),
        Col::F64("log_ic50_se", uncensored(&|f| f.log_ic50_se)),
        Col::Str(
            "ic50_qualifier",
            c.iter()
                .map(|r| {
                    r.fit.as_ref().filter(|f| !f.censor.is_exact()).map(|f| f.censor.to_string())
                })
                .collect(),
        ),
        // Measured values only: a censored curve's bound is in `ic50_bound_nM`/`ki_bound_nM`,
        // so the nM columns can be aggregated as they are.
        Col::F64("ic50_nM", uncensored(&|f| f.ic50_nm)),
        Col::F64("ic50_ci_low_nM", fit(&|f| f.ic50_ci_nm.0)),
        Col::F64("ic50_ci_high_nM", fit(&|f| f.ic50_ci_nm.1)),
        Col::F64("ki_nM", uncensored(&|f| f.ki_nm)),
        Col::F64("ki_ci_low_nM", fit(&|f| f.ki_ci_nm.0)),
        Col::F64("ki_ci_high_nM", fit(&|f| f.ki_ci_nm.1)),
        Col::F64("pic50", fit(&|f| f.pic50)),
        Col::F64("pki", fit(&|f| f.pki)),
        Col::F64("r_squared", fit(&|f| f.r_squared)),
        Col::F64("sy_x", fit(&|f| f.sy_x)),
        Col::F64("tested_low_nM", c.iter().map(|r| num(r.tested_range_nm.0)).collect()),
        Col::F64("tested_high_nM", c.iter().map(|r| num(r.tested_range_nm.1)).collect()),
        Col::Str("status", s(&|r| r.status.to_string())),
        Col::Str("flags", s(&|r| r.flags.join(";"))),
        Col::F64("fraction_hi", two(&|t| t.fraction_hi)),
        Col::F64("log_ic50_hi", two(&|t| t.log_ic50_hi)),
        Col::F64("log_ic50_lo", two(&|t| t.log_ic50_lo)),
        Col::F64("ki_hi_nM", two(&|t| t.ki_hi_nm)),
        Col::F64("ki_lo_nM", two(&|t| t.ki_lo_nm)),
        Col::U64("n_outliers", c.iter().map(|r| Some(r.n_outliers as u64)).collect()),
        Col::Str(
            "curve_class",
            c.iter().map(|r| Some(r.curve_class.clone()).filter(|s| !s.is_empty())).collect(),
        ),
        Col::F64("lack_of_fit_p", c.iter().map(|r| num(r.lack_of_fit_p)).collect()),
        Col::Str("compare", cmp_s(&|x| x.name.clone())),
        Col::F64(
            "compare_statistic",
            c.iter().map(|r| r.comparison.as_ref().and_then(|x| num(x.statistic))).collect(),
        ),
        Col::F64(
            "compare_p",
            c.iter().map(|r| r.comparison.as_ref().and_then(|x| num(x.p))).collect(),
        ),
        Col::Str("preferred_model", cmp_s(&|x| x.preferred.clone())),
        Col::F64("log_ic50_profile_low", fit(&|f| f.log_ic50_profile.0)),
        Col::F64("log_ic50_profile_high", fit(&|f| f.log_ic50_profile.1)),
        Col::Str("functional_role", fun_s(&|x| x.role.to_string())),
        Col::F64("emax_pct", fun(&|x| x.emax_pct)),
        Col::F64("emax_se", fun(&|x| x.emax_se)),
        Col::F64("relative_efficacy", fun(&|x| x.relative_efficacy)),
        Col::Str("efficacy", fun_s(&|x| x.efficacy.map(|e| e.to_string()).unwrap_or_default())),
        Col::F64("kb_nM", fun(&|x| x.kb_nm)),
        Col::F64("kb_ci_low_nM", fun(&|x| x.kb_ci_nm.0)),
        Col::F64("kb_ci_high_nM", fun(&|x| x.kb_ci_nm.1)),
        Col::Str("response", s(&|r| r.response_label.to_string())),
        Col::F64("top_signal", sig(&|p| p.top)),
        Col::F64("top_signal_se", sig(&|p| p.top_se)),
        Col::F64("bottom_signal", sig(&|p| p.bottom)),
        Col::F64("bottom_signal_se", sig(&|p| p.bottom_se)),
        Col::Str(
            "ki_qualifier",
            c.iter()
                .map(|r| {
                    r.fit
                        .as_ref()
                        .filter(|f| !f.censor.is_exact() && r.censored_ki_nm().is_some())
                        .map(|f| f.censor.to_string())
                })
                .collect(),
        ),
        Col::F64("ic50_bound_nM", c.iter().map(|r| r.ic50_bound_nm().and_then(num)).collect()),
        Col::F64("ki_bound_nM", c.iter().map(|r| r.censored_ki_nm().and_then(num)).collect()),
    ]
}

fn saturation_columns(r: &[SaturationRow]) -> Vec<Col> {
    let f = |g: &dyn Fn(&SaturationRow) -> f64| r.iter().map(|x| num(g(x))).collect();
    let s = |g: &dyn Fn(&SaturationRow) -> String| r.iter().map(|x| Some(g(x))).collect();
    let fit = |g: &dyn Fn(&crate::fit::models::saturation::SaturationFit) -> f64| {
        r.iter().map(|x| x.fit.as_ref().and_then(|y| num(g(y)))).collect()
    };
    vec![
        Col::Str("experiment", s(&|x| x.experiment.clone())),
        Col::Str("target", s(&|x| x.target.clone())),
        Col::Str("radioligand", s(&|x| x.radioligand.clone())),
        Col::Str("plates", s(&|x| x.plates.join(";"))),
        Col::Str("model", s(&|x| x.model.clone())),
        Col::Bool("depletion_corrected", r.iter().map(|x| x.depletion_corrected).collect()),
        Col::U64(
            "n_points",
            r.iter().map(|x| Some(x.fit.as_ref().map_or(0, |y| y.n_points) as u64)).collect(),
        ),
        Col::F64("kd_nM", fit(&|y| y.kd_nm)),
        Col::F64("kd_ci_low_nM", fit(&|y| y.kd_ci_nm.0)),
        Col::F64("kd_ci_high_nM", fit(&|y| y.kd_ci_nm.1)),
        Col::F64("log_kd_se", fit(&|y| y.log_kd_se)),
        Col::F64("bmax_cpm", fit(&|y| y.bmax)),
        Col::F64("bmax_se_cpm", fit(&|y| y.bmax_se)),
        Col::F64("bmax_ci_low_cpm", fit(&|y| y.bmax_ci.0)),
        Col::F64("bmax_ci_high_cpm", fit(&|y| y.bmax_ci.1)),
        Col::F64("hill_slope", fit(&|y| y.hill)),
        Col::F64("hill_slope_se", fit(&|y| y.hill_se)),
        Col::F64("ns_cpm_per_nM", fit(&|y| y.ns)),
        Col::F64("background_cpm", fit(&|y| y.background)),
        Col::F64("specific_activity_Ci_per_mmol", f(&|x| x.specific_activity_ci_per_mmol)),
        Col::F64("decay_fraction", f(&|x| x.decay_fraction)),
        Col::F64("bmax_dpm", f(&|x| x.bmax_dpm)),
        Col::F64("bmax_fmol", f(&|x| x.bmax_fmol)),
        Col::F64("bmax_fmol_per_mg", f(&|x| x.bmax_fmol_per_mg)),
        Col::F64("bmax_fmol_per_mg_ci_low", f(&|x| x.bmax_fmol_per_mg_ci.0)),
        Col::F64("bmax_fmol_per_mg_ci_high", f(&|x| x.bmax_fmol_per_mg_ci.1)),
        Col::F64("sites_per_cell", f(&|x| x.sites_per_cell)),
        Col::F64("r_squared", fit(&|y| y.r_squared)),
        Col::F64("sy_x", fit(&|y| y.sy_x)),
        Col::F64("pct_specific_at_kd", fit(&|y| y.pct_specific_at_kd)),
        Col::F64("max_fraction_bound_pct", f(&|x| x.max_fraction_bound_pct)),
        Col::F64("highest_conc_over_kd", fit(&|y| y.highest_l_over_kd)),
        Col::Str("status", s(&|x| x.status.to_string())),
        Col::Str("flags", s(&|x| x.flags.join(";"))),
        Col::Str("notes", s(&|x| x.fit.as_ref().map_or_else(String::new, |y| y.notes.join("; ")))),
    ]
}

/// The columns of `wells`, the rows' text moved into them (a run in batches writes some
/// 100 well rows a plate).
pub(crate) fn well_columns(w: Vec<WellRow>) -> Vec<Col> {
    let n = w.len();
    let (mut plate, mut well, mut role, mut compound) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut conc, mut cpm, mut specific, mut pct) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut excluded, mut reason, mut source) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for r in w {
        plate.push(Some(r.plate));
        well.push(Some(r.well));
        role.push(Some(r.role.to_string()));
        compound.push(r.compound);
        conc.push(r.conc_nm.and_then(num));
        cpm.push(r.cpm.and_then(num));
        specific.push(r.specific.and_then(num));
        pct.push(r.pct_specific.and_then(num));
        excluded.push(r.excluded.is_some());
        reason.push(r.excluded);
        source.push(r.source);
    }
    vec![
        Col::Str("plate", plate),
        Col::Str("well", well),
        Col::Str("role", role),
        Col::Str("compound", compound),
        Col::F64("conc_nM", conc),
        Col::F64("cpm", cpm),
        Col::F64("specific_cpm", specific),
        Col::F64("pct_specific", pct),
        Col::Bool("excluded", excluded),
        Col::Str("excluded_reason", reason),
        Col::Str("source", source),
    ]
}

pub(crate) fn plate_columns(p: &[PlateRow]) -> Vec<Col> {
    let f = |g: &dyn Fn(&PlateRow) -> f64| p.iter().map(|r| num(g(r))).collect();
    let s = |g: &dyn Fn(&PlateRow) -> String| p.iter().map(|r| Some(g(r))).collect();
    vec![
        Col::Str("plate", s(&|r| r.plate.clone())),
        Col::Str("source", s(&|r| r.source.clone())),
        Col::U64("index_in_file", p.iter().map(|r| Some(r.index_in_file as u64)).collect()),
        Col::Str("target", s(&|r| r.target.clone())),
        Col::Str("layout", s(&|r| r.layout.clone())),
        Col::Bool("rotated", p.iter().map(|r| r.rotated).collect()),
        Col::U64("n_total", p.iter().map(|r| Some(r.n_total as u64)).collect()),
        Col::F64("total_mean_cpm", f(&|r| r.total_mean)),
        Col::F64("total_sd_cpm", f(&|r| r.total_sd)),
        Col::F64("total_cv_pct", f(&|r| r.total_cv_pct)),
        Col::U64("n_nsb", p.iter().map(|r| Some(r.n_nsb as u64)).collect()),
        Col::F64("nsb_mean_cpm", f(&|r| r.nsb_mean)),
        Col::F64("nsb_sd_cpm", f(&|r| r.nsb_sd)),
        Col::F64("nsb_cv_pct", f(&|r| r.nsb_cv_pct)),
        Col::F64("z_prime", f(&|r| r.z_prime)),
        Col::F64("signal_to_background", f(&|r| r.signal_to_background)),
        Col::F64("nsb_pct_of_total", f(&|r| r.nsb_pct_of_total)),
        Col::U64("n_basal", p.iter().map(|r| Some(r.n_basal as u64)).collect()),
        Col::F64("basal_mean_cpm", f(&|r| r.basal_mean)),
        Col::F64("basal_cv_pct", f(&|r| r.basal_cv_pct)),
        Col::F64("fraction_bound_pct", f(&|r| r.fraction_bound_pct)),
        Col::Str("flags", s(&|r| r.flags.join(";"))),
        Col::Str("instrument", s(&|r| r.instrument.clone())),
        Col::Str("normalisation", s(&|r| r.normalisation.to_string())),
        Col::F64("pipetting_cv_pct", f(&|r| r.pipetting_cv_pct)),
        Col::F64("counting_minutes", f(&|r| r.counting_minutes)),
        Col::F64("background_sd_cpm", f(&|r| r.background_sd_cpm)),
        Col::U64("variance_wells", p.iter().map(|r| Some(r.variance_wells as u64)).collect()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("mianserin"), "mianserin");
        assert_eq!(csv_cell("[3H]LSD"), "[3H]LSD");
        assert_eq!(uncell(&csv_cell("=1")), "=1");
        assert_eq!(uncell("'abc"), "'abc");
    }

    #[test]
    fn control_characters_and_negative_zero() {
        assert_eq!(csv_cell("a\u{0}b\u{c}\u{1b}[2J\u{202e}"), "a\\u{0}b\\u{c}\\u{1b}[2J\\u{202e}");
        assert_eq!(csv_cell("\u{1b}=1"), "\\u{1b}=1");
        assert_eq!(num(-0.0).map(|v| v.to_string()), Some("0".to_string()));
        let mut df = frame("t", 2, &[Col::F64("x", vec![num(-0.0), num(-1.5)])], true).unwrap();
        let mut out = Vec::new();
        CsvWriter::new(&mut out).include_header(true).finish(&mut df).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "x\n0.0\n-1.5\n");
    }

    /// `fits.csv` read back for `radbind panel` gives the entries the run's own panel is built
    /// from: same numbers to the bit, formula guards undone, censored and failed rows kept.
    #[test]
    fn fits_read_back_as_panel_entries() {
        let mut r = crate::test_support::sample_results();
        r.curves[0].compound = "=HYPERLINK(\"x\")".into();
        r.curves[0].flags = vec!["-odd".into(), "lack_of_fit".into()];
        // What derive writes for a censored curve: the bound (10 µM / 2) and its pKi.
        let f = r.curves[1].fit.as_mut().expect("fit");
        f.ki_nm = 5000.0;
        f.pki = crate::units::p_value(5000.0);
        f.ki_ci_nm = (f64::NAN, f64::NAN);
        let dir = tempfile::tempdir().expect("tempdir");
        write_table(dir.path(), "fits", r.curves.len(), fit_columns(&r.curves)).expect("write");
        let text = std::fs::read_to_string(dir.path().join("fits.csv")).expect("read");
        assert!(text.contains("\"'=HYPERLINK"), "guarded in the file: {text}");
        let read = read_fits_ki(&dir.path().join("fits.csv"), "run-1").expect("read back");
        let want: Vec<KiEntry> = r
            .curves
            .iter()
            .map(|c| KiEntry { run: "run-1".into(), ..KiEntry::from_curve(c) })
            .collect();
        assert_eq!(read.len(), want.len());
        for (a, b) in read.iter().zip(&want) {
            // NaN != NaN: compare the bits.
            let bits = |e: &KiEntry| [e.ki_nm, e.ki_ci_nm.0, e.ki_ci_nm.1, e.pki].map(f64::to_bits);
            assert_eq!(bits(a), bits(b), "{} / {}", a.target, a.compound);
            let text = |e: &KiEntry| {
                (e.run.clone(), e.compound.clone(), e.target.clone(), e.model.clone(), e.ki_censor)
            };
            assert_eq!(text(a), text(b));
            assert_eq!((&a.status, &a.flags), (&b.status, &b.flags));
        }
        assert_eq!(read[0].compound, "=HYPERLINK(\"x\")");
        assert_eq!(read[0].flags, ["-odd", "lack_of_fit"]);
        assert_eq!(read[1].ki_censor, Censor::Above);

        let e = read_fits_ki(&dir.path().join("wells.csv"), "x").expect_err("no such file");
        assert!(e.to_string().contains("wells.csv"), "{e}");
        std::fs::write(dir.path().join("bad.csv"), "target,compound\nT,c\n").expect("write");
        let e = read_fits_ki(&dir.path().join("bad.csv"), "x").expect_err("columns");
        assert!(e.to_string().contains("no column `experiment`"), "{e}");
    }
}
