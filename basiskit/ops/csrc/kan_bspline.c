/* B-spline KAN layer kernels (basiskit/ops/bspline_native.py is the ctypes side): the window on uniform knots
 * (closed-form pieces, vectorised) or on any knot rows (span bisection + de Boor), then loops shared by both.
 *
 * Shapes: x (N, I); the packed weight (O, I, W), W = n_basis + 1 (column n_basis is the base weight, handled by
 * BLAS in Python), transposed to wt (I, W, O) for the loops that run along O; g = dL/dy (N, O). On a uniform grid
 * of G intervals, x_ni sits in interval j = floor(pos), pos = clamp((x - t_p) / h, 0, G), u = pos - j, and only
 * the R = p + 1 B-splines j..j+p are non-zero there, with values V_r(u) = sum_q C[r][q] u^q (cardinal pieces,
 * C built in Python). The kernels use that local support instead of a dense (N, I*W) feature matrix:
 *
 *   window:    start[n,i] = j,  val[n,r,i] = V_r(u),  dval[n,r,i] = [pos == raw] V_r'(u) / h
 *   transpose: wt = packed weight (O, I W) transposed
 *   forward:   y[n,:]         += sum_i sum_r val[n,r,i] wt[i, j+r, :]
 *   grad_x:    dx[n,i]        += sum_r dval[n,r,i] <wt[i, j+r, :], g[n,:]>
 *   grad_w:    gw[:, i, j+r]   = sum_n val[n,r,i] g[n,:]     (threads own disjoint inputs: no atomics)
 *
 * The dense path (basiskit/ops/path_select.py picks it per shape class where BLAS wins, e.g. wide vector units):
 *
 *   dense:         feats[n, i, :] = 0 but feats[n, i, j+r] = val[n,r,i], feats[n, i, W-1] = base[n,i]
 *   dense_grad_x:  dx[n,i] += sum_r dval[n,r,i] gfeat[n, i, j+r]      (gfeat = g W, (N, I, W), from BLAS)
 *
 * Loops over samples run inside blocks of inputs whose rows of wt (or of the grad_w accumulator) fit in L1. The
 * layer's forward (window + forward) and backward (window + grad_x, barrier, grad_w) each run in one OpenMP
 * region, kan_forward_fused / kan_backward_fused (two thread wake-ups per step instead of five), and neither
 * writes anything of size N but its outputs: the window lives in per-thread rows, one chunk of samples at a time
 * (fresh N-sized buffers cost more in page faults than the window's arithmetic).
 * The body below is compiled twice, for float (suffix _f32) and double (_f64), by including this file into
 * itself (so it must be built under its own name, as basiskit.ops.native does); `nt` is the OpenMP thread
 * count. Without OpenMP the pragmas are ignored and everything runs on one thread.
 */
#ifndef KAN_T
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
static int thread_id(void) { return omp_get_thread_num(); }
#else
static int thread_id(void) { return 0; }
#endif

#define SAMPLE_CHUNK 64L  /* samples per thread work item */
#define WINDOW_BLOCK 256L /* inputs per vectorised window pass */
#define MAX_R 16          /* order <= 15 */
#define COLUMN_INPUTS 16L /* fewer inputs than this: the window is vectorised along samples */

/* Inputs per block so that IB * W rows of O values take about 32 KiB (L1 is 48 KiB here). */
static long block_inputs(long width, long n_out, long elem) {
    long ib = (32L * 1024L) / (width * n_out * elem);
    return ib < 1 ? 1 : ib;
}

static long min_l(long a, long b) { return a < b ? a : b; }

/* Inputs per grad_w block: L1-sized, and at least 4 blocks per thread, for balance. */
static long grad_w_block(long I, long O, long W, long elem, int nt) {
    return min_l(block_inputs(W, O, elem), (I + 4L * nt - 1) / (4L * nt));
}

#define KAN_T float
#define KAN_FN(name) name##_f32
#include "kan_bspline.c" /* this file again, with KAN_T set */
#undef KAN_T
#undef KAN_FN
#define KAN_T double
#define KAN_FN(name) name##_f64
#include "kan_bspline.c" /* this file again, with KAN_T set */

#else /* ---- body, instantiated per KAN_T ---- */
#define T KAN_T

/* out[a] = sum_q c[q] u[a]^q (Horner), m values. */
static void KAN_FN(horner)(long m, long p, const T *c, const T *u, T *out) {
    for (long a = 0; a < m; a++) out[a] = c[p];
    for (long q = p - 1; q >= 0; q--) {
        T cq = c[q];
        #pragma omp simd
        for (long a = 0; a < m; a++) out[a] = out[a] * u[a] + cq;
    }
}

