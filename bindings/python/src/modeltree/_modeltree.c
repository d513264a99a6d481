/*
 * _modeltree — the raw layer of the Python package: one method per function of
 * include/modeltree.h, nothing more. Conversions of numpy/torch arrays, option names and results
 * live in the Python layers above (modeltree._collection, modeltree._graph).
 *
 * Three types own the C handles: Collection (modeltree_collection_t), Graph (modeltree_graph_t)
 * and Score (modeltree_score_t). Each has close() and is a context manager; dealloc closes too.
 *
 * Memory lent to the library: Collection.add_tensor takes any C-contiguous buffer (numpy, torch
 * via numpy, memoryview, bytes …), holds the Py_buffer (and so a reference to its exporter) until
 * the collection is freed, and hands the library the buffer's own pointer: no copy is made.
 *
 * Recovery releases the GIL. The progress callback runs on the same thread (the header promises
 * it), re-acquires the GIL, calls the Python callable if any, and checks for signals, so Ctrl-C
 * cancels: the callback returns non-zero, modeltree_recover returns MODELTREE_CANCELLED, and the
 * pending exception (KeyboardInterrupt, or whatever the callable raised) is re-raised. A Python
 * callable cancels by raising (modeltree.CancelledError, say); its return value is ignored.
 *
 * Errors: a failing status raises the class modeltree._errors.STATUS_ERRORS[status] with the
 * library's thread-local message (modeltree_last_error_message).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "modeltree.h"

/* modeltree._errors.STATUS_ERRORS, a tuple indexed by status; and its fallback ModelTreeError. */
static PyObject *status_errors = NULL;
static PyObject *base_error = NULL;

/* Raises the exception of a failing status with the calling thread's last error message. */
static PyObject *raise_status(modeltree_status_t status) {
    const char *message = modeltree_last_error_message();
    if (message == NULL || message[0] == '\0') message = modeltree_status_string(status);
    PyObject *cls = base_error;
    int code = (int)status; /* a status this build does not know raises the base class */
    if (code >= 0 && code < PyTuple_GET_SIZE(status_errors)) {
        PyObject *item = PyTuple_GET_ITEM(status_errors, code);
        if (item != Py_None) cls = item;
    }
    PyErr_SetString(cls, message);
    return NULL;
}

static PyObject *closed_error(const char *what) {
    PyErr_Format(PyExc_ValueError, "operation on a closed %s", what);
    return NULL;
}

/* ============================================================================================
 * Collection
 * ========================================================================================== */

typedef struct {
    PyObject_HEAD
    modeltree_collection_t *handle;
    /* Buffers lent to the library, released after modeltree_collection_free. */
    Py_buffer *views;
    Py_ssize_t view_count, view_capacity;
    /* Recoveries running with the GIL released; close() while > 0 is deferred to the last one. */
    int busy;
    /* An add_path running with the GIL released (it needs the collection to itself). */
    int adding;
    int close_pending;
} CollectionObject;

static void collection_release(CollectionObject *self) {
    modeltree_collection_free(self->handle);
    self->handle = NULL;
    for (Py_ssize_t k = 0; k < self->view_count; k++) PyBuffer_Release(&self->views[k]);
    PyMem_Free(self->views);
    self->views = NULL;
    self->view_count = self->view_capacity = 0;
    self->close_pending = 0;
}

static PyObject *Collection_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, ":Collection", kwlist)) return NULL;
    CollectionObject *self = (CollectionObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    modeltree_status_t status = modeltree_collection_create(&self->handle);
    if (status != MODELTREE_OK) {
        Py_DECREF(self);
        return raise_status(status);
    }
    return (PyObject *)self;
}

static void Collection_dealloc(CollectionObject *self) {
    collection_release(self); /* busy is 0 here: a running recover holds a reference */
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Fails unless the collection is open and not being recovered (modification needs exclusivity). */
static int collection_writable(CollectionObject *self) {
    if (self->handle == NULL || self->close_pending) {
        closed_error("Collection");
        return 0;
    }
    if (self->busy || self->adding) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the collection is in use by another thread; it cannot change meanwhile");
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(Collection_close_doc,
"close()\n--\n\n"
"modeltree_collection_free: frees the collection and releases the buffers lent to it. Graphs\n"
"recovered from it stay valid. Idempotent; deferred to the end of a recovery running in\n"
"another thread.");
static PyObject *Collection_close(CollectionObject *self, PyObject *Py_UNUSED(ignored)) {
    if (self->busy || self->adding) self->close_pending = 1;
    else collection_release(self);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Collection_add_path_doc,
"add_path(model_id, path)\n--\n\n"
"modeltree_collection_add_path: adds the model(s) stored at path (str or None for model_id).");
static PyObject *Collection_add_path(CollectionObject *self, PyObject *args) {
    const char *model_id = NULL;
    PyObject *path = NULL;
    if (!PyArg_ParseTuple(args, "zO&:add_path", &model_id, PyUnicode_FSConverter, &path)) return NULL;
    if (!collection_writable(self)) {
        Py_DECREF(path);
        return NULL;
    }
    modeltree_status_t status;
    /* Reading and validating headers may take a while: let other threads run. The busy flag
     * keeps this thread the collection's only user meanwhile. */
    self->adding = 1;
    Py_BEGIN_ALLOW_THREADS
    status = modeltree_collection_add_path(self->handle, model_id, PyBytes_AS_STRING(path));
    Py_END_ALLOW_THREADS
    self->adding = 0;
    if (self->close_pending) collection_release(self);
    Py_DECREF(path);
    if (status != MODELTREE_OK) return raise_status(status);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Collection_add_tensor_doc,
"add_tensor(model_id, tensor_name, dtype, shape, data)\n--\n\n"
"modeltree_collection_add_tensor: lends the bytes of data (any C-contiguous buffer) to the\n"
"collection without copying them; dtype is a DTYPE_* constant, shape a sequence of ints.\n"
"The buffer is held (and its exporter kept alive) until the collection is closed.");
static PyObject *Collection_add_tensor(CollectionObject *self, PyObject *args) {
    const char *model_id, *tensor_name;
    int dtype;
    PyObject *shape_obj, *data;
    if (!PyArg_ParseTuple(args, "ssiOO:add_tensor", &model_id, &tensor_name, &dtype, &shape_obj, &data))
        return NULL;
    if (!collection_writable(self)) return NULL;

    PyObject *shape_seq = PySequence_Fast(shape_obj, "shape must be a sequence of ints");
    if (shape_seq == NULL) return NULL;
    Py_ssize_t ndim = PySequence_Fast_GET_SIZE(shape_seq);
    if (ndim > MODELTREE_MAX_NDIM) {
        Py_DECREF(shape_seq);
        PyErr_Format(PyExc_ValueError, "shape has %zd dimensions; at most %d are supported", ndim,
                     MODELTREE_MAX_NDIM);
        return NULL;
    }
    int64_t shape[MODELTREE_MAX_NDIM];
    for (Py_ssize_t k = 0; k < ndim; k++) {
        long long v = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(shape_seq, k));
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(shape_seq);
            return NULL;
        }
        shape[k] = (int64_t)v;
    }
    Py_DECREF(shape_seq);

    if (self->view_count == self->view_capacity) {
        Py_ssize_t capacity = self->view_capacity ? 2 * self->view_capacity : 16;
        Py_buffer *views = PyMem_Realloc(self->views, (size_t)capacity * sizeof(Py_buffer));
        if (views == NULL) return PyErr_NoMemory();
        self->views = views;
        self->view_capacity = capacity;
    }
    Py_buffer *view = &self->views[self->view_count];
    /* C-contiguous, read-only is fine: the library never writes. No copy is made here. */
    if (PyObject_GetBuffer(data, view, PyBUF_C_CONTIGUOUS) < 0) return NULL;

    modeltree_status_t status = modeltree_collection_add_tensor(
        self->handle, model_id, tensor_name, (modeltree_dtype_t)dtype, ndim ? shape : NULL,
        (size_t)ndim, view->buf, (size_t)view->len);
    if (status != MODELTREE_OK) {
        PyBuffer_Release(view);
        return raise_status(status);
    }
    self->view_count++;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Collection_model_count_doc,
"model_count()\n--\n\nmodeltree_collection_model_count (0 once closed).");
static PyObject *Collection_model_count(CollectionObject *self, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromSize_t(modeltree_collection_model_count(self->handle));
}

PyDoc_STRVAR(Collection_lent_doc,
"_lent()\n--\n\n"
"The (address, length) of every buffer lent to the library, in the order added (for tests that\n"
"check that no copy was made).");
static PyObject *Collection_lent(CollectionObject *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *list = PyList_New(self->view_count);
    if (list == NULL) return NULL;
    for (Py_ssize_t k = 0; k < self->view_count; k++) {
        PyObject *item = Py_BuildValue("(Kn)", (unsigned long long)(uintptr_t)self->views[k].buf,
                                       self->views[k].len);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, k, item);
    }
    return list;
}

static PyObject *Collection_enter(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    return Py_NewRef(self);
}

static PyObject *Collection_exit(CollectionObject *self, PyObject *Py_UNUSED(args)) {
    return Collection_close(self, NULL);
}

static PyObject *Collection_get_closed(CollectionObject *self, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(self->handle == NULL || self->close_pending);
}

