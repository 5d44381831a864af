/*
 * textstats._speedups -- the compiled half of the textstats package.
 *
 * Why C for something this small?  The guestbook example needs a dependency
 * that has to be compiled at image build time so that Shipyard's builder
 * stage (with gcc) and runtime stage (without gcc) can be told apart in
 * tests.  The algorithm is intentionally trivial and mirrors ``len(s.split())``
 * so the pure-Python reference in the tests can check it exactly.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

PyDoc_STRVAR(word_count_doc,
"word_count(text, /)\n"
"--\n"
"\n"
"Return the number of whitespace-separated words in *text*.\n"
"\n"
"A word is a maximal run of non-whitespace characters, using the same\n"
"notion of whitespace as str.split() with no arguments.");

static PyObject *
word_count(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError,
                     "word_count() argument must be str, not %.200s",
                     Py_TYPE(text)->tp_name);
        return NULL;
    }

    const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t count = 0;
    int in_word = 0;

    for (Py_ssize_t i = 0; i < length; i++) {
        const Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (Py_UNICODE_ISSPACE(ch)) {
            in_word = 0;
        }
        else if (!in_word) {
            in_word = 1;
            count++;
        }
    }
    return PyLong_FromSsize_t(count);
}

static PyMethodDef speedups_methods[] = {
    {"word_count", (PyCFunction)word_count, METH_O, word_count_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "textstats._speedups",
    .m_doc = "C implementation of textstats' hot paths.",
    .m_size = 0,
    .m_methods = speedups_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