/* Window of the m inputs of one sample: xn, ih, sh (m) -> sn (m), val / dval rows r at stride I. */
static void KAN_FN(window_row)(long m, long I, long G, long p, const T *xn, const T *sh, const T *ih,
                               const T *coef, const T *dcoef, int32_t *sn, T *val, T *dval) {
    T u[WINDOW_BLOCK], scale[WINDOW_BLOCK];
    long R = p + 1;
    T top = (T)G, last = (T)(G - 1);
    #pragma omp simd
    for (long a = 0; a < m; a++) {
        T raw = xn[a] * ih[a] + sh[a];
        /* selects (so the loop vectorises) that keep NaN: pos = clamp(raw, 0, G) */
        T pos = !(raw <= 0) ? raw : (T)0;
        pos = !(pos >= top) ? pos : top;
        int32_t j = (int32_t)(pos < last ? pos : last);  /* floor, as pos >= 0; NaN -> G - 1, in range */
        sn[a] = j;
        u[a] = pos - (T)j;                               /* a NaN input gives NaN values */
        scale[a] = ih[a] * (T)(pos == raw);              /* clamped: constant, slope 0 */
    }
    for (long r = 0; r < R; r++) KAN_FN(horner)(m, p, coef + r * R, u, val + r * I);
    if (!dval) return;
    for (long r = 0; r < R; r++) {
        T *out = dval + r * I;
        KAN_FN(horner)(m, p, dcoef + r * R, u, out);
        #pragma omp simd
        for (long a = 0; a < m; a++) out[a] *= scale[a];
    }
}

/* Moves m entries of a window row (values at stride ld per r) computed on knots extended by `pad` each side
 * (columns of a weight padded with `pad` zero coefficients each side) onto the unpadded weight's n_cols spline
 * columns: the start becomes c' = clamp(start - pad, 0, n_cols - R) and the entries shift by c' - (start - pad);
 * entries that fall on a padded (zero) column are dropped and the freed ones set to 0. Needs n_cols >= R (true for
 * any grid: n_basis = grid + p). So the kernels below run on the caller's weight and no padded copy is formed. */
static void KAN_FN(shift_row)(long m, long ld, long p, long pad, long n_cols, int32_t *start, T *val, T *dval) {
    long R = p + 1, top = n_cols - R;
    for (long a0 = 0; a0 < m; a0 += SAMPLE_CHUNK) {  /* branch-free in blocks: v'[r] = v[r + sh] if in 0..p, else 0 */
        long mb = min_l(m - a0, SAMPLE_CHUNK);
        int32_t sh[SAMPLE_CHUNK];
        int any = 0;
        #pragma omp simd reduction(|:any)
        for (long k = 0; k < mb; k++) {
            int32_t c = start[a0 + k] - (int32_t)pad, cc = c < 0 ? 0 : (c > (int32_t)top ? (int32_t)top : c);
            sh[k] = cc - c;
            start[a0 + k] = cc;
            any |= sh[k] != 0;
        }
        if (!any) continue;
        for (int which = 0; which < (dval ? 2 : 1); which++) {
            T *v = (which ? dval : val) + a0, tmp[MAX_R][SAMPLE_CHUNK];
            for (long r = 0; r < R; r++) memcpy(tmp[r], v + r * ld, sizeof(T) * (size_t)mb);
            for (long r = 0; r < R; r++) {
                T out[SAMPLE_CHUNK];
                for (long k = 0; k < mb; k++) out[k] = 0;
                for (long q = 0; q < R; q++) {  /* source row q = r + sh */
                    int32_t want = (int32_t)(q - r);
                    #pragma omp simd
                    for (long k = 0; k < mb; k++) out[k] = sh[k] == want ? tmp[q][k] : out[k];
                }
                memcpy(v + r * ld, out, sizeof(T) * (size_t)mb);
            }
        }
    }
}

/* Window on arbitrary knot rows, knots (I, K) non-decreasing (the rows after update_grid: data quantiles).
 * x_ni is clamped to [t_p, t_{K-1-p}]; the span s in [p, K-p-2] with t_s <= x < t_{s+1} (the right end belongs
 * to the last span) is guessed as if the knots were equally spaced and then walked to, a step or two on
 * quantile knots. de Boor's triangle gives the p+1 non-zero B-splines N_{s-p+r}; its denominators are knot
 * gaps t_{m+k} - t_m, whose inverses inv[k][m] are tabled once per row (no division per sample). The order p-1
 * values M_r = N_{s-p+1+r,p-1} give the slopes
 *   N'_{s-p+r} = p (M_{r-1} / (t_{s+r} - t_{s+r-p}) - M_r / (t_{s+r+1} - t_{s+r+1-p})),
 * 0 outside [t_p, t_{K-1-p}] (the clamped spline is constant there); a zero gap contributes 0 (repeated knots).
 * Output layout as kan_window: start (N, I) = s - p, val / dval (N, R, I). A NaN input gives NaN values. */
