/* Group-rational activation (KAT's GR-KAN), one-pass CPU kernels for basiskit.ops.rational_native.

   x (rows, C) row-major, channel c belongs to group g = c / (C / groups); per group
       P(x) = a_0 + a_1 x + ... + a_m x^m,   S(x) = b_1 x + ... + b_n x^n,   F = P / Q,   Q = 1 + |S|.
   Forward:  out = F.
   Backward (go = dL/dF, sgn(0) = 0 like the subgradient of torch.abs):
       dx    = (P' - F sgn(S) S') / Q * go
       da_k  =  sum_rows,channels-of-g  x^k go / Q
       db_j  = -sum_rows,channels-of-g  F sgn(S) x^j go / Q

   Vectorisation: the group coefficients are expanded once per call to per-channel planes (K, C), and the
   inner loop runs over the contiguous channels of one row, so every access is unit-stride and the channels
   are independent (one SIMD lane each). With the degrees known at compile time (KAT's m = 5, n = 4 has its
   own instance) the Horner loops unroll and each element is done in registers; other degrees run the same
   steps as loops over blocks of BLOCK channels with L1-resident temporaries.
   Threads: rows are handed out dynamically (a thread that the OS preempts on a shared machine does not hold
   up the others). The backward splits the rows into SLICES fixed slices, each accumulating its coefficient
   gradients per channel in its own (K, C) plane; the planes are reduced in slice order at the end. No
   atomics, and the summation order does not depend on the threads: results are bitwise reproducible for
   any thread count. float and double versions come from one macro. */
#include <math.h>
#include <stdlib.h>

#define BLOCK 128                 /* channels per block of the generic-degree path */
#define SERIAL_BELOW 32768L       /* elements: below this one thread beats the fork/join cost */
#define SLICES 8                  /* backward: fixed row slices, each with its own gradient accumulators */

static int team_size(long n, int nt) { return (n < SERIAL_BELOW || nt < 1) ? 1 : nt; }

#define GROUP_RATIONAL_KERNELS(T, SUF, ABS)                                                                   \
                                                                                                              \
/* coef (groups, k) -> plane (k - skip, C): column j + skip of each group repeated over its cpg channels,     \
   times (j + skip) when weighted (the derivative's coefficients). */                                         \
static void expand_##SUF(const T *coef, long groups, long k, long cpg, long skip, int weighted, T *plane) {    \
    long C = groups * cpg;                                                                                    \
    for (long j = 0; j < k - skip; j++)                                                                       \
        for (long g = 0; g < groups; g++) {                                                                   \
            T v = coef[g * k + j + skip] * (weighted ? (T)(j + skip) : (T)1);                                 \
            for (long c = 0; c < cpg; c++) plane[j * C + g * cpg + c] = v;                                    \
        }                                                                                                     \
}                                                                                                             \
                                                                                                              \
/* F at one element; with constant ka, kb the Horner loops unroll. */                                          \
static inline T forward_element_##SUF(long C, long c, const T *restrict A, long ka, const T *restrict B,     \
                                      long kb, T xv) {                                                        \
    T p = A[(ka - 1) * C + c], s = B[(kb - 1) * C + c];                                                       \
    for (long k = ka - 2; k >= 0; k--) p = p * xv + A[k * C + c];                                             \
    for (long j = kb - 2; j >= 0; j--) s = s * xv + B[j * C + c];                                             \
    return p / ((T)1 + ABS(s * xv));                                                                          \
}                                                                                                             \
                                                                                                              \
/* Per-element forward of two rows sharing each coefficient load; the c loop vectorises. */                 \
static inline void forward_rows_##SUF(long C, const T *restrict A, long ka, const T *restrict B, long kb,     \
                                      const T *restrict x0, const T *restrict x1, T *restrict o0,             \
                                      T *restrict o1) {                                                       \
    _Pragma("omp simd")                                                                                       \
    for (long c = 0; c < C; c++) {                                                                            \
        o0[c] = forward_element_##SUF(C, c, A, ka, B, kb, x0[c]);                                             \
        o1[c] = forward_element_##SUF(C, c, A, ka, B, kb, x1[c]);                                             \
    }                                                                                                         \
}                                                                                                             \
                                                                                                              \
