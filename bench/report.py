"""Formats bench/out/results.csv (written by bench/run.sh) as ONE table with
the goals of issue #9 marked PASS/MISS.  Standard library only.

usage: /usr/bin/python3 bench/report.py bench/out/results.csv
"""
import csv
import sys

MIB = 1024.0 * 1024.0
MODELS = ["cnn", "mzi16", "mzi32", "mzi64", "eq", "rnn", "mixer"]
FWD_MODELS = MODELS + ["mixerL"]
LABEL = {"cnn": "CNN (task 1)", "mzi16": "MZI classifier K=16", "mzi32": "MZI classifier K=32",
         "mzi64": "MZI classifier K=64", "eq": "MZI equalizer", "rnn": "MZI copying RNN",
         "mixer": "MLP-mixer (small)", "mixerL": "MLP-mixer (large)"}
# the rebuttal (ICML 2025 reviews, ../shared/seeds): the 1,706,762-parameter mixer
PAPER_LARGE = {("zo-i", 512): (3334, 15.68, 638.8), ("zo-co", 512): (3334, 14.35, 588.0),
               ("zo-np", 512): (3334, 40.87, 656.5), ("zo-np", 256): (6668, 23.77, 698.2),
               ("zo-np", 128): (13335, 21.80, 790.8)}
GB = 1e9
N_MAX = {"cnn": 431, "mzi16": 512, "mzi32": 512, "mzi64": 512, "eq": 28, "rnn": 45, "mixer": 510}
Q = {"cnn": 20, "mzi16": 64, "mzi32": 64, "mzi64": 64, "eq": 20, "rnn": 20, "mixer": 20}
T_UD = 100


def np_floor(g, m):
    """ZO-NP's overhead floor in time: the Fisher update (n_b + 1 Jacobian
    queries and the algebra) measured in ZO-I iterations, every T_ud; and
    the floor in queries, N_max / (T_ud (Q + 1)).  None when not measured."""
    upd, reg = g("iter", m, "zo-np", "update_cpu_seconds"), g("iter", m, "zo-np", "regular_cpu_seconds")
    ci = g("iter", m, "zo-i", "cpu_seconds")
    if not upd or reg is None or not ci:
        return None
    # the window holds ONE update (the block drawn at t = 100); the run with
    # every block (T_ud = 1) gives the mean over all blocks
    full = g("iterfull", m, "zo-np", "update_iter_cpu_seconds")
    mean = (full - reg) / ci if full else None
    return (upd - reg) / ci, (reg / ci - 1), N_MAX[m] / (T_UD * (Q[m] + 1.0)), mean


def eq_roofline(g, sgc):
    """The equalizer's roofline: per sample 3,308 flops over 7 layer calls per
    variation; the activations every step reads and writes, 217 floats (868
    bytes) per sample, 3.8 flops per byte, sit in L1/L2 at B = 100 (6.4 KB
    per step), so the bound is neither bandwidth nor FMA throughput but the
    fixed cost per layer call (MZI coefficients, dispatch, planar transposes),
    measured as the rate at B = 100 against B = 10,000 samples per variation."""
    r100, rbig = g("forward", "eq", "all", "gflops_per_cpu"), g("forward_b10000", "eq", "all", "gflops_per_cpu")
    if not r100 or not rbig or not sgc:
        return None
    return r100 / sgc, rbig / sgc, 1 - r100 / rbig


def load(path):
    d, meta = {}, {}
    with open(path) as f:
        for row in csv.reader(f):
            if len(row) < 5 or row[0] == "section":
                continue
            if row[0] == "machine":
                meta[row[1]] = row[2]
                meta[row[3]] = row[4]
                continue
            try:
                d[tuple(row[:4])] = float(row[4])
            except ValueError:
                d[tuple(row[:4])] = row[4]
    return d, meta