static void KAN_FN(knot_row_tables)(long K, long p, const T *t, T *inv, T *scale) {
    for (long k = 1; k <= p; k++)
        for (long m = 0; m + k < K; m++) {
            T gap = t[m + k] - t[m];
            inv[(k - 1) * K + m] = gap != 0 ? (T)1 / gap : (T)0;
        }
    T width = t[K - 1 - p] - t[p];
    *scale = width > 0 ? (T)(K - 1 - 2 * p) / width : (T)0;
}

static inline void KAN_FN(window_knots_one)(long K, long p, const T *t, const T *inv, T scale, T xv, int32_t *start,
                                     T *val, T *dval, long I) {
    T lo = t[p], hi = t[K - 1 - p];
    int inside = (xv >= lo) && (xv <= hi);
    T xc = xv < lo ? lo : (xv > hi ? hi : xv);  /* NaN passes through */
    long last = K - p - 2;
    T guess = (xc - lo) * scale;
    long s = p + (guess >= 0 && guess < (T)(last - p) ? (long)guess : (guess >= 0 ? last - p : 0));
    while (s > p && t[s] > xc) s--;
    while (s < last && t[s + 1] <= xc) s++;
    T nv[MAX_R], mv[MAX_R], left[MAX_R], right[MAX_R];
    nv[0] = (T)1;
    mv[0] = (T)1;
    for (long k = 1; k <= p; k++) {
        left[k] = xc - t[s + 1 - k];
        right[k] = t[s + k] - xc;
        if (k == p)
            for (long r = 0; r < p; r++) mv[r] = nv[r];
        const T *ik = inv + (k - 1) * K + s + 1 - k;  /* ik[r] = 1 / (t_{s+1+r} - t_{s+1+r-k}) */
        T saved = 0;
        for (long r = 0; r < k; r++) {
            T tmp = nv[r] * ik[r];
            nv[r] = saved + right[r + 1] * tmp;
            saved = left[k - r] * tmp;
        }
        nv[k] = saved;
    }
    *start = (int32_t)(s - p);
    for (long r = 0; r <= p; r++) val[r * I] = nv[r];
    if (!dval) return;
    const T *ip = p > 0 ? inv + (p - 1) * K + s - p : NULL;  /* ip[r] = 1 / (t_{s+r} - t_{s+r-p}) */
    for (long r = 0; r <= p; r++) {
        T d = 0;
        if (p > 0 && inside)
            d = (T)p * ((r > 0 ? mv[r - 1] * ip[r] : (T)0) - (r < p ? mv[r] * ip[r + 1] : (T)0));
        dval[r * I] = xv != xv ? xv : d;  /* NaN stays NaN */
    }
}

/* What a window pass needs, filled once per call (serially) so every loop below can compute rows on demand:
 * uniform knots (G intervals, shift / inv_h per row, coef and its derivative dcoef) or any knot rows (K knots
 * per row, the inverse-gap tables in inv / scale). */
typedef struct {
    long I, G, K, p, pad, n_cols;
    int uniform;
    const T *x, *shift, *inv_h, *coef, *knots, *inv, *scale;
    T dcoef[MAX_R * MAX_R];
} KAN_FN(win_t);

/* gk: G (uniform) or K (knot rows); tables: I * (max(p, 1) * K + 1) values for the knot rows' tables. */
static void KAN_FN(win_init)(KAN_FN(win_t) *w, long I, long gk, long p, int uniform, const T *x, const T *shift,
                             const T *inv_h, const T *coef, const T *knots, T *tables, long pad, long n_cols) {
    long R = p + 1;
    w->I = I, w->p = p, w->pad = pad, w->n_cols = n_cols, w->uniform = uniform, w->x = x;
    w->shift = shift, w->inv_h = inv_h, w->coef = coef, w->knots = knots;
    if (uniform) {
        w->G = gk, w->K = 0;
        for (long r = 0; r < R; r++)  /* d/du of each piece: dcoef[r][q] = (q + 1) C[r][q + 1] */
            for (long q = 0; q < R; q++)
                w->dcoef[r * R + q] = q + 1 < R ? (T)(q + 1) * coef[r * R + q + 1] : (T)0;
        return;
    }
    long tab = (p > 0 ? p : 1) * gk;
    w->G = 0, w->K = gk, w->inv = tables, w->scale = tables + I * tab;
    for (long i = 0; i < I; i++) KAN_FN(knot_row_tables)(gk, p, knots + i * gk, tables + i * tab, tables + I * tab + i);
}

