/* simd_portable.h — the kernels' vocabulary in plain C, one lane: any CPU the compiler targets.
 * (Without vectors the tiles still save loads; the compiler may vectorise nothing, by design:
 * FP_CONTRACT is off and the sums' order is fixed.) */
#define KFN(name) name##_portable
#define VW 1
#define VDW 1
typedef float vf;
typedef double vd;

MTK_INLINE vf vf_zero(void) { return 0; }
MTK_INLINE vf vf_set1(float x) { return x; }
MTK_INLINE vf vf_load(const float *p) { return *p; }
MTK_INLINE void vf_store(float *p, vf x) { *p = x; }
MTK_INLINE vf vf_load_part(const float *p, size_t count) { return count ? *p : 0; }
MTK_INLINE vf vf_add(vf a, vf b) { return a + b; }
MTK_INLINE vf vf_sub(vf a, vf b) { return a - b; }
MTK_INLINE vf vf_mul(vf a, vf b) { return a * b; }
MTK_INLINE vf vf_madd(vf a, vf b, vf c) { return a * b + c; }
MTK_INLINE vf vf_abs(vf a) { return fabsf(a); }
/* The x86 rule: b when either is NaN. */
MTK_INLINE vf vf_max(vf a, vf b) { return a > b ? a : b; }
MTK_INLINE vf vf_min(vf a, vf b) { return a < b ? a : b; }
MTK_INLINE float vf_hmax(vf a) { return a; }
MTK_INLINE float vf_hmin(vf a) { return a; }

MTK_INLINE vd vd_zero(void) { return 0; }
MTK_INLINE vd vd_set1(double x) { return x; }
MTK_INLINE vd vd_load(const double *p) { return *p; }
MTK_INLINE void vd_store(double *p, vd x) { *p = x; }
MTK_INLINE vd vd_madd(vd a, vd b, vd c) { return a * b + c; }
MTK_INLINE vd vd_add_widened(vd t, vf a) { return t + (double)a; }
MTK_INLINE vd vd_add_folded(vd t, vf a) { return t + (double)a; }   /* one lane: nothing to fold */
MTK_INLINE double vd_sum(vd a) { return a; }

/* Stored elements, one at a time (decode.inc). */
#define vf_from_bf16 mtk_bf16_one
#define vf_from_f16 mtk_f16_one
#define vf_from_f64 mtk_f64_one

#define PAIR_TA 4
#define PAIR_TB 4
#define PAIRMAX_TA 2
#define PAIRMAX_TB 2
#define GRAM_TA 4
#define GRAM_TB 4
#define GEMM_MR_F 4
#define GEMM_MR_D 4
