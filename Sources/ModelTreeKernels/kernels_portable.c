/* kernels_portable.c — the kernels in plain C, for any CPU (the fallback off x86-64 and aarch64,
 * and a reference the vector sets are tested against). */
#include "isa_begin.h"
#include "simd_portable.h"
#include "kernels.inc"
#include "isa_end.h"
#include "table.h"
MTK_DEFINE_TABLE(portable, MTK_ISA_PORTABLE)