/* Window of sample n, inputs i0..i1-1, into start[0..m), val / dval [r * ld + k] (k = i - i0, m = i1 - i0). */
static void KAN_FN(window_block)(const KAN_FN(win_t) *w, long n, long i0, long i1, int32_t *sn, T *vn, T *dn,
                                 long ld) {
    long p = w->p, K = w->K, tab = (p > 0 ? p : 1) * K;
    const T *xn = w->x + n * w->I;
    if (w->uniform)
        for (long a = i0; a < i1; a += WINDOW_BLOCK)
            KAN_FN(window_row)(min_l(i1 - a, WINDOW_BLOCK), ld, w->G, p, xn + a, w->shift + a, w->inv_h + a, w->coef,
                               w->dcoef, sn + a - i0, vn + a - i0, dn ? dn + a - i0 : NULL);
    else if (p == 3)  /* the cubic default with the order known at compile time: loops unrolled */
        for (long i = i0; i < i1; i++)
            KAN_FN(window_knots_one)(K, 3, w->knots + i * K, w->inv + i * tab, w->scale[i], xn[i], sn + i - i0,
                                     vn + i - i0, dn ? dn + i - i0 : NULL, ld);
    else
        for (long i = i0; i < i1; i++)
            KAN_FN(window_knots_one)(K, p, w->knots + i * K, w->inv + i * tab, w->scale[i], xn[i], sn + i - i0,
                                     vn + i - i0, dn ? dn + i - i0 : NULL, ld);
    if (w->pad) KAN_FN(shift_row)(i1 - i0, ld, p, w->pad, w->n_cols, sn, vn, dn);
}

/* Window of input i for samples n0..n1-1 (at most SAMPLE_CHUNK), into start[0..m), val / dval [r * ld + k]
 * (k = n - n0; dval may be NULL): the column of x gathered, then the same vectorised pieces as a row (or de Boor
 * per entry on any knots). */
static void KAN_FN(window_column)(const KAN_FN(win_t) *w, long i, long n0, long n1, int32_t *sc, T *vc, T *dc,
                                  long ld) {
    long m = n1 - n0, p = w->p, I = w->I;
    if (w->uniform) {
        T xc[SAMPLE_CHUNK], shc[SAMPLE_CHUNK], ihc[SAMPLE_CHUNK];
        for (long k = 0; k < m; k++) {
            xc[k] = w->x[(n0 + k) * I + i];
            shc[k] = w->shift[i];
            ihc[k] = w->inv_h[i];
        }
        KAN_FN(window_row)(m, ld, w->G, p, xc, shc, ihc, w->coef, w->dcoef, sc, vc, dc);
    } else {
        long K = w->K, tab = (p > 0 ? p : 1) * K;
        for (long k = 0; k < m; k++)
            KAN_FN(window_knots_one)(K, p, w->knots + i * K, w->inv + i * tab, w->scale[i], w->x[(n0 + k) * I + i],
                                     sc + k, vc + k, dc ? dc + k : NULL, ld);
    }
    if (w->pad) KAN_FN(shift_row)(m, ld, p, w->pad, w->n_cols, sc, vc, dc);
}

/* Window of samples n0..n1-1 into rows 0.. of start (., I), val / dval (., R, I) (the caller offsets them). On
 * uniform knots with few inputs (I < COLUMN_INPUTS) the pieces are vectorised along samples, a column of up to
 * SAMPLE_CHUNK at a time, and scattered into the rows: along a row of 2 or 5 inputs the vector loops hardly run
 * (a [2, 5, 1] KAN's window took 28 ns per entry that way, 7 ns by columns). On other knots de Boor runs per
 * entry either way: a version with every step vectorised along samples (span by counting knots, gathers for
 * the knot and table reads) was no faster on this AMD EPYC, so it is not kept. */
static void KAN_FN(window_range)(const KAN_FN(win_t) *w, long n0, long n1, int32_t *start, T *val, T *dval) {
    long I = w->I, R = w->p + 1;
    if (w->uniform && I < COLUMN_INPUTS) {
        int32_t sc[SAMPLE_CHUNK];
        T vc[MAX_R * SAMPLE_CHUNK], dc[MAX_R * SAMPLE_CHUNK];
        for (long c0 = n0; c0 < n1; c0 += SAMPLE_CHUNK) {
            long c1 = min_l(n1, c0 + SAMPLE_CHUNK);
            for (long i = 0; i < I; i++) {
                KAN_FN(window_column)(w, i, c0, c1, sc, vc, dval ? dc : NULL, SAMPLE_CHUNK);
                for (long k = 0; k < c1 - c0; k++) {
                    long row = c0 - n0 + k;
                    start[row * I + i] = sc[k];
                    for (long r = 0; r < R; r++) val[(row * R + r) * I + i] = vc[r * SAMPLE_CHUNK + k];
                    if (dval)
                        for (long r = 0; r < R; r++) dval[(row * R + r) * I + i] = dc[r * SAMPLE_CHUNK + k];
                }
            }
        }
        return;
    }
    for (long n = n0; n < n1; n++)
        KAN_FN(window_block)(w, n, 0, I, start + (n - n0) * I, val + (n - n0) * R * I,
                             dval ? dval + (n - n0) * R * I : NULL, I);
}

