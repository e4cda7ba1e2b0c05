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
 * Loops over samples run inside blocks of inputs whose rows of wt (or of the grad_w accumulator) fit in L1.
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

/* Inputs per block so that IB * W rows of O values take about 32 KiB (L1 is 48 KiB here). */
static long block_inputs(long width, long n_out, long elem) {
    long ib = (32L * 1024L) / (width * n_out * elem);
    return ib < 1 ? 1 : ib;
}

static long min_l(long a, long b) { return a < b ? a : b; }

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

/* Moves row n of a window computed on knots extended by `pad` each side (columns of a weight padded with `pad`
 * zero coefficients each side) onto the unpadded weight's n_cols spline columns: the start becomes
 * c' = clamp(start - pad, 0, n_cols - R) and the entries shift by c' - (start - pad); entries that fall on a
 * padded (zero) column are dropped and the freed ones set to 0. Needs n_cols >= R (true for any grid: n_basis =
 * grid + p). So the kernels below run on the caller's weight and no padded copy is formed. */
static inline void KAN_FN(shift_row)(long n, long I, long p, long pad, long n_cols, int32_t *start, T *val,
                                     T *dval) {
    long R = p + 1, top = n_cols - R;
    for (long i = 0; i < I; i++) {
        long c = (long)start[n * I + i] - pad, cc = c < 0 ? 0 : (c > top ? top : c), sh = cc - c;
        start[n * I + i] = (int32_t)cc;
        if (sh == 0) continue;
        for (int k = 0; k < (dval ? 2 : 1); k++) {
            T *v = (k ? dval : val) + n * R * I + i;
            if (sh > 0)
                for (long r = 0; r < R; r++) v[r * I] = r + sh <= p ? v[(r + sh) * I] : (T)0;
            else
                for (long r = p; r >= 0; r--) v[r * I] = r + sh >= 0 ? v[(r + sh) * I] : (T)0;
        }
    }
}

/* pad > 0: each row's window is moved onto n_cols unpadded columns (shift_row) right after it is computed, in
 * the same parallel loop: one OpenMP region per call, where a separate shift pass cost a second one. */
