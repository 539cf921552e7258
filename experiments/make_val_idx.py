#!/usr/bin/python3
"""Write the 8,000 training images of the MNIST-10k split (i % 5 != 4) as an
IDX pair, so that `data.task = idx` with a seeded random split gives a
validation set disjoint from the MNIST-10k test part (used to pick the
learning rate; the test part is never used for tuning).
usage: make_val_idx.py MNIST_DIR OUT_DIR"""
import gzip, os, struct, sys

def load(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        return f.read()

src, out = sys.argv[1], sys.argv[2]
def find(stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(src, name)):
            return os.path.join(src, name)
    sys.exit("missing %s in %s" % (stem, src))
img = load(find("t10k-images-idx3-ubyte"))
lab = load(find("t10k-labels-idx1-ubyte"))
n, rows, cols = struct.unpack(">III", img[4:16])
keep = [i for i in range(n) if i % 5 != 4]
px = rows * cols
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "train8k-images-idx3-ubyte"), "wb") as f:
    f.write(struct.pack(">IIII", 0x803, len(keep), rows, cols))
    for i in keep:
        f.write(img[16 + i * px:16 + (i + 1) * px])
with open(os.path.join(out, "train8k-labels-idx1-ubyte"), "wb") as f:
    f.write(struct.pack(">II", 0x801, len(keep)))
    f.write(bytes(lab[8 + i] for i in keep))
print("wrote %d images to %s" % (len(keep), out))
