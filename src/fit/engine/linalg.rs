//! The linear algebra of the least-squares engine: the normal equations of one pass over the
//! data ([`NormalEq`]), their Cholesky factorisation, the row-wise Givens QR of the Jacobian
//! ([`RowQr`]) and the damped Levenberg-Marquardt step solved on either.
//!
//! Only `P x P` quantities are stored (`[f64; P]`, `[[f64; P]; P]`), so nothing here allocates.

use std::ops::IndexMut;

use crate::fit::engine::model::Model;

/// Upper-triangular factor `R` of `J = Q R` and `Q'r`, accumulated one observation at a time
/// with Givens rotations (Golub & Van Loan, *Matrix Computations*, §5.1.8; MINPACK `rwupdt`).
/// `R'R = J'J` exactly up to rounding, without squaring the condition number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowQr<const P: usize> {
    /// Upper triangle (entries below the diagonal are zero).
    pub r: [[f64; P]; P],
    /// `Q'r`, the rotated right-hand side.
    pub qtr: [f64; P],
    /// `sum r_i^2` of the added rows' right-hand sides.
    pub rss: f64,
}

impl<const P: usize> Default for RowQr<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const P: usize> RowQr<P> {
    /// An empty factorisation.
    pub fn new() -> Self {
        Self { r: [[0.0; P]; P], qtr: [0.0; P], rss: 0.0 }
    }

    /// Adds the row `a` (a Jacobian row) with right-hand side `b` (its residual).
    #[inline]
    pub fn add_row(&mut self, mut a: [f64; P], mut b: f64) {
        self.rss += b * b;
        rotate_in(&mut self.r, &mut self.qtr, &mut a, &mut b, 0);
    }

    /// Factorises the weighted Jacobian of `model` at `p` (columns with `mask[k]` set are zero).
    /// Returns `None` when a value or gradient is not finite.
    pub fn from_model<M: Model<P>>(
        model: &M,
        x: &[f64],
        y: &[f64],
        weights: Option<&[f64]>,
        p: &[f64; P],
        mask: &[bool; P],
    ) -> Option<Self> {
        let mut qr = Self::new();
        let mut g = [0.0; P];
        for i in 0..x.len() {
            let f = model.value_grad(x[i], p, &mut g);
            let sw = weights.map_or(1.0, |w| w[i].sqrt());
            let res = sw * (f - y[i]);
            if !res.is_finite() {
                return None;
            }
            for k in 0..P {
                g[k] = if mask[k] { 0.0 } else { sw * g[k] };
                if !g[k].is_finite() {
                    return None;
                }
            }
            qr.add_row(g, res);
        }
        Some(qr)
    }

    /// Euclidean norms of the Jacobian columns, `||J_j|| = ||R_j||`.
    pub fn column_norms(&self) -> [f64; P] {
        let mut n = [0.0; P];
        for (j, nj) in n.iter_mut().enumerate() {
            *nj = (0..=j).map(|i| self.r[i][j] * self.r[i][j]).sum::<f64>().sqrt();
        }
        n
    }

    /// Gradient of `S/2`: `J'r = R' Q'r`.
    pub fn gradient(&self) -> [f64; P] {
        let mut g = [0.0; P];
        for (j, gj) in g.iter_mut().enumerate() {
            *gj = (0..=j).map(|i| self.r[i][j] * self.qtr[i]).sum();
        }
        g
    }
}

/// Rotates row `a` (rhs `b`), whose entries before `start` are zero, into the triangle `r`.
#[inline]
fn rotate_in<const P: usize>(
    r: &mut [[f64; P]; P],
    qtr: &mut [f64; P],
    a: &mut [f64; P],
    b: &mut f64,
    start: usize,
) {
    for j in start..P {
        let aj = a[j];
        if aj == 0.0 {
            continue;
        }
        let rjj = r[j][j];
        // MINPACK-style Givens coefficients, overflow-safe without hypot.
        let (c, s) = if rjj.abs() < aj.abs() {
            let cot = rjj / aj;
            let s = 0.5 / (0.25 + 0.25 * cot * cot).sqrt();
            (s * cot, s)
        } else {
            let tan = aj / rjj;
            let c = 0.5 / (0.25 + 0.25 * tan * tan).sqrt();
            (c, c * tan)
        };
        r[j][j] = c * rjj + s * aj;
        for k in j + 1..P {
            let t = r[j][k];
            r[j][k] = c * t + s * a[k];
            a[k] = c * a[k] - s * t;
        }
        let t = qtr[j];
        qtr[j] = c * t + s * *b;
        *b = c * *b - s * t;
    }
}