void KAN_FN(kan_window)(long N, long I, long G, long p, const T *x, const T *shift, const T *inv_h,
                        const T *coef, int32_t *start, T *val, T *dval, long pad, long n_cols, int nt) {
    long R = p + 1;
    T dcoef[MAX_R * MAX_R];  /* d/du of each piece: dcoef[r][q] = (q + 1) C[r][q + 1] */
    for (long r = 0; r < R; r++)
        for (long q = 0; q < R; q++) dcoef[r * R + q] = q + 1 < R ? (T)(q + 1) * coef[r * R + q + 1] : (T)0;
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (long n = 0; n < N; n++) {
        for (long i0 = 0; i0 < I; i0 += WINDOW_BLOCK)
            KAN_FN(window_row)(min_l(I - i0, WINDOW_BLOCK), I, G, p, x + n * I + i0, shift + i0, inv_h + i0,
                               coef, dcoef, start + n * I + i0, val + n * R * I + i0,
                               dval ? dval + n * R * I + i0 : NULL);
        if (pad) KAN_FN(shift_row)(n, I, p, pad, n_cols, start, val, dval);
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

/* scratch: I * (max(p, 1) * K + 1) values for the per-row tables. */
void KAN_FN(kan_window_knots)(long N, long I, long K, long p, const T *x, const T *knots, int32_t *start, T *val,
                              T *dval, T *scratch, long pad, long n_cols, int nt) {
    long R = p + 1, tab = (p > 0 ? p : 1) * K;
    T *inv = scratch, *scale = scratch + I * tab;
    for (long i = 0; i < I; i++) KAN_FN(knot_row_tables)(K, p, knots + i * K, inv + i * tab, scale + i);
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (long n = 0; n < N; n++) {
        if (p == 3)  /* the cubic default with the order known at compile time: loops unrolled */
            for (long i = 0; i < I; i++)
                KAN_FN(window_knots_one)(K, 3, knots + i * K, inv + i * tab, scale[i], x[n * I + i],
                                         start + n * I + i, val + n * R * I + i, dval ? dval + n * R * I + i : NULL, I);
        else
            for (long i = 0; i < I; i++)
                KAN_FN(window_knots_one)(K, p, knots + i * K, inv + i * tab, scale[i], x[n * I + i],
                                         start + n * I + i, val + n * R * I + i, dval ? dval + n * R * I + i : NULL, I);
        if (pad) KAN_FN(shift_row)(n, I, p, pad, n_cols, start, val, dval);
    }
}

/* Moves a window computed on knots extended by `pad` each side (columns of a weight padded with `pad` zero
 * coefficients each side) onto the unpadded weight's n_cols spline columns: the start becomes
 * c' = clamp(start - pad, 0, n_cols - R) and the entries shift by c' - (start - pad); entries that fall on a
 * padded (zero) column are dropped and the freed ones set to 0. Needs n_cols >= R (true for any grid: n_basis =
 * grid + p). So the kernels below run on the caller's weight and no padded copy is formed. */
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

void KAN_FN(kan_forward)(long N, long I, long O, long W, long p, const int32_t *start, const T *val,
                         const T *wt, T *y, int nt) {
    long R = p + 1, ib = block_inputs(W, O, sizeof(T)), chunks = (N + SAMPLE_CHUNK - 1) / SAMPLE_CHUNK;
    ib += ib % 2;
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (long c = 0; c < chunks; c++) {
        long n1 = min_l(N, (c + 1) * SAMPLE_CHUNK);
        for (long i0 = 0; i0 < I; i0 += ib) {
            long i1 = min_l(I, i0 + ib);
            for (long n = c * SAMPLE_CHUNK; n < n1; n++) {
                long i = i0;
                if (R == 4)
                    for (; i + 2 <= i1; i += 2)
                        KAN_FN(axpy_window2)(O, I, W, val + n * R * I + i, wt + i * W * O, start + n * I + i,
                                             y + n * O);
                for (; i < i1; i++)
                    KAN_FN(axpy_window)(O, R, I, val + n * R * I + i, wt + (i * W + start[n * I + i]) * O,
                                        y + n * O);
            }
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

void KAN_FN(kan_grad_x)(long N, long I, long O, long W, long p, const int32_t *start, const T *dval,
                        const T *wt, const T *g, T *dx, int nt) {
    long R = p + 1, ib = block_inputs(W, O, sizeof(T)), chunks = (N + SAMPLE_CHUNK - 1) / SAMPLE_CHUNK;
    ib = ib < 4 ? 4 : ib - ib % 4;
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (long c = 0; c < chunks; c++) {
        long n1 = min_l(N, (c + 1) * SAMPLE_CHUNK);
        for (long i0 = 0; i0 < I; i0 += ib) {
            long i1 = min_l(I, i0 + ib);
            for (long n = c * SAMPLE_CHUNK; n < n1; n++) {
                long i = i0;
                if (R == 4)
                    for (; i + 4 <= i1; i += 4)
                        KAN_FN(dot_window4)(O, I, W, dval + n * R * I + i, wt + i * W * O, start + n * I + i,
                                            g + n * O, dx + n * I + i);
                for (; i < i1; i++)
                    dx[n * I + i] += KAN_FN(dot_window)(O, R, I, dval + n * R * I + i,
                                                        wt + (i * W + start[n * I + i]) * O, g + n * O);
            }
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

/* gw[o, i, c] = sum_n [c in window] val g[n, o] for c < W - 1 (gw is (O, I, W); the base column is not written).
 * acc: nt * block_inputs(W, O) * W * O values. Threads own blocks of inputs, samples stream past in order. */
void KAN_FN(kan_grad_w)(long N, long I, long O, long W, long p, const int32_t *start, const T *val,
                        const T *g, T *gw, T *acc, int nt) {
    long R = p + 1, ib = block_inputs(W, O, sizeof(T));
    ib = min_l(ib, (I + 4 * nt - 1) / (4 * nt));  /* at least 4 blocks per thread, for balance */
    long blocks = (I + ib - 1) / ib;
    #pragma omp parallel num_threads(nt)
    {
        T *a = acc + (long)thread_id() * ib * W * O;
        #pragma omp for schedule(static)
        for (long b = 0; b < blocks; b++) {
            long i0 = b * ib, i1 = min_l(I, i0 + ib);
            memset(a, 0, sizeof(T) * (i1 - i0) * W * O);
            for (long n = 0; n < N; n++)
                for (long i = i0; i < i1; i++)
                    KAN_FN(outer_window)(O, R, I, val + n * R * I + i, g + n * O,
                                         a + ((i - i0) * W + start[n * I + i]) * O);
            for (long o = 0; o < O; o++)  /* gw[o, i0:i1, :W-1] is one contiguous run per o */
                for (long i = i0; i < i1; i++)
                    for (long c = 0; c < W - 1; c++) gw[(o * I + i) * W + c] = a[((i - i0) * W + c) * O + o];
        }
    }
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