/* h[c] = sum_k plane[k][c] x[c]^k for a block of nb channels (Horner); plane is offset to the block. */      \
static inline void horner_##SUF(const T *plane, long k, long C, const T *x, long nb, T *h) {                  \
    if (k <= 0) { for (long c = 0; c < nb; c++) h[c] = 0; return; }                                           \
    const T *top = plane + (k - 1) * C;                                                                       \
    for (long c = 0; c < nb; c++) h[c] = top[c];                                                              \
    for (long j = k - 2; j >= 0; j--) {                                                                       \
        const T *pj = plane + j * C;                                                                          \
        for (long c = 0; c < nb; c++) h[c] = h[c] * x[c] + pj[c];                                             \
    }                                                                                                         \
}                                                                                                             \
                                                                                                              \
/* Generic-degree forward of one row: the same steps as loops over blocks of channels. */                     \
static void forward_row_blocked_##SUF(long C, const T *A, long ka, const T *B, long kb, const T *x, T *out) { \
    T p[BLOCK], s[BLOCK];                                                                                     \
    for (long c0 = 0; c0 < C; c0 += BLOCK) {                                                                  \
        long nb = C - c0 < BLOCK ? C - c0 : BLOCK;                                                            \
        horner_##SUF(A + c0, ka, C, x + c0, nb, p);                                                           \
        horner_##SUF(B + c0, kb, C, x + c0, nb, s);                                                           \
        for (long c = 0; c < nb; c++) out[c0 + c] = p[c] / ((T)1 + ABS(s[c] * x[c0 + c]));                    \
    }                                                                                                         \
}                                                                                                             \
                                                                                                              \
void group_rational_forward_##SUF(long rows, long groups, long cpg, const T *x, const T *a, long ka,          \
                                  const T *b, long kb, T *out, int nt, int *status) {                         \
    long C = groups * cpg;                                                                                    \
    T *A = malloc(sizeof(T) * (size_t)(ka + kb) * C), *B = A + ka * C;                                        \
    *status = A == NULL;                                                                                      \
    if (A == NULL) return;                                                                                    \
    expand_##SUF(a, groups, ka, cpg, 0, 0, A);                                                                \
    expand_##SUF(b, groups, kb, cpg, 0, 0, B);                                                                \
    int kat = ka == 6 && kb == 4;                                                                             \
    _Pragma("omp parallel for schedule(dynamic, 16) num_threads(team_size(rows * C, nt))")                    \
    for (long i2 = 0; i2 < (rows + 1) / 2; i2++) {      /* pairs of rows */                                   \
        long o = 2 * i2 * C;                                                                                  \
        if (kat && 2 * i2 + 1 < rows) {                                                                       \
            forward_rows_##SUF(C, A, 6, B, 4, x + o, x + o + C, out + o, out + o + C);                        \
        } else {                                                                                              \
            for (long i = 2 * i2; i < rows && i < 2 * i2 + 2; i++)                                            \
                forward_row_blocked_##SUF(C, A, ka, B, kb, x + i * C, out + i * C);                           \
        }                                                                                                     \
    }                                                                                                         \
    free(A);                                                                                                  \
}                                                                                                             \
                                                                                                              \
