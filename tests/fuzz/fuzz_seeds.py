# SPDX-License-Identifier: GPL-2.0-or-later
"""Write seed corpora: shared by the gen-*-corpus.py scripts."""
import os
import sys

def write(seeds):
    """seeds: {target: {name: bytes}}, written to OUTDIR/<target>/seed-<name>
    (OUTDIR: the first argument, default tests/fuzz/corpus)."""
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    for target, files in seeds.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)
