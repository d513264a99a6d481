/*
 * st_files.h — a small, independent safetensors reader and writer for the C tests.
 *
 * It exists so that the tests can hand the library the same weights from memory that it reads
 * from files, without going through the library's own reader. Format (huggingface/safetensors):
 * 8 bytes N (little-endian u64), N bytes of JSON {"name": {"dtype", "shape", "data_offsets"}},
 * then the data section.
 */
#ifndef ST_FILES_H
#define ST_FILES_H

#include <stddef.h>
#include <stdint.h>

#include <modeltree.h>

#define ST_MAX_NDIM 8

/** One tensor of a loaded model; `data` points into its file's buffer. */
typedef struct st_tensor {
    char *name;
    modeltree_dtype_t dtype;
    int64_t shape[ST_MAX_NDIM];
    size_t ndim;
    const void *data;
    size_t nbytes;
} st_tensor;

/** A model read from one file or from every *.safetensors file of a folder (shards). */
typedef struct st_model {
    char *id;
    st_tensor *tensors;
    size_t count;
    void **buffers; /* the files' bytes, owned */
    size_t buffer_count;
} st_model;

/** Reads every *.safetensors file directly in `folder` (or the file `path`) into *out.
 *  Returns 0 on success, -1 with a message on stderr. */
int st_model_read(st_model *out, const char *id, const char *path);

/** Releases everything st_model_read allocated. */
void st_model_free(st_model *m);

/** Writes tensors as one safetensors file. Returns 0 on success. */
int st_write(const char *path, const st_tensor *tensors, size_t count);

/** Element size of a dtype (0 for an unknown one). */
size_t st_dtype_size(modeltree_dtype_t dtype);

/** Element k of a tensor as a double (F32, F64, F16, BF16). */
double st_element(const st_tensor *t, size_t k);

/** Number of elements of a tensor. */
size_t st_count(const st_tensor *t);

/** The tensor of `m` named `name`, or NULL. */
const st_tensor *st_find(const st_model *m, const char *name);

#endif
