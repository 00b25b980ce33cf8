// anvil's fast call path: a tiny CPython extension type that calls a generated function.
//
// A Caller holds the native entry point `void fn(void* const* ins, void* const* outs, void* ws)`, the
// expected dtype/shape of every input and output, and a preallocated workspace. Calling it with
// numpy arrays that already match (exact dtype, shape, aligned, C-contiguous) costs a few type
// checks, one allocation per output and the native call, with the GIL released. Anything else
// goes through `convert(*args)` (Python), which validates, raises clear errors or returns
// converted arrays. If the workspace is busy (another thread is inside the call), a temporary
// one is used, so concurrent calls are safe.
//
// The type takes part in garbage collection: `convert` is usually a bound method of the owning
// Python object, which caches this Caller, so the two form a reference cycle that only the
// cycle collector can free (tp_traverse / tp_clear below).
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <atomic>
#include <climits>
#include <cstddef>
#include <new>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int kStackArgs = 64;  // inputs/outputs up to this count live on the stack; more: one heap block per call
constexpr int kMaxDims = 32;
using EntryFn = void (*)(void* const*, void* const*, void*);

struct ArgSpec {
  int typenum;
  int ndim;
  npy_intp dims[kMaxDims];
};

struct Caller {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  EntryFn fn;
  int nin, nout;
  ArgSpec* in;
  ArgSpec* out;
  void* ws;
  size_t ws_bytes;
  std::atomic<int> ws_busy;
  PyObject* convert;  // callable(*args) -> tuple of converted arrays (or raises)
  PyObject* keepalive;  // the loaded library, kept alive while this caller lives
  int release_gil;
};

#ifndef ANVIL_WS_ALIGN
#error "ANVIL_WS_ALIGN (anvil.ir.workspace.ALIGN) is defined by fastcall.py"
#endif
constexpr size_t kAlign = ANVIL_WS_ALIGN;

void* aligned_ws(size_t bytes) {
  size_t n = (bytes + kAlign - 1) / kAlign * kAlign;
  return std::aligned_alloc(kAlign, n == 0 ? kAlign : n);
}

bool matches(PyObject* obj, const ArgSpec& s) {
  if (!PyArray_Check(obj)) return false;
  PyArrayObject* a = reinterpret_cast<PyArrayObject*>(obj);
  if (PyArray_TYPE(a) != s.typenum || PyArray_NDIM(a) != s.ndim) return false;
  if (!PyArray_ISCARRAY_RO(a) || PyArray_ISBYTESWAPPED(a)) return false;
  const npy_intp* d = PyArray_DIMS(a);
  for (int k = 0; k < s.ndim; ++k)
    if (d[k] != s.dims[k]) return false;
  return true;
}