static PyMethodDef Collection_methods[] = {
    {"close", (PyCFunction)Collection_close, METH_NOARGS, Collection_close_doc},
    {"add_path", (PyCFunction)Collection_add_path, METH_VARARGS, Collection_add_path_doc},
    {"add_tensor", (PyCFunction)Collection_add_tensor, METH_VARARGS, Collection_add_tensor_doc},
    {"model_count", (PyCFunction)Collection_model_count, METH_NOARGS, Collection_model_count_doc},
    {"_lent", (PyCFunction)Collection_lent, METH_NOARGS, Collection_lent_doc},
    {"__enter__", (PyCFunction)Collection_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Collection_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Collection_getset[] = {
    {"closed", (getter)Collection_get_closed, NULL, "Whether close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CollectionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "modeltree._modeltree.Collection",
    .tp_doc = PyDoc_STR("Collection()\n--\n\nOwns a modeltree_collection_t (modeltree_collection_create)."),
    .tp_basicsize = sizeof(CollectionObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Collection_new,
    .tp_dealloc = (destructor)Collection_dealloc,
    .tp_methods = Collection_methods,
    .tp_getset = Collection_getset,
};

/* ============================================================================================
 * Graph
 * ========================================================================================== */

typedef struct {
    PyObject_HEAD
    modeltree_graph_t *handle;
} GraphObject;

static PyTypeObject GraphType;

static void Graph_dealloc(GraphObject *self) {
    modeltree_graph_free(self->handle);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(Graph_close_doc, "close()\n--\n\nmodeltree_graph_free. Idempotent.");
static PyObject *Graph_close(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    modeltree_graph_free(self->handle);
    self->handle = NULL;
    Py_RETURN_NONE;
}

/* The accessors below check for a closed graph and an index out of range themselves, so that
 * Python gets an exception instead of the C API's sentinel values. */
#define GRAPH_OPEN(self)                                        \
    do {                                                        \
        if ((self)->handle == NULL) return closed_error("Graph"); \
    } while (0)

static int index_arg(PyObject *arg, size_t count, const char *what, size_t *out) {
    Py_ssize_t i = PyNumber_AsSsize_t(arg, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred()) return 0;
    if (i < 0 || (size_t)i >= count) {
        PyErr_Format(PyExc_IndexError, "%s index %zd out of range (0..%zu)", what, i, count);
        return 0;
    }
    *out = (size_t)i;
    return 1;
}

static PyObject *str_or_none(const char *s) {
    if (s == NULL) Py_RETURN_NONE;
    return PyUnicode_FromString(s);
}

#define MODEL_INDEX(self, arg, i) \
    GRAPH_OPEN(self);             \
    size_t i;                     \
    if (!index_arg(arg, modeltree_graph_model_count((self)->handle), "model", &i)) return NULL

#define TREE_INDEX(self, arg, t) \
    GRAPH_OPEN(self);            \
    size_t t;                    \
    if (!index_arg(arg, modeltree_graph_tree_count((self)->handle), "tree", &t)) return NULL

static PyObject *Graph_model_count(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    GRAPH_OPEN(self);
    return PyLong_FromSize_t(modeltree_graph_model_count(self->handle));
}
static PyObject *Graph_model_id(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return str_or_none(modeltree_graph_model_id(self->handle, i));
}
static PyObject *Graph_find(GraphObject *self, PyObject *arg) {
    GRAPH_OPEN(self);
    const char *id = PyUnicode_AsUTF8(arg);
    if (id == NULL) return NULL;
    return PyLong_FromLongLong(modeltree_graph_find(self->handle, id));
}
static PyObject *Graph_model_path(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return str_or_none(modeltree_graph_model_path(self->handle, i));
}
static PyObject *Graph_model_kurtosis(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyFloat_FromDouble(modeltree_graph_model_kurtosis(self->handle, i));
}
static PyObject *Graph_parent(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyLong_FromLongLong(modeltree_graph_parent(self->handle, i));
}
static PyObject *Graph_duplicate_of(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyLong_FromLongLong(modeltree_graph_duplicate_of(self->handle, i));
}
static PyObject *Graph_model_latent(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyBool_FromLong(modeltree_graph_model_latent(self->handle, i));
}
static PyObject *Graph_edge_layer_count(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyLong_FromSize_t(modeltree_graph_edge_layer_count(self->handle, i));
}
/* modeltree_graph_edge_layers as a flat tuple (child layer, parent layer, ...); () without a map. */
static PyObject *Graph_edge_layers(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    size_t n = modeltree_graph_edge_layers(self->handle, i, NULL, 0);
    int64_t *pairs = PyMem_Malloc((2 * n + 1) * sizeof *pairs);
    if (pairs == NULL) return PyErr_NoMemory();
    size_t got = modeltree_graph_edge_layers(self->handle, i, pairs, n);
    if (got > n) got = n;
    PyObject *out = PyTuple_New((Py_ssize_t)(2 * got));
    for (size_t k = 0; out != NULL && k < 2 * got; k++) {
        PyObject *v = PyLong_FromLongLong(pairs[k]);
        if (v == NULL) { Py_CLEAR(out); break; }
        PyTuple_SET_ITEM(out, (Py_ssize_t)k, v);
    }
    PyMem_Free(pairs);
    return out;
}
static PyObject *Graph_edge_distance(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyFloat_FromDouble(modeltree_graph_edge_distance(self->handle, i));
}
static PyObject *Graph_edge_confidence(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyFloat_FromDouble(modeltree_graph_edge_confidence(self->handle, i));
}
static PyObject *Graph_edge_unsure(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyBool_FromLong(modeltree_graph_edge_unsure(self->handle, i));
}

PyDoc_STRVAR(Graph_distances_doc,
"distances(out=None)\n--\n\n"
"modeltree_graph_distances: with out=None returns the number of doubles (n * n); with a\n"
"writable C-contiguous buffer of at least that many bytes * 8, fills it (row-major) and\n"
"returns the number.");
static PyObject *Graph_distances(GraphObject *self, PyObject *args) {
    PyObject *out = Py_None;
    if (!PyArg_ParseTuple(args, "|O:distances", &out)) return NULL;
    GRAPH_OPEN(self);
    if (out == Py_None) return PyLong_FromSize_t(modeltree_graph_distances(self->handle, NULL, 0));
    Py_buffer view;
    if (PyObject_GetBuffer(out, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return NULL;
    size_t needed = modeltree_graph_distances(self->handle, NULL, 0);
    if ((size_t)view.len < needed * sizeof(double)) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError, "out holds %zd bytes; the matrix needs %zu", view.len,
                     needed * sizeof(double));
        return NULL;
    }
    size_t n = modeltree_graph_distances(self->handle, (double *)view.buf, (size_t)view.len / sizeof(double));
    PyBuffer_Release(&view);
    return PyLong_FromSize_t(n);
}

static PyObject *Graph_metric(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    GRAPH_OPEN(self);
    return PyLong_FromLong((long)modeltree_graph_metric(self->handle));
}
static PyObject *Graph_tree_count(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    GRAPH_OPEN(self);
    return PyLong_FromSize_t(modeltree_graph_tree_count(self->handle));
}
static PyObject *Graph_tree_root(GraphObject *self, PyObject *arg) {
    TREE_INDEX(self, arg, t);
    return PyLong_FromLongLong(modeltree_graph_tree_root(self->handle, t));
}
static PyObject *Graph_tree_of(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyLong_FromLongLong(modeltree_graph_tree_of(self->handle, i));
}
static PyObject *Graph_tree_direction(GraphObject *self, PyObject *arg) {
    TREE_INDEX(self, arg, t);
    return PyLong_FromLong((long)modeltree_graph_tree_direction(self->handle, t));
}
static PyObject *Graph_tree_direction_unsure(GraphObject *self, PyObject *arg) {
    TREE_INDEX(self, arg, t);
    return PyBool_FromLong(modeltree_graph_tree_direction_unsure(self->handle, t));
}
static PyObject *Graph_tensor_count(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    GRAPH_OPEN(self);
    return PyLong_FromSize_t(modeltree_graph_tensor_count(self->handle));
}
static PyObject *Graph_tensor_name(GraphObject *self, PyObject *arg) {
    GRAPH_OPEN(self);
    size_t k;
    if (!index_arg(arg, modeltree_graph_tensor_count(self->handle), "tensor", &k)) return NULL;
    return str_or_none(modeltree_graph_tensor_name(self->handle, k));
}
static PyObject *Graph_warning_count(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    GRAPH_OPEN(self);
    return PyLong_FromSize_t(modeltree_graph_warning_count(self->handle));
}
static PyObject *Graph_warning(GraphObject *self, PyObject *arg) {
    GRAPH_OPEN(self);
    size_t k;
    if (!index_arg(arg, modeltree_graph_warning_count(self->handle), "warning", &k)) return NULL;
    return str_or_none(modeltree_graph_warning(self->handle, k));
}

PyDoc_STRVAR(Graph_to_json_doc,
"to_json()\n--\n\nmodeltree_graph_to_json: the CLI's JSON document, as str.");
static PyObject *Graph_to_json(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    GRAPH_OPEN(self);
    char *json = NULL;
    modeltree_status_t status = modeltree_graph_to_json(&json, self->handle);
    if (status != MODELTREE_OK) return raise_status(status);
    PyObject *result = PyUnicode_FromString(json);
    modeltree_string_free(json);
    return result;
}

/* The bulk accessors: one call of FUNCTION each, returned as a tuple of n values. */
#define BULK(METHOD, FUNCTION, CTYPE, FROM)                                               \
    static PyObject *METHOD(GraphObject *self, PyObject *Py_UNUSED(ignored)) {          \
        GRAPH_OPEN(self);                                                                 \
        size_t n = FUNCTION(self->handle, NULL, 0);                                       \
        CTYPE *values = PyMem_Malloc((n ? n : 1) * sizeof(CTYPE));                        \
        if (values == NULL) return PyErr_NoMemory();                                      \
        FUNCTION(self->handle, values, n);                                                \
        PyObject *tuple = PyTuple_New((Py_ssize_t)n);                                     \
        for (size_t i = 0; tuple != NULL && i < n; i++) {                                 \
            PyObject *item = FROM(values[i]);                                             \
            if (item == NULL) {                                                           \
                Py_CLEAR(tuple);                                                          \
                break;                                                                    \
            }                                                                             \
            PyTuple_SET_ITEM(tuple, (Py_ssize_t)i, item);                                 \
        }                                                                                 \
        PyMem_Free(values);                                                               \
        return tuple;                                                                     \
    }
static PyObject *bool_from(bool b) { return PyBool_FromLong(b); }
static PyObject *type_from(modeltree_edge_type_t t) { return PyLong_FromLong((long)t); }
BULK(Graph_parents, modeltree_graph_parents, int64_t, PyLong_FromLongLong)
BULK(Graph_edge_distances, modeltree_graph_edge_distances, double, PyFloat_FromDouble)
BULK(Graph_edge_confidences, modeltree_graph_edge_confidences, double, PyFloat_FromDouble)
BULK(Graph_edges_unsure, modeltree_graph_edges_unsure, bool, bool_from)
BULK(Graph_edge_types, modeltree_graph_edge_types, modeltree_edge_type_t, type_from)
BULK(Graph_model_trees, modeltree_graph_model_trees, int64_t, PyLong_FromLongLong)
#undef BULK

/* Every relation by edge index (modeltree_graph_edge_count and the modeltree_graph_edge_*_at
 * family): a tuple of (parent, child, type, distance, confidence, unsure, coefficient,
 * residual_ratio, raw_confidence), coefficient and residual_ratio NaN except for a merge's edges. */
static PyObject *Graph_edges(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    GRAPH_OPEN(self);
    size_t n = modeltree_graph_edge_count(self->handle);
    PyObject *tuple = PyTuple_New((Py_ssize_t)n);
    for (size_t e = 0; tuple != NULL && e < n; e++) {
        const modeltree_graph_t *g = self->handle;
        PyObject *item = Py_BuildValue("(LLiddNddd)", (long long)modeltree_graph_edge_parent(g, e),
                                       (long long)modeltree_graph_edge_child(g, e), (int)modeltree_graph_edge_type(g, e),
                                       modeltree_graph_edge_distance_at(g, e), modeltree_graph_edge_confidence_at(g, e),
                                       PyBool_FromLong(modeltree_graph_edge_unsure_at(g, e)),
                                       modeltree_graph_edge_coefficient(g, e), modeltree_graph_edge_residual_ratio(g, e),
                                       modeltree_graph_edge_raw_confidence(g, e));
        if (item == NULL) {
            Py_CLEAR(tuple);
            break;
        }
        PyTuple_SET_ITEM(tuple, (Py_ssize_t)e, item);
    }
    return tuple;
}

/* modeltree_graph_audit_* of every claim: a tuple of (model, source, claimed, relation or None,
 * verdict, recovered, evidence, confidence). */
static PyObject *Graph_audit(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    GRAPH_OPEN(self);
    size_t n = modeltree_graph_audit_count(self->handle);
    PyObject *tuple = PyTuple_New((Py_ssize_t)n);
    for (size_t k = 0; tuple != NULL && k < n; k++) {
        PyObject *relation = str_or_none(modeltree_graph_audit_relation(self->handle, k));
        PyObject *item = relation == NULL ? NULL : Py_BuildValue(
            "(LssNiLsd)", (long long)modeltree_graph_audit_model(self->handle, k), modeltree_graph_audit_source(self->handle, k),
            modeltree_graph_audit_claimed(self->handle, k), relation, (int)modeltree_graph_audit_verdict(self->handle, k),
            (long long)modeltree_graph_audit_recovered(self->handle, k), modeltree_graph_audit_evidence(self->handle, k),
            modeltree_graph_audit_confidence(self->handle, k));
        if (item == NULL) {
            Py_CLEAR(tuple);
            break;
        }
        PyTuple_SET_ITEM(tuple, (Py_ssize_t)k, item);
    }
    return tuple;
}
static PyObject *Graph_model_unclaimed(GraphObject *self, PyObject *arg) {
    MODEL_INDEX(self, arg, i);
    return PyBool_FromLong(modeltree_graph_model_unclaimed(self->handle, i));
}

static PyObject *Graph_unsure_threshold(GraphObject *self, PyObject *Py_UNUSED(ignored)) {
    GRAPH_OPEN(self);
    return PyFloat_FromDouble(modeltree_graph_unsure_threshold(self->handle));
}

static PyTypeObject ScoreType;

typedef struct {
    PyObject_HEAD
    modeltree_score_t *handle;
} ScoreObject;

PyDoc_STRVAR(Graph_render_doc,
"render(format, score=None)\n--\n\n"
"modeltree_graph_render: the graph as the CLI prints it in format (a FORMAT_* value), with\n"
"score (a Score of this graph) or without one, as str.");
static PyObject *Graph_render(GraphObject *self, PyObject *args) {
    int format;
    PyObject *score = Py_None;
    if (!PyArg_ParseTuple(args, "i|O:render", &format, &score)) return NULL;
    GRAPH_OPEN(self);
    const modeltree_score_t *s = NULL;
    if (score != Py_None) {
        if (!PyObject_TypeCheck(score, &ScoreType)) {
            PyErr_SetString(PyExc_TypeError, "score must be a Score or None");
            return NULL;
        }
        s = ((ScoreObject *)score)->handle;
        if (s == NULL) return closed_error("Score");
    }
    char *text = NULL;
    modeltree_status_t status = modeltree_graph_render(&text, self->handle, (modeltree_format_t)format, s);
    if (status != MODELTREE_OK) return raise_status(status);
    PyObject *result = PyUnicode_FromString(text);
    modeltree_string_free(text);
    return result;
}

/* Wraps a new score handle, or raises the failed status. */
static PyObject *score_result(modeltree_status_t status, modeltree_score_t *handle) {
    if (status != MODELTREE_OK) return raise_status(status);
    ScoreObject *score = PyObject_New(ScoreObject, &ScoreType);
    if (score == NULL) {
        modeltree_score_free(handle);
        return NULL;
    }
    score->handle = handle;
    return (PyObject *)score;
}

PyDoc_STRVAR(Graph_evaluate_file_doc,
"evaluate_file(path)\n--\n\nmodeltree_graph_evaluate_file: the graph scored against a truth file; a Score.");
static PyObject *Graph_evaluate_file(GraphObject *self, PyObject *arg) {
    GRAPH_OPEN(self);
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    modeltree_score_t *out = NULL;
    modeltree_status_t status = modeltree_graph_evaluate_file(&out, self->handle, PyBytes_AS_STRING(path));
    Py_DECREF(path);
    return score_result(status, out);
}

PyDoc_STRVAR(Graph_evaluate_json_doc,
"evaluate_json(document)\n--\n\nmodeltree_graph_evaluate_json: the graph scored against a truth given as a\n"
"JSON document (str); a Score.");
static PyObject *Graph_evaluate_json(GraphObject *self, PyObject *arg) {
    GRAPH_OPEN(self);
    const char *document = PyUnicode_AsUTF8(arg);
    if (document == NULL) return NULL;
    modeltree_score_t *out = NULL;
    modeltree_status_t status = modeltree_graph_evaluate_json(&out, self->handle, document);
    return score_result(status, out);
}

static int string_array(PyObject *seq, const char *what, PyObject **keep, const char ***out, size_t *count);

PyDoc_STRVAR(Graph_evaluate_doc,
"evaluate(parents, children, roots=())\n--\n\nmodeltree_graph_evaluate: the graph scored against true edges\n"
"parents[k] -> children[k] and true roots (sequences of str); a Score.");
static PyObject *Graph_evaluate(GraphObject *self, PyObject *args) {
    PyObject *parents, *children, *roots = Py_None;
    if (!PyArg_ParseTuple(args, "OO|O:evaluate", &parents, &children, &roots)) return NULL;
    GRAPH_OPEN(self);
    PyObject *keep[3] = {NULL, NULL, NULL};
    const char **arrays[3] = {NULL, NULL, NULL};
    size_t counts[3] = {0, 0, 0};
    PyObject *result = NULL;
    if (string_array(parents, "parents", &keep[0], &arrays[0], &counts[0]) &&
        string_array(children, "children", &keep[1], &arrays[1], &counts[1]) &&
        string_array(roots, "roots", &keep[2], &arrays[2], &counts[2])) {
        if (counts[0] != counts[1]) {
            PyErr_Format(PyExc_ValueError, "%zu parents for %zu children", counts[0], counts[1]);
        } else {
            modeltree_score_t *out = NULL;
            modeltree_status_t status = modeltree_graph_evaluate(&out, self->handle, arrays[0], arrays[1], counts[0],
                                                                 arrays[2], counts[2]);
            result = score_result(status, out);
        }
    }
    for (int k = 0; k < 3; k++) {
        Py_XDECREF(keep[k]);
        PyMem_Free(arrays[k]);
    }
    return result;
}

static PyObject *Graph_enter(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    return Py_NewRef(self);
}
static PyObject *Graph_exit(GraphObject *self, PyObject *Py_UNUSED(args)) {
    return Graph_close(self, NULL);
}
static PyObject *Graph_get_closed(GraphObject *self, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(self->handle == NULL);
}

static PyMethodDef Graph_methods[] = {
    {"close", (PyCFunction)Graph_close, METH_NOARGS, Graph_close_doc},
    {"model_count", (PyCFunction)Graph_model_count, METH_NOARGS, "modeltree_graph_model_count"},
    {"model_id", (PyCFunction)Graph_model_id, METH_O, "modeltree_graph_model_id"},
    {"find", (PyCFunction)Graph_find, METH_O, "modeltree_graph_find (-1: no such id)"},
    {"model_path", (PyCFunction)Graph_model_path, METH_O, "modeltree_graph_model_path (None: from memory)"},
    {"model_kurtosis", (PyCFunction)Graph_model_kurtosis, METH_O, "modeltree_graph_model_kurtosis"},
    {"parent", (PyCFunction)Graph_parent, METH_O, "modeltree_graph_parent (-1: a root)"},
    {"duplicate_of", (PyCFunction)Graph_duplicate_of, METH_O, "modeltree_graph_duplicate_of (-1: no copy)"},
    {"model_latent", (PyCFunction)Graph_model_latent, METH_O, "modeltree_graph_model_latent"},
    {"edge_layer_count", (PyCFunction)Graph_edge_layer_count, METH_O, "modeltree_graph_edge_layer_count"},
    {"edge_layers", (PyCFunction)Graph_edge_layers, METH_O, "modeltree_graph_edge_layers as a flat tuple (child, parent, ...)"},
    {"edge_distance", (PyCFunction)Graph_edge_distance, METH_O, "modeltree_graph_edge_distance"},
    {"edge_confidence", (PyCFunction)Graph_edge_confidence, METH_O, "modeltree_graph_edge_confidence"},
    {"edge_unsure", (PyCFunction)Graph_edge_unsure, METH_O, "modeltree_graph_edge_unsure"},
    {"distances", (PyCFunction)Graph_distances, METH_VARARGS, Graph_distances_doc},
    {"metric", (PyCFunction)Graph_metric, METH_NOARGS, "modeltree_graph_metric"},
    {"tree_count", (PyCFunction)Graph_tree_count, METH_NOARGS, "modeltree_graph_tree_count"},
    {"tree_root", (PyCFunction)Graph_tree_root, METH_O, "modeltree_graph_tree_root"},
    {"tree_of", (PyCFunction)Graph_tree_of, METH_O, "modeltree_graph_tree_of"},
    {"tree_direction", (PyCFunction)Graph_tree_direction, METH_O, "modeltree_graph_tree_direction"},
    {"tree_direction_unsure", (PyCFunction)Graph_tree_direction_unsure, METH_O,
     "modeltree_graph_tree_direction_unsure"},
    {"tensor_count", (PyCFunction)Graph_tensor_count, METH_NOARGS, "modeltree_graph_tensor_count"},
    {"tensor_name", (PyCFunction)Graph_tensor_name, METH_O, "modeltree_graph_tensor_name"},
    {"warning_count", (PyCFunction)Graph_warning_count, METH_NOARGS, "modeltree_graph_warning_count"},
    {"warning", (PyCFunction)Graph_warning, METH_O, "modeltree_graph_warning"},
    {"to_json", (PyCFunction)Graph_to_json, METH_NOARGS, Graph_to_json_doc},
    {"parents", (PyCFunction)Graph_parents, METH_NOARGS, "modeltree_graph_parents() as a tuple (-1: a root)"},
    {"edge_distances", (PyCFunction)Graph_edge_distances, METH_NOARGS, "modeltree_graph_edge_distances() as a tuple"},
    {"edge_confidences", (PyCFunction)Graph_edge_confidences, METH_NOARGS, "modeltree_graph_edge_confidences() as a tuple"},
    {"edges_unsure", (PyCFunction)Graph_edges_unsure, METH_NOARGS, "modeltree_graph_edges_unsure() as a tuple"},
    {"edge_types", (PyCFunction)Graph_edge_types, METH_NOARGS, "modeltree_graph_edge_types() as a tuple (EDGE_* values)"},
    {"edges", (PyCFunction)Graph_edges, METH_NOARGS,
     "every relation (modeltree_graph_edge_count, modeltree_graph_edge_parent ... _residual_ratio) as a tuple of "
     "(parent, child, type, distance, confidence, unsure, coefficient, residual_ratio)"},
    {"model_trees", (PyCFunction)Graph_model_trees, METH_NOARGS, "modeltree_graph_model_trees() as a tuple"},
    {"unsure_threshold", (PyCFunction)Graph_unsure_threshold, METH_NOARGS, "modeltree_graph_unsure_threshold"},
    {"audit", (PyCFunction)Graph_audit, METH_NOARGS,
     "modeltree_graph_audit_* as a tuple of (model, source, claimed, relation, verdict, recovered, evidence, confidence)"},
    {"model_unclaimed", (PyCFunction)Graph_model_unclaimed, METH_O, "modeltree_graph_model_unclaimed"},
    {"render", (PyCFunction)Graph_render, METH_VARARGS, Graph_render_doc},
    {"evaluate_file", (PyCFunction)Graph_evaluate_file, METH_O, Graph_evaluate_file_doc},
    {"evaluate_json", (PyCFunction)Graph_evaluate_json, METH_O, Graph_evaluate_json_doc},
    {"evaluate", (PyCFunction)Graph_evaluate, METH_VARARGS, Graph_evaluate_doc},
    {"__enter__", (PyCFunction)Graph_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Graph_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Graph_getset[] = {
    {"closed", (getter)Graph_get_closed, NULL, "Whether close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject GraphType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "modeltree._modeltree.Graph",
    .tp_doc = PyDoc_STR("Owns a modeltree_graph_t; made by recover()."),
    .tp_basicsize = sizeof(GraphObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Graph_dealloc,
    .tp_methods = Graph_methods,
    .tp_getset = Graph_getset,
};

/* ============================================================================================
 * Score
 * ========================================================================================== */

static void Score_dealloc(ScoreObject *self) {
    modeltree_score_free(self->handle);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Score_close(ScoreObject *self, PyObject *Py_UNUSED(ignored)) {
    modeltree_score_free(self->handle);
    self->handle = NULL;
    Py_RETURN_NONE;
}

#define SCORE_OPEN(self) \
    do { if ((self)->handle == NULL) return closed_error("Score"); } while (0)

static PyObject *Score_correct(ScoreObject *self, PyObject *Py_UNUSED(i)) {
    SCORE_OPEN(self);
    return PyLong_FromSize_t(modeltree_score_correct(self->handle));
}
static PyObject *Score_total(ScoreObject *self, PyObject *Py_UNUSED(i)) {
    SCORE_OPEN(self);
    return PyLong_FromSize_t(modeltree_score_total(self->handle));
}
static PyObject *Score_accuracy(ScoreObject *self, PyObject *Py_UNUSED(i)) {
    SCORE_OPEN(self);
    return PyFloat_FromDouble(modeltree_score_accuracy(self->handle));
}
static PyObject *Score_ari(ScoreObject *self, PyObject *Py_UNUSED(i)) {
    SCORE_OPEN(self);
    return PyFloat_FromDouble(modeltree_score_ari(self->handle));
}
static PyObject *Score_typed(ScoreObject *self, PyObject *Py_UNUSED(i)) {
    SCORE_OPEN(self);
    size_t correct = 0, truth = 0, reported = 0;
    double f1 = modeltree_score_typed(self->handle, &correct, &truth, &reported);
    return Py_BuildValue("(nnnd)", (Py_ssize_t)correct, (Py_ssize_t)truth, (Py_ssize_t)reported, f1);
}
static PyObject *Score_audit(ScoreObject *self, PyObject *Py_UNUSED(i)) {
    SCORE_OPEN(self);
    size_t correct = 0, total = 0, unclaimed_correct = 0, unclaimed_total = 0;
    double accuracy = modeltree_score_audit(self->handle, &correct, &total, &unclaimed_correct, &unclaimed_total);
    return Py_BuildValue("(nnnnd)", (Py_ssize_t)correct, (Py_ssize_t)total, (Py_ssize_t)unclaimed_correct,
                         (Py_ssize_t)unclaimed_total, accuracy);
}
static PyObject *Score_type_recall(ScoreObject *self, PyObject *arg) {
    SCORE_OPEN(self);
    const char *type = PyUnicode_AsUTF8(arg);
    if (type == NULL) return NULL;
    size_t correct = 0, total = 0;
    double recall = modeltree_score_type_recall(self->handle, type, &correct, &total);
    return Py_BuildValue("(nnd)", (Py_ssize_t)correct, (Py_ssize_t)total, recall);
}
static PyObject *Score_tree_count(ScoreObject *self, PyObject *Py_UNUSED(i)) {
    SCORE_OPEN(self);
    return PyLong_FromSize_t(modeltree_score_tree_count(self->handle));
}
static PyObject *Score_tree_root(ScoreObject *self, PyObject *arg) {
    SCORE_OPEN(self);
    size_t t;
    if (!index_arg(arg, modeltree_score_tree_count(self->handle), "tree", &t)) return NULL;
    return str_or_none(modeltree_score_tree_root(self->handle, t));
}

PyDoc_STRVAR(Score_trees_doc,
"trees()\n--\n\nmodeltree_score_trees: per true tree, (correct, total, accuracy), in one call.");
static PyObject *Score_trees(ScoreObject *self, PyObject *Py_UNUSED(i)) {
    SCORE_OPEN(self);
    size_t n = modeltree_score_trees(self->handle, NULL, NULL, NULL, 0);
    size_t *correct = PyMem_Malloc((n ? n : 1) * sizeof(size_t)), *total = PyMem_Malloc((n ? n : 1) * sizeof(size_t));
    double *accuracy = PyMem_Malloc((n ? n : 1) * sizeof(double));
    PyObject *result = NULL;
    if (correct && total && accuracy) {
        modeltree_score_trees(self->handle, correct, total, accuracy, n);
        result = PyTuple_New((Py_ssize_t)n);
        for (size_t t = 0; result != NULL && t < n; t++) {
            PyObject *item = Py_BuildValue("(nnd)", (Py_ssize_t)correct[t], (Py_ssize_t)total[t], accuracy[t]);
            if (item == NULL) Py_CLEAR(result);
            else PyTuple_SET_ITEM(result, (Py_ssize_t)t, item);
        }
    } else {
        PyErr_NoMemory();
    }
    PyMem_Free(correct);
    PyMem_Free(total);
    PyMem_Free(accuracy);
    return result;
}

static PyObject *Score_enter(PyObject *self, PyObject *Py_UNUSED(ignored)) { return Py_NewRef(self); }
static PyObject *Score_exit(ScoreObject *self, PyObject *Py_UNUSED(args)) { return Score_close(self, NULL); }
static PyObject *Score_get_closed(ScoreObject *self, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(self->handle == NULL);
}

static PyMethodDef Score_methods[] = {
    {"close", (PyCFunction)Score_close, METH_NOARGS, "modeltree_score_free. Idempotent."},
    {"correct", (PyCFunction)Score_correct, METH_NOARGS, "modeltree_score_correct"},
    {"total", (PyCFunction)Score_total, METH_NOARGS, "modeltree_score_total"},
    {"accuracy", (PyCFunction)Score_accuracy, METH_NOARGS, "modeltree_score_accuracy"},
    {"ari", (PyCFunction)Score_ari, METH_NOARGS, "modeltree_score_ari"},
    {"typed", (PyCFunction)Score_typed, METH_NOARGS, "modeltree_score_typed: (correct, truth, reported, f1)"},
    {"type_recall", (PyCFunction)Score_type_recall, METH_O, "modeltree_score_type_recall: (correct, total, recall)"},
    {"audit", (PyCFunction)Score_audit, METH_NOARGS,
     "modeltree_score_audit: (correct, total, unclaimed_correct, unclaimed_total, accuracy)"},
    {"tree_count", (PyCFunction)Score_tree_count, METH_NOARGS, "modeltree_score_tree_count"},
    {"tree_root", (PyCFunction)Score_tree_root, METH_O, "modeltree_score_tree_root"},
    {"trees", (PyCFunction)Score_trees, METH_NOARGS, Score_trees_doc},
    {"__enter__", (PyCFunction)Score_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Score_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Score_getset[] = {
    {"closed", (getter)Score_get_closed, NULL, "Whether close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ScoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "modeltree._modeltree.Score",
    .tp_doc = PyDoc_STR("Owns a modeltree_score_t; made by Graph.evaluate*()."),
    .tp_basicsize = sizeof(ScoreObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Score_dealloc,
    .tp_methods = Score_methods,
    .tp_getset = Score_getset,
};

/* ============================================================================================
 * recover
 * ========================================================================================== */

typedef struct {
    PyObject *callable;       /* borrowed; may be NULL */
    PyThreadState *thread;    /* the caller's, saved while the GIL is released */
    PyObject *exc_type, *exc_value, *exc_tb; /* what stopped the recovery, if anything */
} ProgressState;

/* Runs on the thread that called modeltree_recover, with the GIL released. */
static int32_t progress_trampoline(double fraction, const char *stage, void *user_data) {
    ProgressState *state = user_data;
    if (state->exc_type != NULL) return 1; /* already cancelled: keep the first exception */
    PyEval_RestoreThread(state->thread);
    int32_t stop = 0;
    if (state->callable != NULL) {
        /* The result is ignored (tqdm's update() returns True when it redraws): only an
         * exception cancels. */
        PyObject *result = PyObject_CallFunction(state->callable, "ds", fraction, stage);
        if (result == NULL) stop = 1;
        Py_XDECREF(result);
    }
    if (!stop && PyErr_CheckSignals() < 0) stop = 1; /* Ctrl-C: KeyboardInterrupt is pending */
    if (PyErr_Occurred()) PyErr_Fetch(&state->exc_type, &state->exc_value, &state->exc_tb);
    state->thread = PyEval_SaveThread();
    return stop;
}

/* Converts a sequence of str into a NULL-free array of UTF-8 pointers kept alive by *keep. */
static int string_array(PyObject *seq, const char *what, PyObject **keep, const char ***out, size_t *count) {
    *keep = NULL;
    *out = NULL;
    *count = 0;
    if (seq == NULL || seq == Py_None) return 1;
    char message[96];
    snprintf(message, sizeof message, "%s must be a sequence of str", what);
    PyObject *fast = PySequence_Fast(seq, message);
    if (fast == NULL) return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    const char **array = PyMem_Calloc((size_t)n + 1, sizeof(char *));
    if (array == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return 0;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, k);
        if (!PyUnicode_Check(item)) {
            PyErr_Format(PyExc_TypeError, "%s[%zd] must be str, not %.100s", what, k, Py_TYPE(item)->tp_name);
            PyMem_Free(array);
            Py_DECREF(fast);
            return 0;
        }
        array[k] = PyUnicode_AsUTF8(item); /* cached in the str object, alive while fast is */
        if (array[k] == NULL) {
            PyMem_Free(array);
            Py_DECREF(fast);
            return 0;
        }
    }
    *keep = fast;
    *out = array;
    *count = (size_t)n;
    return 1;
}

PyDoc_STRVAR(recover_doc,
"recover(collection, *, metric=None, direction=None, lam=None, trees=None, include=None,\n"
"        exclude=None, progress=None, threads=None, max_models=None, memory_budget=None)\n--\n\n"
"modeltree_recover with options from modeltree_options_init, overridden by every argument that\n"
"is not None (metric and direction: METRIC_* / DIRECTION_* values; include/exclude: sequences\n"
"of glob str; the integers as modeltree_options_t has them, 0 meaning unset). The library\n"
"validates the values. progress(fraction, stage) is called on this thread; its result is\n"
"ignored, and an exception it raises cancels the recovery and is re-raised. The GIL is released\n"
"meanwhile; Ctrl-C cancels and raises KeyboardInterrupt. Returns a Graph.");

/* Sets *out from an int argument that is not None, checking it fits `max`. */
static int unsigned_arg(PyObject *value, const char *name, unsigned long long max, unsigned long long *out) {
    if (value == Py_None) return 1;
    unsigned long long v = PyLong_AsUnsignedLongLong(value);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) return 0;
    if (v > max) {
        PyErr_Format(PyExc_OverflowError, "%s is %llu, more than %llu", name, v, max);
        return 0;
    }
    *out = v;
    return 1;
}
static PyObject *mt_recover(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"collection", "metric", "direction", "lam", "trees", "include",
                             "exclude", "progress", "threads", "max_models", "memory_budget", NULL};
    CollectionObject *collection;
    PyObject *metric = Py_None, *direction = Py_None, *lam = Py_None, *trees = Py_None;
    PyObject *include = Py_None, *exclude = Py_None, *progress = Py_None;
    PyObject *threads = Py_None, *max_models = Py_None, *memory_budget = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!|$OOOOOOOOOO:recover", kwlist, &CollectionType,
                                     &collection, &metric, &direction, &lam, &trees, &include,
                                     &exclude, &progress, &threads, &max_models, &memory_budget))
        return NULL;
    if (collection->handle == NULL || collection->close_pending) return closed_error("Collection");
    if (collection->adding) {
        PyErr_SetString(PyExc_RuntimeError, "the collection is being changed by another thread");
        return NULL;
    }

    modeltree_options_t opts;
    modeltree_options_init(&opts);
    if (metric != Py_None) {
        long v = PyLong_AsLong(metric);
        if (v == -1 && PyErr_Occurred()) return NULL;
        opts.metric = (modeltree_metric_t)v;
    }
    if (direction != Py_None) {
        long v = PyLong_AsLong(direction);
        if (v == -1 && PyErr_Occurred()) return NULL;
        opts.direction = (modeltree_direction_t)v;
    }
    if (lam != Py_None) {
        opts.lambda = PyFloat_AsDouble(lam);
        if (opts.lambda == -1.0 && PyErr_Occurred()) return NULL;
    }
    unsigned long long v32[3] = {opts.trees, opts.threads, opts.max_models}, budget = opts.memory_budget;
    if (!unsigned_arg(trees, "trees", UINT32_MAX, &v32[0]) || !unsigned_arg(threads, "threads", UINT32_MAX, &v32[1]) ||
        !unsigned_arg(max_models, "max_models", UINT32_MAX, &v32[2]) ||
        !unsigned_arg(memory_budget, "memory_budget", UINT64_MAX, &budget))
        return NULL;
    opts.trees = (uint32_t)v32[0];
    opts.threads = (uint32_t)v32[1];
    opts.max_models = (uint32_t)v32[2];
    opts.memory_budget = (uint64_t)budget;
    if (progress != Py_None && !PyCallable_Check(progress)) {
        PyErr_SetString(PyExc_TypeError, "progress must be callable or None");
        return NULL;
    }

    PyObject *keep_include, *keep_exclude;
    const char **include_array, **exclude_array;
    if (!string_array(include, "include", &keep_include, &include_array, &opts.include_count)) return NULL;
    if (!string_array(exclude, "exclude", &keep_exclude, &exclude_array, &opts.exclude_count)) {
        Py_XDECREF(keep_include);
        PyMem_Free(include_array);
        return NULL;
    }
    opts.include = include_array;
    opts.exclude = exclude_array;

    /* Always installed, even without a callable: it is how Ctrl-C reaches the library. */
    ProgressState state = {progress == Py_None ? NULL : progress, NULL, NULL, NULL, NULL};
    opts.progress = progress_trampoline;
    opts.user_data = &state;

    GraphObject *graph = PyObject_New(GraphObject, &GraphType);
    if (graph == NULL) {
        Py_XDECREF(keep_include);
        Py_XDECREF(keep_exclude);
        PyMem_Free(include_array);
        PyMem_Free(exclude_array);
        return NULL;
    }
    graph->handle = NULL;

    Py_INCREF(collection);
    collection->busy++;
    state.thread = PyEval_SaveThread();
    modeltree_status_t status = modeltree_recover(&graph->handle, collection->handle, &opts);
    PyEval_RestoreThread(state.thread);
    collection->busy--;
    if (collection->busy == 0 && collection->close_pending) collection_release(collection);
    Py_DECREF(collection);

    Py_XDECREF(keep_include);
    Py_XDECREF(keep_exclude);
    PyMem_Free(include_array);
    PyMem_Free(exclude_array);

    if (state.exc_type != NULL) {
        /* The callable raised, or a signal handler did (KeyboardInterrupt): that wins. */
        Py_DECREF(graph);
        PyErr_Restore(state.exc_type, state.exc_value, state.exc_tb);
        return NULL;
    }
    if (status != MODELTREE_OK) {
        Py_DECREF(graph);
        return raise_status(status);
    }
    return (PyObject *)graph;
}

/* ============================================================================================
 * Hub index: Signature, Parents, IndexEntries, Index
 * ========================================================================================== */

typedef struct {
    PyObject_HEAD
    modeltree_signature_t *handle;
} SignatureObject;

typedef struct {
    PyObject_HEAD
    modeltree_parents_t *handle;
} ParentsObject;

typedef struct {
    PyObject_HEAD
    modeltree_index_entries_t *handle;
} EntriesObject;

typedef struct {
    PyObject_HEAD
    modeltree_index_t *handle;
    int busy; /* a call running with the GIL released: the handle is one thread's at a time */
} IndexObject;

static PyTypeObject SignatureType, ParentsType, EntriesType, IndexType;

/* The owning side of an immutable result handle: Name_result wraps a call's status and handle
 * into a new object (freeing the handle if the object cannot be made), and dealloc, close and the
 * context manager free it once. */
#define RESULT_TYPE(Name, Object, handle_t, free_fn)                                        \
    static PyObject *Name##_result(modeltree_status_t status, handle_t *handle) {           \
        if (status != MODELTREE_OK) return raise_status(status);                            \
        Object *o = PyObject_New(Object, &Name##Type);                                      \
        if (o == NULL) {                                                                    \
            free_fn(handle);                                                                \
            return NULL;                                                                    \
        }                                                                                   \
        o->handle = handle;                                                                 \
        return (PyObject *)o;                                                               \
    }                                                                                       \
    static void Name##_dealloc(Object *self) {                                              \
        free_fn(self->handle);                                                              \
        Py_TYPE(self)->tp_free((PyObject *)self);                                           \
    }                                                                                       \
    static PyObject *Name##_close(Object *self, PyObject *Py_UNUSED(i)) {                   \
        free_fn(self->handle);                                                              \
        self->handle = NULL;                                                                \
        Py_RETURN_NONE;                                                                     \
    }                                                                                       \
    static PyObject *Name##_enter(PyObject *self, PyObject *Py_UNUSED(i)) { return Py_NewRef(self); } \
    static PyObject *Name##_exit(Object *self, PyObject *Py_UNUSED(a)) { return Name##_close(self, NULL); }

/* Each header function is called by name (a test reads this file for the calls). */
static void free_signature(modeltree_signature_t *h) { modeltree_signature_free(h); }
static void free_parents(modeltree_parents_t *h) { modeltree_parents_free(h); }
static void free_entries(modeltree_index_entries_t *h) { modeltree_index_entries_free(h); }
RESULT_TYPE(Signature, SignatureObject, modeltree_signature_t, free_signature)
RESULT_TYPE(Parents, ParentsObject, modeltree_parents_t, free_parents)
RESULT_TYPE(Entries, EntriesObject, modeltree_index_entries_t, free_entries)

/* Fills index options from keyword arguments that are not None (0 keeps the library's default). */
static int index_options(modeltree_index_options_t *o, PyObject *busy, PyObject *threads, PyObject *k, PyObject *coarse,
                         PyObject *rows, PyObject *cols, PyObject *hits) {
    modeltree_index_options_init(o);
    unsigned long long v[7] = {o->busy_timeout_ms, o->threads, o->distance_buckets, o->coarse_buckets,
                               o->rank_rows, o->rank_columns, o->rank_hits};
    PyObject *args[7] = {busy, threads, k, coarse, rows, cols, hits};
    static const char *const names[7] = {"busy_timeout_ms", "threads", "distance_buckets", "coarse_buckets",
                                         "rank_rows", "rank_columns", "rank_hits"};
    for (int i = 0; i < 7; i++)
        if (!unsigned_arg(args[i], names[i], UINT32_MAX, &v[i])) return 0;
    o->busy_timeout_ms = (uint32_t)v[0];
    o->threads = (uint32_t)v[1];
    o->distance_buckets = (uint32_t)v[2];
    o->coarse_buckets = (uint32_t)v[3];
    o->rank_rows = (uint32_t)v[4];
    o->rank_columns = (uint32_t)v[5];
    o->rank_hits = (uint32_t)v[6];
    return 1;
}

/* Fills recovery options (metric, direction, lambda, threads) from arguments that are not None. */
static int query_options(modeltree_options_t *o, PyObject *metric, PyObject *direction, PyObject *lam, PyObject *threads) {
    modeltree_options_init(o);
    if (metric != Py_None) {
        long v = PyLong_AsLong(metric);
        if (v == -1 && PyErr_Occurred()) return 0;
        o->metric = (modeltree_metric_t)v;
    }
    if (direction != Py_None) {
        long v = PyLong_AsLong(direction);
        if (v == -1 && PyErr_Occurred()) return 0;
        o->direction = (modeltree_direction_t)v;
    }
    if (lam != Py_None) {
        o->lambda = PyFloat_AsDouble(lam);
        if (o->lambda == -1.0 && PyErr_Occurred()) return 0;
    }
    unsigned long long t = o->threads;
    if (!unsigned_arg(threads, "threads", UINT32_MAX, &t)) return 0;
    o->threads = (uint32_t)t;
    return 1;
}

/* ---- Signature --------------------------------------------------------------------------- */

#define SIGNATURE_OPEN(self) if ((self)->handle == NULL) return closed_error("Signature")
static PyObject *Signature_model_id(SignatureObject *self, PyObject *Py_UNUSED(i)) {
    SIGNATURE_OPEN(self);
    return str_or_none(modeltree_signature_model_id(self->handle));
}
static PyObject *Signature_hash(SignatureObject *self, PyObject *Py_UNUSED(i)) {
    SIGNATURE_OPEN(self);
    return PyLong_FromUnsignedLongLong(modeltree_signature_hash(self->handle));
}
PyDoc_STRVAR(Signature_serialize_doc, "serialize()\n--\n\nmodeltree_signature_serialize: the portable bytes.");
static PyObject *Signature_serialize(SignatureObject *self, PyObject *Py_UNUSED(i)) {
    SIGNATURE_OPEN(self);
    void *bytes = NULL;
    size_t size = 0;
    modeltree_status_t status = modeltree_signature_serialize(&bytes, &size, self->handle);
    if (status != MODELTREE_OK) return raise_status(status);
    PyObject *out = PyBytes_FromStringAndSize(bytes, (Py_ssize_t)size);
    modeltree_bytes_free(bytes);
    return out;
}
static PyObject *Signature_get_closed(SignatureObject *self, void *Py_UNUSED(c)) { return PyBool_FromLong(self->handle == NULL); }
static PyMethodDef Signature_methods[] = {
    {"close", (PyCFunction)Signature_close, METH_NOARGS, "modeltree_signature_free. Idempotent."},
    {"model_id", (PyCFunction)Signature_model_id, METH_NOARGS, "modeltree_signature_model_id"},
    {"hash", (PyCFunction)Signature_hash, METH_NOARGS, "modeltree_signature_hash"},
    {"serialize", (PyCFunction)Signature_serialize, METH_NOARGS, Signature_serialize_doc},
    {"__enter__", Signature_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Signature_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static PyGetSetDef Signature_getset[] = {{"closed", (getter)Signature_get_closed, NULL, NULL, NULL}, {NULL, NULL, NULL, NULL, NULL}};
static PyTypeObject SignatureType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "modeltree._modeltree.Signature",
    .tp_doc = PyDoc_STR("Owns a modeltree_signature_t; made by signature_compute(), signature_deserialize() or Index.signature()."),
    .tp_basicsize = sizeof(SignatureObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Signature_dealloc,
    .tp_methods = Signature_methods,
    .tp_getset = Signature_getset,
};

PyDoc_STRVAR(signature_compute_doc,
"signature_compute(collection, model_id, *, threads=None, distance_buckets=None, coarse_buckets=None,\n"
"                  rank_rows=None, rank_columns=None, rank_hits=None)\n--\n\n"
"modeltree_signature_compute: the signature of one model of the collection (GIL released).");
static PyObject *mt_signature_compute(PyObject *Py_UNUSED(m), PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"collection", "model_id", "threads", "distance_buckets", "coarse_buckets", "rank_rows",
                             "rank_columns", "rank_hits", NULL};
    CollectionObject *collection;
    const char *model_id;
    PyObject *threads = Py_None, *k = Py_None, *coarse = Py_None, *rows = Py_None, *cols = Py_None, *hits = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!s|$OOOOOO:signature_compute", kwlist, &CollectionType, &collection,
                                     &model_id, &threads, &k, &coarse, &rows, &cols, &hits))
        return NULL;
    if (collection->handle == NULL || collection->close_pending) return closed_error("Collection");
    modeltree_index_options_t o;
    if (!index_options(&o, Py_None, threads, k, coarse, rows, cols, hits)) return NULL;
    modeltree_signature_t *handle = NULL;
    modeltree_status_t status;
    Py_INCREF(collection);
    collection->busy++;
    Py_BEGIN_ALLOW_THREADS
    status = modeltree_signature_compute(&handle, collection->handle, model_id, &o);
    Py_END_ALLOW_THREADS
    collection->busy--;
    if (collection->busy == 0 && collection->close_pending) collection_release(collection);
    Py_DECREF(collection);
    return Signature_result(status, handle);
}

PyDoc_STRVAR(signature_deserialize_doc,
"signature_deserialize(data)\n--\n\nmodeltree_signature_deserialize: a Signature from its bytes (any buffer).");
static PyObject *mt_signature_deserialize(PyObject *Py_UNUSED(m), PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    modeltree_signature_t *handle = NULL;
    modeltree_status_t status = modeltree_signature_deserialize(&handle, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return Signature_result(status, handle);
}

/* ---- Parents ----------------------------------------------------------------------------- */

#define PARENTS_OPEN(self) if ((self)->handle == NULL) return closed_error("Parents")
#define CANDIDATE_INDEX(self, arg, k) \
    PARENTS_OPEN(self);               \
    size_t k;                         \
    if (!index_arg(arg, modeltree_parents_count((self)->handle), "candidate", &k)) return NULL
static PyObject *Parents_model_id(ParentsObject *self, PyObject *Py_UNUSED(i)) { PARENTS_OPEN(self); return str_or_none(modeltree_parents_model_id(self->handle)); }
static PyObject *Parents_indexed(ParentsObject *self, PyObject *Py_UNUSED(i)) { PARENTS_OPEN(self); return PyBool_FromLong(modeltree_parents_indexed(self->handle)); }
static PyObject *Parents_count(ParentsObject *self, PyObject *Py_UNUSED(i)) { PARENTS_OPEN(self); return PyLong_FromSize_t(modeltree_parents_count(self->handle)); }
static PyObject *Parents_id(ParentsObject *self, PyObject *arg) { CANDIDATE_INDEX(self, arg, k); return str_or_none(modeltree_parents_id(self->handle, k)); }
static PyObject *Parents_type(ParentsObject *self, PyObject *arg) { CANDIDATE_INDEX(self, arg, k); return PyLong_FromLong((long)modeltree_parents_type(self->handle, k)); }
static PyObject *Parents_distance(ParentsObject *self, PyObject *arg) { CANDIDATE_INDEX(self, arg, k); return PyFloat_FromDouble(modeltree_parents_distance(self->handle, k)); }
static PyObject *Parents_confidence(ParentsObject *self, PyObject *arg) { CANDIDATE_INDEX(self, arg, k); return PyFloat_FromDouble(modeltree_parents_confidence(self->handle, k)); }
static PyObject *Parents_unsure(ParentsObject *self, PyObject *arg) { CANDIDATE_INDEX(self, arg, k); return PyBool_FromLong(modeltree_parents_unsure(self->handle, k)); }
static PyObject *Parents_metric(ParentsObject *self, PyObject *Py_UNUSED(i)) { PARENTS_OPEN(self); return PyLong_FromLong((long)modeltree_parents_metric(self->handle)); }
static PyObject *Parents_relatives(ParentsObject *self, PyObject *Py_UNUSED(i)) { PARENTS_OPEN(self); return PyLong_FromSize_t(modeltree_parents_relatives(self->handle)); }
static PyObject *Parents_duplicate_count(ParentsObject *self, PyObject *Py_UNUSED(i)) { PARENTS_OPEN(self); return PyLong_FromSize_t(modeltree_parents_duplicate_count(self->handle)); }
static PyObject *Parents_duplicate(ParentsObject *self, PyObject *arg) {
    PARENTS_OPEN(self);
    size_t k;
    if (!index_arg(arg, modeltree_parents_duplicate_count(self->handle), "duplicate", &k)) return NULL;
    return str_or_none(modeltree_parents_duplicate(self->handle, k));
}
static PyMethodDef Parents_methods[] = {
    {"close", (PyCFunction)Parents_close, METH_NOARGS, "modeltree_parents_free. Idempotent."},
    {"model_id", (PyCFunction)Parents_model_id, METH_NOARGS, "modeltree_parents_model_id"},
    {"indexed", (PyCFunction)Parents_indexed, METH_NOARGS, "modeltree_parents_indexed"},
    {"count", (PyCFunction)Parents_count, METH_NOARGS, "modeltree_parents_count"},
    {"id", (PyCFunction)Parents_id, METH_O, "modeltree_parents_id"},
    {"type", (PyCFunction)Parents_type, METH_O, "modeltree_parents_type"},
    {"distance", (PyCFunction)Parents_distance, METH_O, "modeltree_parents_distance"},
    {"confidence", (PyCFunction)Parents_confidence, METH_O, "modeltree_parents_confidence"},
    {"unsure", (PyCFunction)Parents_unsure, METH_O, "modeltree_parents_unsure"},
    {"metric", (PyCFunction)Parents_metric, METH_NOARGS, "modeltree_parents_metric"},
    {"relatives", (PyCFunction)Parents_relatives, METH_NOARGS, "modeltree_parents_relatives"},
    {"duplicate_count", (PyCFunction)Parents_duplicate_count, METH_NOARGS, "modeltree_parents_duplicate_count"},
    {"duplicate", (PyCFunction)Parents_duplicate, METH_O, "modeltree_parents_duplicate"},
    {"__enter__", Parents_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Parents_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static PyTypeObject ParentsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "modeltree._modeltree.Parents",
    .tp_doc = PyDoc_STR("Owns a modeltree_parents_t; made by Index.parent()."),
    .tp_basicsize = sizeof(ParentsObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Parents_dealloc,
    .tp_methods = Parents_methods,
};

/* ---- IndexEntries ------------------------------------------------------------------------ */

#define ENTRY_INDEX(self, arg, i)                                                       \
    if ((self)->handle == NULL) return closed_error("IndexEntries");                    \
    size_t i;                                                                           \
    if (!index_arg(arg, modeltree_index_entries_count((self)->handle), "entry", &i)) return NULL
static PyObject *Entries_count(EntriesObject *self, PyObject *Py_UNUSED(i)) {
    if (self->handle == NULL) return closed_error("IndexEntries");
    return PyLong_FromSize_t(modeltree_index_entries_count(self->handle));
}
static PyObject *Entries_id(EntriesObject *self, PyObject *arg) { ENTRY_INDEX(self, arg, i); return str_or_none(modeltree_index_entries_id(self->handle, i)); }
static PyObject *Entries_path(EntriesObject *self, PyObject *arg) { ENTRY_INDEX(self, arg, i); return str_or_none(modeltree_index_entries_path(self->handle, i)); }
static PyObject *Entries_format(EntriesObject *self, PyObject *arg) { ENTRY_INDEX(self, arg, i); return str_or_none(modeltree_index_entries_format(self->handle, i)); }
static PyObject *Entries_family(EntriesObject *self, PyObject *arg) { ENTRY_INDEX(self, arg, i); return PyLong_FromLongLong(modeltree_index_entries_family(self->handle, i)); }
static PyObject *Entries_state(EntriesObject *self, PyObject *arg) { ENTRY_INDEX(self, arg, i); return PyLong_FromLong((long)modeltree_index_entries_state(self->handle, i)); }
static PyObject *Entries_detail(EntriesObject *self, PyObject *arg) { ENTRY_INDEX(self, arg, i); return str_or_none(modeltree_index_entries_detail(self->handle, i)); }
static PyMethodDef Entries_methods[] = {
    {"close", (PyCFunction)Entries_close, METH_NOARGS, "modeltree_index_entries_free. Idempotent."},
    {"count", (PyCFunction)Entries_count, METH_NOARGS, "modeltree_index_entries_count"},
    {"id", (PyCFunction)Entries_id, METH_O, "modeltree_index_entries_id"},
    {"path", (PyCFunction)Entries_path, METH_O, "modeltree_index_entries_path"},
    {"format", (PyCFunction)Entries_format, METH_O, "modeltree_index_entries_format"},
    {"family", (PyCFunction)Entries_family, METH_O, "modeltree_index_entries_family"},
    {"state", (PyCFunction)Entries_state, METH_O, "modeltree_index_entries_state"},
    {"detail", (PyCFunction)Entries_detail, METH_O, "modeltree_index_entries_detail"},
    {"__enter__", Entries_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Entries_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static PyTypeObject EntriesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "modeltree._modeltree.IndexEntries",
    .tp_doc = PyDoc_STR("Owns a modeltree_index_entries_t; made by Index.list() and Index.verify()."),
    .tp_basicsize = sizeof(EntriesObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Entries_dealloc,
    .tp_methods = Entries_methods,
};

/* ---- Index ------------------------------------------------------------------------------- */

static PyObject *Index_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"path", "busy_timeout_ms", "threads", "distance_buckets", "coarse_buckets", "rank_rows",
                             "rank_columns", "rank_hits", NULL};
    PyObject *path = NULL;
    PyObject *busy = Py_None, *threads = Py_None, *k = Py_None, *coarse = Py_None, *rows = Py_None, *cols = Py_None, *hits = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O&|$OOOOOOO:Index", kwlist, PyUnicode_FSConverter, &path, &busy, &threads,
                                     &k, &coarse, &rows, &cols, &hits))
        return NULL;
    modeltree_index_options_t o;
    if (!index_options(&o, busy, threads, k, coarse, rows, cols, hits)) {
        Py_DECREF(path);
        return NULL;
    }
    IndexObject *self = (IndexObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        Py_DECREF(path);
        return NULL;
    }
    modeltree_status_t status;
    Py_BEGIN_ALLOW_THREADS
    status = modeltree_index_open(&self->handle, PyBytes_AS_STRING(path), &o);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (status != MODELTREE_OK) {
        Py_DECREF(self);
        return raise_status(status);
    }
    return (PyObject *)self;
}
static void Index_dealloc(IndexObject *self) {
    modeltree_index_close(self->handle);
    Py_TYPE(self)->tp_free((PyObject *)self);
}
/* Fails unless the index is open and not in use by another thread. */
static int index_usable(IndexObject *self) {
    if (self->handle == NULL) {
        closed_error("Index");
        return 0;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the index is in use by another thread (one thread at a time per Index)");
        return 0;
    }
    return 1;
}
static PyObject *Index_close(IndexObject *self, PyObject *Py_UNUSED(i)) {
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the index is in use by another thread");
        return NULL;
    }
    modeltree_index_close(self->handle);
    self->handle = NULL;
    Py_RETURN_NONE;
}
/* Runs `call` on the index with the GIL released, the index marked busy meanwhile. */
#define INDEX_CALL(self, status, call)  \
    do {                                \
        (self)->busy = 1;               \
        Py_BEGIN_ALLOW_THREADS          \
        status = (call);                \
        Py_END_ALLOW_THREADS            \
        (self)->busy = 0;               \
    } while (0)

PyDoc_STRVAR(Index_options_doc,
"options()\n--\n\nmodeltree_index_get_options: a dict of the index's options and sketch sizes.");
static PyObject *Index_options(IndexObject *self, PyObject *Py_UNUSED(i)) {
    if (!index_usable(self)) return NULL;
    modeltree_index_options_t o;
    modeltree_status_t status = modeltree_index_get_options(&o, self->handle);
    if (status != MODELTREE_OK) return raise_status(status);
    return Py_BuildValue("{sIsIsIsIsIsIsI}", "busy_timeout_ms", o.busy_timeout_ms, "threads", o.threads,
                         "distance_buckets", o.distance_buckets, "coarse_buckets", o.coarse_buckets, "rank_rows", o.rank_rows,
                         "rank_columns", o.rank_columns, "rank_hits", o.rank_hits);
}
static PyObject *Index_add_path(IndexObject *self, PyObject *args) {
    const char *model_id = NULL;
    PyObject *path = NULL;
    if (!PyArg_ParseTuple(args, "zO&:add_path", &model_id, PyUnicode_FSConverter, &path)) return NULL;
    if (!index_usable(self)) { Py_DECREF(path); return NULL; }
    modeltree_status_t status;
    char *notes = NULL;
    /* One model by id has nothing to note; a folder's unread entries come back as notes. */
    if (model_id)
        INDEX_CALL(self, status, modeltree_index_add_path(self->handle, model_id, PyBytes_AS_STRING(path)));
    else
        INDEX_CALL(self, status, modeltree_index_add_path_noted(self->handle, NULL, PyBytes_AS_STRING(path), &notes));
    Py_DECREF(path);
    if (status != MODELTREE_OK) return raise_status(status);
    if (!notes) Py_RETURN_NONE;
    PyObject *text = PyUnicode_DecodeUTF8(notes, (Py_ssize_t)strlen(notes), "replace");
    modeltree_string_free(notes);
    return text;
}
static PyObject *Index_add_collection(IndexObject *self, PyObject *arg) {
    if (!PyObject_TypeCheck(arg, &CollectionType)) {
        PyErr_SetString(PyExc_TypeError, "add_collection takes a Collection");
        return NULL;
    }
    CollectionObject *collection = (CollectionObject *)arg;
    if (collection->handle == NULL || collection->close_pending) return closed_error("Collection");
    if (!index_usable(self)) return NULL;
    modeltree_status_t status;
    Py_INCREF(collection);
    collection->busy++;
    INDEX_CALL(self, status, modeltree_index_add_collection(self->handle, collection->handle));
    collection->busy--;
    if (collection->busy == 0 && collection->close_pending) collection_release(collection);
    Py_DECREF(collection);
    if (status != MODELTREE_OK) return raise_status(status);
    Py_RETURN_NONE;
}
static PyObject *Index_add_signature(IndexObject *self, PyObject *args) {
    SignatureObject *sig;
    const char *model_id = NULL;
    if (!PyArg_ParseTuple(args, "O!z:add_signature", &SignatureType, &sig, &model_id)) return NULL;
    if (sig->handle == NULL) return closed_error("Signature");
    if (!index_usable(self)) return NULL;
    modeltree_status_t status;
    INDEX_CALL(self, status, modeltree_index_add_signature(self->handle, sig->handle, model_id));
    if (status != MODELTREE_OK) return raise_status(status);
    Py_RETURN_NONE;
}
static PyObject *Index_remove(IndexObject *self, PyObject *args) {
    const char *model_id;
    if (!PyArg_ParseTuple(args, "s:remove", &model_id)) return NULL;
    if (!index_usable(self)) return NULL;
    modeltree_status_t status;
    INDEX_CALL(self, status, modeltree_index_remove(self->handle, model_id));
    if (status != MODELTREE_OK) return raise_status(status);
    Py_RETURN_NONE;
}
static PyObject *Index_model_count(IndexObject *self, PyObject *Py_UNUSED(i)) {
    if (!index_usable(self)) return NULL;
    size_t n = 0;
    modeltree_status_t status = modeltree_index_model_count(&n, self->handle);
    if (status != MODELTREE_OK) return raise_status(status);
    return PyLong_FromSize_t(n);
}
static PyObject *Index_signature(IndexObject *self, PyObject *args) {
    const char *model_id;
    if (!PyArg_ParseTuple(args, "s:signature", &model_id)) return NULL;
    if (!index_usable(self)) return NULL;
    modeltree_signature_t *handle = NULL;
    modeltree_status_t status;
    INDEX_CALL(self, status, modeltree_index_signature(&handle, self->handle, model_id));
    return Signature_result(status, handle);
}
static PyObject *Index_list(IndexObject *self, PyObject *Py_UNUSED(i)) {
    if (!index_usable(self)) return NULL;
    modeltree_index_entries_t *handle = NULL;
    modeltree_status_t status;
    INDEX_CALL(self, status, modeltree_index_list(&handle, self->handle));
    return Entries_result(status, handle);
}
static PyObject *Index_verify(IndexObject *self, PyObject *Py_UNUSED(i)) {
    if (!index_usable(self)) return NULL;
    modeltree_index_entries_t *handle = NULL;
    modeltree_status_t status;
    INDEX_CALL(self, status, modeltree_index_verify(&handle, self->handle));
    return Entries_result(status, handle);
}
PyDoc_STRVAR(Index_parent_doc,
"parent(model, alternatives=3, *, metric=None, direction=None, lam=None)\n--\n\n"
"modeltree_index_parent (model: an indexed id) or modeltree_index_parent_of_signature (model:\n"
"a Signature).");
static PyObject *Index_parent(IndexObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"model", "alternatives", "metric", "direction", "lam", NULL};
    PyObject *model;
    Py_ssize_t alternatives = 3;
    PyObject *metric = Py_None, *direction = Py_None, *lam = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|n$OOO:parent", kwlist, &model, &alternatives, &metric, &direction, &lam))
        return NULL;
    if (alternatives < 0) {
        PyErr_SetString(PyExc_ValueError, "alternatives must be >= 0");
        return NULL;
    }
    modeltree_options_t o;
    if (!query_options(&o, metric, direction, lam, Py_None)) return NULL;
    if (!index_usable(self)) return NULL;
    modeltree_parents_t *handle = NULL;
    modeltree_status_t status;
    if (PyObject_TypeCheck(model, &SignatureType)) {
        SignatureObject *sig = (SignatureObject *)model;
        if (sig->handle == NULL) return closed_error("Signature");
        INDEX_CALL(self, status, modeltree_index_parent_of_signature(&handle, self->handle, sig->handle, (size_t)alternatives, &o));
    } else {
        const char *id = PyUnicode_Check(model) ? PyUnicode_AsUTF8(model) : NULL;
        if (id == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "parent takes an indexed model id (str) or a Signature");
            return NULL;
        }
        INDEX_CALL(self, status, modeltree_index_parent(&handle, self->handle, id, (size_t)alternatives, &o));
    }
    return Parents_result(status, handle);
}
PyDoc_STRVAR(Index_graph_doc,
"graph(*, metric=None, direction=None, lam=None, progress=None)\n--\n\n"
"modeltree_index_graph: the Model Graph of every indexed model, as a Graph (GIL released; the\n"
"progress callable and Ctrl-C as in recover()).");
static PyObject *Index_graph(IndexObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"metric", "direction", "lam", "progress", NULL};
    PyObject *metric = Py_None, *direction = Py_None, *lam = Py_None, *progress = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$OOOO:graph", kwlist, &metric, &direction, &lam, &progress)) return NULL;
    modeltree_options_t o;
    if (!query_options(&o, metric, direction, lam, Py_None)) return NULL;
    if (progress != Py_None && !PyCallable_Check(progress)) {
        PyErr_SetString(PyExc_TypeError, "progress must be callable or None");
        return NULL;
    }
    if (!index_usable(self)) return NULL;
    ProgressState state = {progress == Py_None ? NULL : progress, NULL, NULL, NULL, NULL};
    o.progress = progress_trampoline;
    o.user_data = &state;
    GraphObject *graph = PyObject_New(GraphObject, &GraphType);
    if (graph == NULL) return NULL;
    graph->handle = NULL;
    self->busy = 1;
    state.thread = PyEval_SaveThread();
    modeltree_status_t status = modeltree_index_graph(&graph->handle, self->handle, &o);
    PyEval_RestoreThread(state.thread);
    self->busy = 0;
    if (state.exc_type != NULL) {
        Py_DECREF(graph);
        PyErr_Restore(state.exc_type, state.exc_value, state.exc_tb);
        return NULL;
    }
    if (status != MODELTREE_OK) {
        Py_DECREF(graph);
        return raise_status(status);
    }
    return (PyObject *)graph;
}
static PyObject *Index_enter(PyObject *self, PyObject *Py_UNUSED(i)) { return Py_NewRef(self); }
static PyObject *Index_exit(IndexObject *self, PyObject *Py_UNUSED(a)) { return Index_close(self, NULL); }
static PyObject *Index_get_closed(IndexObject *self, void *Py_UNUSED(c)) { return PyBool_FromLong(self->handle == NULL); }
static PyMethodDef Index_methods[] = {
    {"close", (PyCFunction)Index_close, METH_NOARGS, "modeltree_index_close. Idempotent."},
    {"options", (PyCFunction)Index_options, METH_NOARGS, Index_options_doc},
    {"add_path", (PyCFunction)Index_add_path, METH_VARARGS, "modeltree_index_add_path_noted(model_id or None, path): the notes on unread entries, one per line, or None"},
    {"add_collection", (PyCFunction)Index_add_collection, METH_O, "modeltree_index_add_collection(collection)"},
    {"add_signature", (PyCFunction)Index_add_signature, METH_VARARGS, "modeltree_index_add_signature(signature, model_id or None)"},
    {"remove", (PyCFunction)Index_remove, METH_VARARGS, "modeltree_index_remove(model_id)"},
    {"model_count", (PyCFunction)Index_model_count, METH_NOARGS, "modeltree_index_model_count"},
    {"signature", (PyCFunction)Index_signature, METH_VARARGS, "modeltree_index_signature(model_id)"},
    {"list", (PyCFunction)Index_list, METH_NOARGS, "modeltree_index_list"},
    {"verify", (PyCFunction)Index_verify, METH_NOARGS, "modeltree_index_verify"},
    {"parent", (PyCFunction)(void (*)(void))Index_parent, METH_VARARGS | METH_KEYWORDS, Index_parent_doc},
    {"graph", (PyCFunction)(void (*)(void))Index_graph, METH_VARARGS | METH_KEYWORDS, Index_graph_doc},
    {"__enter__", Index_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Index_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static PyGetSetDef Index_getset[] = {{"closed", (getter)Index_get_closed, NULL, NULL, NULL}, {NULL, NULL, NULL, NULL, NULL}};
static PyTypeObject IndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "modeltree._modeltree.Index",
    .tp_doc = PyDoc_STR("Owns a modeltree_index_t (modeltree_index_open). One thread at a time."),
    .tp_basicsize = sizeof(IndexObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Index_new,
    .tp_dealloc = (destructor)Index_dealloc,
    .tp_methods = Index_methods,
    .tp_getset = Index_getset,
};

/* ============================================================================================
 * Module
 * ========================================================================================== */

static PyObject *mt_version_number(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(a)) {
    return PyLong_FromUnsignedLong(modeltree_version_number());
}
static PyObject *mt_version_string(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(a)) {
    return PyUnicode_FromString(modeltree_version_string());
}
static PyObject *mt_status_string(PyObject *Py_UNUSED(m), PyObject *arg) {
    long v = PyLong_AsLong(arg);
    if (v == -1 && PyErr_Occurred()) return NULL;
    return PyUnicode_FromString(modeltree_status_string((modeltree_status_t)v));
}
static PyObject *mt_last_error_message(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(a)) {
    return PyUnicode_FromString(modeltree_last_error_message());
}
static PyObject *mt_kernel_name(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(a)) {
    return PyUnicode_FromString(modeltree_kernel_name());
}
static PyObject *mt_version_compatible(PyObject *Py_UNUSED(m), PyObject *arg) {
    unsigned long v = PyLong_AsUnsignedLong(arg);
    if (v == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    if (v > UINT32_MAX) Py_RETURN_FALSE;
    return PyBool_FromLong(modeltree_version_compatible((uint32_t)v));
}

static PyMethodDef module_methods[] = {
    {"version_number", mt_version_number, METH_NOARGS, "modeltree_version_number (the loaded library's)"},
    {"version_string", mt_version_string, METH_NOARGS, "modeltree_version_string (the loaded library's)"},
    {"kernel_name", mt_kernel_name, METH_NOARGS, "modeltree_kernel_name: the vector kernels this process runs"},
    {"version_compatible", mt_version_compatible, METH_O,
     "modeltree_version_compatible: whether the loaded library serves a header of that version number"},
    {"status_string", mt_status_string, METH_O, "modeltree_status_string"},
    {"last_error_message", mt_last_error_message, METH_NOARGS, "modeltree_last_error_message"},
    {"recover", (PyCFunction)(void (*)(void))mt_recover, METH_VARARGS | METH_KEYWORDS, recover_doc},
    {"signature_compute", (PyCFunction)(void (*)(void))mt_signature_compute, METH_VARARGS | METH_KEYWORDS, signature_compute_doc},
    {"signature_deserialize", mt_signature_deserialize, METH_O, signature_deserialize_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "modeltree._modeltree",
    .m_doc = "Raw 1:1 layer over include/modeltree.h; use the modeltree package instead.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__modeltree(void) {
    PyObject *errors = PyImport_ImportModule("modeltree._errors");
    if (errors == NULL) return NULL;
    status_errors = PyObject_GetAttrString(errors, "STATUS_ERRORS");
    base_error = PyObject_GetAttrString(errors, "ModelTreeError");
    Py_DECREF(errors);
    if (status_errors == NULL || base_error == NULL || !PyTuple_Check(status_errors)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ImportError, "modeltree._errors.STATUS_ERRORS must be a tuple");
        return NULL;
    }
    if (PyType_Ready(&CollectionType) < 0 || PyType_Ready(&GraphType) < 0 || PyType_Ready(&ScoreType) < 0 ||
        PyType_Ready(&SignatureType) < 0 || PyType_Ready(&ParentsType) < 0 || PyType_Ready(&EntriesType) < 0 ||
        PyType_Ready(&IndexType) < 0)
        return NULL;

    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Collection", (PyObject *)&CollectionType) < 0 ||
        PyModule_AddObjectRef(m, "Graph", (PyObject *)&GraphType) < 0 ||
        PyModule_AddObjectRef(m, "Score", (PyObject *)&ScoreType) < 0 ||
        PyModule_AddObjectRef(m, "Signature", (PyObject *)&SignatureType) < 0 ||
        PyModule_AddObjectRef(m, "Parents", (PyObject *)&ParentsType) < 0 ||
        PyModule_AddObjectRef(m, "IndexEntries", (PyObject *)&EntriesType) < 0 ||
        PyModule_AddObjectRef(m, "Index", (PyObject *)&IndexType) < 0)
        goto fail;
    /* The header's constants, as compiled: a test compares them with include/modeltree.h and with
     * the Python layer's own tables. */
    struct { const char *name; long long value; } constants[] = {
        {"HEADER_VERSION_NUMBER", MODELTREE_VERSION_NUMBER},
        {"OK", MODELTREE_OK},
        {"INVALID_ARGUMENT", MODELTREE_INVALID_ARGUMENT},
        {"IO", MODELTREE_IO},
        {"FORMAT", MODELTREE_FORMAT},
        {"INCOMPATIBLE_MODELS", MODELTREE_INCOMPATIBLE_MODELS},
        {"OUT_OF_MEMORY", MODELTREE_OUT_OF_MEMORY},
        {"CANCELLED", MODELTREE_CANCELLED},
        {"INTERNAL", MODELTREE_INTERNAL},
        {"DTYPE_F32", MODELTREE_DTYPE_F32},
        {"DTYPE_F64", MODELTREE_DTYPE_F64},
        {"DTYPE_F16", MODELTREE_DTYPE_F16},
        {"DTYPE_BF16", MODELTREE_DTYPE_BF16},
        {"METRIC_AUTO", MODELTREE_METRIC_AUTO},
        {"METRIC_RMS", MODELTREE_METRIC_RMS},
        {"METRIC_MAX", MODELTREE_METRIC_MAX},
        {"METRIC_RANK", MODELTREE_METRIC_RANK},
        {"DIRECTION_AUTO", MODELTREE_DIRECTION_AUTO},
        {"DIRECTION_FINETUNE", MODELTREE_DIRECTION_FINETUNE},
        {"DIRECTION_GENERALIZATION", MODELTREE_DIRECTION_GENERALIZATION},
        {"EDGE_FINETUNE", MODELTREE_EDGE_FINETUNE},
        {"EDGE_ADAPTER", MODELTREE_EDGE_ADAPTER},
        {"EDGE_QUANTIZED", MODELTREE_EDGE_QUANTIZED},
        {"EDGE_MERGE", MODELTREE_EDGE_MERGE},
        {"EDGE_LAYER_SUBSET", MODELTREE_EDGE_LAYER_SUBSET},
        {"VERDICT_AGREES", MODELTREE_VERDICT_AGREES},
        {"VERDICT_CONTRADICTS", MODELTREE_VERDICT_CONTRADICTS},
        {"VERDICT_UNSUPPORTED", MODELTREE_VERDICT_UNSUPPORTED},
        {"FORMAT_JSON", MODELTREE_FORMAT_JSON},
        {"FORMAT_TEXT", MODELTREE_FORMAT_TEXT},
        {"FORMAT_DOT", MODELTREE_FORMAT_DOT},
        {"FORMAT_SVG", MODELTREE_FORMAT_SVG},
        {"FORMAT_HTML", MODELTREE_FORMAT_HTML},
        {"MAX_NDIM", MODELTREE_MAX_NDIM},
        {"INDEX_INVALID", MODELTREE_INDEX_INVALID},
        {"NO_PARENT", MODELTREE_NO_PARENT},
        {"FILES_UNCHANGED", MODELTREE_FILES_UNCHANGED},
        {"FILES_CHANGED", MODELTREE_FILES_CHANGED},
        {"FILES_MISSING", MODELTREE_FILES_MISSING},
        {"FILES_MEMORY", MODELTREE_FILES_MEMORY},
    };
    for (size_t k = 0; k < sizeof constants / sizeof constants[0]; k++) {
        PyObject *v = PyLong_FromLongLong(constants[k].value);
        if (v == NULL || PyModule_AddObject(m, constants[k].name, v) < 0) {
            Py_XDECREF(v);
            goto fail;
        }
    }
    if (PyModule_AddStringConstant(m, "HEADER_VERSION_STRING", MODELTREE_VERSION_STRING) < 0) goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
