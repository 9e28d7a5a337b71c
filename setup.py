"""Build picoq: one Cython extension that compiles the same C99 kernels firmware uses.

`picoq` is a namespace package spread over two folders (runtime/ and converter/),
mapped with package_dir. The kernel sources ship inside the wheel so that
`picoq export-c` copies exactly the C that Python tested (picoq.runtime.kernels_dir()).
"""

import os
import sys
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

KERNEL_SOURCES = sorted(glob("runtime/kernels/src/**/*.c", recursive=True))
# The float boundary of Interpreter.run (quantize in, dequantize out): Python API code, the
# one place with float, so not among the kernels (integer-only, exported to firmware).
BOUNDARY_SOURCES = ["runtime/boundary/pq_boundary.c"]

extra_link_args = []
if sys.platform == "win32":
    extra_compile_args = ["/O2"]  # no pthreads: pq_threadpool.c builds its stub (num_threads=1 only)
else:
    # -O3 lets GCC vectorise the plain loops; no -ffast-math: integer code, bit-exact.
    # -pthread: the interpreter's worker threads (pq_threadpool.c; libc has them on recent glibc).
    extra_compile_args = ["-O3", "-std=c99", "-Wall", "-Wno-unused-function", "-pthread"]
    extra_link_args = ["-pthread"]
    if os.environ.get("PICOQ_NATIVE", "0") == "1":
        extra_compile_args.append("-march=native")

extensions = [
    Extension(
        "picoq.runtime._interp",
        sources=["runtime/_interp.pyx", *KERNEL_SOURCES, *BOUNDARY_SOURCES],
        include_dirs=["runtime/kernels/include", "runtime/boundary", "runtime", np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_22_API_VERSION"), ("PQ_WITH_FAST_KERNELS", "1")],
        extra_compile_args=extra_compile_args,
        extra_link_args=extra_link_args,
    )
]

setup(
    package_dir={"picoq.runtime": "runtime", "picoq.converter": "converter"},
    packages=["picoq.runtime", "picoq.converter"],
    package_data={
        "picoq.runtime": [
            "kernels/include/*.h",
            "kernels/include/*.def",
            "kernels/src/*/*.c",
            "kernels/src/*/*/*.c",
            "kernels/CMakeLists.txt",
            "boundary/*.h",
            "boundary/*.c",
            "*.pxd",
            "*.pxi",
            "*.pyx",
        ],
        "picoq.converter": ["demo_assets/*.onnx", "demo_assets/*.npz"],
    },
    ext_modules=cythonize(
        extensions,
        include_path=["runtime"],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
    zip_safe=False,
)