/* The window alone (pad > 0: each row moved onto n_cols unpadded columns by shift_row, in the same loop). */
static void KAN_FN(window_all)(const KAN_FN(win_t) *w, long N, int32_t *start, T *val, T *dval, int nt) {
    long I = w->I, R = w->p + 1, chunks = (N + SAMPLE_CHUNK - 1) / SAMPLE_CHUNK;
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (long c = 0; c < chunks; c++) {
        long n0 = c * SAMPLE_CHUNK;
        KAN_FN(window_range)(w, n0, min_l(N, n0 + SAMPLE_CHUNK), start + n0 * I, val + n0 * R * I,
                             dval ? dval + n0 * R * I : NULL);
    }
}

void KAN_FN(kan_window)(long N, long I, long G, long p, const T *x, const T *shift, const T *inv_h,
                        const T *coef, int32_t *start, T *val, T *dval, long pad, long n_cols, int nt) {
    KAN_FN(win_t) w;
    KAN_FN(win_init)(&w, I, G, p, 1, x, shift, inv_h, coef, NULL, NULL, pad, n_cols);
    KAN_FN(window_all)(&w, N, start, val, dval, nt);
}

/* scratch: I * (max(p, 1) * K + 1) values for the per-row tables. */
void KAN_FN(kan_window_knots)(long N, long I, long K, long p, const T *x, const T *knots, int32_t *start, T *val,
                              T *dval, T *scratch, long pad, long n_cols, int nt) {
    KAN_FN(win_t) w;
    KAN_FN(win_init)(&w, I, K, p, 0, x, NULL, NULL, NULL, knots, scratch, pad, n_cols);
    KAN_FN(window_all)(&w, N, start, val, dval, nt);
}

/* dst (cols, rows) = src (rows, cols)^T in 32 x 32 tiles: the packed weight (O, I W) -> wt (I W, O). */
void KAN_FN(kan_transpose)(long rows, long cols, const T *src, T *dst, int nt) {
    long tiles = (cols + 31) / 32;
    #pragma omp parallel for schedule(static) num_threads(nt) if (rows * cols >= (1L << 18))
    for (long tc = 0; tc < tiles; tc++) {
        long c0 = tc * 32, c1 = min_l(cols, c0 + 32);
        for (long r0 = 0; r0 < rows; r0 += 32) {
            long r1 = min_l(rows, r0 + 32);
            for (long c = c0; c < c1; c++)
                for (long r = r0; r < r1; r++) dst[c * rows + r] = src[r * cols + c];
        }
    }
}

/* y[n, :] += sum_r v[r * I] w[r * O + :] for one (n, i); v strided by I (layout (N, R, I)). */
static inline void KAN_FN(axpy_window)(long O, long R, long I, const T *v, const T *w, T *yn) {
    if (R == 4) {  /* the cubic default: one pass over y */
        T v0 = v[0], v1 = v[I], v2 = v[2 * I], v3 = v[3 * I];
        #pragma omp simd
        for (long o = 0; o < O; o++) yn[o] += v0 * w[o] + v1 * w[O + o] + v2 * w[2 * O + o] + v3 * w[3 * O + o];
        return;
    }
    for (long r = 0; r < R; r++) {
        T vr = v[r * I];
        const T *wr = w + r * O;
        #pragma omp simd
        for (long o = 0; o < O; o++) yn[o] += vr * wr[o];
    }
}

/* Cubic case, inputs i and i+1 of one sample in one pass over y[n, :]. */
static inline void KAN_FN(axpy_window2)(long O, long I, long W, const T *v, const T *wt, const int32_t *sn, T *yn) {
    const T *a = wt + sn[0] * O, *b = wt + (W + sn[1]) * O;
    T a0 = v[0], a1 = v[I], a2 = v[2 * I], a3 = v[3 * I];
    T b0 = v[1], b1 = v[I + 1], b2 = v[2 * I + 1], b3 = v[3 * I + 1];
    #pragma omp simd
    for (long o = 0; o < O; o++)
        yn[o] += (a0 * a[o] + a1 * a[O + o] + a2 * a[2 * O + o] + a3 * a[3 * O + o])
               + (b0 * b[o] + b1 * b[O + o] + b2 * b[2 * O + o] + b3 * b[3 * O + o]);
}