/// Smallest pivot ratio `d_j / (J'J)_jj` accepted by [`NormalEq::cholesky`]: `d_j` is the
/// Cholesky pivot, i.e. `(J'J)_jj (1 - R_j^2)` with `R_j^2` the squared multiple correlation of
/// column `j` with the previous ones. Below it (columns dependent beyond 1 - 1e-6, i.e. a
/// column-wise condition number above ~1e3) the normal equations would lose more than ~6 of the
/// 16 digits and the Givens QR ([`RowQr::from_model`]) is used instead.
pub const CHOLESKY_MIN_PIVOT: f64 = 1e-6;

/// Smallest pivot ratio (as [`CHOLESKY_MIN_PIVOT`]) at which the damped steps are solved by a
/// Cholesky factorisation of `J'J + mu D^2` ([`damped_cholesky`]: 4 square roots) instead of
/// MINPACK's Givens rotations of `[R; sqrt(mu) D]` ([`damped_step`]: 10 for P = 4). Both are
/// accurate there (column dependencies below 0.9995, under ~3 digits lost); near-dependent
/// columns keep the rotations, whose rounding the NIST results were established with.
pub const DAMPED_CHOLESKY_MIN_PIVOT: f64 = 1e-3;

/// Normal equations of a weighted least-squares problem at one parameter vector, accumulated in
/// a single pass over the data: `A = J'WJ` (upper triangle), `b = J'W r` and the weighted RSS
/// `sum w_i r_i^2`, with `r_i = f(x_i; p) - y_i` and `J_ik = df/dp_k` (columns of masked
/// parameters are zero).
///
/// Cheaper than the row-wise Givens QR ([`RowQr`]: four rotations with a square root and
/// divisions per observation) by a multiply-add per entry of the triangle; the price is the
/// squared condition number, which [`NormalEq::cholesky`] checks (Golub & Van Loan, *Matrix
/// Computations*, §5.3.7, normal equations vs QR).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalEq<const P: usize> {
    /// Upper triangle of `J'WJ` (entries below the diagonal are not used).
    pub a: [[f64; P]; P],
    /// `J'W r`, the gradient of `S/2`.
    pub b: [f64; P],
    /// Weighted residual sum of squares.
    pub rss: f64,
    /// Upper triangle of `sum w_i r_i d2f/dp dp'` (the second-order part of the Hessian of
    /// `S/2`, which is `J'WJ` plus this), when accumulated with the model's second derivatives
    /// ([`NormalEq::from_model_second_order`]); zero otherwise.
    pub s: [[f64; P]; P],
}

impl<const P: usize> NormalEq<P> {
    /// Accumulates the normal equations of `model` at `p` (columns with `mask[k]` set are zero).
    /// Returns `None` when a value, gradient or the sums are not finite.
    ///
    /// A run of consecutive observations with the same `x` (bit for bit) shares one model
    /// evaluation: with `f`, `g` the value and gradient at that `x`, the run adds
    /// `(sum w_i) g g'` to `A`, `g sum w_i r_i` to `b` and `sum w_i r_i^2` to the RSS
    /// (replicates sorted by concentration halve the work of duplicate curves).
    #[inline]
    pub fn from_model<M: Model<P>>(
        model: &M,
        x: &[f64],
        y: &[f64],
        weights: Option<&[f64]>,
        p: &[f64; P],
        mask: &[bool; P],
    ) -> Option<Self> {
        Self::accumulate::<M, false>(model, x, y, weights, p, mask)
    }

