#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* PY_VERSION comes from the headers used at build time, not from the running interpreter. */
static PyObject *compiled_for(PyObject *self, PyObject *unused) {
    return PyUnicode_FromString(PY_VERSION);
}

static PyMethodDef methods[] = {
    {"compiled_for", compiled_for, METH_NOARGS, "The Python version of the build headers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pyinfo._headers", NULL, -1, methods};

PyMODINIT_FUNC PyInit__headers(void) { return PyModule_Create(&module); }
