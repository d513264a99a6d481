/* simd_avx2.h — the kernels' vector vocabulary for AVX2 + FMA: 8 float lanes, 4 double lanes. */
#define KFN(name) name##_avx2
#define VW 8
#define VDW 4
typedef __m256 vf;
typedef __m256d vd;

MTK_INLINE vf vf_zero(void) { return _mm256_setzero_ps(); }
MTK_INLINE vf vf_set1(float x) { return _mm256_set1_ps(x); }
MTK_INLINE vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
MTK_INLINE void vf_store(float *p, vf x) { _mm256_storeu_ps(p, x); }
/* Masked load: lanes ≥ count read as zero and are not touched in memory. */
MTK_INLINE vf vf_load_part(const float *p, size_t count) {
    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_maskload_ps(p, mask);
}
MTK_INLINE vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
MTK_INLINE vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
MTK_INLINE vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
MTK_INLINE vf vf_madd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
MTK_INLINE vf vf_abs(vf a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF))); }
MTK_INLINE vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
MTK_INLINE vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
MTK_INLINE float vf_hmax(vf a) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
MTK_INLINE float vf_hmin(vf a) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

MTK_INLINE vd vd_zero(void) { return _mm256_setzero_pd(); }
MTK_INLINE vd vd_set1(double x) { return _mm256_set1_pd(x); }
MTK_INLINE vd vd_load(const double *p) { return _mm256_loadu_pd(p); }
MTK_INLINE void vd_store(double *p, vd x) { _mm256_storeu_pd(p, x); }
MTK_INLINE vd vd_madd(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
MTK_INLINE vd vd_add_widened(vd t, vf a) {
    return _mm256_add_pd(_mm256_add_pd(t, _mm256_cvtps_pd(_mm256_castps256_ps128(a))), _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
}
/* t + (the low half of a's lanes + the high half, in float) widened (TILE_FLUSH in pair.inc). */
MTK_INLINE vd vd_add_folded(vd t, vf a) {
    return _mm256_add_pd(t, _mm256_cvtps_pd(_mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1))));
}
MTK_INLINE double vd_sum(vd a) {
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}

/* Stored elements, VW of them from any address (decode.inc); F16 by F16C. */
MTK_INLINE vf vf_from_bf16(const unsigned char *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
MTK_INLINE vf vf_from_f16(const unsigned char *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
MTK_INLINE vf vf_from_f64(const unsigned char *p) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(_mm256_loadu_pd((const double *)p))),
                                _mm256_cvtpd_ps(_mm256_loadu_pd((const double *)(p + 32))), 1);
}

/* Register tiles (16 ymm registers). */
#define PAIR_TA 4
#define PAIR_TB 2
#define PAIRMAX_TA 2
#define PAIRMAX_TB 2
#define GRAM_TA 4
#define GRAM_TB 2
#define GEMM_MR_F 6
#define GEMM_MR_D 6
