/* B-spline KAN layer kernels on uniform knots (basiskit/ops/bspline_native.py is the ctypes side).
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

void KAN_FN(kan_window)(long N, long I, long G, long p, const T *x, const T *shift, const T *inv_h,
                        const T *coef, int32_t *start, T *val, T *dval, int nt) {
    long R = p + 1;
    T dcoef[MAX_R * MAX_R];  /* d/du of each piece: dcoef[r][q] = (q + 1) C[r][q + 1] */
    for (long r = 0; r < R; r++)
        for (long q = 0; q < R; q++) dcoef[r * R + q] = q + 1 < R ? (T)(q + 1) * coef[r * R + q + 1] : (T)0;
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (long n = 0; n < N; n++)
        for (long i0 = 0; i0 < I; i0 += WINDOW_BLOCK)
            KAN_FN(window_row)(min_l(I - i0, WINDOW_BLOCK), I, G, p, x + n * I + i0, shift + i0, inv_h + i0,
                               coef, dcoef, start + n * I + i0, val + n * R * I + i0,
                               dval ? dval + n * R * I + i0 : NULL);
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
