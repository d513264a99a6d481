/*
 * abi_fuzz.c — libFuzzer target: the C ABI (include/modeltree.h) driven by a fuzzed program.
 *
 * Each input is decoded into a sequence of ABI calls over in-memory tensors (the file parsers
 * have their own targets): modeltree_collection_add_tensor with fuzzed ids, names, dtypes, shapes,
 * sizes and data; modeltree_recover with fuzzed options and a progress callback that cancels at a
 * fuzzed call; then every graph accessor, in range and out of range. After every call the
 * harness checks what include/modeltree.h promises — the status (predicted exactly where the
 * header makes it predictable), the out-parameters on failure, the thread's error message, the
 * graph's invariants — and calls abort() on any violation, so libFuzzer records the input.
 *
 * Built by mk/fuzz.mk: the library's Swift sources with -sanitize=fuzzer,address (so the engine is
 * instrumented for coverage), this file with clang -fsanitize=fuzzer-no-link,address.
 *
 * Input format (bytes are read in order; a missing byte reads as 0 and ends the program after
 * the current operation): a sequence of operations, each an opcode byte and its operands.
 *   0x00-0x7f  ADD      model (bits 0-2 id slot, 6 NULL collection, 7 NULL id), name (bits 0-3
 *                       slot, 7 NULL), dtype (< 0xf0 valid, else a table of invalid values),
 *                       ndim (bits 0-6: 0-70 or a table of larger values, 7 NULL shape), one
 *                       byte per dimension (< 0xc0 the value & 63, 0xff 8 raw bytes, else a
 *                       table of special values), data_size (< 0xc0 right, else a table),
 *                       data (bits 0-2 mode, see fill(); 7 NULL), param
 *   0x80-0x8f  BATCH    name slot, dtype, rows, cols, k, data mode, param: the same tensor added
 *                       to model slots 0..k (the quick way to a recoverable collection)
 *   0x90-0x9f  RECOVER  flags, then the options (see op_recover)
 *   0xa0-0xa7  SET_ID   slot, length, bytes (may hold NUL, may be invalid UTF-8)
 *   0xa8-0xb7  SET_NAME slot, length, bytes
 *   0xb8-0xbf  SET_PAT  slot, length, bytes (include/exclude patterns)
 *   0xc0-0xc7  RENEW    frees the collection (and then the caller's tensor memory), checks the
 *                       kept graph is unchanged, creates a new collection
 *   0xc8-0xcf  PATH     modeltree_collection_add_path with NULL/empty arguments (no file access)
 *   0xd0-0xd7  THREAD   flags: a second thread fails a call, reads the kept graph and (bit 0)
 *                       recovers the collection while this thread does too; this thread's
 *                       message must not change, both recoveries must agree
 *   others     no-op
 * Tests/fuzz/make_seeds.py writes the seeds in this format.
 */
#define _GNU_SOURCE
#include "modeltree.h"

#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Limits: keep each execution fast (recovery runs the whole pipeline).
 * ------------------------------------------------------------------------------------------- */
enum {
    MAX_MODELS = 8,             /* distinct model ids per input */
    MAX_DATA_BYTES = 64 * 1024, /* tensor bytes lent per input */
    MAX_TENSOR_CALLS = 256,     /* add_tensor calls per input */
    MAX_RECOVERS = 4,           /* modeltree_recover calls that run the pipeline, per input */
    MAX_SHAPE = 72,             /* shape entries the harness materialises (ndim up to 70 + 2) */
    ID_SLOTS = 8,
    NAME_SLOTS = 16,
    PAT_SLOTS = 8,
    MAX_STR = 32,
};

/* ---------------------------------------------------------------------------------------------
 * Failure reporting
 * ------------------------------------------------------------------------------------------- */
static void violation(int line, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void violation(int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\n==abi_fuzz== CONTRACT VIOLATION (abi_fuzz.c:%d): ", line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n==abi_fuzz== last error message: \"%s\"\n", modeltree_last_error_message());
    va_end(ap);
    abort();
}
#define CHECK(cond, ...) do { if (!(cond)) violation(__LINE__, __VA_ARGS__); } while (0)


/* ---------------------------------------------------------------------------------------------
 * Input reader
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const uint8_t *p;
    size_t n, at;
    int exhausted;
} reader;

static uint8_t u8(reader *r) {
    if (r->at < r->n) return r->p[r->at++];
    r->exhausted = 1;
    return 0;
}

static uint64_t u64(reader *r) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)u8(r) << (8 * i);
    return v;
}

static double f64(reader *r) {
    uint64_t bits = u64(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* ---------------------------------------------------------------------------------------------
 * UTF-8 and JSON validation
 * ------------------------------------------------------------------------------------------- */

/* Strict UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) of n bytes. */
static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t len;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

static int cstr_utf8(const char *s) { return utf8_valid((const unsigned char *)s, strlen(s)); }

static int is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

/* A strict JSON (RFC 8259) recogniser; returns the position after the value or NULL. */
static const char *json_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static const char *json_value(const char *p, int depth);

static const char *json_string(const char *p) {
    if (*p != '"') return NULL;
    p++;
    for (;;) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL; /* includes the terminating NUL */
        if (c == '\\') {
            p++;
            if (strchr("\"\\/bfnrt", *p) && *p) { p++; continue; }
            if (*p != 'u') return NULL;
            for (int k = 1; k <= 4; k++)
                if (!((p[k] >= '0' && p[k] <= '9') || (p[k] >= 'a' && p[k] <= 'f') || (p[k] >= 'A' && p[k] <= 'F')))
                    return NULL;
            p += 5;
            continue;
        }
        p++;
    }
}

static const char *json_number(const char *p) {
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    return p;
}

