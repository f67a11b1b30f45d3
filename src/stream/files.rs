//! Reading and laying out the inputs as they are needed: files are read a group at a time (in
//! parallel on the run's worker threads), their plates laid out, and the laid-out plates handed
//! on in batches of whole curves, so a run never holds every plate it reads.
//!
//! Used when every config entry names its plates by number over all inputs (`plate: n`, lists
//! and ranges; no `file:` or `barcode:`), so that an entry's plate is known as soon as the
//! files before it have been counted. The plates, assignments and problems are those of
//! [`layout::lay_out_sources`] over all files at once; only the order of the layout problems
//! differs (plate order instead of entry order).
//!
//! Where a batch may end is decided from the config before anything is read
//! ([`Reach::of`]): the curves (target × compound × experiment) each entry's plates carry,
//! and the last plate number of each. A plate of a concentration table (whose curves the
//! config does not list) stops all later cuts: the rest of the run is one batch.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;

use crate::config::Settings;
use crate::ingest::ReadOptions;
use crate::ingest::inputs::{InputFile, read_input};
use crate::layout::{self, Assignment, Counted, Plate};

/// Whether the config's entries can be laid out file by file: every entry names plates by
/// global number only (a `plate,compound` list too).
#[must_use]
pub fn streamable(settings: &Settings) -> bool {
    settings.plates.iter().all(|s| {
        s.file.is_none()
            && s.barcode.is_none()
            && s.names.as_ref().is_none_or(|c| c.by_plate.keys().all(|k| k.parse::<u32>().is_ok()))
    })
}

/// The number of plates the config's entries name.
#[must_use]
pub fn configured_plates(settings: &Settings) -> usize {
    settings.plates.iter().map(|s| s.numbers.len()).sum()
}

/// For each global plate number, the highest plate number that carries one of its curves
/// (index 0 unused): a batch may end after plate `n` when no plate up to `n` reaches past it.
pub struct Reach(Vec<u32>);

impl Reach {
    /// The reach of every numbered plate, from the curves the config's entries name: the
    /// compounds of a layout entry (`rows:`/`columns:`) or a plate map's sample wells, with
    /// the entry's target and experiment.
    #[must_use]
    pub fn of(settings: &Settings) -> Reach {
        let max = settings.plates.iter().flat_map(|s| s.numbers.iter()).copied().max();
        let mut reach = vec![0u32; max.map_or(0, |m| m as usize + 1)];
        // Keys by their hash (a collision only joins two curves' reach: fewer cuts, never a
        // curve split), so a million curves take some 30 MB here, not the keys' size.
        let hash = |k: &CurveKey<'_>| {
            use std::hash::{BuildHasher as _, BuildHasherDefault};
            BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(k)
        };
        let mut last: HashMap<u64, u32> = HashMap::new();
        for spec in &settings.plates {
            if spec.names.is_some() {
                // Each plate its own compounds (a `plate,compound` list).
                for &n in &spec.numbers {
                    for k in keys(spec, Some(n)) {
                        let e = last.entry(hash(&k)).or_insert(0);
                        *e = (*e).max(n);
                    }
                }
                continue;
            }
            let top = spec.numbers.iter().copied().max().unwrap_or(0);
            for k in keys(spec, None) {
                let e = last.entry(hash(&k)).or_insert(0);
                *e = (*e).max(top);
            }
        }
        for spec in &settings.plates {
            let far_of =
                |n: Option<u32>| keys(spec, n).iter().map(|k| last[&hash(k)]).max().unwrap_or(0);
            let shared = spec.names.is_none().then(|| far_of(None));
            for &n in &spec.numbers {
                let far = shared.unwrap_or_else(|| far_of(Some(n)));
                let r = &mut reach[n as usize];
                *r = (*r).max(far.max(n));
            }
        }
        Reach(reach)
    }

    fn at(&self, n: u32) -> u32 {
        self.0.get(n as usize).copied().unwrap_or(n)
    }
}

/// A curve as the config names it: target, compound, experiment.
type CurveKey<'a> = (&'a str, &'a str, Option<&'a str>);

/// The curves a config entry's plates carry; of plate `n` alone when the entry names each
/// plate's compounds apart (a `plate,compound` list, by plate number: streamed entries have
/// no barcodes).
fn keys(spec: &crate::config::PlateSpec, n: Option<u32>) -> Vec<CurveKey<'_>> {
    let names: Vec<&str> = match &spec.plate_map {
        Some(m) => m
            .map
            .entries
            .iter()
            .filter(|e| e.role == "sample")
            .filter_map(|e| e.compound.as_deref())
            .collect(),
        None => spec
            .named_blocks(n, "")
            .map(|blocks| blocks.into_iter().map(|(name, _)| name).collect())
            .unwrap_or_default(),
    };
    names.into_iter().map(|c| (spec.target.as_str(), c, spec.experiment.as_deref())).collect()
}

