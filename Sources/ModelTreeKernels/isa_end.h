/* isa_end.h — closes isa_begin.h. */
#if defined(MTK_ISA_TARGET)
MTK_TARGET_POP
#endif