/* y rows n0..n1-1 (y points at row n0); start / val point at the window rows of n0. This and the other loops
 * called inside a fused region are noinline: inlined into the region's outlined function, GCC's code for this
 * loop ran 1.4-1.7x slower (in = out = 256, one thread, AMD EPYC); compiled on its own it matches the unfused
 * kernel's speed. */
__attribute__((noinline)) static void KAN_FN(forward_chunk)(long m, long I, long O, long W, long p,
                                                            const int32_t *start, const T *val, const T *wt,
                                                            T *y) {
    long R = p + 1, ib = block_inputs(W, O, sizeof(T));
    ib += ib % 2;
    for (long i0 = 0; i0 < I; i0 += ib) {
        long i1 = min_l(I, i0 + ib);
        for (long n = 0; n < m; n++) {
            long i = i0;
            if (R == 4)
                for (; i + 2 <= i1; i += 2)
                    KAN_FN(axpy_window2)(O, I, W, val + n * R * I + i, wt + i * W * O, start + n * I + i, y + n * O);
            for (; i < i1; i++)
                KAN_FN(axpy_window)(O, R, I, val + n * R * I + i, wt + (i * W + start[n * I + i]) * O, y + n * O);
        }
    }
}

/* sum_r d[r * I] <w[r * O + :], gn> for one (n, i). */
static inline T KAN_FN(dot_window)(long O, long R, long I, const T *d, const T *w, const T *gn) {
    T s = 0;
    if (R == 4) {
        T d0 = d[0], d1 = d[I], d2 = d[2 * I], d3 = d[3 * I];
        #pragma omp simd reduction(+:s)
        for (long o = 0; o < O; o++) s += gn[o] * (d0 * w[o] + d1 * w[O + o] + d2 * w[2 * O + o] + d3 * w[3 * O + o]);
        return s;
    }
    for (long r = 0; r < R; r++) {
        T sr = 0;
        const T *wr = w + r * O;
        #pragma omp simd reduction(+:sr)
        for (long o = 0; o < O; o++) sr += gn[o] * wr[o];
        s += d[r * I] * sr;
    }
    return s;
}

/* Cubic case, inputs i..i+3 of one sample at once: four independent reduction chains share the loads of g. */
static inline void KAN_FN(dot_window4)(long O, long I, long W, const T *d, const T *wt, const int32_t *sn,
                                       const T *gn, T *dxn) {
    const T *w[4];
    T c[4][4];
    for (long k = 0; k < 4; k++) {
        w[k] = wt + (k * W + sn[k]) * O;
        for (long r = 0; r < 4; r++) c[k][r] = d[r * I + k];
    }
    T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    #pragma omp simd reduction(+:s0, s1, s2, s3)
    for (long o = 0; o < O; o++) {
        T go = gn[o];
        s0 += go * (c[0][0] * w[0][o] + c[0][1] * w[0][O + o] + c[0][2] * w[0][2 * O + o] + c[0][3] * w[0][3 * O + o]);
        s1 += go * (c[1][0] * w[1][o] + c[1][1] * w[1][O + o] + c[1][2] * w[1][2 * O + o] + c[1][3] * w[1][3 * O + o]);
        s2 += go * (c[2][0] * w[2][o] + c[2][1] * w[2][O + o] + c[2][2] * w[2][2 * O + o] + c[2][3] * w[2][3 * O + o]);
        s3 += go * (c[3][0] * w[3][o] + c[3][1] * w[3][O + o] + c[3][2] * w[3][2 * O + o] + c[3][3] * w[3][3 * O + o]);
    }
    dxn[0] += s0;
    dxn[1] += s1;
    dxn[2] += s2;
    dxn[3] += s3;
}

/* dx rows n0..n1-1 (dx, g point at row n0; start / dval at the window rows of n0). */
__attribute__((noinline)) static void KAN_FN(grad_x_chunk)(long m, long I, long O, long W, long p,
                                                           const int32_t *start, const T *dval, const T *wt,
                                                           const T *g, T *dx) {
    long R = p + 1, ib = block_inputs(W, O, sizeof(T));
    ib = ib < 4 ? 4 : ib - ib % 4;
    for (long i0 = 0; i0 < I; i0 += ib) {
        long i1 = min_l(I, i0 + ib);
        for (long n = 0; n < m; n++) {
            long i = i0;
            if (R == 4)
                for (; i + 4 <= i1; i += 4)
                    KAN_FN(dot_window4)(O, I, W, dval + n * R * I + i, wt + i * W * O, start + n * I + i, g + n * O,
                                        dx + n * I + i);
            for (; i < i1; i++)
                dx[n * I + i] += KAN_FN(dot_window)(O, R, I, dval + n * R * I + i, wt + (i * W + start[n * I + i]) * O,
                                                    g + n * O);
        }
    }
}

