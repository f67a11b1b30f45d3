//! (placeholder until the fit engine lands)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    Converged,
}
impl Termination {
    pub fn converged(self) -> bool {
        true
    }
    pub fn reason(self) -> &'static str {
        ""
    }
}
#[derive(Debug, Clone, Default)]
pub struct FourPlOptions {
    pub fixed: [Option<f64>; 4],
}
#[derive(Debug, Clone)]
pub struct FourPlFit {
    pub params: [f64; 4],
    pub se: [f64; 4],
    pub log_ic50_ci: (f64, f64),
    pub dependency: [f64; 4],
    pub rss: f64,
    pub r_squared: f64,
    pub sy_x: f64,
    pub n: usize,
    pub df: usize,
    pub iterations: u32,
    pub termination: Termination,
}
pub fn fit_four_pl(_x: &[f64], _y: &[f64], _o: &FourPlOptions) -> FourPlFit {
    todo!()
}