static const char *json_value(const char *p, int depth) {
    if (depth > 32) return NULL;
    p = json_ws(p);
    switch (*p) {
    case '{':
        p = json_ws(p + 1);
        if (*p == '}') return p + 1;
        for (;;) {
            p = json_string(json_ws(p));
            if (!p) return NULL;
            p = json_ws(p);
            if (*p != ':') return NULL;
            p = json_value(p + 1, depth + 1);
            if (!p) return NULL;
            p = json_ws(p);
            if (*p == '}') return p + 1;
            if (*p != ',') return NULL;
            p++;
        }
    case '[':
        p = json_ws(p + 1);
        if (*p == ']') return p + 1;
        for (;;) {
            p = json_value(p, depth + 1);
            if (!p) return NULL;
            p = json_ws(p);
            if (*p == ']') return p + 1;
            if (*p != ',') return NULL;
            p++;
        }
    case '"': return json_string(p);
    case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
    case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
    case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
    default: return json_number(p);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The harness's model of the state, and the error-message contract
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    char *id;                      /* the spelling that created the model */
    int slot;                      /* the id slot it was created from (data generation) */
    char *names[MAX_TENSOR_CALLS]; /* tensors added, as spelled */
    int name_count;
} model_state;

typedef struct {
    reader in;
    modeltree_collection_t *c;
    model_state models[MAX_MODELS];
    int model_count;
    int fuzzy; /* a model id matched an existing model only up to Unicode equivalence */
    int huge;  /* some tensor lent holds a finite value of magnitude >= 1e18 (findings 1 and 5) */
    int kept_huge;
    char *orphan_names[MAX_TENSOR_CALLS]; /* names added to such a model */
    int orphan_count;
    void *buffers[MAX_TENSOR_CALLS];
    int buffer_count;
    size_t data_bytes;
    int tensor_calls;
    int recovers;
    char ids[ID_SLOTS][MAX_STR + 1];
    char names[NAME_SLOTS][MAX_STR + 1];
    char pats[PAT_SLOTS][MAX_STR + 1];
    modeltree_graph_t *kept;   /* a graph kept across operations */
    char *kept_json;           /* its JSON when it was recovered */
    char message[4096];        /* the thread's last error message as last seen */
    int message_truncated;
} state;

static state S; /* one input at a time; reset at the start of each */

static void copy_message(void) {
    const char *m = modeltree_last_error_message();
    size_t n = strlen(m);
    S.message_truncated = n >= sizeof S.message;
    memcpy(S.message, m, S.message_truncated ? sizeof S.message - 1 : n);
    S.message[S.message_truncated ? sizeof S.message - 1 : n] = 0;
}

/* After every fallible call: a valid status; on failure a non-empty UTF-8 message (kept as the
 * reference), on success the previous message unchanged. */
static int trace = -1; /* ABI_FUZZ_TRACE=1 in the environment: print every fallible call */

static void after_call(modeltree_status_t st, const char *what, int line) {
    if (trace < 0) trace = getenv("ABI_FUZZ_TRACE") != NULL;
    if (trace)
        fprintf(stderr, "abi_fuzz:%d: %s -> %s%s%s\n", line, what, modeltree_status_string(st), st ? ": " : "",
                st ? modeltree_last_error_message() : "");
    if ((unsigned)st > (unsigned)MODELTREE_INTERNAL)
        violation(line, "%s returned status %d, not a modeltree_status_t value", what, (int)st);
    const char *m = modeltree_last_error_message();
    if (!m) violation(line, "modeltree_last_error_message() is NULL after %s", what);
    if (st != MODELTREE_OK) {
        if (!*m) violation(line, "%s failed (%s) with an empty error message", what, modeltree_status_string(st));
        if (!cstr_utf8(m)) violation(line, "%s: error message is not valid UTF-8", what);
        CHECK(!strchr(m, '\n') && !strchr(m, '\r'), "%s: error message is not one line", what);
        copy_message();
    } else {
        if (S.message_truncated ? strncmp(m, S.message, sizeof S.message - 1) : strcmp(m, S.message))
            violation(line, "%s succeeded but changed the error message from \"%s\" to \"%s\"", what, S.message, m);
    }
}

/* Accessors must not touch the message at all. */
static void message_unchanged(const char *what, int line) { after_call(MODELTREE_OK, what, line); }

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* ---------------------------------------------------------------------------------------------
 * Tensor data
 * ------------------------------------------------------------------------------------------- */
static uint64_t mix(uint64_t x) { /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double unit(uint64_t a, uint64_t b, uint64_t c) { /* uniform in [-1, 1) */
    return (double)(mix(a * 0x100000001b3ull ^ mix(b * 31 + c)) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static uint16_t half_from_float(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, man = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        return (uint16_t)(sign | (man >> (14 - e)));
    }
    return (uint16_t)(sign | (uint32_t)e << 10 | (man >> 13));
}

static const double special_values[] = {NAN, INFINITY, -INFINITY, 1e-40, 1e-310, 3.4e38, -0.0, 0.0,
                                        1.0, -1.0, 65504.0, 1e-8, 5e-324, 1e300, 2.0, 0.5};

/* Fills `count` elements of `dtype` for model slot `m`, tensor name slot `t`:
 * mode 0/7 a chain (each slot adds noise to the previous one), 1 a chain of rank-1 updates
 * (LoRA-like), 2 the input's bytes, 3 one value everywhere, 4 a chain with special values
 * injected, 5 unrelated random weights, 6 zeros. Slots 4-7 form a second family when param bit 4
 * is set. */
static void fill(void *buf, size_t bytes, int dtype, size_t count, size_t cols, int m, int t, int mode,
                 uint8_t param) {
    size_t elsize = dtype == MODELTREE_DTYPE_F64 ? 8 : dtype == MODELTREE_DTYPE_F32 ? 4 : 2;
    if (mode == 2) {
        for (size_t i = 0; i < bytes; i++) ((uint8_t *)buf)[i] = u8(&S.in);
        return;
    }
    uint64_t family = (param & 0x10) && m >= 4 ? 77 : 0;
    double eps = ldexp(0.05, -(int)(param & 0x0f));
    if (cols == 0) cols = 1;
    for (size_t i = 0; i < count && (i + 1) * elsize <= bytes; i++) {
        double v;
        switch (mode) {
        case 3: v = special_values[param & 15]; break;
        case 5: v = 0.02 * unit(1000 + (uint64_t)m, (uint64_t)t, i); break;
        case 6: v = 0; break;
        default: {
            v = 0.02 * unit(family + (mode == 7 ? 500 : 0), (uint64_t)t, i);
            size_t r = i / cols, c = i % cols;
            for (int j = 1; j <= m; j++) {
                if (family && j < 4) continue;
                v += mode == 1 ? eps * unit(j, t * 2 + 1, r) * unit(j, t * 2 + 2, c) : eps * unit(j, 100 + (uint64_t)t, i);
            }
            if (mode == 4 && mix(i * 7 + (uint64_t)m) % 16 == 0) v = special_values[(i + param) & 15];
        }
        }
        switch (dtype) {
        case MODELTREE_DTYPE_F64: memcpy((char *)buf + i * 8, &v, 8); break;
        case MODELTREE_DTYPE_F32: { float f = (float)v; memcpy((char *)buf + i * 4, &f, 4); break; }
        case MODELTREE_DTYPE_F16: { uint16_t h = half_from_float((float)v); memcpy((char *)buf + i * 2, &h, 2); break; }
        default: { float f = (float)v; uint32_t x; memcpy(&x, &f, 4); uint16_t b = (uint16_t)(x >> 16); memcpy((char *)buf + i * 2, &b, 2); }
        }
    }
}

/* Whether `bytes` of `dtype` hold a finite value of magnitude >= 1e18: its square overflows a
 * Float, which the streaming pass uses for (x - y)^2 (finding 5 in FUZZING.md). */
static int has_huge(const void *buf, size_t bytes, int dtype) {
    for (size_t off = 0;; ) {
        double v;
        if (dtype == MODELTREE_DTYPE_F64) {
            if (off + 8 > bytes) return 0;
            memcpy(&v, (const char *)buf + off, 8);
            off += 8;
        } else if (dtype == MODELTREE_DTYPE_F32 || dtype == MODELTREE_DTYPE_BF16) {
            uint32_t x = 0;
            float f;
            if (dtype == MODELTREE_DTYPE_F32) {
                if (off + 4 > bytes) return 0;
                memcpy(&x, (const char *)buf + off, 4);
                off += 4;
            } else {
                uint16_t b;
                if (off + 2 > bytes) return 0;
                memcpy(&b, (const char *)buf + off, 2);
                x = (uint32_t)b << 16;
                off += 2;
            }
            memcpy(&f, &x, 4);
            v = f;
        } else {
            return 0; /* F16 tops out at 65504 */
        }
        if (isfinite(v) && fabs(v) >= 1e18) return 1;
    }
}

/* ---------------------------------------------------------------------------------------------
 * ADD / BATCH: modeltree_collection_add_tensor with a predicted outcome
 * ------------------------------------------------------------------------------------------- */
static const int64_t special_dims[32] = {
    -1, INT64_MIN, INT64_MAX, (int64_t)1 << 32, (int64_t)1 << 62, (int64_t)1 << 31, (int64_t)1 << 53,
    ((int64_t)1 << 61) + 1, INT64_MAX / 8 + 1, 65536, 4096, 1, 0, INT64_MIN + 1, -2, INT64_MIN / 2,
    3037000500, 3037000499, 2147483648LL, 4294967296LL, 2, 3, 5, 7, 16, 32, 64, 128, 256, 1 << 20,
    (int64_t)1 << 40, INT64_MAX / 2};

static const size_t special_ndims[8] = {65, 64, 128, SIZE_MAX, (size_t)1 << 63, (size_t)INT64_MAX, 1000, 66};

static const int invalid_dtypes[16] = {0, 5, 6, -1, INT32_MIN, INT32_MAX, 100, 7, 8, 255, 256, 65536,
                                       1, 2, 3, 4};

static int dtype_size(int d) {
    switch (d) {
    case MODELTREE_DTYPE_F32: return 4;
    case MODELTREE_DTYPE_F64: return 8;
    case MODELTREE_DTYPE_F16:
    case MODELTREE_DTYPE_BF16: return 2;
    default: return 0;
    }
}

static int find_model(const char *id) {
    for (int i = 0; i < S.model_count; i++)
        if (!strcmp(S.models[i].id, id)) return i;
    return -1;
}

static int any_non_ascii_id(void) {
    for (int i = 0; i < S.model_count; i++)
        if (!is_ascii(S.models[i].id)) return 1;
    return 0;
}

/* One add_tensor call. The outcome is predicted from the header: INVALID_ARGUMENT for a NULL
 * collection, id, name or (with elements) data; an empty or non-UTF-8 id or name; an unknown
 * dtype; ndim > 64; a NULL shape with ndim > 0; a negative dimension; a byte count that overflows;
 * a data_size that differs from it; a name the model already has. OK otherwise. Strings that are
 * not ASCII may be equal to another spelling up to Unicode equivalence (the library compares
 * Swift Strings), so there either outcome is accepted and the model count tells which happened. */
static void add_tensor(int null_c, const char *id, int id_slot, const char *name, int name_slot, int dtype,
                       const int64_t *shape, size_t ndim, int size_mode, int null_data, int data_mode,
                       uint8_t param) {
    if (S.tensor_calls >= MAX_TENSOR_CALLS) return;
    int elsize = dtype_size(dtype);
    int valid = !null_c && id && name && *id && *name && cstr_utf8(id) && cstr_utf8(name) && elsize;
    int uncertain = 0;
    if (ndim > 64 || (ndim > 0 && !shape)) valid = 0;
    /* The byte count, exactly: 0 if any dimension is 0 (however large the others), else the
     * product, "overflowing" when above INT64_MAX (the library's Int). */
    int negative = 0, zero = 0;
    size_t materialised = ndim < MAX_SHAPE ? ndim : MAX_SHAPE;
    if (shape)
        for (size_t k = 0; k < materialised && k < 65; k++) {
            if (shape[k] < 0) negative = 1;
            if (shape[k] == 0) zero = 1;
        }
    if (negative) valid = 0;
    int overflow = 0;
    unsigned __int128 expected = elsize ? (unsigned)elsize : 4;
    size_t count = 1, cols = 1;
    if (shape && !negative && ndim <= 64) {
        for (size_t k = 0; k < ndim; k++) {
            if (zero) { expected = 0; break; }
            expected *= (uint64_t)shape[k];
            if (expected > (unsigned __int128)INT64_MAX) { overflow = 1; break; }
        }
        if (!overflow && !zero) {
            for (size_t k = 0; k < ndim; k++) count *= (size_t)shape[k];
            cols = ndim ? (size_t)shape[ndim - 1] : 1;
        }
        if (zero) count = 0;
    }
    /* The order-dependent overflow check of finding 3 (fixed; asserted below) */
    int order_overflow = 0;
    if (shape && !negative && ndim <= 64) {
        unsigned __int128 running = elsize ? (unsigned)elsize : 4;
        for (size_t k = 0; k < ndim; k++) {
            running *= (uint64_t)shape[k];
            if (running > (unsigned __int128)INT64_MAX) { order_overflow = 1; break; }
        }
    }
    if (overflow) valid = 0;
    size_t exp = overflow ? SIZE_MAX : (size_t)expected;

    size_t data_size;
    switch (size_mode) {
    case 0: data_size = exp; break;
    case 1: data_size = exp - 1; break;
    case 2: data_size = exp + 1; break;
    case 3: data_size = 0; break;
    case 4: data_size = SIZE_MAX; break;
    case 5: data_size = (size_t)1 << 63; break;
    case 6: data_size = exp * 2; break;
    case 7: data_size = exp / 2; break;
    case 8: data_size = (size_t)INT64_MAX; break;
    case 9: data_size = exp + 4096; break;
    default: data_size = SIZE_MAX - exp + 1; break;
    }
    if (overflow || data_size != exp) valid = 0;

    /* The buffer: never larger than what the call claims nor than the tensor, so that ASan sees
     * any read past either. Over the budget (or overflowing) the data pointer is NULL: a correct
     * library refuses before reading. */
    size_t alloc = data_size < exp ? data_size : exp;
    void *data = NULL;
    if (!null_data && !overflow && alloc <= MAX_DATA_BYTES - S.data_bytes) {
        data = xmalloc(alloc);
        fill(data, alloc, dtype, count, cols, id_slot, name_slot, data_mode, param);
        if (elsize && has_huge(data, alloc, dtype)) S.huge = 1;
        S.buffers[S.buffer_count++] = data;
        S.data_bytes += alloc;
    }
    if (data_size > 0 && !data) valid = 0;

    int m = valid ? find_model(id) : -1;
    int creates = 0;
    if (valid && m < 0) {
        if (S.model_count >= MAX_MODELS) return; /* keep executions small; buffer stays owned */
        creates = 1;
        if (!is_ascii(id) || any_non_ascii_id()) uncertain = 1;
    }
    if (valid && m >= 0) {
        for (int k = 0; k < S.models[m].name_count; k++) {
            if (!strcmp(S.models[m].names[k], name)) valid = 0;
            else if (!is_ascii(name) || !is_ascii(S.models[m].names[k])) uncertain = 1;
        }
    }
    if (valid && S.fuzzy) uncertain = 1;

    size_t before = modeltree_collection_model_count(S.c);
    S.tensor_calls++;
    if (trace > 0) {
        fprintf(stderr, "abi_fuzz: add_tensor(%s, %s, %s, dtype %d, shape %s[", null_c ? "NULL" : "c", id ? id : "NULL",
                name ? name : "NULL", dtype, shape ? "" : "NULL ");
        for (size_t k = 0; shape && k < ndim && k < 8; k++) fprintf(stderr, "%s%lld", k ? ", " : "", (long long)shape[k]);
        fprintf(stderr, "%s], ndim %zu, data %s, data_size %zu, mode %d, param 0x%02x)\n", ndim > 8 ? ", ..." : "", ndim,
                data ? "buffer" : "NULL", data_size, data_mode, param);
    }
    modeltree_status_t st = modeltree_collection_add_tensor(null_c ? NULL : S.c, id, name,
                                                            (modeltree_dtype_t)dtype, shape, ndim, data, data_size);
    after_call(st, "modeltree_collection_add_tensor", __LINE__);
    size_t after = modeltree_collection_model_count(S.c);
    message_unchanged("modeltree_collection_model_count", __LINE__);

    if (valid && !uncertain && order_overflow && st == MODELTREE_INVALID_ARGUMENT) {
        /* Finding 3 (fixed): the byte count was multiplied in shape order and refused at the first
         * overflow, so [2^62, 4, 0] was refused while [0, 2^62, 4] (also 0 bytes) was accepted. */
        CHECK(0, "add_tensor refused a zero-element shape because a partial product overflowed");
        return;
    }
    if (!valid) {
        CHECK(st == MODELTREE_INVALID_ARGUMENT, "add_tensor with invalid arguments returned %s, not invalid argument",
              modeltree_status_string(st));
    } else if (!uncertain) {
        CHECK(st == MODELTREE_OK, "add_tensor with valid arguments returned %s: %s", modeltree_status_string(st),
              modeltree_last_error_message());
    } else {
        CHECK(st == MODELTREE_OK || st == MODELTREE_INVALID_ARGUMENT, "add_tensor returned %s",
              modeltree_status_string(st));
    }
    if (st != MODELTREE_OK) {
        CHECK(after == before, "a failed add_tensor changed the model count from %zu to %zu", before, after);
        return;
    }
    if (creates && after == before + 1) {
        model_state *ms = &S.models[S.model_count++];
        ms->id = strdup(id);
        ms->slot = id_slot;
        ms->name_count = 0;
        m = S.model_count - 1;
    } else {
        CHECK(after == before && (!creates || uncertain), "add_tensor %s changed the model count from %zu to %zu",
              creates ? "of a new model" : "to an existing model", before, after);
        if (creates) { /* merged with an equivalent spelling: which model is not known */
            S.fuzzy = 1;
            S.orphan_names[S.orphan_count++] = strdup(name);
            return;
        }
    }
    model_state *ms = &S.models[m];
    ms->names[ms->name_count++] = strdup(name);
}

static const char *slot_or_null(char (*slots)[MAX_STR + 1], int i, int null) { return null ? NULL : slots[i]; }

static int read_dtype(reader *r) {
    uint8_t b = u8(r);
    return b < 0xf0 ? 1 + (b & 3) : invalid_dtypes[b & 15];
}

static int read_size_mode(reader *r) {
    uint8_t b = u8(r);
    return b < 0xc0 ? 0 : 1 + (b & 0x0f);
}

static void op_add(void) {
    reader *r = &S.in;
    uint8_t mb = u8(r), nb = u8(r);
    int dtype = read_dtype(r);
    uint8_t nd = u8(r);
    size_t ndim = (nd & 0x7f) <= 70 ? (nd & 0x7f) : special_ndims[(nd & 0x7f) % 8];
    int null_shape = nd & 0x80;
    int64_t shape[MAX_SHAPE];
    size_t materialised = ndim < MAX_SHAPE ? ndim : MAX_SHAPE;
    for (size_t k = 0; k < materialised; k++) {
        uint8_t d = u8(r);
        shape[k] = d < 0xc0 ? (d & 0x3f) : d == 0xff ? (int64_t)u64(r) : special_dims[d & 0x1f];
    }
    int size_mode = read_size_mode(r);
    uint8_t dm = u8(r), param = u8(r);
    /* The shape array holds exactly `materialised` entries (ASan sees a read past it). */
    int64_t *heap_shape = NULL;
    if (!null_shape && materialised) {
        heap_shape = xmalloc(materialised * sizeof *heap_shape);
        memcpy(heap_shape, shape, materialised * sizeof *heap_shape);
    }
    int id_slot = mb & 7, name_slot = nb & 15;
    add_tensor(mb & 0x40, slot_or_null(S.ids, id_slot, mb & 0x80), id_slot, slot_or_null(S.names, name_slot, nb & 0x80),
               name_slot, dtype, null_shape ? NULL : (materialised ? heap_shape : shape), ndim, size_mode, dm & 0x80, dm & 7,
               param);
    free(heap_shape);
}

static void op_batch(void) {
    reader *r = &S.in;
    int name_slot = u8(r) & 15;
    int dtype = read_dtype(r);
    int64_t shape[2] = {u8(r) & 0x3f, u8(r) & 0x3f};
    int k = u8(r) & 7;
    uint8_t dm = u8(r), param = u8(r);
    for (int m = 0; m <= k; m++)
        add_tensor(0, S.ids[m], m, S.names[name_slot], name_slot, dtype, shape, 2, 0, 0, dm & 7, param);
}

/* ---------------------------------------------------------------------------------------------
 * Graph checks
 * ------------------------------------------------------------------------------------------- */
static const size_t bad_indices[] = {SIZE_MAX, SIZE_MAX - 1, (size_t)INT64_MAX, (size_t)INT64_MAX + 1,
                                     (size_t)1 << 32};

static int pattern_match_any(const char *const *pats, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (fnmatch(pats[i], name, 0) == 0) return 1;
    return 0;
}

typedef struct {
    modeltree_metric_t metric;       /* requested */
    modeltree_direction_t direction; /* requested */
    const char *const *include;
    size_t include_count;
    const char *const *exclude;
    size_t exclude_count;
    int known; /* the options are known (not the defaults of a NULL opts) */
} requested;

/* Every accessor on a graph recovered from the current collection (`models` as they were). */
static void check_graph(const modeltree_graph_t *g, const requested *req, int against_state, int huge) {
    size_t n = modeltree_graph_model_count(g);
    CHECK(n >= 1, "graph of %zu models", n);
    if (against_state)
        CHECK(n == (size_t)S.model_count || S.fuzzy, "graph has %zu models, the collection %d", n, S.model_count);
    size_t trees = modeltree_graph_tree_count(g);
    CHECK(trees >= 1 && trees <= n, "%zu trees for %zu models", trees, n);

    /* Models: ids distinct, found, as added; no path; parents form a forest. */
    int64_t *parent = xmalloc(n * sizeof *parent), *tree = xmalloc(n * sizeof *tree);
    for (size_t i = 0; i < n; i++) {
        const char *id = modeltree_graph_model_id(g, i);
        CHECK(id && *id && cstr_utf8(id), "model_id(%zu) is NULL, empty or not UTF-8", i);
        CHECK(modeltree_graph_find(g, id) == (int64_t)i, "find(model_id(%zu)) is %lld", i,
              (long long)modeltree_graph_find(g, id));
        if (against_state && !S.fuzzy) CHECK(find_model(id) >= 0, "model_id(%zu) '%s' was never added", i, id);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(id, modeltree_graph_model_id(g, j)), "models %zu and %zu share the id '%s'", j, i, id);
        CHECK(modeltree_graph_model_path(g, i) == NULL, "a model from memory has a path");
        (void)modeltree_graph_model_kurtosis(g, i);
        parent[i] = modeltree_graph_parent(g, i);
        CHECK(parent[i] == MODELTREE_NO_PARENT || (parent[i] >= 0 && (size_t)parent[i] < n && parent[i] != (int64_t)i),
              "parent(%zu) = %lld", i, (long long)parent[i]);
        tree[i] = modeltree_graph_tree_of(g, i);
        CHECK(tree[i] >= 0 && (size_t)tree[i] < trees, "tree_of(%zu) = %lld of %zu trees", i, (long long)tree[i], trees);
        double d = modeltree_graph_edge_distance(g, i), conf = modeltree_graph_edge_confidence(g, i);
        bool unsure = modeltree_graph_edge_unsure(g, i);
        if (parent[i] == MODELTREE_NO_PARENT) {
            CHECK(isnan(d) && isnan(conf) && !unsure, "root %zu: distance %g, confidence %g, unsure %d (NaN, NaN, false)", i,
                  d, conf, unsure);
        } else {
            CHECK(d >= 0, "edge into %zu: distance %g, not >= 0", i, d);
            CHECK(conf >= 0 && conf <= 1, "edge into %zu: confidence %g, not in [0, 1]", i, conf);
        }
    }
    if (against_state && !S.fuzzy)
        for (int m = 0; m < S.model_count; m++)
            CHECK(modeltree_graph_find(g, S.models[m].id) >= 0, "model '%s' of the collection is not in the graph",
                  S.models[m].id);
    for (size_t i = 0; i < n; i++) { /* acyclic: walking up reaches a root within n steps */
        int64_t at = (int64_t)i;
        size_t steps = 0;
        while (parent[at] >= 0 && steps <= n) { 
            CHECK(tree[parent[at]] == tree[at], "model %lld and its parent %lld are in trees %lld and %lld",
                  (long long)at, (long long)parent[at], (long long)tree[at], (long long)tree[parent[at]]);
            at = parent[at];
            steps++;
        }
        CHECK(steps <= n, "the parents of model %zu form a cycle", i);
    }
    /* Trees: one root each, ordered by their smallest member. */
    size_t roots = 0;
    for (size_t i = 0; i < n; i++) roots += parent[i] == MODELTREE_NO_PARENT;
    CHECK(roots == trees, "%zu roots for %zu trees", roots, trees);
    int64_t last_smallest = -1;
    for (size_t t = 0; t < trees; t++) {
        int64_t root = modeltree_graph_tree_root(g, t);
        CHECK(root >= 0 && (size_t)root < n && parent[root] == MODELTREE_NO_PARENT && tree[root] == (int64_t)t,
              "tree_root(%zu) = %lld is not a root of that tree", t, (long long)root);
        int64_t smallest = -1;
        for (size_t i = 0; i < n && smallest < 0; i++)
            if (tree[i] == (int64_t)t) smallest = (int64_t)i;
        CHECK(smallest > last_smallest, "trees not ordered by their smallest member (tree %zu)", t);
        last_smallest = smallest;
        modeltree_direction_t dir = modeltree_graph_tree_direction(g, t);
        CHECK(dir == MODELTREE_DIRECTION_FINETUNE || dir == MODELTREE_DIRECTION_GENERALIZATION,
              "tree_direction(%zu) = %d", t, (int)dir);
        if (req->known && req->direction != MODELTREE_DIRECTION_AUTO)
            CHECK(dir == req->direction, "tree %zu: direction %d, requested %d", t, (int)dir, (int)req->direction);
        (void)modeltree_graph_tree_direction_unsure(g, t);
    }
    /* Metric. */
    modeltree_metric_t metric = modeltree_graph_metric(g);
    CHECK(metric == MODELTREE_METRIC_RMS || metric == MODELTREE_METRIC_MAX || metric == MODELTREE_METRIC_RANK,
          "metric %d", (int)metric);
    if (req->known && req->metric != MODELTREE_METRIC_AUTO)
        CHECK(metric == req->metric, "metric %d, requested %d", (int)metric, (int)req->metric);

    /* Distances: size query, too small (untouched), exact, larger (nothing past n*n written). */
    size_t nn = n * n;
    CHECK(modeltree_graph_distances(g, NULL, 0) == nn, "distances(NULL, 0) != n*n");
    CHECK(modeltree_graph_distances(g, NULL, SIZE_MAX) == nn, "distances(NULL, SIZE_MAX) != n*n");
    double *dist = xmalloc((nn + 2) * sizeof *dist);
    for (size_t k = 0; k < nn + 2; k++) dist[k] = -12345.0;
    CHECK(modeltree_graph_distances(g, dist, nn - 1) == nn, "distances(small) != n*n");
    for (size_t k = 0; k < nn + 2; k++) CHECK(dist[k] == -12345.0, "distances wrote into a buffer too small");
    CHECK(modeltree_graph_distances(g, dist, nn + 1) == nn, "distances(larger) != n*n");
    CHECK(dist[nn] == -12345.0 && dist[nn + 1] == -12345.0, "distances wrote past n*n");
    for (size_t k = 0; k < nn; k++) dist[k] = -12345.0;
    /* A capacity above the address space (a size_t the Swift side sees as negative). */
    CHECK(modeltree_graph_distances(g, dist, SIZE_MAX) == nn, "distances(SIZE_MAX) != n*n");
    CHECK(dist[nn] == -12345.0, "distances wrote past n*n with capacity SIZE_MAX");
    for (size_t k = 0; k < nn; k++) dist[k] = -12345.0;
    CHECK(modeltree_graph_distances(g, dist, nn) == nn, "distances(exact) != n*n");
    for (size_t i = 0; i < n; i++) {
        CHECK(dist[i * n + i] == 0, "distance[%zu][%zu] = %g, not 0", i, i, dist[i * n + i]);
        for (size_t j = 0; j < n; j++) {
            double d = dist[i * n + j];
            if (isnan(d) && huge) {
                /* Finding 5 (fixed): a weight >= 1.8e19 overflowed the Float square of a
                 * difference, RMS was +inf, and the rank metric's tie term inf/inf NaN. */
                CHECK(0, "distance[%zu][%zu] is NaN (weights of magnitude >= 1e18)", i, j);
                continue;
            }
            CHECK(d >= 0 && d == dist[j * n + i], "distance[%zu][%zu] = %g, [%zu][%zu] = %g", i, j, d, j, i, dist[j * n + i]);
            if (isinf(d)) CHECK(tree[i] != tree[j], "models %zu and %zu at infinite distance share tree %lld", i, j,
                                (long long)tree[i]);
        }
        if (parent[i] >= 0) {
            double e = modeltree_graph_edge_distance(g, i);
            CHECK(e == dist[(size_t)parent[i] * n + i], "edge_distance(%zu) = %g, matrix %g", i, e,
                  dist[(size_t)parent[i] * n + i]);
        }
    }
    free(dist);

    /* Tensors: non-empty, distinct, added to some model, selected as the options say. */
    size_t tc = modeltree_graph_tensor_count(g);
    CHECK(tc >= 1, "no tensor used");
    for (size_t k = 0; k < tc; k++) {
        const char *t = modeltree_graph_tensor_name(g, k);
        CHECK(t && *t && cstr_utf8(t), "tensor_name(%zu) NULL, empty or not UTF-8", k);
        for (size_t j = 0; j < k; j++) CHECK(strcmp(t, modeltree_graph_tensor_name(g, j)), "tensor '%s' listed twice", t);
        if (against_state) {
            int found = 0;
            for (int m = 0; m < S.model_count && !found; m++)
                for (int q = 0; q < S.models[m].name_count && !found; q++) found = !strcmp(S.models[m].names[q], t);
            for (int q = 0; q < S.orphan_count && !found; q++) found = !strcmp(S.orphan_names[q], t);
            CHECK(found, "tensor '%s' was never added", t);
        }
        if (req->include_count) CHECK(pattern_match_any(req->include, req->include_count, t), "tensor '%s' matches no include", t);
        CHECK(!pattern_match_any(req->exclude, req->exclude_count, t), "tensor '%s' matches an exclude pattern", t);
    }
    size_t wc = modeltree_graph_warning_count(g);
    for (size_t k = 0; k < wc; k++) {
        const char *w = modeltree_graph_warning(g, k);
        CHECK(w && *w && cstr_utf8(w), "warning(%zu) NULL, empty or not UTF-8", k);
        CHECK(!strchr(w, '\n') && !strchr(w, '\r'), "warning(%zu) is not one line: %s", k, w);
    }

    /* Out of range: the documented misuse results. */
    size_t oor[8] = {n, n + 1, trees + n, 0, 0, 0, 0, 0};
    memcpy(oor + 3, bad_indices, sizeof bad_indices);
    for (size_t q = 0; q < 8; q++) {
        size_t i = oor[q];
        CHECK(modeltree_graph_model_id(g, i) == NULL && modeltree_graph_model_path(g, i) == NULL &&
                  isnan(modeltree_graph_model_kurtosis(g, i)) && modeltree_graph_parent(g, i) == MODELTREE_INDEX_INVALID &&
                  isnan(modeltree_graph_edge_distance(g, i)) && isnan(modeltree_graph_edge_confidence(g, i)) &&
                  !modeltree_graph_edge_unsure(g, i) && modeltree_graph_tree_of(g, i) == MODELTREE_INDEX_INVALID,
              "a model accessor at index %zu (of %zu) is not the misuse result", i, n);
        if (i >= trees)
            CHECK(modeltree_graph_tree_root(g, i) == MODELTREE_INDEX_INVALID &&
                      modeltree_graph_tree_direction(g, i) == MODELTREE_DIRECTION_AUTO &&
                      !modeltree_graph_tree_direction_unsure(g, i),
                  "a tree accessor at index %zu (of %zu) is not the misuse result", i, trees);
        if (i >= tc) CHECK(modeltree_graph_tensor_name(g, i) == NULL, "tensor_name(%zu) of %zu", i, tc);
        if (i >= wc) CHECK(modeltree_graph_warning(g, i) == NULL, "warning(%zu) of %zu", i, wc);
    }
    CHECK(modeltree_graph_find(g, NULL) == MODELTREE_INDEX_INVALID, "find(g, NULL)");
    CHECK(modeltree_graph_find(g, "\xff\xfe") == -1, "find(g, invalid UTF-8) != -1");
    int graph_ascii = 1;
    for (size_t i = 0; i < n; i++) graph_ascii &= is_ascii(modeltree_graph_model_id(g, i));
    for (int s = 0; s < ID_SLOTS; s++) {
        int64_t f = modeltree_graph_find(g, S.ids[s]);
        int exact = -1;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(modeltree_graph_model_id(g, i), S.ids[s])) exact = (int)i;
        if (exact >= 0) CHECK(f == exact, "find('%s') = %lld, model %d has that id", S.ids[s], (long long)f, exact);
        else if (is_ascii(S.ids[s]) && graph_ascii) CHECK(f == -1, "find('%s') = %lld, no such model", S.ids[s], (long long)f);
        else CHECK(f >= -1 && f < (int64_t)n, "find('%s') = %lld", S.ids[s], (long long)f);
    }

    /* JSON: valid, UTF-8, an object; freed with modeltree_string_free. */
    char *json = (char *)0x1;
    modeltree_status_t st = modeltree_graph_to_json(&json, g);
    after_call(st, "modeltree_graph_to_json", __LINE__);
    CHECK(st == MODELTREE_OK && json, "to_json: %s", modeltree_status_string(st));
    size_t len = strlen(json);
    CHECK(utf8_valid((const unsigned char *)json, len), "to_json: not UTF-8");
    const char *end = json_value(json, 0);
    CHECK(json[0] == '{' && end && *json_ws(end) == 0, "to_json: not one JSON object: %.200s", json);

    /* Rendering: JSON is to_json's document; text, DOT, SVG and HTML are UTF-8 and start as
     * documented; an unknown format is refused with *out NULL. */
    static const modeltree_format_t formats[5] = {MODELTREE_FORMAT_JSON, MODELTREE_FORMAT_TEXT, MODELTREE_FORMAT_DOT,
                                                  MODELTREE_FORMAT_SVG, MODELTREE_FORMAT_HTML};
    for (int f = 0; f < 5; f++) {
        char *text = (char *)0x1;
        st = modeltree_graph_render(&text, g, formats[f], NULL);
        after_call(st, "modeltree_graph_render", __LINE__);
        CHECK(st == MODELTREE_OK && text && utf8_valid((const unsigned char *)text, strlen(text)), "render(%d): %s", f,
              modeltree_status_string(st));
        if (f == 0) CHECK(!strcmp(text, json), "render(JSON) differs from to_json");
        if (f == 2) CHECK(!strncmp(text, "digraph modeltree {\n", 20), "render(DOT): %.40s", text);
        if (f == 3) CHECK(!strncmp(text, "<svg xmlns=", 11), "render(SVG): %.40s", text);
        if (f == 4) CHECK(!strncmp(text, "<!DOCTYPE html>\n", 16), "render(HTML): %.40s", text);
        modeltree_string_free(text);
    }
    modeltree_string_free(json);
    char *none = (char *)0x1;
    st = modeltree_graph_render(&none, g, (modeltree_format_t)(MODELTREE_FORMAT_HTML + 1), NULL);
    after_call(st, "modeltree_graph_render(format 5)", __LINE__);
    CHECK(st == MODELTREE_INVALID_ARGUMENT && none == NULL, "render(format 5): %s", modeltree_status_string(st));

    /* Bulk accessors: what the per-model accessors give, all or nothing. */
    int64_t *bp = xmalloc((n + 1) * sizeof *bp), *bt = xmalloc((n + 1) * sizeof *bt);
    double *bd = xmalloc((n + 1) * sizeof *bd), *bc = xmalloc((n + 1) * sizeof *bc);
    bool *bu = xmalloc(n + 1);
    modeltree_edge_type_t *types = xmalloc((n + 1) * sizeof *types);
    bp[0] = 12345;
    CHECK(modeltree_graph_parents(g, bp, n - 1) == n && bp[0] == 12345, "parents(small) wrote or miscounted");
    CHECK(modeltree_graph_parents(g, bp, SIZE_MAX) == n && modeltree_graph_model_trees(g, bt, n) == n &&
              modeltree_graph_edge_distances(g, bd, n) == n && modeltree_graph_edge_confidences(g, bc, n) == n &&
              modeltree_graph_edges_unsure(g, bu, n) == n && modeltree_graph_edge_types(g, types, n) == n,
          "a bulk accessor did not return the model count");
    /* The per-model type is that of the child's primary edge: its first in the edge list (a
     * root's is MODELTREE_EDGE_FINETUNE). */
    modeltree_edge_type_t *primary = xmalloc((n + 1) * sizeof *primary);
    bool *seen = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) { primary[i] = MODELTREE_EDGE_FINETUNE; seen[i] = false; }
    for (size_t e = 0, count = modeltree_graph_edge_count(g); e < count; e++) {
        int64_t c = modeltree_graph_edge_child(g, e);
        CHECK(c >= 0 && (size_t)c < n, "edge %zu: child %lld", e, (long long)c);
        if (c >= 0 && (size_t)c < n && !seen[c]) { seen[c] = true; primary[c] = modeltree_graph_edge_type(g, e); }
        double raw = modeltree_graph_edge_raw_confidence(g, e);
        CHECK(raw >= 0 && raw <= 1, "edge %zu: raw confidence %g, not in [0, 1]", e, raw);
    }
    CHECK(isnan(modeltree_graph_edge_raw_confidence(g, modeltree_graph_edge_count(g))) &&
              isnan(modeltree_graph_edge_raw_confidence(NULL, 0)),
          "raw confidence of an edge out of range or of a NULL graph is not NaN");
    double threshold = modeltree_graph_unsure_threshold(g);
    CHECK(threshold > 0 && threshold < 1, "unsure_threshold %g", threshold);
    for (size_t i = 0; i < n; i++) {
        double d = modeltree_graph_edge_distance(g, i), c = modeltree_graph_edge_confidence(g, i);
        CHECK(bp[i] == parent[i] && bt[i] == tree[i] && (bd[i] == d || (isnan(bd[i]) && isnan(d))) &&
                  (bc[i] == c || (isnan(bc[i]) && isnan(c))) && bu[i] == modeltree_graph_edge_unsure(g, i) &&
                  types[i] == primary[i],
              "bulk accessors disagree with the per-model ones at model %zu", i);
        if (parent[i] >= 0)
            CHECK(bu[i] == (bc[i] < threshold || modeltree_graph_tree_direction_unsure(g, (size_t)tree[i])),
                  "edge into %zu: unsure %d, confidence %g, threshold %g", i, (int)bu[i], bc[i], threshold);
    }
    free(bp); free(bt); free(bd); free(bc); free(bu); free(types); free(primary); free(seen);

    /* A graph scored against itself: every edge right, the same trees (ARI 1). */
    const char **from = xmalloc((n + 1) * sizeof *from), **to = xmalloc((n + 1) * sizeof *to);
    size_t edges = 0;
    for (size_t i = 0; i < n; i++)
        if (parent[i] >= 0) { from[edges] = modeltree_graph_model_id(g, (size_t)parent[i]); to[edges++] = modeltree_graph_model_id(g, i); }
    modeltree_score_t *score = (modeltree_score_t *)0x1;
    st = modeltree_graph_evaluate(&score, g, from, to, edges, NULL, 0);
    after_call(st, "modeltree_graph_evaluate", __LINE__);
    CHECK(st == MODELTREE_OK && score, "evaluate against itself: %s", modeltree_status_string(st));
    CHECK(modeltree_score_correct(score) == edges && modeltree_score_total(score) == edges &&
              modeltree_score_accuracy(score) == 1 && modeltree_score_ari(score) == 1,
          "a graph scored against itself: %zu/%zu, ARI %g", modeltree_score_correct(score), modeltree_score_total(score),
          modeltree_score_ari(score));
    char *scored = NULL;
    st = modeltree_graph_render(&scored, g, MODELTREE_FORMAT_TEXT, score);
    after_call(st, "modeltree_graph_render with a score", __LINE__);
    CHECK(st == MODELTREE_OK && strstr(scored, "Edge accuracy: "), "render(TEXT, score): %s", modeltree_status_string(st));
    modeltree_string_free(scored);
    modeltree_score_free(score);
    free(from);
    free(to);
    message_unchanged("the graph accessors", __LINE__);
    free(parent);
    free(tree);
}

