/* st_files.c — see st_files.h. Deliberately plain: a reference, not a fast path. */
#define _POSIX_C_SOURCE 200809L

#include "st_files.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- a minimal JSON reader for safetensors headers ------------------------------------------ */

typedef struct cursor {
    const char *p, *end;
    int failed;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
}

static int expect(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) { c->p++; return 1; }
    c->failed = 1;
    return 0;
}

static int peek(cursor *c, char ch) {
    skip_ws(c);
    return c->p < c->end && *c->p == ch;
}

/* Parses a JSON string into a malloc'ed UTF-8 copy (escapes decoded; \u for the BMP only). */
static char *parse_string(cursor *c) {
    if (!expect(c, '"')) return NULL;
    size_t cap = 16, len = 0;
    char *s = malloc(cap);
    while (c->p < c->end && *c->p != '"') {
        unsigned cp = (unsigned char)*c->p++;
        if (cp == '\\' && c->p < c->end) {
            char e = *c->p++;
            switch (e) {
            case 'n': cp = '\n'; break;
            case 't': cp = '\t'; break;
            case 'r': cp = '\r'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'u':
                if (c->end - c->p < 4) { c->failed = 1; free(s); return NULL; }
                cp = (unsigned)strtoul((char[5]){c->p[0], c->p[1], c->p[2], c->p[3], 0}, NULL, 16);
                c->p += 4;
                break;
            default: cp = (unsigned char)e; break;
            }
        }
        if (len + 4 >= cap) { cap *= 2; s = realloc(s, cap); }
        if (cp < 0x80 || cp > 0xFFFF) {
            s[len++] = (char)cp;
        } else if (cp < 0x800) {
            s[len++] = (char)(0xC0 | (cp >> 6));
            s[len++] = (char)(0x80 | (cp & 0x3F));
        } else {
            s[len++] = (char)(0xE0 | (cp >> 12));
            s[len++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[len++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    if (!expect(c, '"')) { free(s); return NULL; }
    s[len] = 0;
    return s;
}

static int64_t parse_int(cursor *c) {
    skip_ws(c);
    char *end = NULL;
    long long v = strtoll(c->p, &end, 10);
    if (end == c->p) c->failed = 1;
    c->p = end;
    return (int64_t)v;
}

/* Skips any JSON value. */
static void skip_value(cursor *c) {
    skip_ws(c);
    if (c->p >= c->end) { c->failed = 1; return; }
    char ch = *c->p;
    if (ch == '"') {
        free(parse_string(c));
    } else if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->p++;
        if (peek(c, close)) { c->p++; return; }
        do {
            if (ch == '{') { free(parse_string(c)); expect(c, ':'); }
            skip_value(c);
        } while (!c->failed && peek(c, ',') && c->p++);
        expect(c, close);
    } else {
        while (c->p < c->end && strchr(",]} \n\r\t", *c->p) == NULL) c->p++;
    }
}

static modeltree_dtype_t dtype_named(const char *s) {
    if (strcmp(s, "F32") == 0) return MODELTREE_DTYPE_F32;
    if (strcmp(s, "F64") == 0) return MODELTREE_DTYPE_F64;
    if (strcmp(s, "F16") == 0) return MODELTREE_DTYPE_F16;
    if (strcmp(s, "BF16") == 0) return MODELTREE_DTYPE_BF16;
    return (modeltree_dtype_t)0;
}

static const char *dtype_name(modeltree_dtype_t d) {
    switch (d) {
    case MODELTREE_DTYPE_F32: return "F32";
    case MODELTREE_DTYPE_F64: return "F64";
    case MODELTREE_DTYPE_F16: return "F16";
    case MODELTREE_DTYPE_BF16: return "BF16";
    }
    return "?";
}

size_t st_dtype_size(modeltree_dtype_t dtype) {
    switch (dtype) {
    case MODELTREE_DTYPE_F32: return 4;
    case MODELTREE_DTYPE_F64: return 8;
    case MODELTREE_DTYPE_F16: return 2;
    case MODELTREE_DTYPE_BF16: return 2;
    }
    return 0;
}

size_t st_count(const st_tensor *t) {
    size_t n = 1;
    for (size_t k = 0; k < t->ndim; k++) n *= (size_t)t->shape[k];
    return n;
}

static double half_to_double(uint16_t h) {
    int e = (h >> 10) & 0x1F, m = h & 0x3FF;
    double v;
    if (e == 0) v = m / 1024.0 / 16384.0;
    else if (e == 31) v = m ? (double)NAN : (double)INFINITY;
    else v = (1.0 + m / 1024.0) * (double)(1u << e) / 32768.0;
    return (h & 0x8000) ? -v : v;
}

double st_element(const st_tensor *t, size_t k) {
    const unsigned char *b = (const unsigned char *)t->data;
    switch (t->dtype) {
    case MODELTREE_DTYPE_F32: { float f; memcpy(&f, b + 4 * k, 4); return f; }
    case MODELTREE_DTYPE_F64: { double d; memcpy(&d, b + 8 * k, 8); return d; }
    case MODELTREE_DTYPE_F16: { uint16_t h; memcpy(&h, b + 2 * k, 2); return half_to_double(h); }
    case MODELTREE_DTYPE_BF16: {
        uint16_t h; memcpy(&h, b + 2 * k, 2);
        uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f;
    }
    }
    return 0;
}

const st_tensor *st_find(const st_model *m, const char *name) {
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

/* Appends the tensors of one file to m. */
static int read_file(st_model *m, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "st: cannot open %s\n", path); return -1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(size > 0 ? (size_t)size : 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size || size < 8) {
        fclose(f); free(buf);
        fprintf(stderr, "st: cannot read %s\n", path);
        return -1;
    }
    fclose(f);
    m->buffers = realloc(m->buffers, (m->buffer_count + 1) * sizeof *m->buffers);
    m->buffers[m->buffer_count++] = buf;

    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | buf[i];
    if (n > (uint64_t)size - 8) { fprintf(stderr, "st: bad header length in %s\n", path); return -1; }
    const unsigned char *data = buf + 8 + n;
    cursor c = {(const char *)buf + 8, (const char *)buf + 8 + n, 0};
    expect(&c, '{');
    if (peek(&c, '}')) return 0;
    do {
        char *key = parse_string(&c);
        expect(&c, ':');
        if (!key) break;
        if (strcmp(key, "__metadata__") == 0) { free(key); skip_value(&c); continue; }
        st_tensor t;
        memset(&t, 0, sizeof t);
        t.name = key;
        int64_t begin = -1, end = -1;
        expect(&c, '{');
        do {
            char *field = parse_string(&c);
            expect(&c, ':');
            if (!field) break;
            if (strcmp(field, "dtype") == 0) {
                char *d = parse_string(&c);
                t.dtype = d ? dtype_named(d) : (modeltree_dtype_t)0;
                free(d);
            } else if (strcmp(field, "shape") == 0) {
                expect(&c, '[');
                if (!peek(&c, ']')) {
                    do {
                        int64_t v = parse_int(&c);
                        if (t.ndim < ST_MAX_NDIM) t.shape[t.ndim] = v;
                        t.ndim++;
                    } while (!c.failed && peek(&c, ',') && c.p++);
                }
                expect(&c, ']');
            } else if (strcmp(field, "data_offsets") == 0) {
                expect(&c, '[');
                begin = parse_int(&c);
                expect(&c, ',');
                end = parse_int(&c);
                expect(&c, ']');
            } else {
                skip_value(&c);
            }
            free(field);
        } while (!c.failed && peek(&c, ',') && c.p++);
        expect(&c, '}');
        if (c.failed || t.ndim > ST_MAX_NDIM || begin < 0 || end < begin ||
            (uint64_t)end > (uint64_t)size - 8 - n) {
            fprintf(stderr, "st: bad entry '%s' in %s\n", key, path);
            free(key);
            return -1;
        }
        if (st_dtype_size(t.dtype) == 0) { free(key); continue; } /* not a float tensor: skip */
        t.data = data + begin;
        t.nbytes = (size_t)(end - begin);
        m->tensors = realloc(m->tensors, (m->count + 1) * sizeof *m->tensors);
        m->tensors[m->count++] = t;
    } while (!c.failed && peek(&c, ',') && c.p++);
    expect(&c, '}');
    if (c.failed) { fprintf(stderr, "st: malformed header in %s\n", path); return -1; }
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int st_model_read(st_model *out, const char *id, const char *path) {
    memset(out, 0, sizeof *out);
    out->id = strdup(id);
    struct stat sb;
    if (stat(path, &sb) != 0) { fprintf(stderr, "st: no such path %s\n", path); return -1; }
    if (!S_ISDIR(sb.st_mode)) return read_file(out, path);
    DIR *d = opendir(path);
    if (!d) return -1;
    char *names[256];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 256)
        if (ends_with(e->d_name, ".safetensors")) names[count++] = strdup(e->d_name);
    closedir(d);
    qsort(names, count, sizeof *names, by_name);
    int rc = count ? 0 : -1;
    for (size_t i = 0; i < count; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, names[i]);
        if (rc == 0) rc = read_file(out, file);
        free(names[i]);
    }
    return rc;
}

void st_model_free(st_model *m) {
    for (size_t i = 0; i < m->count; i++) free(m->tensors[i].name);
    for (size_t i = 0; i < m->buffer_count; i++) free(m->buffers[i]);
    free(m->tensors);
    free(m->buffers);
    free(m->id);
    memset(m, 0, sizeof *m);
}

int st_write(const char *path, const st_tensor *tensors, size_t count) {
    size_t cap = 256 + count * 256, len = 0, offset = 0;
    char *header = malloc(cap);
    len += (size_t)snprintf(header + len, cap - len, "{");
    for (size_t i = 0; i < count; i++) {
        const st_tensor *t = &tensors[i];
        len += (size_t)snprintf(header + len, cap - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                                i ? "," : "", t->name, dtype_name(t->dtype));
        for (size_t k = 0; k < t->ndim; k++)
            len += (size_t)snprintf(header + len, cap - len, "%s%lld", k ? "," : "", (long long)t->shape[k]);
        len += (size_t)snprintf(header + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", offset,
                                offset + t->nbytes);
        offset += t->nbytes;
    }
    len += (size_t)snprintf(header + len, cap - len, "}");
    while (len % 8) header[len++] = ' '; /* the format pads the header to 8 bytes */
    FILE *f = fopen(path, "wb");
    if (!f) { free(header); return -1; }
    unsigned char n[8];
    for (int i = 0; i < 8; i++) n[i] = (unsigned char)((uint64_t)len >> (8 * i));
    int ok = fwrite(n, 1, 8, f) == 8 && fwrite(header, 1, len, f) == len;
    for (size_t i = 0; ok && i < count; i++)
        ok = fwrite(tensors[i].data, 1, tensors[i].nbytes, f) == tensors[i].nbytes;
    ok = (fclose(f) == 0) && ok;
    free(header);
    return ok ? 0 : -1;
}