    /// [`NormalEq::from_model`], also accumulating the second-order term [`NormalEq::s`] from
    /// the model's analytic second derivatives ([`Model::value_grad_hess`]; zero for a model
    /// without them).
    #[inline]
    pub fn from_model_second_order<M: Model<P>>(
        model: &M,
        x: &[f64],
        y: &[f64],
        weights: Option<&[f64]>,
        p: &[f64; P],
        mask: &[bool; P],
    ) -> Option<Self> {
        if M::HAS_HESSIAN {
            Self::accumulate::<M, true>(model, x, y, weights, p, mask)
        } else {
            Self::accumulate::<M, false>(model, x, y, weights, p, mask)
        }
    }

    #[inline]
    fn accumulate<M: Model<P>, const SECOND: bool>(
        model: &M,
        x: &[f64],
        y: &[f64],
        weights: Option<&[f64]>,
        p: &[f64; P],
        mask: &[bool; P],
    ) -> Option<Self> {
        let mut a = [[0.0; P]; P];
        let mut b = [0.0; P];
        let mut rss = 0.0;
        let mut s = [[0.0; P]; P];
        let mut g = [0.0; P];
        let mut h = [[0.0; P]; P];
        let n = x.len().min(y.len());
        let mut i = 0;
        while i < n {
            let xi = x[i];
            let f = if SECOND {
                model.value_grad_hess(xi, p, &mut g, &mut h)
            } else {
                model.value_grad(xi, p, &mut g)
            };
            // The run of observations at this x: sum of weights, of w r and of w r^2.
            let (mut sw, mut swr) = (0.0, 0.0);
            match weights {
                None => {
                    while i < n && x[i].to_bits() == xi.to_bits() {
                        let r = f - y[i];
                        sw += 1.0;
                        swr += r;
                        rss += r * r;
                        i += 1;
                    }
                }
                Some(w) => {
                    while i < n && x[i].to_bits() == xi.to_bits() {
                        let r = f - y[i];
                        let wr = w[i] * r;
                        sw += w[i];
                        swr += wr;
                        rss += wr * r;
                        i += 1;
                    }
                }
            }
            // Masked columns are accumulated too (their g may be anything) and zeroed below;
            // they do not touch the unmasked entries.
            for j in 0..P {
                b[j] += g[j] * swr;
                let gj = sw * g[j];
                for k in j..P {
                    a[j][k] += gj * g[k];
                }
            }
            if SECOND {
                for j in 0..P {
                    for k in j..P {
                        s[j][k] += swr * h[j][k];
                    }
                }
            }
        }
        // Masked columns: zero what was accumulated for them (their g may be anything).
        let ne = Self { a, b, rss, s }.masked(mask);
        ne.finite(SECOND).then_some(ne)
    }

    /// True when every entry is finite (`s` only when `second`). The off-diagonal entries of
    /// `J'WJ` need no check: `|g_j g_k| <= max(g_j^2, g_k^2)` term by term, so they are finite
    /// when the diagonal is.
    #[inline]
    fn finite(&self, second: bool) -> bool {
        let mut ok = self.rss.is_finite();
        for j in 0..P {
            ok &= self.b[j].is_finite() && self.a[j][j].is_finite();
            if second {
                for k in j..P {
                    ok &= self.s[j][k].is_finite();
                }
            }
        }
        ok
    }

    /// The normal equations with the columns of `mask` removed (zeroed).
    #[inline]
    pub fn masked(&self, mask: &[bool; P]) -> Self {
        let mut out = *self;
        for j in 0..P {
            for k in j..P {
                if mask[j] || mask[k] {
                    out.a[j][k] = 0.0;
                    out.s[j][k] = 0.0;
                }
            }
            if mask[j] {
                out.b[j] = 0.0;
            }
        }
        out
    }

    /// `R` and `Q'r` of the QR factorisation of `sqrt(W) J`, from the Cholesky factorisation
    /// `J'WJ = R'R` and `R' (Q'r) = J'W r` (Golub & Van Loan §4.2): the triangle [`RowQr`]
    /// would give up to row signs. Zero columns give zero rows. `None` when a pivot is below
    /// [`CHOLESKY_MIN_PIVOT`] times its diagonal entry (ill-conditioned: use the Givens QR).
    pub fn cholesky(&self) -> Option<RowQr<P>> {
        self.factor(&self.a)
    }

