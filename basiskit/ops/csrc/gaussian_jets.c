/* Gaussian-feature jets (PIG, Kang et al. 2024), CPU kernels for basiskit.ops.gaussian_native.

   Points x (n, d) row-major; N diagonal Gaussians stored transposed for unit-stride loops over Gaussians:
   muT (d, N), ivT (d, N) (inverse variances 1/sigma^2), WT (C, N) (feature weights). Per pair (i, k):
       D_j = x_ij - mu_kj,  g_j = D_j iv_kj,  phi = exp(-1/2 sum_j D_j g_j)
   Forward:
       V_ic  =  sum_k phi W_kc
       F_ijc = -sum_k phi g_j W_kc                    (dV/dx_j)
       S_ijc =  sum_k phi (g_j^2 - iv_kj) W_kc        (d2V/dx_j^2)
   Backward, with a = <gV_i, W_k>, b_j = <gF_ij, W_k>, s_j = <gS_ij, W_k>, Q = a - sum_j g_j b_j
   + sum_j (g_j^2 - iv_j) s_j and r_j = 2 g_j s_j - b_j (dQ/dg_j):
       dW_kc  += phi (gV_ic - sum_j g_j gF_ijc + sum_j (g_j^2 - iv_j) gS_ijc)
       dmu_kj += phi (g_j Q - iv_j r_j)
       div_kj += phi (-D_j^2 Q / 2 + D_j r_j - s_j)
       dx_ij  -= phi (g_j Q - iv_j r_j)                (x enters through D only: dx = -dmu per pair)
   Each point is done in tiles of TILE Gaussians, each in two phases: per-Gaussian coefficient arrays (phi,
   g_j, ...) in L1-resident scratch rows, then short dot products with the weight rows; every inner loop runs over k with unit
   stride, so the compiler vectorises it (exp included, through libmvec). Nothing of size n x N is stored.
   Threads: forward over points. Backward over SLICES fixed slices of the points, each with its own gradient
   planes, reduced in slice order: the result does not depend on the thread count.
   float and double versions come from this file included twice with GJ_T set. */
#ifndef GJ_T
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define SLICES 16               /* backward: fixed point slices, each with its own gradient accumulators */
#define TILE 256                /* Gaussians per tile: a tile's scratch rows stay in L1 */
#define SERIAL_BELOW 65536L     /* pairs: below this one thread beats the fork/join cost */

static int team_size(long pairs, int nt) { return (pairs < SERIAL_BELOW || nt < 1) ? 1 : nt; }

/* exp_nonpositive (in the body below): exp(x) for x <= 0 in a form the compiler vectorises (libm's exp is a scalar call without -ffast-math):
   x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two parts, Cody-Waite), e^r by its Taylor polynomial (degree 7
   for float, 13 for double: truncation below half an ulp), 2^n put into the exponent bits. Arguments below the
   smallest normal's log are clamped there (e^-87 ~ 1.6e-38, e^-708 ~ 3e-308): a Gaussian that far from a point
   contributes nothing at either precision. Its Taylor coefficients, 1 / k! for k = 0..13: */
static const double INV_FACTORIAL[14] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
                                         1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800,
                                         1.0 / 479001600, 1.0 / 6227020800.0};

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* per type: exp's clamp, ln 2 in two parts, Taylor degree, the integer type and layout of its bits */
#define GJ_T float
#define GJ_FN(name) name##_f32
#define GJ_EXP_MIN -87.0f
#define GJ_LN2_HI 0.693359375f
#define GJ_LN2_LO -2.12194440e-4f
#define GJ_DEG 7
#define GJ_BITS int32_t
#define GJ_BIAS 127
#define GJ_MANT 23
#define GJ_FLOOR floorf
#include "gaussian_jets.c"
#undef GJ_T
#undef GJ_FN
#undef GJ_EXP_MIN
#undef GJ_LN2_HI
#undef GJ_LN2_LO
#undef GJ_DEG
#undef GJ_BITS
#undef GJ_BIAS
#undef GJ_MANT
#undef GJ_FLOOR
#define GJ_T double
#define GJ_FN(name) name##_f64
#define GJ_EXP_MIN -708.0
#define GJ_LN2_HI 6.93145751953125e-1
#define GJ_LN2_LO 1.42860682030941723212e-6
#define GJ_DEG 13
#define GJ_BITS int64_t
#define GJ_BIAS 1023
#define GJ_MANT 52
#define GJ_FLOOR floor
#include "gaussian_jets.c"

#else /* ---- body, instantiated per GJ_T ---- */
#define T GJ_T