/* One element of the backward: dx = r P' - v S' with r = go / Q and v = go F sgn(S) / Q. */                  \
static inline T backward_element_##SUF(long C, long c, const T *restrict A, long ka, const T *restrict dA,   \
                                       const T *restrict B, long kb, const T *restrict dB, T xv, T gv,        \
                                       T *r, T *v) {                                                          \
    T p = A[(ka - 1) * C + c], s = B[(kb - 1) * C + c], ds = dB[(kb - 1) * C + c];                            \
    T dp = ka > 1 ? dA[(ka - 2) * C + c] : (T)0;                                                              \
    for (long k = ka - 2; k >= 0; k--) p = p * xv + A[k * C + c];                                             \
    for (long k = ka - 3; k >= 0; k--) dp = dp * xv + dA[k * C + c];                                          \
    for (long j = kb - 2; j >= 0; j--) { s = s * xv + B[j * C + c]; ds = ds * xv + dB[j * C + c]; }           \
    s *= xv;                                                                                                  \
    T sg = s > 0 ? (T)1 : (s < 0 ? (T)-1 : (T)0);                                                             \
    T iq = (T)1 / ((T)1 + ABS(s));                                                                            \
    *r = gv * iq;                                                                                             \
    *v = *r * p * iq * sg;                                                                                    \
    return *r * dp - *v * ds;                                                                                 \
}                                                                                                             \
                                                                                                              \
/* Per-element backward of two rows (x0, x1): dx, and the per-channel sums r x^k into ga (K_a planes) and   \
   v x^(j+1) into gb (K_b planes). Two rows per pass halve the coefficient loads and accumulator updates. */  \
static inline void backward_rows_##SUF(long C, const T *restrict A, long ka, const T *restrict dA,           \
                                       const T *restrict B, long kb, const T *restrict dB,                    \
                                       const T *restrict x0, const T *restrict x1, const T *restrict g0,      \
                                       const T *restrict g1, T *restrict d0, T *restrict d1,                  \
                                       T *restrict ga, T *restrict gb) {                                      \
    _Pragma("omp simd")                                                                                       \
    for (long c = 0; c < C; c++) {                                                                            \
        T r0, v0, r1, v1, xa = x0[c], xb = x1[c];                                                             \
        d0[c] = backward_element_##SUF(C, c, A, ka, dA, B, kb, dB, xa, g0[c], &r0, &v0);                      \
        d1[c] = backward_element_##SUF(C, c, A, ka, dA, B, kb, dB, xb, g1[c], &r1, &v1);                      \
        for (long k = 0; k < ka; k++) { ga[k * C + c] += r0 + r1; r0 *= xa; r1 *= xb; }                       \
        v0 *= xa;                                                                                             \
        v1 *= xb;                                                                                             \
        for (long j = 0; j < kb; j++) { gb[j * C + c] += v0 + v1; v0 *= xa; v1 *= xb; }                       \
    }                                                                                                         \
}                                                                                                             \
                                                                                                              \
/* Generic-degree backward of one row, as loops over blocks of channels. */                                   \
static void backward_row_blocked_##SUF(long C, const T *A, long ka, const T *dA, const T *B, long kb,         \
                                       const T *dB, const T *x, const T *go, T *dx, T *ga, T *gb) {           \
    T p[BLOCK], dp[BLOCK], s[BLOCK], ds[BLOCK], r[BLOCK], v[BLOCK], pw[BLOCK];                                \
    for (long c0 = 0; c0 < C; c0 += BLOCK) {                                                                  \
        long nb = C - c0 < BLOCK ? C - c0 : BLOCK;                                                            \
        const T *xb = x + c0;                                                                                 \
        horner_##SUF(A + c0, ka, C, xb, nb, p);                                                               \
        horner_##SUF(dA + c0, ka - 1, C, xb, nb, dp);                                                         \
        horner_##SUF(B + c0, kb, C, xb, nb, s);          /* S / x */                                          \
        horner_##SUF(dB + c0, kb, C, xb, nb, ds);                                                             \
        for (long c = 0; c < nb; c++) {                                                                       \
            T sv = s[c] * xb[c];                                                                              \
            T sg = sv > 0 ? (T)1 : (sv < 0 ? (T)-1 : (T)0);                                                   \
            T iq = (T)1 / ((T)1 + ABS(sv));                                                                   \
            r[c] = go[c0 + c] * iq;                                                                           \
            v[c] = r[c] * p[c] * iq * sg;                                                                     \
            dx[c0 + c] = r[c] * dp[c] - v[c] * ds[c];                                                         \
            pw[c] = r[c];                                                                                     \
        }                                                                                                     \
        for (long k = 0; k < ka; k++)                                                                         \
            for (long c = 0; c < nb; c++) { ga[k * C + c0 + c] += pw[c]; pw[c] *= xb[c]; }                    \
        for (long c = 0; c < nb; c++) pw[c] = v[c] * xb[c];                                                   \
        for (long j = 0; j < kb; j++)                                                                         \
            for (long c = 0; c < nb; c++) { gb[j * C + c0 + c] += pw[c]; pw[c] *= xb[c]; }                    \
    }                                                                                                         \
}                                                                                                             \
                                                                                                              \
