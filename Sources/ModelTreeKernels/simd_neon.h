/* simd_neon.h — the kernels' vector vocabulary for aarch64 Advanced SIMD: 4 float lanes, 2 double
 * lanes, FMA, 32 registers. */
#define KFN(name) name##_neon
#define VW 4
#define VDW 2
typedef float32x4_t vf;
typedef float64x2_t vd;

MTK_INLINE vf vf_zero(void) { return vdupq_n_f32(0); }
MTK_INLINE vf vf_set1(float x) { return vdupq_n_f32(x); }
MTK_INLINE vf vf_load(const float *p) { return vld1q_f32(p); }
MTK_INLINE void vf_store(float *p, vf x) { vst1q_f32(p, x); }
MTK_INLINE vf vf_load_part(const float *p, size_t count) {
    float t[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < count; i++) t[i] = p[i];
    return vld1q_f32(t);
}
MTK_INLINE vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
MTK_INLINE vf vf_sub(vf a, vf b) { return vsubq_f32(a, b); }
MTK_INLINE vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
MTK_INLINE vf vf_madd(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
MTK_INLINE vf vf_abs(vf a) { return vabsq_f32(a); }
/* vmaxnm/vminnm: a NaN operand is ignored in favour of the number (the running value stays). */
MTK_INLINE vf vf_max(vf a, vf b) { return vmaxnmq_f32(a, b); }
MTK_INLINE vf vf_min(vf a, vf b) { return vminnmq_f32(a, b); }
MTK_INLINE float vf_hmax(vf a) { return vmaxnmvq_f32(a); }
MTK_INLINE float vf_hmin(vf a) { return vminnmvq_f32(a); }

MTK_INLINE vd vd_zero(void) { return vdupq_n_f64(0); }
MTK_INLINE vd vd_set1(double x) { return vdupq_n_f64(x); }
MTK_INLINE vd vd_load(const double *p) { return vld1q_f64(p); }
MTK_INLINE void vd_store(double *p, vd x) { vst1q_f64(p, x); }
MTK_INLINE vd vd_madd(vd a, vd b, vd c) { return vfmaq_f64(c, a, b); }
MTK_INLINE vd vd_add_widened(vd t, vf a) { return vaddq_f64(vaddq_f64(t, vcvt_f64_f32(vget_low_f32(a))), vcvt_high_f64_f32(a)); }
/* t + (lanes 0-1 of a + lanes 2-3, in float) widened (TILE_FLUSH in pair.inc). */
MTK_INLINE vd vd_add_folded(vd t, vf a) { return vaddq_f64(t, vcvt_f64_f32(vadd_f32(vget_low_f32(a), vget_high_f32(a)))); }
MTK_INLINE double vd_sum(vd a) { return vgetq_lane_f64(a, 0) + vgetq_lane_f64(a, 1); }

/* Stored elements, VW of them from any address (decode.inc): byte loads, so no alignment. */
MTK_INLINE vf vf_from_bf16(const unsigned char *p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vreinterpret_u16_u8(vld1_u8(p)), 16));
}
MTK_INLINE vf vf_from_f16(const unsigned char *p) { return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(p))); }
MTK_INLINE vf vf_from_f64(const unsigned char *p) {
    return vcvt_high_f32_f64(vcvt_f32_f64(vreinterpretq_f64_u8(vld1q_u8(p))), vreinterpretq_f64_u8(vld1q_u8(p + 16)));
}

#define PAIR_TA 4
#define PAIR_TB 4
#define PAIRMAX_TA 4
#define PAIRMAX_TB 2
#define GRAM_TA 4
#define GRAM_TB 4
#define GEMM_MR_F 8
#define GEMM_MR_D 8