static void op_renew(void);

/* ---------------------------------------------------------------------------------------------
 * RECOVER
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    pthread_t thread;
    void *user_data_expected;
    int calls;
    int cancel_at;   /* 0: never */
    int32_t cancel_value;
    int cancelled;
    int called_after_cancel;
    double last;
    int fail_inside; /* make a failing call inside the callback */
    int nested;      /* run a nested recovery inside the callback */
} progress_state;

static int32_t progress_cb(double fraction, const char *stage, void *user_data) {
    progress_state *p = user_data;
    CHECK(p && p->user_data_expected == user_data, "progress: user_data %p, expected %p", user_data,
          p ? p->user_data_expected : NULL);
    CHECK(pthread_equal(pthread_self(), p->thread), "progress called on another thread");
    CHECK(fraction >= 0 && fraction <= 1, "progress: fraction %g not in [0, 1]", fraction);
    /* Finding 2 (fixed): with several architectures each group's range was start + width * f,
     * so one group could end an ulp above where the next starts (1/5 + 2/5 > 3/5). */
    CHECK(fraction >= p->last, "progress: fraction went down from %.17g to %.17g", p->last, fraction);
    CHECK(stage && cstr_utf8(stage), "progress: stage NULL or not UTF-8");
    if (p->cancelled) p->called_after_cancel = 1;
    p->last = fraction;
    p->calls++;
    if (p->fail_inside && p->calls == 1) {
        modeltree_status_t st = modeltree_collection_create(NULL);
        after_call(st, "modeltree_collection_create(NULL) inside progress", __LINE__);
        CHECK(st == MODELTREE_INVALID_ARGUMENT, "collection_create(NULL) inside progress: %s", modeltree_status_string(st));
    }
    if (p->nested && p->calls == 1 && S.recovers < MAX_RECOVERS) {
        /* Concurrent readers of a built collection are allowed; a nested one must work too. */
        S.recovers++;
        modeltree_graph_t *g = (modeltree_graph_t *)0x1;
        modeltree_status_t st = modeltree_recover(&g, S.c, NULL);
        after_call(st, "nested modeltree_recover", __LINE__);
        CHECK(st == MODELTREE_OK || st == MODELTREE_INCOMPATIBLE_MODELS ||
                  (st == MODELTREE_INTERNAL && S.huge && strstr(modeltree_last_error_message(), "no spanning arborescence")),
              "nested recover: %s: %s", modeltree_status_string(st), modeltree_last_error_message());
        if (st == MODELTREE_OK) {
            requested req = {0};
            check_graph(g, &req, 1, S.huge);
        } else {
            CHECK(g == NULL, "nested recover failed and left *out non-NULL");
        }
        modeltree_graph_free(g);
    }
    if (p->cancel_at && p->calls == p->cancel_at) {
        p->cancelled = 1;
        return p->cancel_value;
    }
    return 0;
}