    /// The Newton analogue of [`NormalEq::cholesky`]: `R'R = J'WJ + S` ([`NormalEq::s`], the
    /// Hessian of `S/2`) and `R' z = J'W r`, so the damped step and the predicted reduction
    /// computed from `(R, z)` are those of the full quadratic model of the sum of squares
    /// (Dennis & Schnabel 1983, *Numerical methods for unconstrained optimization and
    /// nonlinear equations*, §10.3). `None` when that Hessian is not safely positive definite
    /// (same pivot test), e.g. far from the optimum with large residuals: use the
    /// Gauss-Newton `J'WJ` then.
    pub fn newton_cholesky(&self) -> Option<RowQr<P>> {
        self.factor(&self.newton_matrix())
    }

    /// Upper triangle of the Newton Hessian of `S/2`, `J'WJ + S`.
    pub(crate) fn newton_matrix(&self) -> [[f64; P]; P] {
        let mut m = self.a;
        for j in 0..P {
            for k in j..P {
                m[j][k] += self.s[j][k];
            }
        }
        m
    }

    /// Cholesky factor of the symmetric `m` (upper triangle) and `R^-T b`.
    #[inline]
    pub(crate) fn factor(&self, m: &[[f64; P]; P]) -> Option<RowQr<P>> {
        let mut r = [[0.0; P]; P];
        let mut inv = [0.0; P];
        // A zero column of J (masked) gives a zero row.
        let factored = cholesky_upper(
            m,
            |j, k| m[j][k],
            &mut r,
            &mut inv,
            |j| self.a[j][j] == 0.0,
            |_| false,
            |d, ajj| d >= CHOLESKY_MIN_PIVOT * ajj && d > 0.0,
        );
        if !factored {
            return None;
        }
        let mut qtr = [0.0; P];
        for j in 0..P {
            if r[j][j] == 0.0 {
                continue;
            }
            let mut v = self.b[j];
            for i in 0..j {
                v -= r[i][j] * qtr[i];
            }
            qtr[j] = v / r[j][j];
        }
        Some(RowQr { r, qtr, rss: self.rss })
    }
}

/// `||D v||` over the unmasked components.
#[inline]
pub(crate) fn scaled_norm(d: &[f64], v: &[f64], mask: &[bool]) -> f64 {
    let mut s = 0.0;
    for k in 0..v.len() {
        if !mask[k] {
            s += (d[k] * v[k]) * (d[k] * v[k]);
        }
    }
    s.sqrt()
}

/// Nielsen's update of the damping `mu` after a step with gain ratio `rho` was accepted:
/// `mu max(1/3, 1 - (2 rho - 1)^3)`, at least `1e-300` (Madsen, Nielsen & Tingleff 2004,
/// §3.2).
#[inline]
pub(crate) fn damping_after_accept(mu: f64, rho: f64) -> f64 {
    (mu * (1.0 - (2.0 * rho - 1.0).powi(3)).max(1.0 / 3.0)).max(1e-300)
}

/// Solves `min ||[R; sqrt(mu) D] delta + [Q'r; 0]||` (MINPACK `qrsolv`): the diagonal rows are
/// rotated into a copy of `R`, then back-substitution. Masked components get `delta = 0`.
/// Returns `(delta, ||D delta||^2)`.
#[inline]
pub(crate) fn damped_step<const P: usize>(
    qr: &RowQr<P>,
    diag: &[f64; P],
    mu: f64,
    mask: &[bool; P],
) -> ([f64; P], f64) {
    let mut s = qr.r;
    let mut z = qr.qtr;
    let sm = mu.sqrt();
    for j in 0..P {
        if mask[j] {
            continue;
        }
        let mut a = [0.0; P];
        a[j] = sm * diag[j];
        let mut b = 0.0;
        rotate_in(&mut s, &mut z, &mut a, &mut b, j);
    }
    let mut delta = [0.0; P];
    for i in (0..P).rev() {
        if mask[i] || s[i][i] == 0.0 {
            continue;
        }
        let mut v = -z[i];
        for j in i + 1..P {
            v -= s[i][j] * delta[j];
        }
        delta[i] = v / s[i][i];
    }
    let mut dn = 0.0;
    for k in 0..P {
        dn += (diag[k] * delta[k]) * (diag[k] * delta[k]);
    }
    (delta, dn)
}