PyObject* caller_call(PyObject* self_obj, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  Caller* self = reinterpret_cast<Caller*>(self_obj);
  Py_ssize_t n = PyVectorcall_NARGS(nargsf);
  PyObject* converted = nullptr;
  bool ok = kwnames == nullptr && n == self->nin;
  for (int i = 0; ok && i < self->nin; ++i) ok = matches(args[i], self->in[i]);
  if (!ok) {
    if (self->convert == nullptr) {  // cleared by the cycle collector while its owner is being freed
      PyErr_SetString(PyExc_RuntimeError, "anvil: this compiled function is being garbage-collected");
      return nullptr;
    }
    converted = PyObject_Vectorcall(self->convert, args, nargsf, kwnames);
    if (converted == nullptr) return nullptr;
    if (!PyTuple_Check(converted) || PyTuple_GET_SIZE(converted) != self->nin) {
      Py_DECREF(converted);
      PyErr_SetString(PyExc_RuntimeError, "anvil internal error: argument conversion returned a bad tuple");
      return nullptr;
    }
    for (int i = 0; i < self->nin; ++i) {
      if (!matches(PyTuple_GET_ITEM(converted, i), self->in[i])) {
        Py_DECREF(converted);
        PyErr_SetString(PyExc_RuntimeError, "anvil internal error: converted argument does not match");
        return nullptr;
      }
    }
    args = &PyTuple_GET_ITEM(converted, 0);
  }
  void* stack_ptrs[2 * kStackArgs];
  PyObject* stack_outs[kStackArgs];
  bool big = self->nin > kStackArgs || self->nout > kStackArgs;
  void** heap = big ? static_cast<void**>(PyMem_Malloc((self->nin + 2 * self->nout + 1) * sizeof(void*))) : nullptr;
  if (big && heap == nullptr) {
    Py_XDECREF(converted);
    return PyErr_NoMemory();
  }
  void** in_ptrs = big ? heap : stack_ptrs;
  void** out_ptrs = big ? heap + self->nin : stack_ptrs + kStackArgs;
  PyObject** outs = big ? reinterpret_cast<PyObject**>(heap + self->nin + self->nout) : stack_outs;
  for (int i = 0; i < self->nin; ++i) in_ptrs[i] = PyArray_DATA(reinterpret_cast<PyArrayObject*>(args[i]));
  for (int j = 0; j < self->nout; ++j) {
    const ArgSpec& s = self->out[j];
    outs[j] = PyArray_SimpleNew(s.ndim, const_cast<npy_intp*>(s.dims), s.typenum);
    if (outs[j] == nullptr) {
      for (int k = 0; k < j; ++k) Py_DECREF(outs[k]);
      Py_XDECREF(converted);
      PyMem_Free(heap);
      return nullptr;
    }
    out_ptrs[j] = PyArray_DATA(reinterpret_cast<PyArrayObject*>(outs[j]));
  }
  int expected = 0;
  bool own = self->ws_busy.compare_exchange_strong(expected, 1, std::memory_order_acquire);
  void* ws = own ? self->ws : aligned_ws(self->ws_bytes);
  if (ws == nullptr) {
    for (int k = 0; k < self->nout; ++k) Py_DECREF(outs[k]);
    Py_XDECREF(converted);
    PyMem_Free(heap);
    return PyErr_NoMemory();
  }
  if (self->release_gil) {
    Py_BEGIN_ALLOW_THREADS
    self->fn(in_ptrs, out_ptrs, ws);
    Py_END_ALLOW_THREADS
  } else {
    self->fn(in_ptrs, out_ptrs, ws);
  }
  if (own) self->ws_busy.store(0, std::memory_order_release);
  else std::free(ws);
  Py_XDECREF(converted);
  PyObject* result = self->nout == 1 ? outs[0] : PyTuple_New(self->nout);
  if (result == nullptr) {
    for (int k = 0; k < self->nout; ++k) Py_DECREF(outs[k]);
  } else if (self->nout != 1) {
    for (int k = 0; k < self->nout; ++k) PyTuple_SET_ITEM(result, k, outs[k]);
  }
  PyMem_Free(heap);
  return result;
}

bool parse_specs(PyObject* seq, ArgSpec** out, int* count) {
  PyObject* fast = PySequence_Fast(seq, "specs must be a sequence of (typenum, shape)");
  if (fast == nullptr) return false;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  if (n > INT_MAX / 4) {
    Py_DECREF(fast);
    PyErr_SetString(PyExc_ValueError, "too many inputs or outputs");
    return false;
  }
  ArgSpec* specs = static_cast<ArgSpec*>(PyMem_Calloc(n > 0 ? n : 1, sizeof(ArgSpec)));
  if (specs == nullptr) {
    Py_DECREF(fast);
    PyErr_NoMemory();
    return false;
  }
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* shape = nullptr;
    int typenum = 0;
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "iO", &typenum, &shape)) goto fail;
    {
      PyObject* sf = PySequence_Fast(shape, "shape must be a sequence");
      if (sf == nullptr) goto fail;
      Py_ssize_t nd = PySequence_Fast_GET_SIZE(sf);
      if (nd > kMaxDims) {
        Py_DECREF(sf);
        PyErr_Format(PyExc_ValueError, "anvil supports at most %d dimensions", kMaxDims);
        goto fail;
      }
      specs[i].typenum = typenum;
      specs[i].ndim = static_cast<int>(nd);
      for (Py_ssize_t k = 0; k < nd; ++k) specs[i].dims[k] = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(sf, k));
      Py_DECREF(sf);
      if (PyErr_Occurred()) goto fail;
    }
  }
  Py_DECREF(fast);
  *out = specs;
  *count = static_cast<int>(n);
  return true;