static const int32_t cancel_values[4] = {1, -1, 2, INT32_MIN};
static const double special_lambdas[16] = {0, NAN, INFINITY, -INFINITY, -1, -0.0, 1e308, 2.2250738585072014e-308,
                                           5e-324, 1e-300, 0.3, 1, 100, -1e-300, 0.5, 3};

static void keep_graph(modeltree_graph_t *g) {
    modeltree_graph_free(S.kept);
    modeltree_string_free(S.kept_json);
    S.kept = g;
    S.kept_huge = S.huge;
    S.kept_json = NULL;
    modeltree_status_t st = modeltree_graph_to_json(&S.kept_json, g);
    after_call(st, "modeltree_graph_to_json", __LINE__);
    CHECK(st == MODELTREE_OK, "to_json: %s", modeltree_status_string(st));
}

/* The kept graph must be unchanged (its JSON equal) whatever happened to the collection since. */
static void check_kept(void) {
    if (!S.kept) return;
    char *json = NULL;
    modeltree_status_t st = modeltree_graph_to_json(&json, S.kept);
    after_call(st, "modeltree_graph_to_json", __LINE__);
    CHECK(st == MODELTREE_OK && !strcmp(json, S.kept_json), "the kept graph changed");
    modeltree_string_free(json);
    requested req = {0};
    check_graph(S.kept, &req, 0, S.kept_huge);
}