def large_epoch(g, meth, nmax, cpu=True):
    """Seconds per epoch (500 iterations of B = 100) of the large mixer, from
    a few timed iterations: regular x 500, plus for ZO-NP the Fisher update's
    excess (its warm-up iteration minus ZO-I's, which holds the same
    first-call costs) x 5 updates (T_ud = 100).  cpu: process CPU-seconds
    (robust to other jobs), else wall-clock seconds under the run's load."""
    key = "%s@%d" % (meth, nmax)
    reg = g("iter", "mixerL", key, "cpu_seconds" if cpu else "regular_seconds")
    if reg is None:
        return None
    if meth != "zo-np":
        return 500 * reg
    w = "warmup_cpu_seconds" if cpu else "warmup_seconds"
    wn, wi = g("iter", "mixerL", key, w), g("iter", "mixerL", "zo-i@512", w)
    if wn is None or wi is None:
        return None
    return 500 * reg + 5 * max(0.0, wn - wi)


def large_section(g, p):
    if g("iter", "mixerL", "zo-i@512", "regular_seconds") is None:
        return
    p("The paper's large MLP-mixer (12 blocks, width 256, N = 1,706,762), B = 100, Q = 20, T_ud = 100:")
    p("peak RSS of a separate process per row; after the Fisher update at t = 0 (real Jacobian")
    p("queries) and 2 iterations; then with more blocks present, filled by zpt_fisher_update_dense")
    p("with synthetic SPD matrices (memory only): 25 blocks (the rebuttal's count after 5 epochs)")
    p("and every block. 1 GB = 1e9 bytes; paper = the rebuttal's GPU framework")
    p("  %-7s %5s %6s %6s %10s %10s %10s %10s %9s %9s %9s" % (
        "method", "N_max", "B", "paper", "RSS 1 upd", "RSS 5 ep.", "RSS all", "Fisher all",
        "paper GB", "CPU-s/ep", "paper s"))
    for (meth, nmax), (pb, pgb, ps) in sorted(PAPER_LARGE.items(), key=lambda kv: (kv[0][0] != "zo-i", kv[0][0], -kv[0][1])):
        key = "%s@%d" % (meth, nmax)
        nb = g("iter", "mixerL", key, "n_blocks")
        if nb is None:
            continue
        r1 = g("iter", "mixerL", key, "peak_rss_bytes") or 0
        r5 = g("iterblocks_25", "mixerL", key, "peak_rss_bytes")
        ra = g("iterblocks_all", "mixerL", key, "peak_rss_bytes")
        fa = g("iterblocks_all", "mixerL", key, "fisher_bytes")
        ep = large_epoch(g, meth, nmax)
        f = lambda v: "%9.3fGB" % (v / GB) if v else "%10s" % "-"
        p("  %-7s %5d %6d %6d %s %s %s %s %9.2f %9s %9.1f" % (
            meth.upper().replace("ZO-CO", "ZO-co"), nmax, nb, pb, f(r1), f(r5), f(ra), f(fa), pgb,
            "%.0f" % ep if ep else "-", ps))
    ti, tn = large_epoch(g, "zo-i", 512), large_epoch(g, "zo-np", 512)
    wi, wn = large_epoch(g, "zo-i", 512, False), large_epoch(g, "zo-np", 512, False)
    if ti and tn:
        p("  ZO-NP / ZO-I per epoch at N_max = 512: %.3f in CPU-seconds (paper 656.5 / 638.8 = %.3f);"
          % (tn / ti, 656.5 / 638.8))
        p("  wall-clock under this run's load (other jobs: not comparable between processes):")
        p("  ZO-I %.0f s, ZO-NP %.0f s per epoch" % (wi or 0, wn or 0))
        p("  per epoch = 500 x the median of 2 timed iterations (+ 5 x the Fisher update's excess for")
        p("  ZO-NP): scaled from a fraction of an epoch, not a full epoch")
    p("")


