/* simd_sse2.h — the vector vocabulary of the kernels (see pair.inc) for SSE2: 4 float lanes,
 * 2 double lanes, no FMA (a product and a sum are two roundings, as in portable Swift SIMD). */
#define KFN(name) name##_sse2
#define VW 4
#define VDW 2
typedef __m128 vf;
typedef __m128d vd;

MTK_INLINE vf vf_zero(void) { return _mm_setzero_ps(); }
MTK_INLINE vf vf_set1(float x) { return _mm_set1_ps(x); }
MTK_INLINE vf vf_load(const float *p) { return _mm_loadu_ps(p); }
MTK_INLINE void vf_store(float *p, vf x) { _mm_storeu_ps(p, x); }
/* The first `count` (< VW) floats at p, zeros after; reads nothing beyond p + count. */
MTK_INLINE vf vf_load_part(const float *p, size_t count) {
    float t[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < count; i++) t[i] = p[i];
    return _mm_loadu_ps(t);
}
MTK_INLINE vf vf_add(vf a, vf b) { return _mm_add_ps(a, b); }
MTK_INLINE vf vf_sub(vf a, vf b) { return _mm_sub_ps(a, b); }
MTK_INLINE vf vf_mul(vf a, vf b) { return _mm_mul_ps(a, b); }
/* a·b + c */
MTK_INLINE vf vf_madd(vf a, vf b, vf c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
MTK_INLINE vf vf_abs(vf a) { return _mm_and_ps(a, _mm_castsi128_ps(_mm_set1_epi32(0x7FFFFFFF))); }
/* max/min(a, b) returning b when either is NaN (the x86 rule): callers put the running value
 * second where a NaN must not enter it. */
MTK_INLINE vf vf_max(vf a, vf b) { return _mm_max_ps(a, b); }
MTK_INLINE vf vf_min(vf a, vf b) { return _mm_min_ps(a, b); }
MTK_INLINE float vf_hmax(vf a) {
    __m128 m = _mm_max_ps(a, _mm_movehl_ps(a, a));
    m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
MTK_INLINE float vf_hmin(vf a) {
    __m128 m = _mm_min_ps(a, _mm_movehl_ps(a, a));
    m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

MTK_INLINE vd vd_zero(void) { return _mm_setzero_pd(); }
MTK_INLINE vd vd_set1(double x) { return _mm_set1_pd(x); }
MTK_INLINE vd vd_load(const double *p) { return _mm_loadu_pd(p); }
MTK_INLINE void vd_store(double *p, vd x) { _mm_storeu_pd(p, x); }
MTK_INLINE vd vd_madd(vd a, vd b, vd c) { return _mm_add_pd(_mm_mul_pd(a, b), c); }
/* t + the lanes of a widened exactly: (t + lanes 0-1) + lanes 2-3. */
MTK_INLINE vd vd_add_widened(vd t, vf a) { return _mm_add_pd(_mm_add_pd(t, _mm_cvtps_pd(a)), _mm_cvtps_pd(_mm_movehl_ps(a, a))); }
/* t + (lanes 0-1 of a + lanes 2-3, in float) widened (TILE_FLUSH in pair.inc). */
MTK_INLINE vd vd_add_folded(vd t, vf a) { return _mm_add_pd(t, _mm_cvtps_pd(_mm_add_ps(a, _mm_movehl_ps(a, a)))); }
MTK_INLINE double vd_sum(vd a) { return _mm_cvtsd_f64(_mm_add_sd(a, _mm_unpackhi_pd(a, a))); }

/* Stored elements, VW of them from any address (decode.inc). */
MTK_INLINE vf vf_from_bf16(const unsigned char *p) {
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), _mm_loadl_epi64((const __m128i *)p)));
}
/* F16 by the bit manipulation of mtk_f16_one, lane by lane with masks (SSE2 has no F16C). */
MTK_INLINE vf vf_from_f16(const unsigned char *p) {
    const __m128i h = _mm_unpacklo_epi16(_mm_loadl_epi64((const __m128i *)p), _mm_setzero_si128());
    const __m128i sign = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x8000)), 16);
    const __m128i rest = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x7FFF)), 13);
    const __m128i exp = _mm_and_si128(h, _mm_set1_epi32(0x7C00));
    const __m128i magic = _mm_set1_epi32(113 << 23);
    const __m128i normal = _mm_add_epi32(rest, _mm_set1_epi32(112 << 23));
    const __m128i special = _mm_or_si128(rest, _mm_set1_epi32(0x7F800000));
    const __m128i tiny = _mm_castps_si128(_mm_sub_ps(_mm_castsi128_ps(_mm_or_si128(rest, magic)), _mm_castsi128_ps(magic)));
    const __m128i isSpecial = _mm_cmpeq_epi32(exp, _mm_set1_epi32(0x7C00));
    const __m128i isTiny = _mm_cmpeq_epi32(exp, _mm_setzero_si128());
    __m128i bits = _mm_or_si128(_mm_and_si128(isTiny, tiny), _mm_andnot_si128(isTiny, normal));
    bits = _mm_or_si128(_mm_and_si128(isSpecial, special), _mm_andnot_si128(isSpecial, bits));
    return _mm_castsi128_ps(_mm_or_si128(bits, sign));
}
MTK_INLINE vf vf_from_f64(const unsigned char *p) {
    return _mm_movelh_ps(_mm_cvtpd_ps(_mm_loadu_pd((const double *)p)), _mm_cvtpd_ps(_mm_loadu_pd((const double *)(p + 16))));
}

/* Register tiles (16 xmm registers): rows × partners per step. */
#define PAIR_TA 3
#define PAIR_TB 2
#define PAIRMAX_TA 2
#define PAIRMAX_TB 2
#define GRAM_TA 3
#define GRAM_TB 3
#define GEMM_MR_F 4
#define GEMM_MR_D 4