/* Reads a pattern list: count 0..3 from slots, or a NULL array / NULL element / a count above
 * the address space (which the library must refuse before reading). */
static int read_patterns(reader *r, const char **arr, size_t *count, const char *const **out) {
    uint8_t b = u8(r);
    size_t n = b & 3;
    int valid = 1;
    for (size_t i = 0; i < n; i++) {
        arr[i] = S.pats[u8(r) & 7];
        if (!cstr_utf8(arr[i])) valid = 0;
    }
    *out = arr;
    *count = n;
    if ((b & 0x04) && n) { *out = NULL; valid = 0; }
    if ((b & 0x08) && n) { arr[n - 1] = NULL; valid = 0; }
    if (b & 0x10) {
        static const size_t huge[4] = {SIZE_MAX, (size_t)1 << 63, SIZE_MAX - 1, (size_t)INT64_MAX + 2};
        *count = huge[(b >> 5) & 3];
        valid = 0;
    }
    if (n == 0 && !(b & 0x10)) *out = (b & 0x20) ? arr : NULL; /* count 0: NULL or not, both fine */
    return valid;
}

/* Operands: flags (bit 0 out NULL, 1 collection NULL, 2 opts NULL, 3 progress callback, 4 keep
 * the graph then RENEW, 5 keep the graph, 6-7 the threads option: 0 (the default), 1, 3, or a
 * byte choosing from a table); unless opts is NULL: struct_size, metric, direction, lambda (0xff: 8
 * bytes of a double follow the trees byte), trees, include list, exclude list (read_patterns),
 * and with a progress callback: the call that cancels (0 never) and a byte of flags (bits 0-1
 * the value returned to cancel, 2 a failing call inside the callback, 3 a nested recovery). */
