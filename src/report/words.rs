//! The words of each assay: what a report or figure calls its response, potency and constants.

/// The assays a report can describe, each with its words: headings, the response, the
/// constant a curve is summarised by and the word for the ligand's affinity constant. The one
/// place report wording depends on the assay; parsed from the target's config name
/// (`TargetRow::assay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AssayKind {
    /// Radioligand competition binding: % specific binding, IC50, Ki by Cheng–Prusoff.
    Competition,
    /// Uptake inhibition: % specific uptake, IC50, Ki from [S] and Km.
    Uptake,
    /// [35S]GTPγS functional assay: % stimulation over basal, EC50/Emax, IC50/Kb.
    Gtpgs,
    /// Saturation binding: Kd and Bmax.
    Saturation,
}

impl AssayKind {
    /// The kind of a target's assay from its config name (`competition`, `uptake`, `gtpgs`,
    /// `saturation`); anything else is competition binding.
    #[must_use]
    pub fn from_name(name: &str) -> Self {
        match name {
            "uptake" => AssayKind::Uptake,
            "gtpgs" => AssayKind::Gtpgs,
            "saturation" => AssayKind::Saturation,
            _ => AssayKind::Competition,
        }
    }

    /// The assay's name as a heading: `Radioligand competition binding`.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            AssayKind::Competition => "Radioligand competition binding",
            AssayKind::Uptake => "Uptake inhibition",
            AssayKind::Gtpgs => "[35S]GTP\u{3b3}S functional assay",
            AssayKind::Saturation => "Saturation binding",
        }
    }

    /// What was fitted and derived, after the title in the report header; `has_ki` when
    /// the run's curves of this assay report a Ki.
    #[must_use]
    pub fn method(self, has_ki: bool) -> &'static str {
        match (self, has_ki) {
            (AssayKind::Competition, true) => {
                "IC50 by four-parameter logistic fit, Ki by Cheng\u{2013}Prusoff"
            }
            (AssayKind::Uptake, true) => {
                "IC50 by four-parameter logistic fit, Ki from [S] and Km (Cheng\u{2013}Prusoff)"
            }
            (AssayKind::Competition | AssayKind::Uptake, false) => {
                "IC50 by four-parameter logistic fit (IC50 only)"
            }
            (AssayKind::Gtpgs, _) => {
                "EC50 and Emax of agonists, IC50 and Kb (Leff\u{2013}Dougall) of antagonists"
            }
            (AssayKind::Saturation, _) => "Kd and Bmax from total and nonspecific binding",
        }
    }

    /// The response the curves of this assay are on (the y axis of their figures).
    #[must_use]
    pub fn response(self) -> &'static str {
        match self {
            AssayKind::Competition => "% specific binding",
            AssayKind::Uptake => "% specific uptake",
            AssayKind::Gtpgs => "% stimulation over basal",
            AssayKind::Saturation => "bound (CPM)",
        }
    }

    /// The affinity constant of the labelled ligand: `Kd`, or `Km` of an uptake substrate.
    #[must_use]
    pub fn affinity_word(self) -> &'static str {
        if self == AssayKind::Uptake { "Km" } else { "Kd" }
    }

    /// The labelled ligand: `Radioligand`, or `Substrate` for uptake.
    #[must_use]
    pub fn ligand_word(self) -> &'static str {
        if self == AssayKind::Uptake { "Substrate" } else { "Radioligand" }
    }

    /// The ligand's concentration symbol: `[L]`, or `[S]` for uptake.
    #[must_use]
    pub fn conc_symbol(self) -> &'static str {
        if self == AssayKind::Uptake { "[S]" } else { "[L]" }
    }

    /// True for the assays whose curves can report a Ki (competition and uptake).
    #[must_use]
    pub fn reports_ki(self) -> bool {
        matches!(self, AssayKind::Competition | AssayKind::Uptake)
    }
}
