/* simd_avx512.h — the kernels' vector vocabulary for AVX-512 F: 16 float lanes, 8 double lanes,
 * masked tails, 32 registers. */
#define KFN(name) name##_avx512
#define VW 16
#define VDW 8
typedef __m512 vf;
typedef __m512d vd;

MTK_INLINE vf vf_zero(void) { return _mm512_setzero_ps(); }
MTK_INLINE vf vf_set1(float x) { return _mm512_set1_ps(x); }
MTK_INLINE vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
MTK_INLINE void vf_store(float *p, vf x) { _mm512_storeu_ps(p, x); }
MTK_INLINE vf vf_load_part(const float *p, size_t count) {
    return _mm512_maskz_loadu_ps((__mmask16)((1u << count) - 1), p);
}
MTK_INLINE vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
MTK_INLINE vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
MTK_INLINE vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
MTK_INLINE vf vf_madd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
MTK_INLINE vf vf_abs(vf a) { return _mm512_abs_ps(a); }
MTK_INLINE vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
MTK_INLINE vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
MTK_INLINE float vf_hmax(vf a) { return _mm512_reduce_max_ps(a); }
MTK_INLINE float vf_hmin(vf a) { return _mm512_reduce_min_ps(a); }

MTK_INLINE vd vd_zero(void) { return _mm512_setzero_pd(); }
MTK_INLINE vd vd_set1(double x) { return _mm512_set1_pd(x); }
MTK_INLINE vd vd_load(const double *p) { return _mm512_loadu_pd(p); }
MTK_INLINE void vd_store(double *p, vd x) { _mm512_storeu_pd(p, x); }
MTK_INLINE vd vd_madd(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }
MTK_INLINE vd vd_add_widened(vd t, vf a) {
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    return _mm512_add_pd(_mm512_add_pd(t, lo), hi);
}
/* t + (the low half of a's lanes + the high half, in float) widened: one conversion instead of two
 * (the pair tiles' flush; see TILE_FLUSH in pair.inc). */
MTK_INLINE vd vd_add_folded(vd t, vf a) {
    /* 512-bit operations only: a 256-bit add is VEX-encoded without AVX-512 VL, which reaches
     * only registers 0-15, and the tiles then spilled accumulators. */
    const vf folded = _mm512_add_ps(a, _mm512_shuffle_f32x4(a, a, 0x4E));   /* lanes 0-7 + 8-15 */
    return _mm512_add_pd(t, _mm512_cvtps_pd(_mm512_castps512_ps256(folded)));
}
MTK_INLINE double vd_sum(vd a) {
    __m256d t = _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1));
    __m128d u = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
    return _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
}

/* Stored elements, VW of them from any address (decode.inc). */
MTK_INLINE vf vf_from_bf16(const unsigned char *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}
MTK_INLINE vf vf_from_f16(const unsigned char *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
MTK_INLINE vf vf_from_f64(const unsigned char *p) {
    const __m256 lo = _mm512_cvtpd_ps(_mm512_loadu_pd((const double *)p));
    const __m256 hi = _mm512_cvtpd_ps(_mm512_loadu_pd((const double *)(p + 64)));
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
}

/* Register tiles (32 zmm registers). */
#define PAIR_TA 4
#define PAIR_TB 4
#define PAIRMAX_TA 4
#define PAIRMAX_TB 2
#define GRAM_TA 4
#define GRAM_TB 4
#define GEMM_MR_F 8
#define GEMM_MR_D 8