static void op_recover(void) {
    reader *r = &S.in;
    uint8_t flags = u8(r);
    int null_out = flags & 0x01, null_c = flags & 0x02, null_opts = flags & 0x04, with_progress = flags & 0x08;
    int renew_after = flags & 0x10, keep = flags & 0x20;

    /* The threads option (0: one per CPU): 1, 3 or one of the table (above 64 uses 64). */
    static const uint32_t thread_table[8] = {8, 64, 65, 0, UINT32_MAX, 2, 1, 1000};
    uint32_t threads = 0;
    switch (flags >> 6) {
    case 0: break;
    case 1: threads = 1; break;
    case 2: threads = 3; break;
    default: threads = thread_table[u8(r) & 7];
    }

    modeltree_options_t opts;
    memset(&opts, 0xa5, sizeof opts);
    modeltree_options_init(&opts);
    CHECK(opts.struct_size == sizeof opts && opts.metric == MODELTREE_METRIC_AUTO &&
              opts.direction == MODELTREE_DIRECTION_AUTO && opts.lambda == 0.3 && opts.trees == 0 && !opts.include &&
              !opts.include_count && !opts.exclude && !opts.exclude_count && !opts.progress && !opts.user_data &&
              opts.threads == 0 && opts.max_models == 0 && opts.memory_budget == 0,
          "modeltree_options_init did not set the documented defaults");
    opts.threads = threads;

    int valid = !null_out && !null_c;
    int trees_given = 0;
    const char *inc[3], *exc[3];
    progress_state ps = {0};
    ps.thread = pthread_self();
    ps.user_data_expected = &ps;
    ps.last = 0;
    void *opts_mem = NULL;
    const modeltree_options_t *opts_arg = NULL;
    requested req = {0};
    req.metric = MODELTREE_METRIC_AUTO;
    req.direction = MODELTREE_DIRECTION_AUTO;
    if (!null_opts) {
        uint8_t sb = u8(r);
        /* 0.1's struct (up to user_data) is a released size too: it works, and nothing past it is read. */
        static const size_t sizes[8] = {sizeof(modeltree_options_t) - 8, sizeof(modeltree_options_t) + 8, 0, 8, SIZE_MAX,
                                        sizeof(modeltree_options_t) - 1, offsetof(modeltree_options_t, threads), 1 << 20};
        size_t struct_size = sb < 0xf0 ? sizeof opts : sizes[sb & 7];
        uint8_t mb = u8(r), db = u8(r), lb = u8(r), tb = u8(r);
        static const int bad_enum[4] = {4, -1, INT32_MAX, 3};
        opts.metric = (modeltree_metric_t)(mb < 0xf0 ? (mb & 3) : bad_enum[mb & 3]);
        opts.direction = (modeltree_direction_t)(db < 0xf0 ? (db % 3) : bad_enum[db & 3]);
        opts.lambda = lb < 0x80 ? 0.3 : lb < 0xc0 ? (lb & 0x3f) / 10.0 : lb == 0xff ? f64(r) : special_lambdas[lb & 15];
        static const uint32_t bad_trees[4] = {UINT32_MAX, 0x80000000u, 9, 100};
        opts.trees = tb < 0x80 ? 0 : tb < 0xf0 ? (tb & 0x0f) : bad_trees[tb & 3];
        if (!read_patterns(r, inc, &opts.include_count, &opts.include)) valid = 0;
        if (!read_patterns(r, exc, &opts.exclude_count, &opts.exclude)) valid = 0;
        if (with_progress) {
            uint8_t cb = u8(r), vb = u8(r);
            opts.progress = progress_cb;
            opts.user_data = &ps;
            ps.cancel_at = cb;
            ps.cancel_value = cancel_values[vb & 3];
            ps.fail_inside = vb & 0x04;
            ps.nested = vb & 0x08;
        }
        if ((struct_size != sizeof opts && struct_size != offsetof(modeltree_options_t, threads)) ||
            (unsigned)opts.metric > 3 || (unsigned)opts.direction > 2 ||
            !(isfinite(opts.lambda) && opts.lambda >= 0))
            valid = 0;
        trees_given = opts.trees > 0;
        /* The caller's struct is exactly struct_size bytes (at least the size field): a library that
         * reads fields a smaller struct does not have is caught by ASan. */
        size_t mem = struct_size < sizeof opts ? (struct_size < 8 ? 8 : struct_size) : (struct_size > 4096 ? sizeof opts : struct_size);
        opts.struct_size = struct_size;
        opts_mem = xmalloc(mem);
        memset(opts_mem, 0x5a, mem);
        memcpy(opts_mem, &opts, mem < sizeof opts ? mem : sizeof opts);
        opts_arg = opts_mem;
        req.metric = opts.metric;
        req.direction = opts.direction;
        req.include = opts.include;
        req.include_count = valid ? opts.include_count : 0;
        req.exclude = opts.exclude;
        req.exclude_count = valid ? opts.exclude_count : 0;
        req.known = 1;
    }
    if (S.model_count == 0 && !S.fuzzy) valid = 0;

    if (valid && S.recovers >= MAX_RECOVERS) { free(opts_mem); return; } /* parsed, not run */
    if (trace > 0)
        fprintf(stderr, "abi_fuzz: recover(flags 0x%02x; options: %s struct_size %zu, metric %d, direction %d, lambda %.17g, "
                "trees %u, %zu include, %zu exclude, progress %s cancel at %d; threads %u)\n", flags,
                null_opts ? "NULL, defaults:" : "", opts.struct_size, (int)opts.metric, (int)opts.direction, opts.lambda,
                opts.trees, opts.include_count, opts.exclude_count, opts.progress ? "yes" : "no", ps.cancel_at, threads);
    modeltree_graph_t *g = (modeltree_graph_t *)0x1;
    S.recovers += valid;
    modeltree_status_t st = modeltree_recover(null_out ? NULL : &g, null_c ? NULL : S.c, opts_arg);
    after_call(st, "modeltree_recover", __LINE__);
    if (!null_out && st != MODELTREE_OK) CHECK(g == NULL, "recover failed (%s) and left *out non-NULL", modeltree_status_string(st));
    if (valid && st == MODELTREE_INTERNAL && ((!null_opts && opts.lambda > 1e250) || S.huge) &&
        strstr(modeltree_last_error_message(), "no spanning arborescence")) {
        /* Findings 1 and 5 (fixed): lambda * mean(D) overflowed to +inf in TreeSolver.objective,
         * or a weight >= 1.8e19 made a distance +inf/NaN; every candidate edge's cost was then
         * non-finite and Chu-Liu/Edmonds found no arborescence. */
        CHECK(0, "recover with a huge lambda (%g) or huge weights (%d) returned internal error", opts.lambda, S.huge);
        free(opts_mem);
        return;
    }
    if (!valid) {
        CHECK(st == MODELTREE_INVALID_ARGUMENT, "recover with invalid arguments returned %s", modeltree_status_string(st));
    } else {
        CHECK(st == MODELTREE_OK || st == MODELTREE_INCOMPATIBLE_MODELS || st == MODELTREE_CANCELLED ||
                  (st == MODELTREE_INVALID_ARGUMENT && trees_given),
              "recover returned %s: %s", modeltree_status_string(st), modeltree_last_error_message());
        CHECK((st == MODELTREE_CANCELLED) == (ps.cancelled != 0), "recover returned %s, progress cancelled: %d",
              modeltree_status_string(st), ps.cancelled);
        CHECK(!ps.called_after_cancel, "progress was called again after it cancelled");
    }
    free(opts_mem);
    if (st != MODELTREE_OK) return;
    CHECK(g != NULL, "recover returned OK and a NULL graph");
    if (trace > 0) { /* the graph as JSON, before any check */
        char *json = NULL;
        if (modeltree_graph_to_json(&json, g) == MODELTREE_OK) fprintf(stderr, "abi_fuzz: graph %s", json);
        modeltree_string_free(json);
    }
    check_graph(g, &req, 1, S.huge);
    if (trace)
        fprintf(stderr, "abi_fuzz: graph of %zu models, %zu trees, %zu tensors, %zu warnings, metric %d\n",
                modeltree_graph_model_count(g), modeltree_graph_tree_count(g), modeltree_graph_tensor_count(g),
                modeltree_graph_warning_count(g), (int)modeltree_graph_metric(g));
    if (renew_after || keep) keep_graph(g);
    else modeltree_graph_free(g);
    if (renew_after) op_renew();
}