/// Solves `(M + mu D^2) delta = -g` by Cholesky ([`cholesky_upper`]), for `M` (upper
/// triangle) positive definite over the unmasked components (a matrix [`NormalEq::cholesky`]
/// accepted): the step of [`damped_step`] without its Givens rotations. Masked components get
/// `delta = 0`. `None` if a pivot is not positive (then use [`damped_step`]). Returns
/// `(delta, ||D delta||^2)`. Generic over the storage: the fixed-size problems of one curve
/// and the dense global fit ([`DenseMatrix`]) share it.
#[inline]
pub(crate) fn damped_cholesky<S: SquareMatrix>(
    m: &S,
    g: &S::Vector,
    diag: &S::Vector,
    mu: f64,
    mask: impl Fn(usize) -> bool + Copy,
) -> Option<(S::Vector, f64)> {
    let n = m.dim();
    let mut r = m.zeros();
    let mut inv = m.zero_vector();
    let shifted = |j: usize, k: usize| {
        if j == k { m.at(j, j) + mu * diag[j] * diag[j] } else { m.at(j, k) }
    };
    if !cholesky_upper(m, shifted, &mut r, &mut inv, mask, mask, |d, _| d > 0.0) {
        return None;
    }
    // R'u = -g, then R delta = u.
    let mut u = m.zero_vector();
    for j in 0..n {
        if mask(j) {
            continue;
        }
        let mut v = -g[j];
        for i in 0..j {
            v -= r.at(i, j) * u[i];
        }
        u[j] = v * inv[j];
    }
    let mut delta = m.zero_vector();
    for j in (0..n).rev() {
        if mask(j) {
            continue;
        }
        let mut v = u[j];
        for k in j + 1..n {
            v -= r.at(j, k) * delta[k];
        }
        delta[j] = v * inv[j];
    }
    let mut dn = 0.0;
    for k in 0..n {
        dn += (diag[k] * delta[k]) * (diag[k] * delta[k]);
    }
    delta.as_ref().iter().all(|v| v.is_finite()).then_some((delta, dn))
}

/// A square matrix as the linear algebra here reads and writes it: the fixed-size
/// `[[f64; P]; P]` of a one-curve problem, or a [`DenseMatrix`] of a global fit. Both
/// implementations compile to plain indexing, so the generic routines cost nothing over
/// hand-written fixed-size ones.
pub trait SquareMatrix: Sized {
    /// A vector of the matrix's dimension (`[f64; P]`, `Vec<f64>`).
    type Vector: IndexMut<usize, Output = f64> + AsRef<[f64]>;
    /// The dimension `n` of the `n x n` matrix.
    fn dim(&self) -> usize;
    /// Entry `(i, j)`.
    fn at(&self, i: usize, j: usize) -> f64;
    /// Sets entry `(i, j)`.
    fn set(&mut self, i: usize, j: usize, v: f64);
    /// A zero matrix of the same dimension.
    fn zeros(&self) -> Self;
    /// A zero vector of the same dimension.
    fn zero_vector(&self) -> Self::Vector;
}

impl<const P: usize> SquareMatrix for [[f64; P]; P] {
    type Vector = [f64; P];

    #[inline(always)]
    fn dim(&self) -> usize {
        P
    }

    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> f64 {
        self[i][j]
    }

    #[inline(always)]
    fn set(&mut self, i: usize, j: usize, v: f64) {
        self[i][j] = v;
    }

    #[inline(always)]
    fn zeros(&self) -> Self {
        [[0.0; P]; P]
    }

    #[inline(always)]
    fn zero_vector(&self) -> [f64; P] {
        [0.0; P]
    }
}