/* a[r * O + :] += v[r * I] gn for one (n, i): rows j..j+p of that input's accumulator. */
static inline void KAN_FN(outer_window)(long O, long R, long I, const T *v, const T *gn, T *a) {
    if (R == 4) {
        T v0 = v[0], v1 = v[I], v2 = v[2 * I], v3 = v[3 * I];
        #pragma omp simd
        for (long o = 0; o < O; o++) {
            T go = gn[o];
            a[o] += v0 * go;
            a[O + o] += v1 * go;
            a[2 * O + o] += v2 * go;
            a[3 * O + o] += v3 * go;
        }
        return;
    }
    for (long r = 0; r < R; r++) {
        T vr = v[r * I];
        T *ar = a + r * O;
        #pragma omp simd
        for (long o = 0; o < O; o++) ar[o] += vr * gn[o];
    }
}

/* gw[o, i, c] = sum_n [c in window] val g[n, o] for c < W - 1 (gw is (O, I, W); the base column is not written),
 * inside a parallel region (an omp for: threads own blocks of inputs whose accumulators fit in L1; samples stream
 * past in chunks, in order, so every sum runs over n in the same order whatever the thread count; no atomics).
 * The loop over a block's inputs is innermost: consecutive updates hit different accumulators, so they do not
 * wait on each other's stores when many samples share a window (inputs clamped at the grid's ends).
 * w: each input's window is computed per chunk of samples as they stream past (nothing of size N is written:
 * fresh N-sized buffers cost more in page faults than the window's arithmetic), else start / val hold it.
 * acc: nt * grad_w_block(...) * (W O + (R + 1) SAMPLE_CHUNK) values. */
__attribute__((noinline)) static void KAN_FN(grad_w_region)(const KAN_FN(win_t) *w, long N, long I, long O,
                                                            long W, long p, const int32_t *start, const T *val,
                                                            const T *g, T *gw, T *acc, int nt) {
    long R = p + 1, ib = grad_w_block(I, O, W, sizeof(T), nt), blocks = (I + ib - 1) / ib, C = SAMPLE_CHUNK;
    T *a = acc + (long)thread_id() * ib * (W * O + (R + 1) * C);
    T *vc = a + ib * W * O;                  /* (ib, R, C) values of the block's chunk */
    int32_t *sc = (int32_t *)(vc + ib * R * C); /* (ib, C) starts: sizeof(int32_t) <= sizeof(T) */
    #pragma omp for schedule(static)
    for (long b = 0; b < blocks; b++) {
        long i0 = b * ib, i1 = min_l(I, i0 + ib);
        memset(a, 0, sizeof(T) * (i1 - i0) * W * O);
        for (long n0 = 0; n0 < N; n0 += C) {
            long n1 = min_l(N, n0 + C);
            if (w) {
                for (long i = i0; i < i1; i++)
                    KAN_FN(window_column)(w, i, n0, n1, sc + (i - i0) * C, vc + (i - i0) * R * C, NULL, C);
                for (long n = n0; n < n1; n++)
                    for (long i = i0; i < i1; i++)
                        KAN_FN(outer_window)(O, R, C, vc + (i - i0) * R * C + n - n0, g + n * O,
                                             a + ((i - i0) * W + sc[(i - i0) * C + n - n0]) * O);
            } else {
                for (long n = n0; n < n1; n++)
                    for (long i = i0; i < i1; i++)
                        KAN_FN(outer_window)(O, R, I, val + n * R * I + i, g + n * O,
                                             a + ((i - i0) * W + start[n * I + i]) * O);
            }
        }
        for (long o = 0; o < O; o++)  /* gw[o, i0:i1, :W-1] is one contiguous run per o */
            for (long i = i0; i < i1; i++)
                for (long c = 0; c < W - 1; c++) gw[(o * I + i) * W + c] = a[((i - i0) * W + c) * O + o];
    }
}

/* Forward of the spline part, y (N, O) += sum over the window, in one OpenMP region with the window itself.
 * compute 0: start / val (N rows) hold the window; 1: each chunk's window goes into the thread's own
 * SAMPLE_CHUNK rows of start / val (nt blocks), so nothing of size N is written; 2: it goes into start / val
 * (N rows), with slopes into dval when given, kept by the caller for backward (small calls). gk, uniform,
 * shift .. tables, pad, n_cols as in win_init. */