/* ---------------------------------------------------------------------------------------------
 * Other operations
 * ------------------------------------------------------------------------------------------- */
static void free_collection(void) {
    modeltree_collection_free(S.c);
    S.c = NULL;
    /* "that memory may be released by the caller once this returns" */
    for (int i = 0; i < S.buffer_count; i++) free(S.buffers[i]);
    S.buffer_count = 0;
    S.data_bytes = 0;
    for (int m = 0; m < S.model_count; m++) {
        free(S.models[m].id);
        for (int k = 0; k < S.models[m].name_count; k++) free(S.models[m].names[k]);
    }
    S.model_count = 0;
    S.fuzzy = 0;
    S.huge = 0;
    for (int k = 0; k < S.orphan_count; k++) free(S.orphan_names[k]);
    S.orphan_count = 0;
}

static void new_collection(void) {
    S.c = (modeltree_collection_t *)0x1;
    modeltree_status_t st = modeltree_collection_create(&S.c);
    after_call(st, "modeltree_collection_create", __LINE__);
    CHECK(st == MODELTREE_OK && S.c, "collection_create: %s", modeltree_status_string(st));
    CHECK(modeltree_collection_model_count(S.c) == 0, "a new collection is not empty");
}

static void op_renew(void) {
    free_collection();
    check_kept();
    new_collection();
}

static void op_set(char (*slots)[MAX_STR + 1], int nslots) {
    reader *r = &S.in;
    int slot = u8(r) % nslots;
    size_t len = u8(r) % (MAX_STR + 1);
    for (size_t i = 0; i < len; i++) slots[slot][i] = (char)u8(r);
    slots[slot][len] = 0; /* an embedded NUL truncates the string, as C would */
}