/// A dense row-major `n x n` matrix (the normal equations of a global fit, whose parameter
/// count is known only at run time).
#[derive(Debug, Clone, PartialEq)]
pub struct DenseMatrix {
    n: usize,
    data: Vec<f64>,
}

impl DenseMatrix {
    /// The `n x n` zero matrix.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self { n, data: vec![0.0; n * n] }
    }

    /// Sets every entry to 0.
    pub fn clear(&mut self) {
        self.data.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Adds `v` to entry `(i, j)`.
    #[inline]
    pub fn add(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.n + j] += v;
    }
}

impl SquareMatrix for DenseMatrix {
    type Vector = Vec<f64>;

    #[inline]
    fn dim(&self) -> usize {
        self.n
    }

    #[inline]
    fn at(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.n + j]
    }

    #[inline]
    fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.n + j] = v;
    }

    fn zeros(&self) -> Self {
        Self::new(self.n)
    }

    fn zero_vector(&self) -> Vec<f64> {
        vec![0.0; self.n]
    }
}

/// The Cholesky factorisation of the engine, `R'R = A` with `R` upper triangular (Golub & Van
/// Loan, *Matrix Computations*, §4.2.5), column by column: for each row `j` not skipped,
/// `d = a(j, j) - sum_{i<j} R_ij^2`, which `accept(d, a(j, j))` must pass (positive, or a
/// minimum pivot ratio), `R_jj = sqrt(d)`, `inv[j] = 1 / R_jj` and
/// `R_jk = (a(j, k) - sum_{i<j} R_ij R_ik) inv[j]` for the columns `k > j` not skipped.
///
/// `a(j, k)` gives the upper triangle of `A` (so a diagonal shift such as `mu D^2` needs no
/// copy); `r` must be zero on entry; rows with `skip_row(j)` stay zero (a masked parameter or a
/// zero column of `J`), and so do entries in columns with `skip_col(k)`. Returns `false` when a
/// pivot is refused. The one Cholesky behind [`NormalEq::cholesky`], the damped steps
/// ([`damped_cholesky`]) and the dense global fit.
#[inline]
pub(crate) fn cholesky_upper<S: SquareMatrix>(
    shape: &S,
    a: impl Fn(usize, usize) -> f64,
    r: &mut S,
    inv: &mut S::Vector,
    skip_row: impl Fn(usize) -> bool,
    skip_col: impl Fn(usize) -> bool,
    accept: impl Fn(f64, f64) -> bool,
) -> bool {
    let n = shape.dim();
    for j in 0..n {
        if skip_row(j) {
            continue;
        }
        let ajj = a(j, j);
        let mut d = ajj;
        for i in 0..j {
            d -= r.at(i, j) * r.at(i, j);
        }
        if !accept(d, ajj) {
            return false;
        }
        let rjj = d.sqrt();
        r.set(j, j, rjj);
        inv[j] = 1.0 / rjj;
        for k in j + 1..n {
            if skip_col(k) {
                continue;
            }
            let mut v = a(j, k);
            for i in 0..j {
                v -= r.at(i, j) * r.at(i, k);
            }
            r.set(j, k, v * inv[j]);
        }
    }
    true
}

/// The inverse of the upper-triangular `r` over its leading `n` rows and columns (nonzero
/// diagonal), by back-substitution column by column (`R R^-1 = I`), into `rinv` (zero on
/// entry). With `R'R = J'WJ`, `(J'WJ)^-1 = R^-1 R^-T`: the asymptotic covariance of one curve
/// ([`crate::fit::engine::uncertainty`]) and of a global fit.
#[inline]
pub(crate) fn upper_inverse<S: SquareMatrix>(r: &S, n: usize, rinv: &mut S) {
    for c in 0..n {
        for i in (0..=c).rev() {
            let mut v = if i == c { 1.0 } else { 0.0 };
            for j in i + 1..=c {
                v -= r.at(i, j) * rinv.at(j, c);
            }
            rinv.set(i, c, v / r.at(i, i));
        }
    }
}