def main():
    d, meta = load(sys.argv[1])
    g = lambda *k: d.get(k)
    out = []
    p = out.append
    verdicts = []

    def goal(name, ok, detail, why=None):
        if ok is None:
            verdicts.append(("----", name, detail + " (not measured)", None))
        else:
            verdicts.append(("PASS" if ok else "MISS", name, detail, None if ok else why))

    p("zoptic benchmark (make bench) — %s, %s cores, %s, load %s at start"
      % (meta.get("cpu", "?"), meta.get("cores", "?"), meta.get("date", "?"), meta.get("load", "?")))
    p("commit %s; %s" % (meta.get("commit", "?"), meta.get("env", "")))
    sg, cg = g("peak", "sgemm", "2048", "gflops"), g("peak", "cgemm", "2048", "gflops")
    sgc, cgc = (g("peak1", "sgemm", "2048", "gflops_per_cpu"), g("peak1", "cgemm", "2048", "gflops_per_cpu"))
    p("")
    p("Peak through OpenBLAS (2048^3, median, all cores): sgemm %.1f GFLOP/s, cgemm %.1f GFLOP/s"
      % (sg or 0, cg or 0))
    p("  one thread, per CPU-second (process CPU time): sgemm %.1f, cgemm %.1f GFLOP/CPU-s"
      % (sgc or 0, cgc or 0))
    p("  Ratios below: 'wall' = GFLOP/s over the wall-clock peak; 'cpu' = GFLOP per CPU-second")
    p("  over single-threaded sgemm's (the per-core peak; robust to other jobs on this shared machine; the")
    p("  goals are judged on 'cpu', 'wall' shown beside)")
    p("")
    p("Threads: forward of Q+1 all-parameter variations, B = 100 (ms, median)")
    p("  %-26s %10s %10s %10s" % ("OpenBLAS x model threads", "CNN", "MZI K=64", "mixer"))
    cfgs = sorted({k[0] for k in d if k[0].startswith("threads_")})
    for c in cfgs:
        _, bt, mt = c.split("_")
        p("  %-26s %10.1f %10.1f %10.1f" % (
            "%s x %s%s" % (bt, mt, "  (default)" if bt == "1" and mt != "1" else ""),
            1e3 * (g(c, "cnn", "all", "seconds") or 0), 1e3 * (g(c, "mzi64", "all", "seconds") or 0),
            1e3 * (g(c, "mixer", "all", "seconds") or 0)))
    p("")
    p("Forward passes: B = 100, V = Q + 1 variations in one batched call")
    p("  all = every variation perturbs all parameters (full cost); block = one random block of N_max")
    p("  %-22s %9s %4s %13s %9s %7s %7s %13s %9s" % ("model", "N", "V", "all smp/s", "GFLOP/s",
                                                  "% wall", "% cpu", "block smp/s", "GFLOP/s"))
    for m in FWD_MODELS:
        if g("forward", m, "all", "V") is None:
            continue
        gf, gfc = g("forward", m, "all", "gflops"), g("forward", m, "all", "gflops_per_cpu")
        p("  %-22s %9d %4d %13.0f %9.1f %6.1f%% %6.1f%% %13.0f %9.1f" % (
            LABEL[m], g("forward", m, "all", "n_params"), g("forward", m, "all", "V"),
            g("forward", m, "all", "samples_per_s"), gf, 100 * gf / sg if sg else 0,
            100 * gfc / sgc if gfc and sgc else 0,
            g("forward", m, "block", "samples_per_s"), g("forward", m, "block", "gflops")))
    roof = eq_roofline(g, sgc)
    if roof:
        p("  Equalizer roofline: 3,308 flops and 868 bytes of activations per sample (3.8 flop/B, all in")
        p("  L1/L2): bound by the fixed cost per layer call; B = 10,000 samples per variation: %.1f%% cpu"
          % (100 * roof[1]))
        p("  (B = 100: %.1f%%): the per-call cost is %.0f%% of a call of 100 samples" % (100 * roof[0], 100 * roof[2]))
    p("")
    p("One ZO iteration (block-coordinate perturbations, T_ud = 100, after 3 warm-up iterations")
    p("one window of 100 timed iterations); peak RSS of a separate process per method")
    p("  %-22s %5s %4s %9s %9s %9s %8s %8s %8s %8s %8s %8s %9s" % (
        "model", "N_max", "Q", "ZO-I ms", "ZO-co ms", "ZO-NP ms", "NP wall", "NP cpu", "RSS I",
        "RSS co", "RSS NP", "Fisher", "NP-I RSS"))
    for m in MODELS:
        ti, tc, tn = (g("iter", m, k, "seconds") for k in ("zo-i", "zo-co", "zo-np"))
        if ti is None or tn is None:
            continue
        ri, rc, rn = (g("iter", m, k, "peak_rss_bytes") or 0 for k in ("zo-i", "zo-co", "zo-np"))
        fb = g("iter", m, "zo-np", "fisher_bytes") or 0
        q = int(g("forward", m, "all", "V") or 1) - 1
        ci, cn = g("iter", m, "zo-i", "cpu_seconds"), g("iter", m, "zo-np", "cpu_seconds")
        p("  %-22s %5d %4d %9.2f %9.2f %9.2f %7.1f%% %7.1f%% %6.1fMB %6.1fMB %6.1fMB %6.2fMB %7.2fMB" % (
            LABEL[m], N_MAX[m], q, 1e3 * ti, 1e3 * (tc or 0), 1e3 * tn, 100 * (tn / ti - 1),
            100 * (cn / ci - 1) if ci and cn else 0,
            ri / MIB, rc / MIB, rn / MIB, fb / MIB, (rn - ri) / MIB))
    p("  (Fisher = bytes of the L_b blocks (and F_b, kept only when alpha < 1) allocated at the end;")
    p("  NP-I RSS = extra peak RSS)")
    p("  ZO-NP ms = median regular iteration + (Fisher-update iteration - regular) / T_ud")
    p("")
    p("ZO-NP memory with EVERY Fisher block present (T_ud = 1, cycle schedule, n_blocks iterations)")
    p("  %-22s %7s %10s %10s %10s %12s" % ("model", "blocks", "RSS NP", "Fisher", "NP-I RSS",
                                           "1.5 x Fisher"))
    for m in MODELS:
        rf, fb, nb = (g("iterfull", m, "zo-np", k) for k in ("peak_rss_bytes", "fisher_bytes", "blocks"))
        ri = g("iter", m, "zo-i", "peak_rss_bytes")
        if rf is None or ri is None:
            continue
        p("  %-22s %7d %8.1fMB %8.2fMB %8.2fMB %10.2fMB" % (LABEL[m], nb, rf / MIB, fb / MIB,
                                                            (rf - ri) / MIB, 1.5 * fb / MIB))
    p("")
    large_section(g, p)
    p("MZI meshes alone (Clements, full, with screen): MZIs applied per second")
    p("  %-4s %6s %14s %14s %14s %14s %10s" % ("K", "MZIs", "rot n=100", "matrix n=100",
                                             "rot n=6500", "matrix n=6500", "AUTO n=100"))
    for k in (16, 32, 64):
        mk = "mesh%d" % k
        if g("mesh", mk, "all", "n_mzi") is None:
            continue
        vals = [g("mesh", mk, "%s_n%d" % (r, n), "mzi_per_s") for n in (100, 6500)
                for r in ("rotations", "matrix")]
        p("  %-4d %6d %14.3g %14.3g %14.3g %14.3g %10s" % (
            k, g("mesh", mk, "all", "n_mzi"), vals[0], vals[1], vals[2], vals[3],
            "matrix" if g("mesh", mk, "auto_n100", "route_matrix") else "rotations"))
    p("")
    # MZI classifier K=64 ZO-I with every-parameter perturbations
    t64, c64 = g("iterall", "mzi64", "zo-i", "seconds"), g("iterall", "mzi64", "zo-i", "cpu_seconds")
    mzi_flop = 65 * 100 * 3 * 2016 * 36
    mzi_gf = mzi_flop / t64 / 1e9 if t64 else None
    mzi_gfc = mzi_flop / c64 / 1e9 if c64 else None
    if t64:
        p("MZI classifier K=64, ZO-I over all parameters, Q=64, B=100: %.1f ms/iteration (%.1f "
          "CPU-ms) = %.1f GFLOP/s at 36 flops per MZI (65 x 100 x 3 x 2016): %.1f%% of sgemm (wall), "
          "%.1f%% (cpu)" % (1e3 * t64, 1e3 * (c64 or 0), mzi_gf, 100 * mzi_gf / sg,
                            100 * mzi_gfc / sgc if mzi_gfc and sgc else 0))
    tc_all = g("iterall", "cnn", "zo-i", "seconds")
    cc_all = g("iterall", "cnn", "zo-i", "cpu_seconds")
    t2, t1 = g("torch", "cnn", "threads2", "seconds"), g("torch", "cnn", "threads1", "seconds")
    c2 = g("torch", "cnn", "threads2", "cpu_seconds")
    if tc_all and t2:
        p("PyTorch peer (CNN ZO-I, all parameters, Q=20, B=100; torch %s, 2 threads, oneDNN %s):"
          % (g("torch", "cnn", "threads2", "torch_version"),
             "on" if g("torch", "cnn", "threads2", "mkldnn") else "off"))
        p("  torch %.1f ms/iteration (%.1f CPU-ms; 1 thread: %.1f ms); zoptic %.1f ms (%.1f CPU-ms):"
          " %.2fx faster (wall), %.2fx (cpu)" % (1e3 * t2, 1e3 * (c2 or 0), 1e3 * (t1 or 0),
                                                1e3 * tc_all, 1e3 * (cc_all or 0), t2 / tc_all,
                                                c2 / cc_all if c2 and cc_all else 0))
    p("")

    cnn_gf, cnn_gfc = g("forward", "cnn", "all", "gflops"), g("forward", "cnn", "all", "gflops_per_cpu")
    goal("CNN forward, B*V = 2100 samples, >= 40% of sgemm peak",
         cnn_gfc / sgc >= 0.40 if cnn_gfc and sgc else None,
         "cpu %.1f%% (wall %.1f%%)" % (100 * cnn_gfc / sgc, 100 * cnn_gf / sg) if cnn_gfc and sgc else "")
    goal("MZI K=64 ZO-I iteration >= 25% of sgemm peak (36 flops/MZI)",
         mzi_gfc / sgc >= 0.25 if mzi_gfc and sgc else None,
         "cpu %.1f%% (wall %.1f%%)" % (100 * mzi_gfc / sgc, 100 * mzi_gf / sg) if mzi_gfc and sgc else "")
    for m in FWD_MODELS:
        if m == "cnn":
            continue
        gf, gfc = g("forward", m, "all", "gflops"), g("forward", m, "all", "gflops_per_cpu")
        why = None
        if m == "eq" and roof:
            why = ("the roofline of 100 samples per call: %.0f%% of the time is the fixed cost per "
                   "layer call; at B = 10,000 the same forward runs at %.1f%% cpu"
                   % (100 * roof[2], 100 * roof[1]))
        goal("%s forward, B*V samples, >= 40%% of sgemm peak" % LABEL[m],
             gfc / sgc >= 0.40 if gfc and sgc else None,
             "cpu %.1f%% (wall %.1f%%)" % (100 * gfc / sgc, 100 * gf / sg) if gfc and sgc else "", why)
    for m in MODELS:
        ti, tn = g("iter", m, "zo-i", "seconds"), g("iter", m, "zo-np", "seconds")
        ci, cn = g("iter", m, "zo-i", "cpu_seconds"), g("iter", m, "zo-np", "cpu_seconds")
        fl, why = np_floor(g, m), None
        if fl:
            why = ("the Fisher update costs %.1f ZO-I iterations every T_ud = %d: +%.1f%% by itself "
                   "(%sfloor in queries N_max/(T_ud (Q+1)) = %.1f%%); the regular iteration's draws "
                   "%+.1f%%" % (fl[0], T_UD, 100 * fl[0] / T_UD,
                                "mean over every block %.1f; " % fl[3] if fl[3] is not None else "",
                                100 * fl[2], 100 * fl[1]))
        goal("ZO-NP time overhead over ZO-I <= 10%%, %s" % LABEL[m],
             cn / ci - 1 <= 0.10 if ci and cn else None,
             "cpu %+.1f%% (wall %+.1f%%)" % (100 * (cn / ci - 1), 100 * (tn / ti - 1)) if ci and cn else "",
             why)
    for sect, when in (("iter", "after 103 iterations"), ("iterfull", "all Fisher blocks")):
        rn = g(sect, "cnn", "zo-np", "peak_rss_bytes")
        goal("Peak RSS of ZO-NP on the CNN <= 64 MB (%s)" % when,
             rn <= 64 * MIB if rn else None, "%.1f MB" % (rn / MIB) if rn else "")
    for sect, when in (("iter", "103 it."), ("iterfull", "all blocks")):
        for m in MODELS:
            ri, rn, fb = (g("iter", m, "zo-i", "peak_rss_bytes"), g(sect, m, "zo-np", "peak_rss_bytes"),
                          g(sect, m, "zo-np", "fisher_bytes"))
            if ri is None or rn is None:
                continue
            goal("ZO-NP extra RSS <= 1.5 x Fisher, %s, %s" % (LABEL[m], when), rn - ri <= 1.5 * fb,
                 "%.2f MB extra vs 1.5 x %.2f MB" % ((rn - ri) / MIB, fb / MIB),
                 "the reference counts L_b only since F_b is no longer kept (alpha = 1, issue #18: "
                 "half the bytes the goal was set against); the rest is the Jacobian calls' output "
                 "buffer ((Q+1) x B x outputs) and the Fisher scratch, independent of the blocks")
    rl = g("iterblocks_25", "mixerL", "zo-np@512", "peak_rss_bytes")
    goal("ZO-NP peak RSS <= 1 GB, large mixer, N_max = 512, first 5 epochs' blocks",
         rl <= GB if rl else None, "%.3f GB" % (rl / GB) if rl else "")
    ti, tn = large_epoch(g, "zo-i", 512), large_epoch(g, "zo-np", 512)
    goal("ZO-NP time overhead over ZO-I <= 10%, MLP-mixer (large), per epoch",
         tn / ti - 1 <= 0.10 if ti and tn else None,
         "cpu %+.1f%% (paper %+.1f%%)" % (100 * (tn / ti - 1), 100 * (656.5 / 638.8 - 1)) if ti and tn else "",
         "5 Fisher updates per epoch of n_b + 1 = 513 Jacobian queries each against 500 x 21 "
         "queries: +24.4%% in queries; the prefix up to the block's layer is computed once per "
         "update, the block's layer and everything after it once per query (a black box)")
    goal("zoptic CNN ZO-I iteration >= 3x faster than the PyTorch peer (wall, both 2 threads)",
         t2 / tc_all >= 3 if t2 and tc_all else None,
         "%.2fx (cpu %.2fx)" % (t2 / tc_all, c2 / cc_all if c2 and cc_all else 0) if t2 and tc_all else "")
    p("Goals (under a MISS: why)")
    for v, name, detail, why in verdicts:
        p("  [%s] %-66s %s" % (v, name, detail))
        if why:
            p("         why: %s" % why)
    print("\n".join(out))


if __name__ == "__main__":
    main()
