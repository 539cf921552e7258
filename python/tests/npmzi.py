"""A numpy implementation of zoptic's MZI classifier (ideal chip), in
complex128: DFT encoder (64 -> K bins, centred), Clements(K)+screen,
modReLU, Clements(K), modReLU, Clements(K), |y|^2 of channels (K-10)/2..+9."""
import numpy as np

K, P = 16, 64
N_MZI = K * (K - 1) // 2
COLS = [[m for m in range(c % 2, K - 1, 2)] for c in range(K)]
def bin_of(c):
    h = K // 2
    return 2 * (h - c) if c < h else 2 * (c - h) + 1
BINS = np.array([bin_of(c) for c in range(K)])
DFT = np.exp(-2j * np.pi * np.outer(np.arange(P), BINS) / P) / np.sqrt(P)  # P x K
N_PARAMS = 3 * 2 * N_MZI + K + 2 * K
INPUT_SIZE, OUTPUT_SIZE = P, 10

def layout(theta):
    o = 0
    def take(n):
        nonlocal o
        o += n
        return theta[o - n:o].astype(np.float64)
    m1 = take(2 * N_MZI).reshape(N_MZI, 2); s1 = take(K); b1 = take(K)
    m2 = take(2 * N_MZI).reshape(N_MZI, 2); b2 = take(K)
    m3 = take(2 * N_MZI).reshape(N_MZI, 2)
    return m1, s1, b1, m2, b2, m3

def mesh(z, ph, screen=None):
    k = 0
    for col in COLS:
        n = len(col)
        th, fi = ph[k:k + n, 0], ph[k:k + n, 1]
        k += n
        et, ef = np.exp(1j * th), np.exp(1j * fi)
        a, b = z[:, col], z[:, [m + 1 for m in col]]
        na = 0.5 * (ef * (et - 1) * a + 1j * (et + 1) * b)
        nb = 0.5 * (1j * ef * (et + 1) * a + (1 - et) * b)
        z = z.copy()
        z[:, col], z[:, [m + 1 for m in col]] = na, nb
    if screen is not None:
        z = z * np.exp(1j * screen)
    return z

def modrelu(z, b):
    r = np.abs(z) + 1e-3
    s = r + b
    return np.where(s >= 0, z * s / r, 0)

def forward(theta, x):
    m1, s1, b1, m2, b2, m3 = layout(theta)
    z = x.astype(np.float64) @ DFT
    z = modrelu(mesh(z, m1, s1), b1)
    z = modrelu(mesh(z, m2), b2)
    z = mesh(z, m3)
    lo = (K - 10) // 2
    return (np.abs(z[:, lo:lo + 10]) ** 2).astype(np.float32)

def query(theta, variations, inputs):
    return np.stack([forward(variations.apply(v), inputs) for v in range(len(variations))])