fail:
  Py_DECREF(fast);
  PyMem_Free(specs);
  return false;
}

PyObject* caller_new(PyTypeObject* type, PyObject* args, PyObject*) {
  unsigned long long fnptr = 0, ws_bytes = 0;
  PyObject *in_specs, *out_specs, *convert, *keepalive;
  int release_gil = 1;
  if (!PyArg_ParseTuple(args, "KKOOOO|p", &fnptr, &ws_bytes, &in_specs, &out_specs, &convert, &keepalive, &release_gil))
    return nullptr;
  if (!PyCallable_Check(convert)) {
    PyErr_SetString(PyExc_TypeError, "convert must be callable");
    return nullptr;
  }
  Caller* self = reinterpret_cast<Caller*>(type->tp_alloc(type, 0));
  if (self == nullptr) return nullptr;
  self->vectorcall = caller_call;
  self->fn = reinterpret_cast<EntryFn>(static_cast<uintptr_t>(fnptr));
  new (&self->ws_busy) std::atomic<int>(0);
  self->ws_bytes = static_cast<size_t>(ws_bytes);
  self->ws = aligned_ws(self->ws_bytes);
  self->release_gil = release_gil;
  Py_INCREF(convert);
  self->convert = convert;
  Py_INCREF(keepalive);
  self->keepalive = keepalive;
  if (self->ws == nullptr || !parse_specs(in_specs, &self->in, &self->nin) ||
      !parse_specs(out_specs, &self->out, &self->nout)) {
    if (self->ws == nullptr) PyErr_NoMemory();
    Py_DECREF(self);
    return nullptr;
  }
  return reinterpret_cast<PyObject*>(self);
}

int caller_traverse(PyObject* obj, visitproc visit, void* arg) {
  Caller* self = reinterpret_cast<Caller*>(obj);
  Py_VISIT(self->convert);
  Py_VISIT(self->keepalive);
  return 0;
}

int caller_clear(PyObject* obj) {
  Caller* self = reinterpret_cast<Caller*>(obj);
  Py_CLEAR(self->convert);
  Py_CLEAR(self->keepalive);
  return 0;
}

void caller_dealloc(PyObject* obj) {
  Caller* self = reinterpret_cast<Caller*>(obj);
  PyObject_GC_UnTrack(obj);
  std::free(self->ws);
  self->ws = nullptr;
  PyMem_Free(self->in);
  PyMem_Free(self->out);
  self->in = self->out = nullptr;
  caller_clear(obj);
  Py_TYPE(obj)->tp_free(obj);
}

PyTypeObject CallerType = {PyVarObject_HEAD_INIT(nullptr, 0)};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_anvil_caller", "anvil fast call path", -1,
                          nullptr, nullptr, nullptr, nullptr, nullptr};

}  // namespace

PyMODINIT_FUNC PyInit__anvil_caller(void) {
  import_array();
  CallerType.tp_name = "anvil.Caller";
  CallerType.tp_basicsize = sizeof(Caller);
  CallerType.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_HAVE_GC;
  CallerType.tp_new = caller_new;
  CallerType.tp_dealloc = caller_dealloc;
  CallerType.tp_traverse = caller_traverse;
  CallerType.tp_clear = caller_clear;
  CallerType.tp_call = PyVectorcall_Call;
  CallerType.tp_vectorcall_offset = offsetof(Caller, vectorcall);
  CallerType.tp_doc = "Caller(fnptr, ws_bytes, in_specs, out_specs, convert, keepalive, release_gil=True)";
  if (PyType_Ready(&CallerType) < 0) return nullptr;
  PyObject* m = PyModule_Create(&module_def);
  if (m == nullptr) return nullptr;
  Py_INCREF(&CallerType);
  if (PyModule_AddObject(m, "Caller", reinterpret_cast<PyObject*>(&CallerType)) < 0) {
    Py_DECREF(&CallerType);
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