static void op_path(void) {
    uint8_t b = u8(&S.in);
    static const char *const paths[4] = {NULL, "", "\xff", NULL};
    const char *path = paths[b & 3];
    const char *id = (b & 4) ? S.ids[0] : NULL;
    modeltree_collection_t *c = (b & 8) ? NULL : S.c;
    size_t before = modeltree_collection_model_count(S.c);
    modeltree_status_t st = modeltree_collection_add_path(c, id, path);
    after_call(st, "modeltree_collection_add_path", __LINE__);
    CHECK(st == MODELTREE_INVALID_ARGUMENT, "add_path(%s, %s, bad path) returned %s", c ? "c" : "NULL", id ? "id" : "NULL",
          modeltree_status_string(st));
    CHECK(modeltree_collection_model_count(S.c) == before, "a failed add_path changed the model count");
}

typedef struct {
    int recover;               /* also run modeltree_recover(S.c, NULL) */
    modeltree_status_t status;
    char *json;
} thread_job;

static void *thread_main(void *arg) {
    thread_job *job = arg;
    const char *m = modeltree_last_error_message();
    CHECK(m && !*m, "a new thread's error message is \"%s\", not \"\"", m ? m : "(NULL)");
    CHECK(modeltree_collection_create(NULL) == MODELTREE_INVALID_ARGUMENT, "collection_create(NULL) on a thread");
    CHECK(*modeltree_last_error_message(), "no message on the thread after a failure");
    if (S.kept) {
        size_t n = modeltree_graph_model_count(S.kept);
        for (size_t i = 0; i < n; i++) {
            (void)modeltree_graph_parent(S.kept, i);
            (void)modeltree_graph_model_id(S.kept, i);
        }
        char *json = NULL;
        CHECK(modeltree_graph_to_json(&json, S.kept) == MODELTREE_OK && json, "to_json on a thread");
        modeltree_string_free(json);
    }
    if (job->recover) {
        modeltree_graph_t *g = NULL;
        job->status = modeltree_recover(&g, S.c, NULL);
        if (job->status == MODELTREE_OK) {
            CHECK(modeltree_graph_to_json(&job->json, g) == MODELTREE_OK, "to_json on a thread");
        } else {
            CHECK(g == NULL && *modeltree_last_error_message(), "recover failed on a thread: out %p, message \"%s\"",
                  (void *)g, modeltree_last_error_message());
        }
        modeltree_graph_free(g);
    }
    return NULL;
}

/* A second thread fails a call, reads the kept graph and (operand bit 0) recovers the collection
 * while this thread recovers it too: "the same collection may be read by several concurrent
 * modeltree_recover calls". Both must get the same status and the same graph. */
static void op_thread(void) {
    uint8_t b = u8(&S.in);
    thread_job job = {0};
    job.recover = (b & 1) && S.model_count > 0 && S.recovers + 2 <= MAX_RECOVERS;
    S.recovers += job.recover ? 2 : 0;
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, &job) != 0) return;
    if (S.kept) {
        size_t n = modeltree_graph_model_count(S.kept);
        for (size_t i = 0; i < n; i++) (void)modeltree_graph_edge_confidence(S.kept, i);
    }
    modeltree_status_t st = MODELTREE_OK;
    char *json = NULL;
    if (job.recover) {
        modeltree_graph_t *g = NULL;
        st = modeltree_recover(&g, S.c, NULL);
        after_call(st, "modeltree_recover beside another thread's", __LINE__);
        if (st == MODELTREE_OK) {
            modeltree_status_t js = modeltree_graph_to_json(&json, g);
            after_call(js, "modeltree_graph_to_json", __LINE__);
        }
        modeltree_graph_free(g);
    }
    pthread_join(t, NULL);
    message_unchanged("another thread's failure", __LINE__);
    if (job.recover) {
        CHECK(st == job.status, "two concurrent recoveries of one collection returned %s and %s",
              modeltree_status_string(st), modeltree_status_string(job.status));
        CHECK((!json && !job.json) || (json && job.json && !strcmp(json, job.json)),
              "two concurrent recoveries of one collection gave different graphs");
    }
    modeltree_string_free(json);
    modeltree_string_free(job.json);
}

/* The calls whose result does not depend on any state: once per input. */
static void null_battery(void) {
    CHECK(modeltree_version_number() == MODELTREE_VERSION_NUMBER, "version number");
    CHECK(!strcmp(modeltree_version_string(), MODELTREE_VERSION_STRING), "version string");
    for (int s = -2; s <= 9; s++) {
        const char *t = modeltree_status_string((modeltree_status_t)s);
        CHECK(t && *t, "status_string(%d)", s);
    }
    CHECK(modeltree_status_string((modeltree_status_t)INT32_MIN) != NULL, "status_string(INT32_MIN)");
    modeltree_status_t st = modeltree_collection_create(NULL);
    after_call(st, "modeltree_collection_create(NULL)", __LINE__);
    CHECK(st == MODELTREE_INVALID_ARGUMENT, "collection_create(NULL): %s", modeltree_status_string(st));
    modeltree_collection_free(NULL);
    modeltree_graph_free(NULL);
    modeltree_string_free(NULL);
    modeltree_options_init(NULL);
    CHECK(modeltree_collection_model_count(NULL) == 0, "collection_model_count(NULL)");
    const modeltree_graph_t *g = NULL;
    CHECK(modeltree_graph_model_count(g) == 0 && modeltree_graph_model_id(g, 0) == NULL &&
              modeltree_graph_find(g, "m0") == MODELTREE_INDEX_INVALID && modeltree_graph_model_path(g, 0) == NULL &&
              isnan(modeltree_graph_model_kurtosis(g, 0)) && modeltree_graph_parent(g, 0) == MODELTREE_INDEX_INVALID &&
              isnan(modeltree_graph_edge_distance(g, 0)) && isnan(modeltree_graph_edge_confidence(g, 0)) &&
              !modeltree_graph_edge_unsure(g, 0) && modeltree_graph_distances(g, NULL, 0) == 0 &&
              modeltree_graph_metric(g) == MODELTREE_METRIC_AUTO && modeltree_graph_tree_count(g) == 0 &&
              modeltree_graph_tree_root(g, 0) == MODELTREE_INDEX_INVALID &&
              modeltree_graph_tree_of(g, 0) == MODELTREE_INDEX_INVALID &&
              modeltree_graph_tree_direction(g, 0) == MODELTREE_DIRECTION_AUTO &&
              !modeltree_graph_tree_direction_unsure(g, 0) && modeltree_graph_tensor_count(g) == 0 &&
              modeltree_graph_tensor_name(g, 0) == NULL && modeltree_graph_warning_count(g) == 0 &&
              modeltree_graph_warning(g, 0) == NULL,
          "an accessor on a NULL graph is not the misuse result");
    message_unchanged("the accessors on NULL", __LINE__);
    char *json = (char *)0x1;
    st = modeltree_graph_to_json(&json, NULL);
    after_call(st, "modeltree_graph_to_json(&out, NULL)", __LINE__);
    CHECK(st == MODELTREE_INVALID_ARGUMENT && json == NULL, "to_json(&out, NULL): %s, out %p", modeltree_status_string(st),
          (void *)json);
    st = modeltree_graph_to_json(NULL, NULL);
    after_call(st, "modeltree_graph_to_json(NULL, NULL)", __LINE__);
    CHECK(st == MODELTREE_INVALID_ARGUMENT, "to_json(NULL, NULL): %s", modeltree_status_string(st));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    memset(&S, 0, sizeof S);
    S.in.p = data;
    S.in.n = size;
    for (int i = 0; i < ID_SLOTS; i++) snprintf(S.ids[i], sizeof S.ids[i], "m%d", i);
    for (int i = 0; i < NAME_SLOTS; i++) snprintf(S.names[i], sizeof S.names[i], "w%d", i);
    static const char *const pats[PAT_SLOTS] = {"*", "w1", "w[0-3]", "*1*", "?", "[", "[!w]*", "\\*"};
    for (int i = 0; i < PAT_SLOTS; i++) strcpy(S.pats[i], pats[i]);
    copy_message();

    null_battery();
    new_collection();
    while (!S.in.exhausted && S.in.at < S.in.n) {
        uint8_t op = u8(&S.in);
        if (op < 0x80) op_add();
        else if (op < 0x90) op_batch();
        else if (op < 0xa0) op_recover();
        else if (op < 0xa8) op_set(S.ids, ID_SLOTS);
        else if (op < 0xb8) op_set(S.names, NAME_SLOTS);
        else if (op < 0xc0) op_set(S.pats, PAT_SLOTS);
        else if (op < 0xc8) op_renew();
        else if (op < 0xd0) op_path();
        else if (op < 0xd8) op_thread();
    }
    free_collection();
    check_kept();
    modeltree_graph_free(S.kept);
    modeltree_string_free(S.kept_json);
    return 0;
}