/// What laying out the files gave besides the plates: as [`layout::LayoutOutcome`].
#[derive(Debug, Default)]
pub struct Laid {
    /// Layout problems and file problems, in the order met.
    pub problems: Vec<String>,
    /// Input plates no config entry uses.
    pub unassigned: Vec<String>,
    /// Every entry's plates as resolved, then the input plates no entry uses.
    pub assignments: Vec<Assignment>,
    /// Every input file with its hash.
    pub files: Vec<InputFile>,
    /// Plates laid out.
    pub plates: usize,
}

/// One input file's counts, kept after its plates are gone (for entries never met).
struct Seen {
    path: PathBuf,
    read: usize,
    plate_count: Option<usize>,
    error: Option<String>,
}

/// Reads `settings.inputs` a group of files at a time, lays out their plates and calls `feed`
/// with batches of at least `batch` plates cut where no curve crosses ([`Reach`]); the last
/// call may be shorter. `time` receives the seconds spent reading and laying out.
///
/// # Errors
/// What `feed` returns.
pub fn lay_out_streamed(
    settings: &Settings,
    pool: &rayon::ThreadPool,
    batch: usize,
    feed: &mut dyn FnMut(Vec<Plate>) -> Result<()>,
    time: &mut dyn FnMut(&'static str, f64),
) -> Result<Laid> {
    use rayon::prelude::*;
    let opts: ReadOptions = settings.read_options();
    let reach = Reach::of(settings);
    // Every entry's assignments in config order: (entry, position in its numbers).
    let mut slots: HashMap<u32, Vec<(usize, usize)>> = HashMap::new();
    let mut assigned: Vec<Option<Assignment>> = Vec::new();
    let mut slot_of = Vec::new();
    for (i, spec) in settings.plates.iter().enumerate() {
        for &n in &spec.numbers {
            slots.entry(n).or_default().push((i, assigned.len()));
            slot_of.push((i, n));
            assigned.push(None);
        }
    }
    let entry_at = |k: usize| crate::config::entry_at(settings, "plates", k);
    let mut out = Laid::default();
    let mut tail: Vec<Assignment> = Vec::new();
    let mut seen: Vec<Seen> = Vec::new();
    let mut pending: Vec<Plate> = Vec::new();
    let mut stop_cuts = false;
    let mut offset = Some(0usize);
    let mut next = 0;
    let mut per_file = 10.0_f64;
    while next < settings.inputs.len() {
        let clock = std::time::Instant::now();
        let want = ((batch as f64 / per_file).ceil() as usize).max(pool.current_num_threads());
        let end = (next + want).min(settings.inputs.len());
        let group: Vec<_> = pool.install(|| {
            settings.inputs[next..end].par_iter().map(|p| read_input(p, &opts)).collect()
        });
        time("read", clock.elapsed().as_secs_f64());
        let clock = std::time::Instant::now();
        let mut read_plates = 0;
        for (j, input) in group.into_iter().enumerate() {
            let fi = next + j;
            let f = &input.read;
            out.problems.extend(input.problems);
            out.files.push(input.file);
            read_plates += f.plates.len();
            let path = f.path.as_path();
            for (k, raw) in f.plates.iter().enumerate() {
                let number = offset.and_then(|o| u32::try_from(o + k + 1).ok());
                let id = match number {
                    Some(n) => format!("P{n}"),
                    None => format!("F{}P{}", fi + 1, k + 1),
                };
                let describe = || match number {
                    Some(n) => format!("plate {n}, {} plate {}", path.display(), k + 1),
                    None => format!("{} plate {}", path.display(), k + 1),
                };
                let claims = number.and_then(|n| slots.get(&n));
                if let Some(claims) = claims {
                    let n = number.unwrap_or(0);
                    let mut first: Option<usize> = None;
                    for &(e, slot) in claims {
                        let spec = &settings.plates[e];
                        let mut a = Assignment {
                            entry: Some(spec.entry),
                            selector: format!("plate {n}"),
                            plate: Some(id.clone()),
                            source: Some((path.to_path_buf(), k + 1)),
                            label: Some(raw.label.clone()),
                            target: Some(spec.target.clone()),
                            failed: None,
                        };
                        if raw.meta.contents.is_some() {
                            let why = format!(
                                "{} is a plate of the concentration table {}, laid out from the \
                                 table's columns; remove this entry",
                                describe(),
                                path.display()
                            );
                            out.problems.push(format!("{}: {why}", entry_at(spec.entry)));
                            (a.plate, a.source, a.label) = (None, None, None);
                            a.failed = Some(why);
                        } else if let Some(prev) = first {
                            let why = format!("plates entry {} claims the same plate", prev + 1);
                            let (this, other) = (spec.entry.to_string(), prev.to_string());
                            out.problems.push(format!(
                                "{} and {} both claim {}: a plate has one entry (a plate that \
                                 holds its own controls needs no separate control entry)",
                                crate::config::key_at(settings, &["plates", &this]),
                                crate::config::key_at(settings, &["plates", &other]),
                                describe()
                            ));
                            a.failed = Some(why);
                        } else {
                            first = Some(spec.entry);
                            match layout::lay_out_entry(number, id.clone(), raw, spec, settings) {
                                Ok(p) => pending.push(p),
                                Err(e) => out.problems.push(format!(
                                    "{} ({}): {e}",
                                    entry_at(spec.entry),
                                    describe()
                                )),
                            }
                        }
                        assigned[slot] = Some(a);
                    }
                    if raw.meta.contents.is_none() {
                        continue;
                    }
                }
                if let Some(contents) = &raw.meta.contents {
                    stop_cuts = true;
                    let built =
                        layout::build_from_table(number, id.clone(), raw, contents, settings);
                    let (target, failed) = match built {
                        Ok(p) => {
                            let t = p.target.clone();
                            pending.push(p);
                            (Some(t), None)
                        }
                        Err(e) => {
                            out.problems.push(format!("{}: {e}", describe()));
                            (None, Some(e))
                        }
                    };
                    tail.push(Assignment {
                        entry: None,
                        selector: "concentration table".to_string(),
                        plate: Some(id),
                        source: Some((path.to_path_buf(), k + 1)),
                        label: Some(raw.label.clone()),
                        target,
                        failed,
                    });
                    continue;
                }
                out.unassigned.push(match number {
                    Some(n) => format!("plate {n} ({} plate {})", path.display(), k + 1),
                    None => format!("{} plate {}", path.display(), k + 1),
                });
                tail.push(Assignment {
                    entry: None,
                    selector: String::new(),
                    plate: Some(id),
                    source: Some((path.to_path_buf(), k + 1)),
                    label: Some(raw.label.clone()),
                    target: None,
                    failed: None,
                });
            }
            offset = offset.zip(f.plate_count).map(|(o, c)| o + c);
            seen.push(Seen {
                path: f.path.clone(),
                read: f.plates.len(),
                plate_count: f.plate_count,
                error: input.error,
            });
        }
        per_file = (read_plates.max(1) as f64 / (end - next) as f64).max(1.0);
        next = end;
        time("layout", clock.elapsed().as_secs_f64());
        // Hand on whole batches: cut after the last plate no earlier plate reaches past.
        if !stop_cuts && pending.len() >= batch {
            let mut far = 0u32;
            let mut cut = None;
            for (i, p) in pending.iter().enumerate() {
                let Some(n) = p.number else { break };
                far = far.max(reach.at(n));
                if far <= n && i + 1 >= batch {
                    cut = Some(i + 1);
                }
            }
            if let Some(c) = cut {
                let rest = pending.split_off(c);
                out.plates += c;
                feed(std::mem::replace(&mut pending, rest))?;
            }
        }
    }
    if !pending.is_empty() {
        out.plates += pending.len();
        feed(pending)?;
    }
    // Entries whose plates were never met: why, as one pass over every file would say.
    let counted: Vec<Counted<'_>> = seen
        .iter()
        .map(|s| Counted {
            path: s.path.as_path(),
            read: s.read,
            plate_count: s.plate_count,
            error: s.error.as_deref(),
        })
        .collect();
    let mut at = Some(0usize);
    let offsets: Vec<Option<usize>> = counted
        .iter()
        .map(|c| {
            let here = at;
            at = at.zip(c.plate_count).map(|(a, n)| a + n);
            here
        })
        .collect();
    let total: usize = counted.iter().map(|c| c.read).sum();
    for (slot, a) in assigned.iter_mut().enumerate() {
        if a.is_some() {
            continue;
        }
        let (e, n) = slot_of[slot];
        let spec = &settings.plates[e];
        let why = match layout::place(&counted, &offsets, n as usize, total) {
            Err(why) => why,
            Ok(_) => format!("plate {n} was not laid out"),
        };
        out.problems.push(format!("{}: {why}", entry_at(spec.entry)));
        *a = Some(Assignment {
            entry: Some(spec.entry),
            selector: format!("plate {n}"),
            plate: None,
            source: None,
            label: None,
            target: Some(spec.target.clone()),
            failed: Some(why),
        });
    }
    out.assignments = assigned.into_iter().flatten().chain(tail).collect();
    Ok(out)
}