void KAN_FN(kan_forward_fused)(long N, long I, long O, long W, long gk, long p, int uniform, const T *x,
                               const T *shift, const T *inv_h, const T *coef, const T *knots, T *tables,
                               int32_t *start, T *val, T *dval, int compute, long pad, long n_cols, const T *wt,
                               T *y, int nt) {
    long R = p + 1, chunks = (N + SAMPLE_CHUNK - 1) / SAMPLE_CHUNK;
    KAN_FN(win_t) w;
    if (compute) KAN_FN(win_init)(&w, I, gk, p, uniform, x, shift, inv_h, coef, knots, tables, pad, n_cols);
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (long c = 0; c < chunks; c++) {
        long n0 = c * SAMPLE_CHUNK, n1 = min_l(N, n0 + SAMPLE_CHUNK);
        long row = compute == 1 ? (long)thread_id() * SAMPLE_CHUNK : n0;
        int32_t *s = start + row * I;
        T *v = val + row * R * I;
        if (compute) KAN_FN(window_range)(&w, n0, n1, s, v, compute == 2 && dval ? dval + row * R * I : NULL);
        KAN_FN(forward_chunk)(n1 - n0, I, O, W, p, s, v, wt, y + n0 * O);
    }
}

/* Backward of the spline part in one OpenMP region: per chunk of samples dx += sum_r dval <wt rows, g> (when dx
 * is given), then, after the loop's barrier, the input-blocked grad_w (when gw is given; acc as in
 * grad_w_region). compute 0: start / val / dval (N rows) hold the window; 1: it is computed where needed, into
 * each thread's SAMPLE_CHUNK rows of start / val / dval for dx, per block inside grad_w. */
void KAN_FN(kan_backward_fused)(long N, long I, long O, long W, long gk, long p, int uniform, const T *x,
                                const T *shift, const T *inv_h, const T *coef, const T *knots, T *tables,
                                int32_t *start, T *val, T *dval, int compute, long pad, long n_cols, const T *wt,
                                const T *g, T *dx, T *gw, T *acc, int nt) {
    long R = p + 1, chunks = (N + SAMPLE_CHUNK - 1) / SAMPLE_CHUNK;
    KAN_FN(win_t) w;
    if (compute) KAN_FN(win_init)(&w, I, gk, p, uniform, x, shift, inv_h, coef, knots, tables, pad, n_cols);
    #pragma omp parallel num_threads(nt)
    {
        if (dx) {
            #pragma omp for schedule(static)
            for (long c = 0; c < chunks; c++) {
                long n0 = c * SAMPLE_CHUNK, n1 = min_l(N, n0 + SAMPLE_CHUNK);
                long row = compute ? (long)thread_id() * SAMPLE_CHUNK : n0;
                if (compute) KAN_FN(window_range)(&w, n0, n1, start + row * I, val + row * R * I, dval + row * R * I);
                KAN_FN(grad_x_chunk)(n1 - n0, I, O, W, p, start + row * I, dval + row * R * I, wt, g + n0 * O,
                                     dx + n0 * I);
            }
        }
        if (gw) KAN_FN(grad_w_region)(compute ? &w : NULL, N, I, O, W, p, start, val, g, gw, acc, nt);
    }
}

/* out[0]: rows per thread of kan_forward_fused's mode 2 buffers, out[1]: values of kan_backward_fused's acc. */
void KAN_FN(kan_sizes)(long I, long O, long W, long p, int nt, long *out) {
    out[0] = SAMPLE_CHUNK;
    out[1] = (long)nt * grad_w_block(I, O, W, sizeof(T), nt) * (W * O + (p + 2) * SAMPLE_CHUNK);
}

/* Dense feature matrix (N, I, W) of the window: zeros, the p+1 values at j..j+p, base[n, i] (or 0) at W-1. */
void KAN_FN(kan_dense)(long N, long I, long W, long p, const int32_t *start, const T *val, const T *base, T *feats,
                       int nt) {
    long R = p + 1;
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (long n = 0; n < N; n++) {
        const int32_t *sn = start + n * I;
        const T *vn = val + n * R * I;
        T *fn = feats + n * I * W;
        for (long i = 0; i < I; i++) {
            T *f = fn + i * W;
            memset(f, 0, (size_t)(W - 1) * sizeof(T));
            for (long r = 0; r < R; r++) f[sn[i] + r] = vn[r * I + i];
            f[W - 1] = base ? base[n * I + i] : (T)0;
        }
    }
}

/* dx[n, i] += sum_r dval[n, r, i] gfeat[n, i, j + r]: the spline part of dL/dx from the dense feature gradient. */
void KAN_FN(kan_dense_grad_x)(long N, long I, long W, long p, const int32_t *start, const T *dval, const T *gfeat,
                              T *dx, int nt) {
    long R = p + 1;
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (long n = 0; n < N; n++) {
        const int32_t *sn = start + n * I;
        const T *dn = dval + n * R * I;
        const T *gn = gfeat + n * I * W;
        for (long i = 0; i < I; i++) {
            const T *g = gn + i * W + sn[i];
            T s = 0;
            for (long r = 0; r < R; r++) s += dn[r * I + i] * g[r];
            dx[n * I + i] += s;
        }
    }
}
#undef T
#endif