/* dx (rows, C); da (groups, ka), db (groups, kb) overwritten; *status = 1 when out of memory. */             \
void group_rational_backward_##SUF(long rows, long groups, long cpg, const T *x, const T *go, const T *a,     \
                                   long ka, const T *b, long kb, T *dx, T *da, T *db, int nt, int *status) {  \
    long C = groups * cpg, K = ka + kb, kda = ka > 1 ? ka - 1 : 0;                                            \
    long slices = rows < SLICES ? (rows > 0 ? rows : 1) : SLICES;                                             \
    int kat = ka == 6 && kb == 4;                                                                             \
    T *A = malloc(sizeof(T) * (size_t)(ka + kda + 2 * kb) * C);                                               \
    T *dA = A + ka * C, *B = dA + kda * C, *dB = B + kb * C;                                                  \
    T *acc = calloc((size_t)slices * K * C, sizeof(T));                                                       \
    *status = A == NULL || acc == NULL;                                                                       \
    if (*status) { free(A); free(acc); return; }                                                              \
    expand_##SUF(a, groups, ka, cpg, 0, 0, A);                                                                \
    expand_##SUF(a, groups, ka, cpg, 1, 1, dA);            /* P' = sum_k k a_k x^(k-1) */                     \
    expand_##SUF(b, groups, kb, cpg, 0, 0, B);             /* S / x = sum_j b_j x^(j-1) */                    \
    for (long j = 0; j < kb; j++)                          /* S' = sum_j j b_j x^(j-1) */                     \
        for (long c = 0; c < C; c++) dB[j * C + c] = B[j * C + c] * (T)(j + 1);                               \
    _Pragma("omp parallel for schedule(dynamic, 1) num_threads(team_size(rows * C, nt))")                     \
    for (long t = 0; t < slices; t++) {                                                                       \
        long i = rows * t / slices, hi = rows * (t + 1) / slices;                                             \
        T *ga = acc + t * K * C, *gb = ga + ka * C;                                                           \
        if (kat)                                                                                              \
            for (; i + 1 < hi; i += 2) {                                                                      \
                long o = i * C, o1 = o + C;                                                                   \
                backward_rows_##SUF(C, A, 6, dA, B, 4, dB, x + o, x + o1, go + o, go + o1, dx + o, dx + o1,   \
                                    ga, gb);                                                                  \
            }                                                                                                 \
        for (; i < hi; i++) {                                                                                 \
            long o = i * C;                                                                                   \
            backward_row_blocked_##SUF(C, A, ka, dA, B, kb, dB, x + o, go + o, dx + o, ga, gb);               \
        }                                                                                                     \
    }                                                                                                         \
    for (long t = 1; t < slices; t++)                                                                         \
        for (long e = 0; e < K * C; e++) acc[e] += acc[t * K * C + e];                                        \
    for (long g = 0; g < groups; g++)                                                                         \
        for (long k = 0; k < K; k++) {                                                                        \
            T sum = 0;                                                                                        \
            for (long c = g * cpg; c < (g + 1) * cpg; c++) sum += acc[k * C + c];                             \
            if (k < ka) da[g * ka + k] = sum; else db[g * kb + k - ka] = -sum;                                \
        }                                                                                                     \
    free(acc);                                                                                                \
    free(A);                                                                                                  \
}

GROUP_RATIONAL_KERNELS(float, f32, fabsf)
GROUP_RATIONAL_KERNELS(double, f64, fabs)
