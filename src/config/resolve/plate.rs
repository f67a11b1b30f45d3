//! Resolving `layouts:` and `plates:`: control well sets, dilution series and their
//! concentrations, compounds on lanes, and plate-map entries (read through ingest).

use std::collections::BTreeMap;
use std::path::Path;

use super::{CONC_NM, ConcFields, DILUTION, Resolver, clean_path};
use crate::config::options::{
    Choice, CompoundOptions, Lanes, LayoutOptions, Options, PlateOptions, SeriesDirection,
    SeriesEnd, SeriesOptions,
};
use crate::config::settings::{
    Assay, Axis, CompoundBlock, CompoundNames, ConcSpec, Layout, PlateMapSpec, PlateSpec, Series,
    Target,
};
use crate::config::wellset::{parse_number_range, parse_row_range};
use crate::types::Geometry;
use crate::units::parse_conc_nm;

impl Resolver<'_> {
    fn series_conc(
        &mut self,
        key: &[&str],
        c: &ConcFields<'_>,
        n: Option<usize>,
    ) -> Option<ConcSpec> {
        let ConcFields { top_nm, top, dilution, nm: list, units: list_units } = *c;
        let converted;
        let list = match (list, list_units) {
            (Some(_), Some(_)) => {
                self.problem(key, "give `concentrations_nM` or `concentrations`, not both".into());
                return None;
            }
            (None, Some(texts)) => {
                let mut k = key.to_vec();
                k.push("concentrations");
                let mut v = Vec::with_capacity(texts.len());
                for t in texts {
                    let Some(c) = parse_conc_nm(t) else {
                        self.problem(
                            &k,
                            format!("cannot read concentration `{t}`: write e.g. \"10 µM\""),
                        );
                        return None;
                    };
                    v.push(c);
                }
                converted = v;
                Some(&converted)
            }
            (l, None) => l,
        };
        let mut topkey = key.to_vec();
        topkey.push("top");
        let given = top_nm.is_some() || top.is_some();
        let top = self.conc(&topkey, top_nm, top, CONC_NM);
        if given && top.is_none() {
            // Already reported; a follow-up "dilution needs top" would only confuse.
            return None;
        }
        match (top, dilution, list) {
            (None, None, None) => None,
            (Some(t), Some(f), None) => {
                let mut k = key.to_vec();
                k.push("dilution");
                if !(f.is_finite() && f > 1.0) {
                    self.problem(&k, format!("dilution factor must be above 1, got {f}"));
                    return None;
                }
                if !self.in_range(&k, f, DILUTION) {
                    return None;
                }
                let spec = ConcSpec::Dilution { top_nm: t, factor: f };
                let lowest = n.and_then(|n| spec.values_high_to_low(n).last().copied());
                if let Some(low) = lowest.filter(|&low| !CONC_NM.contains(low)) {
                    self.problem(
                        &k,
                        format!(
                            "the series falls to {} nM in its last well; concentrations must be \
                             {}: check top and dilution",
                            super::shown(low),
                            CONC_NM.text
                        ),
                    );
                    return None;
                }
                Some(spec)
            }
            (None, None, Some(v)) => {
                let mut k = key.to_vec();
                k.push("concentrations_nM");
                if v.iter().any(|c| !(c.is_finite() && *c > 0.0)) {
                    self.problem(&k, "concentrations must be positive numbers (nM)".into());
                    return None;
                }
                if let Some(c) = v.iter().find(|c| !CONC_NM.contains(**c)) {
                    self.in_range(&k, *c, CONC_NM);
                    return None;
                }
                if !self.in_series_order(&k, v) {
                    return None;
                }
                if let Some(n) = n.filter(|&n| n != v.len()) {
                    self.problem(
                        &k,
                        format!("{} concentrations given for a series of {n} wells", v.len()),
                    );
                    return None;
                }
                Some(ConcSpec::List(v.clone()))
            }
            (Some(_), None, None) => {
                self.problem(key, "`top` needs `dilution` (or give `concentrations_nM`)".into());
                None
            }
            (None, Some(_), None) => {
                self.problem(key, "`dilution` needs `top_nM` or `top`".into());
                None
            }
            _ => {
                self.problem(
                    key,
                    "give either top + dilution or concentrations_nM, not both".into(),
                );
                None
            }
        }
    }

    /// True when an explicit list runs one way (from the highest down, or from the lowest
    /// up; equal neighbours allowed). radbind assigns the highest value to the first well of
    /// the series (the last with `direction: low_to_high`); a list in no order would have to
    /// be re-sorted, moving values to other wells than written, so it is refused instead.
    pub(super) fn in_series_order(&mut self, key: &[&str], v: &[f64]) -> bool {
        let down = v.windows(2).all(|w| w[0] >= w[1]);
        let up = v.windows(2).all(|w| w[0] <= w[1]);
        if down || up {
            return true;
        }
        let first_down = v.windows(2).position(|w| w[0] > w[1]);
        let first_up = v.windows(2).position(|w| w[0] < w[1]);
        let i = first_down.max(first_up).unwrap_or(0) + 1;
        self.problem(
            key,
            format!(
                "the list is not in order: value {} ({}) breaks the order of the ones before it; \
                 list the series from the highest down (or from the lowest up): radbind does \
                 not re-sort it, since that would move values to other wells than written",
                i + 1,
                super::shown(v[i])
            ),
        );
        false
    }

    pub(super) fn layout(&mut self, name: &str, l: &LayoutOptions) -> Option<Layout> {
        let geometry = match l.wells {
            None => None,
            Some(n) => {
                let g = Geometry::from_well_count(n as usize);
                if g.is_none() {
                    self.problem(
                        &["layouts", name, "wells"],
                        format!("{n} wells is not a plate size radbind knows (24, 96, 384, 1536)"),
                    );
                }
                g
            }
        };
        let total = self.wellset(&["layouts", name, "total"], l.total.as_ref());
        let nsb = self.wellset(&["layouts", name, "nsb"], l.nsb.as_ref());
        let blank = self.wellset(&["layouts", name, "blank"], l.blank.as_ref());
        let vehicle = self.wellset(&["layouts", name, "vehicle"], l.vehicle.as_ref());
        let basal = self.wellset(&["layouts", name, "basal"], l.basal.as_ref());
        let end = |r: &mut Self, k: &'static str, c: Option<&Choice<SeriesEnd>>| {
            c.map(|c| {
                r.choice(&["layouts", name, k], Some(c), SeriesEnd::LowestConcentration, |other| {
                    format!("unknown `{other}`: use lowest_concentration or highest_concentration")
                })
            })
        };
        let top_from = end(self, "top_from", l.top_from.as_ref());
        let bottom_from = end(self, "bottom_from", l.bottom_from.as_ref());
        if top_from.is_some() && top_from == bottom_from {
            self.problem(
                &["layouts", name, "bottom_from"],
                "`top_from` and `bottom_from` name the same end of the series".into(),
            );
        }
        for (k, given, from) in
            [("total", l.total.is_some(), top_from), ("nsb", l.nsb.is_some(), bottom_from)]
        {
            if given && from.is_some() {
                let from_key = if k == "total" { "top_from" } else { "bottom_from" };
                self.problem(
                    &["layouts", name, from_key],
                    format!("give `{k}` wells or `{from_key}`, not both"),
                );
            }
        }
        if l.bottom_compound.is_some() && bottom_from.is_none() {
            self.problem(
                &["layouts", name, "bottom_compound"],
                "`bottom_compound` names the reference compound for `bottom_from: \
                 highest_concentration`: give that too"
                    .into(),
            );
        }
        let has_top = l.total.is_some() || top_from.is_some();
        let has_bottom = l.nsb.is_some() || bottom_from.is_some();
        if has_top != has_bottom && l.basal.is_none() {
            self.problem(
                &["layouts", name],
                format!(
                    "a layout needs both a 100 % control (`total` wells or `top_from`) and a \
                     0 % control (`nsb` wells or `bottom_from`) to normalise, or neither: its \
                     curves are then fitted on the raw signal with free plateaus; this one \
                     has only {}",
                    if has_top { "the 100 % control" } else { "the 0 % control" }
                ),
            );
        }
        let primary = l.primary.as_ref().and_then(|p| self.primary_layout(name, p));
        if l.primary.is_some() && l.series.is_some() {
            self.problem(
                &["layouts", name, "primary"],
                "give a layout `series` (curves) or `primary` (single-concentration blocks), \
                 not both: put primary plates and curve plates on layouts of their own"
                    .into(),
            );
        }
        let series = match &l.series {
            Some(s) => Some(self.series(name, s)?),
            None if l.primary.is_some() => None,
            None => {
                if top_from.is_some() || bottom_from.is_some() {
                    self.problem(
                        &["layouts", name],
                        "`top_from`/`bottom_from` take controls from the series: the layout \
                         needs a `series`"
                            .into(),
                    );
                }
                if l.total.is_none() && l.nsb.is_none() && l.basal.is_none() {
                    self.problem(
                        &["layouts", name],
                        "a layout needs a `series` (where the dilution series runs), control \
                         wells (`total`, `nsb`), or both"
                            .into(),
                    );
                }
                None
            }
        };
        Some(Layout {
            name: name.to_string(),
            geometry,
            total,
            nsb,
            basal,
            blank,
            vehicle,
            series,
            top_from,
            bottom_from,
            primary,
            bottom_compound: l.bottom_compound.clone(),
        })
    }

    fn series(&mut self, name: &str, s: &SeriesOptions) -> Option<Series> {
        let key = ["layouts", name, "series"];
        let (axis, lanes) = match (&s.columns, &s.rows) {
            (Some(c), None) => match parse_number_range(c) {
                Some((a, b)) => (Axis::Columns, (a - 1, b - 1)),
                None => {
                    self.problem(
                        &["layouts", name, "series", "columns"],
                        format!("cannot read column range `{c}`: write e.g. 2-11"),
                    );
                    return None;
                }
            },
            (None, Some(r)) => match parse_row_range(r) {
                Some(lanes) => (Axis::Rows, lanes),
                None => {
                    self.problem(
                        &["layouts", name, "series", "rows"],
                        format!("cannot read row range `{r}`: write e.g. A-H"),
                    );
                    return None;
                }
            },
            _ => {
                self.problem(
                    &key,
                    "give the series either `columns` (e.g. 2-11) or `rows` (e.g. A-H)".into(),
                );
                return None;
            }
        };
        let n = usize::from(lanes.1 - lanes.0) + 1;
        let direction = self.choice(
            &["layouts", name, "series", "direction"],
            s.direction.as_ref(),
            SeriesDirection::HighToLow,
            |other| format!("unknown direction `{other}`: use high_to_low or low_to_high"),
        );
        let high_to_low = direction == SeriesDirection::HighToLow;
        let fields = ConcFields {
            top_nm: s.top_nm,
            top: s.top.as_ref(),
            dilution: s.dilution,
            nm: s.concentrations_nm.as_ref(),
            units: s.concentrations.as_ref(),
        };
        let conc = self.series_conc(&key, &fields, Some(n));
        Some(Series { axis, lanes, high_to_low, conc })
    }

    pub(super) fn plate(
        &mut self,
        i: usize,
        p: &PlateOptions,
        o: &Options,
        layouts: &BTreeMap<String, Layout>,
        targets: &BTreeMap<String, Target>,
        base: &Path,
    ) -> Option<PlateSpec> {
        let idx = i.to_string();
        // The plate's own experiment, else the run's (`experiment_id`).
        let experiment = match p.experiment.as_deref() {
            Some(e) => self.experiment_id(Some(e), &["plates", &idx, "experiment"]),
            None => o.experiment_id.as_deref().map(str::trim).map(str::to_string),
        }
        .filter(|e| !e.is_empty());
        let target = targets.get(&p.target);
        let saturation = target.is_some_and(|t| matches!(t.assay, Assay::Saturation(_)));
        let gtpgs = target.is_some_and(|t| matches!(t.assay, Assay::Gtpgs(_)));
        let numbers = match (&p.plate, &p.barcode) {
            (Some(sel), None) => self.selector(&["plates", &idx, "plate"], sel),
            (None, Some(_)) => Vec::new(),
            (Some(_), Some(_)) => {
                self.problem(&["plates", &idx], "give `plate` or `barcode`, not both".into());
                Vec::new()
            }
            (None, None) => {
                self.problem(
                    &["plates", &idx],
                    "say which plate: `plate: 3` (its number) or `barcode: ABC123`".into(),
                );
                Vec::new()
            }
        };
        if !o.targets.contains_key(&p.target) {
            let known: Vec<&str> = o.targets.keys().map(String::as_str).collect();
            self.problem(
                &["plates", &idx, "target"],
                format!("unknown target `{}`; targets are: {}", p.target, known.join(", ")),
            );
        }
        let file = p.file.as_ref().and_then(|f| match glob::Pattern::new(f) {
            Ok(pat) => Some(pat),
            Err(e) => {
                self.problem(&["plates", &idx, "file"], format!("bad file pattern `{f}`: {e}"));
                None
            }
        });
        if p.plate_map.is_some() {
            return self
                .map_plate(i, p, numbers, file, base)
                .map(|spec| PlateSpec { experiment, ..spec });
        }
        let Some(layout_name) = &p.layout else {
            self.problem(
                &["plates", &idx],
                "say how the plate is laid out: `layout: <a key of layouts>` (with `rows` or \
                 `columns`) or `plate_map: <file.csv>`"
                    .into(),
            );
            return None;
        };
        let Some(layout) = layouts.get(layout_name) else {
            if !o.layouts.contains_key(layout_name) {
                let known: Vec<&str> = o.layouts.keys().map(String::as_str).collect();
                self.problem(
                    &["plates", &idx, "layout"],
                    format!("unknown layout `{layout_name}`; layouts are: {}", known.join(", ")),
                );
            }
            return None;
        };
        let primary = layout.primary.is_some();
        let lane_key = |axis: Axis| match axis {
            Axis::Columns => &p.rows,
            Axis::Rows => &p.columns,
        };
        let listed = layout
            .series
            .as_ref()
            .is_some_and(|s| matches!(lane_key(s.axis), Some(Lanes::Blocks(_))));
        let names = self.compound_names(i, p, primary || listed, base);
        let Some(series) = &layout.series else {
            // A controls-only plate (other plates take its total/NSB with `controls_from`),
            // or a primary-screen plate (compounds by `compounds`/`compound_list`).
            for (key, given) in [("rows", p.rows.is_some()), ("columns", p.columns.is_some())] {
                if given {
                    self.problem(
                        &["plates", &idx, key],
                        if primary {
                            format!(
                                "layout `{}` is a primary-screen layout: name its compounds in \
                                 block order with `compounds` or `compound_list`",
                                layout.name
                            )
                        } else {
                            format!(
                                "layout `{}` has no series (a controls-only layout): it holds \
                                 no compounds",
                                layout.name
                            )
                        },
                    );
                }
            }
            if p.controls_from.is_some() && !primary {
                self.problem(
                    &["plates", &idx, "controls_from"],
                    format!(
                        "layout `{}` is a controls-only layout: it has its own controls",
                        layout.name
                    ),
                );
            }
            return Some(PlateSpec {
                entry: i,
                numbers,
                barcode: p.barcode.clone(),
                controls_from: if primary { p.controls_from } else { None },
                file,
                target: p.target.clone(),
                layout: layout_name.clone(),
                plate_map: None,
                compounds: Vec::new(),
                rotated: p.rotated.unwrap_or(false),
                experiment,
                names,
                map_primary: false,
            });
        };
        let (map, map_key) = match series.axis {
            Axis::Columns => (&p.rows, "rows"),
            Axis::Rows => (&p.columns, "columns"),
        };
        let wrong = match series.axis {
            Axis::Columns => p.columns.is_some().then_some("columns"),
            Axis::Rows => p.rows.is_some().then_some("rows"),
        };
        if let Some(w) = wrong {
            self.problem(
                &["plates", &idx, w],
                format!(
                    "layout `{}` runs its series along {}, so compounds go by `{map_key}`",
                    layout.name,
                    if map_key == "rows" { "columns" } else { "rows" }
                ),
            );
        }
        let lanes_of = |text: &str| lanes_of(series.axis, text);
        let (compounds, names) = match map {
            None => {
                self.problem(
                    &["plates", &idx],
                    format!(
                        "say which compound is on which {map_key}, e.g. {map_key}: {{A-B: \
                         mianserin}}, or list the blocks, {map_key}: [A-B, C-D], with \
                         `compound_list`"
                    ),
                );
                return None;
            }
            Some(Lanes::Blocks(texts)) => {
                if saturation {
                    self.problem(
                        &["plates", &idx, map_key],
                        format!(
                            "a saturation plate names its {map_key}: `total` or `nsb` series \
                             of the radioligand, e.g. {map_key}: {{A-C: total, D-F: nsb}}"
                        ),
                    );
                    return None;
                }
                let series_given =
                    o.layouts.get(layout_name).and_then(|l| l.series.as_ref()).is_some_and(|s| {
                        s.top.is_some()
                            || s.top_nm.is_some()
                            || s.concentrations_nm.is_some()
                            || s.concentrations.is_some()
                    });
                if series.conc.is_none() && !series_given {
                    self.problem(
                        &["plates", &idx, map_key],
                        format!(
                            "layout `{layout_name}` gives its series no concentrations (top + \
                             dilution, or a list): listed {map_key} take the series' \
                             concentrations"
                        ),
                    );
                }
                self.listed_blocks(i, texts, map_key, series.axis, names)?
            }
            Some(Lanes::Named(map)) => {
                let mut compounds = Vec::new();
                for (lanes_text, c) in map {
                    let Some(lanes) = lanes_of(lanes_text) else {
                        self.problem(
                            &["plates", &idx, map_key, lanes_text],
                            cannot_read(map_key, lanes_text),
                        );
                        continue;
                    };
                    let series_dpm = o
                        .layouts
                        .get(layout_name)
                        .and_then(|l| l.series.as_ref())
                        .and_then(|s| s.added_dpm.as_ref());
                    let (name, conc) = match c {
                        CompoundOptions::Name(n) => {
                            let conc = series_dpm.and_then(|dpm| {
                                self.dpm_conc(
                                    &["layouts", layout_name, "series", "added_dpm"],
                                    dpm,
                                    target,
                                    series.len(),
                                )
                            });
                            (n.clone(), conc)
                        }
                        CompoundOptions::Detailed(d) if d.added_dpm.is_some() => {
                            let k = ["plates", &idx, map_key, lanes_text, "added_dpm"];
                            let conc = d
                                .added_dpm
                                .as_ref()
                                .and_then(|dpm| self.dpm_conc(&k, dpm, target, series.len()));
                            (d.compound.clone(), conc)
                        }
                        CompoundOptions::Detailed(d) => {
                            let fields = ConcFields {
                                top_nm: d.top_nm,
                                top: d.top.as_ref(),
                                dilution: d.dilution,
                                nm: d.concentrations_nm.as_ref(),
                                units: d.concentrations.as_ref(),
                            };
                            let conc = self.series_conc(
                                &["plates", &idx, map_key, lanes_text],
                                &fields,
                                Some(series.len()),
                            );
                            (d.compound.clone(), conc)
                        }
                    };
                    if name.trim().is_empty() {
                        self.problem(
                            &["plates", &idx, map_key, lanes_text],
                            "empty compound name".into(),
                        );
                        continue;
                    }
                    if saturation && !matches!(name.as_str(), "total" | "nsb") {
                        self.problem(
                            &["plates", &idx, map_key, lanes_text],
                            format!(
                                "`{name}` on a saturation plate: its {map_key} are `total` or `nsb` \
                                 series of the radioligand, e.g. {map_key}: {{A-C: total, D-F: nsb}}"
                            ),
                        );
                        continue;
                    }
                    let series_given =
                        o.layouts.get(layout_name).and_then(|l| l.series.as_ref()).is_some_and(
                            |s| {
                                s.added_dpm.is_some()
                                    || s.top.is_some()
                                    || s.top_nm.is_some()
                                    || s.dilution.is_some()
                                    || s.concentrations_nm.is_some()
                                    || s.concentrations.is_some()
                            },
                        );
                    let own_given = matches!(c, CompoundOptions::Detailed(d) if d.added_dpm.is_some() || d.top.is_some() || d.top_nm.is_some() || d.dilution.is_some() || d.concentrations_nm.is_some() || d.concentrations.is_some());
                    // When concentrations were given but are invalid, that problem is already listed.
                    if conc.is_none() && series.conc.is_none() && !series_given && !own_given {
                        self.problem(
                            &["plates", &idx, map_key, lanes_text],
                            format!(
                                "compound `{name}` has no concentrations: give the layout's series a \
                                 top + dilution, or give the compound its own"
                            ),
                        );
                    }
                    compounds.push(CompoundBlock { name, lanes, conc });
                }
                (compounds, None)
            }
        };
        // Two compounds on one lane would give one well two roles.
        let shown = |k: usize, b: &CompoundBlock| {
            if b.name.is_empty() { format!("block {}", k + 1) } else { format!("`{}`", b.name) }
        };
        for (a, ca) in compounds.iter().enumerate() {
            for (b, cb) in compounds.iter().enumerate().skip(a + 1) {
                if ca.lanes.0 <= cb.lanes.1 && cb.lanes.0 <= ca.lanes.1 {
                    self.problem(
                        &["plates", &idx, map_key],
                        format!(
                            "{} and {} overlap on the same {map_key}",
                            shown(a, ca),
                            shown(b, cb)
                        ),
                    );
                }
            }
        }
        if gtpgs && layout.basal.is_none() && p.controls_from.is_none() {
            self.problem(
                &["plates", &idx, "layout"],
                format!(
                    "a [35S]GTPγS plate needs basal wells: give layout `{}` a `basal` well set",
                    layout.name
                ),
            );
        }
        if p.controls_from == Some(0) {
            self.problem(&["plates", &idx, "controls_from"], "plate numbers start at 1".into());
        }
        Some(PlateSpec {
            entry: i,
            numbers,
            barcode: p.barcode.clone(),
            controls_from: p.controls_from,
            file,
            target: p.target.clone(),
            layout: layout_name.clone(),
            plate_map: None,
            compounds,
            rotated: p.rotated.unwrap_or(false),
            experiment,
            names,
            map_primary: false,
        })
    }

    /// The blocks of an entry that lists its lanes alone (`rows: [A-B, C-D]`, `key` is `rows`
    /// or `columns`), in order, with the series' concentrations, and their names (`None`: not
    /// readable, already reported): one list for
    /// every plate (`compounds`, a one-column list) is given to the blocks now (`-` leaves a
    /// block empty); names by plate are kept for the layout ([`PlateSpec::named_blocks`]).
    fn listed_blocks(
        &mut self,
        i: usize,
        texts: &[String],
        key: &str,
        axis: Axis,
        names: Option<CompoundNames>,
    ) -> Option<(Vec<CompoundBlock>, Option<CompoundNames>)> {
        let idx = i.to_string();
        if texts.is_empty() {
            self.problem(&["plates", &idx, key], format!("no {key} blocks listed"));
            return None;
        }
        let mut blocks = Vec::with_capacity(texts.len());
        for (k, text) in texts.iter().enumerate() {
            match lanes_of(axis, text) {
                Some(lanes) => {
                    blocks.push(CompoundBlock { name: String::new(), lanes, conc: None });
                }
                None => {
                    self.problem(&["plates", &idx, key, &k.to_string()], cannot_read(key, text))
                }
            }
        }
        // `None`: the names' problem is already listed.
        let mut names = names?;
        if blocks.len() < texts.len() {
            return None;
        }
        if !names.by_plate.is_empty() {
            return Some((blocks, Some(names)));
        }
        if names.shared.len() > blocks.len() {
            self.problem(
                &["plates", &idx],
                format!(
                    "{} names {} compounds but `{key}` lists {} blocks",
                    names.source,
                    names.shared.len(),
                    blocks.len()
                ),
            );
            return None;
        }
        let blocks = blocks
            .into_iter()
            .zip(std::mem::take(&mut names.shared))
            .filter(|(_, n)| n != "-")
            .map(|(b, name)| CompoundBlock { name, ..b })
            .collect();
        Some((blocks, None))
    }

    /// A `plates:` entry with `plate_map`: reads the map (through ingest) and checks that the
    /// keys that only make sense with a layout template are absent.
    fn map_plate(
        &mut self,
        i: usize,
        p: &PlateOptions,
        numbers: Vec<u32>,
        file: Option<glob::Pattern>,
        base: &Path,
    ) -> Option<PlateSpec> {
        let idx = i.to_string();
        let written = p.plate_map.clone().unwrap_or_default();
        if p.layout.is_some() {
            self.problem(
                &["plates", &idx, "layout"],
                "give `layout` or `plate_map`, not both: the plate map already says what each \
                 well holds"
                    .into(),
            );
        }
        for (key, given) in [("rows", p.rows.is_some()), ("columns", p.columns.is_some())] {
            if given {
                self.problem(
                    &["plates", &idx, key],
                    format!(
                        "`{key}` is not used with `plate_map`: the map names each well's \
                         compound and concentration"
                    ),
                );
            }
        }
        if p.controls_from == Some(0) {
            self.problem(&["plates", &idx, "controls_from"], "plate numbers start at 1".into());
        }
        self.compound_names(i, p, false, base);
        if written.trim().is_empty() {
            self.problem(&["plates", &idx, "plate_map"], "empty plate map path".into());
            return None;
        }
        let path = clean_path(&base.join(&written));
        let map = match crate::ingest::read_plate_map(&path) {
            Ok(m) => m,
            Err(crate::ingest::IngestError::Io { path, source }) => {
                self.problem(
                    &["plates", &idx, "plate_map"],
                    format!(
                        "cannot read plate map {}: {source} (paths are relative to the config \
                         file)",
                        path.display()
                    ),
                );
                return None;
            }
            Err(e) => {
                self.problem(&["plates", &idx, "plate_map"], format!("plate map {e}"));
                return None;
            }
        };
        let has = |role: &str| map.entries.iter().any(|e| e.role == role);
        match (has("total"), has("nsb")) {
            (true, true) => {}
            // No controls: a curve-only plate (raw signal, free plateaus), or controls from
            // another plate.
            (false, false) => {}
            (t, _) => self.problem(
                &["plates", &idx, "plate_map"],
                format!(
                    "plate map {} has {} wells but no {} wells: both are needed to normalise \
                     to % specific binding",
                    path.display(),
                    if t { "total" } else { "nsb" },
                    if t { "nsb" } else { "total" }
                ),
            ),
        }
        Some(PlateSpec {
            entry: i,
            numbers,
            file,
            barcode: p.barcode.clone(),
            controls_from: p.controls_from,
            target: p.target.clone(),
            layout: format!("plate map {written}"),
            plate_map: Some(PlateMapSpec { path, map }),
            compounds: Vec::new(),
            rotated: p.rotated.unwrap_or(false),
            experiment: None,
            names: None,
            map_primary: p.primary.unwrap_or(false),
        })
    }
}

/// The problem of a block of lanes (`key`: `rows` or `columns`) that does not read.
fn cannot_read(key: &str, text: &str) -> String {
    format!("cannot read {key} `{text}`: write e.g. A-B (rows) or 1-3 (columns)")
}

/// The lanes (0-based, inclusive) of a block as written: rows (`A-B`) when the series runs
/// along columns, columns (`1-3`) when it runs down rows.
fn lanes_of(axis: Axis, text: &str) -> Option<(u16, u16)> {
    match axis {
        Axis::Columns => parse_row_range(text),
        Axis::Rows => parse_number_range(text).map(|(a, b)| (a - 1, b - 1)),
    }
}
