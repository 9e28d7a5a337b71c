"""Regenerate the assets `picoq demo` ships: a float digits CNN (ONNX) and a sample of digits.

    python converter/demo_assets/make_demo_assets.py [OUT_DIR]    # default: this folder

Trains tests/digits_cnn.py's small CNN on scikit-learn's 8x8 digits (numpy only, fixed
seed, single-threaded BLAS: a few seconds) and writes
  digits_cnn.onnx     the float model, NCHW input (N, 1, 8, 8) in [0, 1], 10 logits out
  digits_sample.npz   calib (100, 1, 8, 8) float32 from the training split,
                      x_test (300, 1, 8, 8) float32 and y_test (300,) int64 from the test split
Needs the test extras (scikit-learn, onnx, threadpoolctl); the demo itself needs neither
scikit-learn nor this script. The .npz is written with fixed zip timestamps, so the same
numpy / BLAS build regenerates both files byte for byte.
"""

from __future__ import annotations

import io
import os
import sys
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
N_CALIB, N_TEST = 100, 300


def write_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed, but byte-reproducible (fixed member dates and order)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, buf.getvalue(), compresslevel=9)


def main(argv: list[str]) -> int:
    out = argv[0] if argv else HERE
    sys.path.insert(0, os.path.join(HERE, "..", "..", "tests"))
    import onnx

    import digits_cnn

    data = digits_cnn.load_digits_split(seed=0)
    params = digits_cnn.train(data)
    os.makedirs(out, exist_ok=True)
    onnx.save(digits_cnn.to_onnx(params), os.path.join(out, "digits_cnn.onnx"))
    write_npz(
        os.path.join(out, "digits_sample.npz"),
        {
            "calib": data.x_train[:N_CALIB].astype(np.float32),
            "x_test": data.x_test[:N_TEST].astype(np.float32),
            "y_test": data.y_test[:N_TEST].astype(np.int64),
        },
    )
    acc = digits_cnn.accuracy(digits_cnn.predict(params, data.x_test[:N_TEST]), data.y_test[:N_TEST])
    print(f"float accuracy on the {N_TEST} shipped test images: {acc:.4f}")
    print(f"wrote {out}/digits_cnn.onnx and {out}/digits_sample.npz")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