static inline T GJ_FN(exp_nonpositive)(T x) {
    x = x < GJ_EXP_MIN ? GJ_EXP_MIN : x;
    T n = GJ_FLOOR(x * (T)1.4426950408889634074 + (T)0.5);
    T r = (x - n * GJ_LN2_HI) - n * GJ_LN2_LO;
    T p = (T)INV_FACTORIAL[GJ_DEG];
    for (int k = GJ_DEG - 1; k >= 0; k--) p = p * r + (T)INV_FACTORIAL[k];
    GJ_BITS bits = (GJ_BITS)((GJ_BITS)n + GJ_BIAS) << GJ_MANT;
    T scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* For one point xi and the Gaussians [k0, k0 + len): phi (len) and, per dim j, D_j and g_j (rows of len).
   muT, ivT are (d, ld) with the tile starting at column k0. */
static void GJ_FN(pair_terms)(long len, long ld, long d, const T *restrict xi, const T *restrict muT,
                              const T *restrict ivT, T *restrict phi, T *restrict D, T *restrict G) {
    for (long k = 0; k < len; k++) phi[k] = 0;
    for (long j = 0; j < d; j++) {
        const T xj = xi[j];
        const T *restrict mu = muT + j * ld, *restrict iv = ivT + j * ld;
        T *restrict Dj = D + j * len, *restrict Gj = G + j * len;
#pragma omp simd
        for (long k = 0; k < len; k++) {
            T dd = xj - mu[k];
            Dj[k] = dd;
            Gj[k] = dd * iv[k];
            phi[k] += dd * Gj[k];
        }
    }
#pragma omp simd
    for (long k = 0; k < len; k++) phi[k] = GJ_FN(exp_nonpositive)((T)-0.5 * phi[k]);
}

static T GJ_FN(dot)(long len, const T *restrict a, const T *restrict b) {
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (long k = 0; k < len; k++) s += a[k] * b[k];
    return s;
}

/* F == NULL: values only (then second must be 0). */
void GJ_FN(gaussian_jets_forward)(long n, long N, long d, long C, const T *x, const T *muT, const T *ivT,
                                  const T *WT, int second, T *V, T *F, T *S, int nt, int *status) {
    int team = team_size(n * N, nt);
    const long tile = N < TILE ? N : TILE;
    /* scratch per thread: phi, D (d rows), G (d rows), then the coefficient row being reduced */
    const size_t row_len = (size_t)tile * (size_t)(2 * d + 2);
    T *scratch = malloc(sizeof(T) * row_len * (size_t)team);
    if (!scratch) {
        *status = 1;
        return;
    }
#pragma omp parallel num_threads(team)
    {
        T *buf = scratch + row_len * (size_t)thread_id();
        T *phi = buf, *D = buf + tile, *G = buf + tile * (1 + d), *row = buf + tile * (1 + 2 * d);
#pragma omp for schedule(dynamic, 16)
        for (long i = 0; i < n; i++) {
            T *v = V + i * C, *f = F ? F + i * d * C : NULL, *sd = second ? S + i * d * C : NULL;
            for (long q = 0; q < C; q++) v[q] = 0;
            for (long q = 0; f && q < d * C; q++) f[q] = 0;
            for (long q = 0; sd && q < d * C; q++) sd[q] = 0;
            for (long k0 = 0; k0 < N; k0 += tile) {
                const long len = N - k0 < tile ? N - k0 : tile;
                GJ_FN(pair_terms)(len, N, d, x + i * d, muT + k0, ivT + k0, phi, D, G);
                for (long c = 0; c < C; c++) v[c] += GJ_FN(dot)(len, phi, WT + c * N + k0);
                for (long j = 0; f && j < d; j++) {
                    const T *restrict Gj = G + j * len;
#pragma omp simd
                    for (long k = 0; k < len; k++) row[k] = -phi[k] * Gj[k];
                    for (long c = 0; c < C; c++) f[j * C + c] += GJ_FN(dot)(len, row, WT + c * N + k0);
                    if (sd) {
                        const T *restrict iv = ivT + j * N + k0;
#pragma omp simd
                        for (long k = 0; k < len; k++) row[k] = phi[k] * (Gj[k] * Gj[k] - iv[k]);
                        for (long c = 0; c < C; c++) sd[j * C + c] += GJ_FN(dot)(len, row, WT + c * N + k0);
                    }
                }
            }
        }
    }
    free(scratch);
}

/* gF and gS may be NULL (values only / no second derivatives), dx may be NULL (x needs no gradient).
   dWT (C, N), dmuT, divT (d, N) are overwritten. */
void GJ_FN(gaussian_jets_backward)(long n, long N, long d, long C, const T *x, const T *muT, const T *ivT,
                                   const T *WT, const T *gV, const T *gF, const T *gS, T *dWT, T *dmuT, T *divT,
                                   T *dx, int nt, int *status) {
    const long plane = N * (C + 2 * d);
    T *acc = calloc((size_t)SLICES * (size_t)plane, sizeof(T));
    if (!acc) {
        *status = 1;
        return;
    }
    int team = team_size(n * N, nt);
    const long tile = N < TILE ? N : TILE;
    /* scratch per thread: phi, Q, tmp, D (d), G (d), B (d), R (d) rows of one tile */
    const size_t row_len = (size_t)tile * (size_t)(3 + 4 * d);
    T *scratch = malloc(sizeof(T) * row_len * (size_t)team);
    if (!scratch) {
        free(acc);
        *status = 1;
        return;
    }
#pragma omp parallel num_threads(team)
    {
        T *buf = scratch + row_len * (size_t)thread_id();
        T *phi = buf, *Q = buf + tile, *tmp = buf + 2 * tile, *D = buf + 3 * tile, *G = D + d * tile,
          *B = G + d * tile, *R = B + d * tile;
#pragma omp for schedule(dynamic, 1)
        for (long sl = 0; sl < SLICES; sl++) {
            T *aW = acc + sl * plane, *amu = aW + C * N, *aiv = amu + d * N;
            long lo = n * sl / SLICES, hi = n * (sl + 1) / SLICES;
            for (long i = lo; i < hi; i++) {
                const T *gv = gV + i * C, *gf = gF ? gF + i * d * C : NULL, *gs = gS ? gS + i * d * C : NULL;
                if (dx)
                    for (long j = 0; j < d; j++) dx[i * d + j] = 0;
                for (long k0 = 0; k0 < N; k0 += tile) {
                    const long len = N - k0 < tile ? N - k0 : tile;
                    GJ_FN(pair_terms)(len, N, d, x + i * d, muT + k0, ivT + k0, phi, D, G);
                    /* Q = a - sum_j g_j b_j + sum_j (g_j^2 - iv_j) s_j;  R_j = dQ/dg_j = 2 g_j s_j - b_j */
#pragma omp simd
                    for (long k = 0; k < len; k++) Q[k] = 0;
                    for (long c = 0; c < C; c++) {
                        const T *restrict w = WT + c * N + k0;
                        const T gvc = gv[c];
#pragma omp simd
                        for (long k = 0; k < len; k++) Q[k] += gvc * w[k];
                    }
                    for (long j = 0; j < d; j++) {
                        T *restrict Bj = B + j * len, *restrict Rj = R + j * len;
                        const T *restrict Gj = G + j * len, *restrict iv = ivT + j * N + k0;
#pragma omp simd
                        for (long k = 0; k < len; k++) { Bj[k] = 0; Rj[k] = 0; }
                        for (long c = 0; c < C; c++) {
                            const T *restrict w = WT + c * N + k0;
                            const T bf = gf ? gf[j * C + c] : (T)0, bs = gs ? gs[j * C + c] : (T)0;
#pragma omp simd
                            for (long k = 0; k < len; k++) { Rj[k] += bf * w[k]; Bj[k] += bs * w[k]; }
                        }
                        /* now Rj = b_j, Bj = s_j */
#pragma omp simd
                        for (long k = 0; k < len; k++) {
                            T b = Rj[k], sj = Bj[k], g = Gj[k];
                            Q[k] += -g * b + (g * g - iv[k]) * sj;
                            Rj[k] = 2 * g * sj - b;
                        }
                    }
                    /* dW_kc += phi (gV_c - sum_j g_j gF_jc + sum_j (g_j^2 - iv_j) gS_jc) */
                    for (long c = 0; c < C; c++) {
                        const T gvc = gv[c];
#pragma omp simd
                        for (long k = 0; k < len; k++) tmp[k] = gvc;
                        for (long j = 0; (gf || gs) && j < d; j++) {
                            const T *restrict Gj = G + j * len, *restrict iv = ivT + j * N + k0;
                            const T f = gf ? gf[j * C + c] : (T)0, sj = gs ? gs[j * C + c] : (T)0;
#pragma omp simd
                            for (long k = 0; k < len; k++) tmp[k] += -Gj[k] * f + (Gj[k] * Gj[k] - iv[k]) * sj;
                        }
                        T *restrict out = aW + c * N + k0;
#pragma omp simd
                        for (long k = 0; k < len; k++) out[k] += phi[k] * tmp[k];
                    }
                    for (long j = 0; j < d; j++) {
                        const T *restrict Gj = G + j * len, *restrict Dj = D + j * len, *restrict Rj = R + j * len,
                                *restrict Sj = B + j * len, *restrict iv = ivT + j * N + k0;
                        T *restrict om = amu + j * N + k0, *restrict oi = aiv + j * N + k0;
                        T sx = 0;
#pragma omp simd reduction(+ : sx)
                        for (long k = 0; k < len; k++) {
                            T m = phi[k] * (Gj[k] * Q[k] - iv[k] * Rj[k]);
                            om[k] += m;
                            sx += m;
                            oi[k] += phi[k] * ((T)-0.5 * Dj[k] * Dj[k] * Q[k] + Dj[k] * Rj[k] - Sj[k]);
                        }
                        if (dx) dx[i * d + j] -= sx;
                    }
                }
            }
        }
    }
    free(scratch);
    /* reduce the slices in order (deterministic for any thread count) */
    T *outs[3] = {dWT, dmuT, divT};
    long offs[3] = {0, C * N, (C + d) * N}, lens[3] = {C * N, d * N, d * N};
    for (int p = 0; p < 3; p++) {
        T *o = outs[p];
        memcpy(o, acc + offs[p], sizeof(T) * (size_t)lens[p]);
        for (long sl = 1; sl < SLICES; sl++) {
            const T *a = acc + sl * plane + offs[p];
            for (long q = 0; q < lens[p]; q++) o[q] += a[q];
        }
    }
    free(acc);
}

#undef T
#endif
