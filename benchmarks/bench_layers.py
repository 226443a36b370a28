"""Layer benchmark: Conv2d, ConvTranspose2d, BatchNorm2d and ELU at SqueezeNet v1.1 shapes.

Times forward and backward of each layer at the shapes SqueezeNet v1.1 sees for a 227x227 input (batch 32,
float32), and, in the same run, a bare NumPy float32 GEMM of the size each convolution reduces to
(M = C_out, K = C_in*KH*KW, N = batch*OH*OW, one ``np.matmul(A, B, out=C)``). Targets:

- Conv2d forward within 1.5x of that GEMM (the 3x3 convolutions especially);
- the Numba ``col2im`` (``squeezenp/ops/im2col.py``) at least 10x faster than an ``np.add.at`` scatter (written
  here, in the benchmark only).

Every layer is warmed up first (the first call, i.e. Numba compilation or cache loading, is reported
separately); times are the best of ``--repeat`` runs, the GEMM timed in the same loop as the layer. The script re-executes itself with
``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000`` so glibc keeps freed large blocks instead of
returning them to the OS (otherwise every fresh 100 MB array pays 30-95 ms of page faults here).
``OPENBLAS_CORETYPE`` is left as found.

Usage::

    python benchmarks/bench_layers.py            # full run (a few minutes)
    python benchmarks/bench_layers.py --quick    # fewer shapes and repeats
    python benchmarks/bench_layers.py --network proposed   # every conv of the network vs its GEMM, aggregate
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

_MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}
if any(os.environ.get(k) != v for k, v in _MALLOC_ENV.items()) and os.environ.get("_BENCH_REEXEC") != "1":
    env = dict(os.environ, **_MALLOC_ENV, _BENCH_REEXEC="1")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import numpy as np  # noqa: E402
import numba  # noqa: E402

from squeezenp import ops  # noqa: E402
from squeezenp.ops.im2col import col2im  # noqa: E402
from squeezenp.layers import ELU, BatchNorm2d, Conv2d, ConvTranspose2d  # noqa: E402


# --------------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------------
def squeezenet_shapes(size=227):
    """Spatial sizes of SqueezeNet v1.1: conv1 3x3/2, then 3x3/2 ceil-mode max pools."""
    s1 = ops.conv_output_size(size, 3, 2, 0)          # conv1: 227 -> 113
    s2 = ops.pool_output_size(s1, 3, 2, True)          # pool1: 113 -> 56   (fire2, fire3)
    s4 = ops.pool_output_size(s2, 3, 2, True)          # pool3: 56 -> 28    (fire4, fire5)
    s6 = ops.pool_output_size(s4, 3, 2, True)          # pool5: 28 -> 14    (fire6..fire9)
    return s1, s2, s4, s6


def conv_cases(size, quick):
    s1, s2, s4, s6 = squeezenet_shapes(size)
    # (name, C_in, C_out, k, stride, pad, H_in)
    cases = [("conv1 3x3/2", 3, 64, 3, 2, 0, size)]
    fires = [("fire2", 64, 16, 64, s2), ("fire4", 128, 32, 128, s4), ("fire6", 256, 48, 192, s6),
             ("fire8", 384, 64, 256, s6)]
    if quick:
        fires = [fires[0], fires[3]]
    for name, cin, sq, ex, h in fires:
        cases += [(f"{name} squeeze1x1", cin, sq, 1, 1, 0, h),
                  (f"{name} expand1x1", sq, ex, 1, 1, 0, h),
                  (f"{name} expand3x3", sq, ex, 3, 1, 1, h)]
    return cases


# --------------------------------------------------------------------------------------------------
# Timing helpers
# --------------------------------------------------------------------------------------------------
def timeit(fn, repeat):
    """Best of ``repeat`` calls, in ms."""
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.min(ts)) * 1e3


def first_call(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def bench_layer(layer, x, dout, repeat, gemm=None):
    """Warm up (first call reported), then the best forward, backward (and ``gemm()``) times in ms.

    The GEMM is timed in the same loop, in blocks alternated with the layer's, so both see the same machine state.
    Best-of rather than median: on a shared 2-core VM other processes only ever add time.
    """
    def fb():
        layer.forward(x, training=True)
        layer.backward(dout)
    t_first = first_call(fb)
    fb()
    if gemm is not None:
        gemm()
    fwd, bwd, gm = [], [], []
    for _ in range(repeat):                 # blocks of back-to-back calls, alternated (see network_conv_efficiency)
        # OpenBLAS's worker threads busy-wait for about 0.1 s after a multi-threaded call (its THREAD_TIMEOUT);
        # without this pause the layer would be timed next to a spinning BLAS thread left by the reference
        # GEMM, a cost no squeezenp path pays (its GEMMs run on one-thread BLAS, see squeezenp/ops/gemm.py)
        time.sleep(0.2)
        # untimed: calls after an idle pause run slow on this VM for some tens of milliseconds (a fixed 2 calls
        # was enough for the 10-ms layers, not for the 1-ms ones), so warm up for a time, not a call count
        warm_until = time.perf_counter() + 0.05
        for k in itertools.count():
            layer.forward(x, training=True)
            layer.backward(dout)
            if k >= 1 and time.perf_counter() >= warm_until:
                break
        for _ in range(3):
            t0 = time.perf_counter()
            layer.forward(x, training=True)
            t1 = time.perf_counter()
            layer.backward(dout)
            t2 = time.perf_counter()
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
        if gemm is not None:
            for _ in range(3):
                t3 = time.perf_counter()
                gemm()
                gm.append(time.perf_counter() - t3)
    best = lambda v: float(np.min(v)) * 1e3 if v else float("nan")  # noqa: E731
    return best(fwd), best(bwd), t_first, best(gm)


def make_gemm(M, K, Ncols, rng):
    """A bare float32 GEMM ``(M, K) @ (K, Ncols)`` into a preallocated output, as a callable."""
    A = rng.standard_normal((M, K), dtype=np.float32)
    B = rng.standard_normal((K, Ncols), dtype=np.float32)
    C = np.empty((M, Ncols), dtype=np.float32)
    return lambda: np.matmul(A, B, out=C)


def col2im_add_at(cols, x_shape, kh, kw, sh, sw, ph, pw, index):
    """col2im with ``np.add.at`` (the CS231n way): one unbuffered scatter-add of every column entry."""
    N, C, H, W = x_shape
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    k, i, j = index
    np.add.at(xp, (slice(None), k, i, j), cols)
    return xp[:, :, ph:ph + H, pw:pw + W]


def add_at_index(C, H, W, kh, kw, sh, sw, ph, pw):
    """Row/column index arrays of shape (C*kh*kw, OH*OW) into the padded image (precomputed, untimed)."""
    OH, OW = ops.conv_output_size(H, kh, sh, ph), ops.conv_output_size(W, kw, sw, pw)
    c, i, j = np.meshgrid(np.arange(C), np.arange(kh), np.arange(kw), indexing="ij")
    oh, ow = np.meshgrid(np.arange(OH), np.arange(OW), indexing="ij")
    rows = (i.reshape(-1, 1) + sh * oh.reshape(1, -1))
    colsx = (j.reshape(-1, 1) + sw * ow.reshape(1, -1))
    return c.reshape(-1, 1), rows, colsx


def thread_info():
    lines = [f"numba threads: {numba.get_num_threads()} (NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, "
             f"layer={numba.threading_layer() if _ran_parallel() else '?'})"]
    try:
        from threadpoolctl import threadpool_info
        for p in threadpool_info():
            lines.append(f"{p['user_api']} ({p['internal_api']} {p.get('version')}, "
                         f"{p.get('architecture', '')}): {p['num_threads']} threads")
    except ImportError:
        lines.append("threadpoolctl not installed: BLAS thread count unknown")
    return lines


def _ran_parallel():
    try:
        numba.threading_layer()
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------------
def network_conv_efficiency(name="proposed", batch=32, size=227, repeat=5):
    """Every Conv2d of one network at its real input shape (evaluation forward, batch ``batch``) against a bare
    NumPy float32 GEMM of the size it reduces to (M = C_out, K = C_in*KH*KW, N = batch*OH*OW), timed in the same
    loop. The GEMM is timed with the BLAS on all cores and on one thread, and the faster counts (the stricter
    reference). Returns per-layer rows and the aggregate: total conv GFLOP / total conv time as a fraction of
    total GEMM GFLOP / total GEMM time. FLOPs are always the direct convolution's (2 M K N): a layer that ran
    Winograd (fewer multiply-adds) is counted at its direct-conv FLOPs, so its speed-up shows as a higher rate.
    Each row names the algorithm that ran the layer (``_common.conv3x3_mode``: ``SQUEEZENP_CONV3X3`` and the
    dispatch's choice)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _common as C
    from threadpoolctl import threadpool_limits
    import squeezenp.models as M
    model = M.build(name, num_classes=2, input_size=size).fuse(False)    # every Conv2d called on its own
    shapes = {}
    convs = [(n, l) for n, l in model.named_layers() if isinstance(l, Conv2d)]
    handles = [layer.register_forward_hook(lambda layer, args, out, _n=lname: shapes.setdefault(_n, args[0].shape))
               for lname, layer in convs]
    rng = np.random.default_rng(0)
    model.forward(rng.standard_normal((1, 3, size, size), dtype=np.float32), training=False)
    for h in handles:
        h.remove()
    rows, tot = [], {"conv_s": 0.0, "gemm_s": 0.0, "gflop": 0.0}
    for lname, layer in convs:
        xs = (batch,) + shapes[lname][1:]
        x = rng.standard_normal(xs, dtype=np.float32)
        oshape = layer.output_shape(xs)
        kh, kw = layer.kernel_size
        Mg, K, Nc = layer.out_channels, layer.in_channels * kh * kw, batch * oshape[2] * oshape[3]
        gemm = make_gemm(Mg, K, Nc, rng)
        ran = C.conv3x3_mode(lambda: layer.forward(x, training=False))["ran"]      # also the warm-up call
        algo = ran if (kh, kw) == (3, 3) and layer.stride == (1, 1) else "im2col"
        gemm()
        # Each in its own block of back-to-back calls (steady state), the blocks alternated ``repeat`` times so
        # both see the same machine state. Toggling the BLAS thread count between single calls (as an
        # interleaved loop would) leaves OpenBLAS re-waking its threads during the next conv: measured 20-30%
        # on the conv, an artefact of the benchmark rather than a property of the layer.
        fwd, gm_all, gm_one = [], [], []
        for _ in range(repeat):
            for _ in range(3):
                t0 = time.perf_counter()
                layer.forward(x, training=False)
                fwd.append(time.perf_counter() - t0)
            for _ in range(3):
                t0 = time.perf_counter()
                gemm()
                gm_all.append(time.perf_counter() - t0)
            with threadpool_limits(1, user_api="blas"):
                for _ in range(3):
                    t0 = time.perf_counter()
                    gemm()
                    gm_one.append(time.perf_counter() - t0)
        gf = 2.0 * Mg * K * Nc / 1e9
        f, g = min(fwd), min(min(gm_all), min(gm_one))
        rows.append({"layer": lname, "input": list(xs), "algorithm": algo, "gflop": gf, "conv_ms": f * 1e3,
                     "gemm_ms": g * 1e3,
                     "gemm_all_cores_ms": min(gm_all) * 1e3, "gemm_1_thread_ms": min(gm_one) * 1e3,
                     "fraction_of_gemm_rate": g / f})
        tot["conv_s"] += f
        tot["gemm_s"] += g
        tot["gflop"] += gf
        del x
    agg = {"network": name, "batch": batch, "conv_gflops_per_s": tot["gflop"] / tot["conv_s"],
           "gemm_gflops_per_s": tot["gflop"] / tot["gemm_s"], "fraction_of_gemm_rate": tot["gemm_s"] / tot["conv_s"],
           "conv_ms_total": tot["conv_s"] * 1e3, "gemm_ms_total": tot["gemm_s"] * 1e3, "layers": rows,
           "flops": "direct convolution (2 M K N) for every layer, Winograd ones included",
           "conv3x3_env": os.environ.get(C.CONV3X3_ENV) or "unset", "threads": C.thread_info()}
    return agg


def main_network(args):
    import json
    if args.threads:
        from threadpoolctl import threadpool_limits
        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
        threadpool_limits(args.threads)
    res = network_conv_efficiency(args.network, args.batch, args.size, args.repeat or (2 if args.quick else 5))
    res["load"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(res))
        return
    print(f"{args.network}: every Conv2d (evaluation forward, batch {args.batch}) vs a bare float32 GEMM of its size "
          f"(best of BLAS on all cores / 1 thread); load {res['load']}")
    print(f"{'layer':<24}{'input':>22}{'algorithm':>12}{'GFLOP':>8}{'conv ms':>9}{'GEMM ms':>9}{'% of GEMM rate':>16}")
    for r in res["layers"]:
        print(f"{r['layer']:<24}{str(tuple(r['input'])):>22}{r['algorithm'][:12]:>12}{r['gflop']:8.2f}"
              f"{r['conv_ms']:9.2f}{r['gemm_ms']:9.2f}{100 * r['fraction_of_gemm_rate']:15.0f}%")
    print(f"aggregate: convs {res['conv_gflops_per_s']:.1f} GFLOP/s, GEMMs {res['gemm_gflops_per_s']:.1f} GFLOP/s -> "
          f"{100 * res['fraction_of_gemm_rate']:.0f}% of the GEMM rate (target >= 70%, Winograd layers at their "
          f"direct-conv FLOPs: {'MET' if res['fraction_of_gemm_rate'] >= 0.7 else 'NOT MET'})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--repeat", type=int, default=None, help="timed repeats (default 10, quick 4)")
    ap.add_argument("--ct-out", type=int, default=64, help="C_out of the 512->C k4 s4 ConvTranspose2d")
    ap.add_argument("--network", default=None, help="only the aggregate over this network's Conv2d layers")
    ap.add_argument("--json", action="store_true", help="with --network: one JSON line")
    ap.add_argument("--threads", type=int, default=None, help="with --network: Numba and BLAS threads (default: all)")
    args = ap.parse_args(argv)
    if args.network:
        return main_network(args)
    repeat = args.repeat or (4 if args.quick else 10)
    N = args.batch
    rng = np.random.default_rng(0)
    f32 = np.float32

    print("squeezenp layer benchmark (float32, NCHW)")
    print(f"batch {N}, input {args.size}x{args.size}, spatial sizes (conv1, fire2, fire4, fire6/8) = "
          f"{squeezenet_shapes(args.size)}, best of {repeat}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other processes on this machine inflate times)")
    print("env: " + " ".join(f"{k}={os.environ.get(k)}" for k in
                             ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "OPENBLAS_CORETYPE",
                              "OMP_NUM_THREADS", "NUMBA_NUM_THREADS")))
    print(f"numpy {np.__version__}, numba {numba.__version__}, cpu count {os.cpu_count()}")

    compile_ms = {}
    rows = []
    # ---------------- convolutions ---------------------------------------------------------------
    hdr = (f"{'layer':<22}{'input':>20}{'fwd ms':>9}{'bwd ms':>9}{'fwd GF/s':>10}{'bwd GF/s':>10}"
           f"{'GEMM ms':>9}{'GEMM GF/s':>10}{'fwd/GEMM':>10}")
    print("\nConv2d (GEMM: M=C_out, K=C_in*KH*KW, N=batch*OH*OW; backward = 2 GEMMs of that size + col2im)")
    print(hdr)
    for name, cin, cout, k, s, p, h in conv_cases(args.size, args.quick):
        layer = Conv2d(cin, cout, k, stride=s, padding=p, rng=0)
        x = rng.standard_normal((N, cin, h, h), dtype=f32)
        oshape = layer.output_shape(x.shape)
        dout = rng.standard_normal(oshape, dtype=f32)
        M, K, Nc = cout, cin * k * k, N * oshape[2] * oshape[3]
        fwd, bwd, first, gemm = bench_layer(layer, x, dout, repeat, make_gemm(M, K, Nc, rng))
        compile_ms[f"Conv2d {name}"] = first
        gf = 2.0 * M * K * Nc / 1e9
        print(f"{name:<22}{str(x.shape):>20}{fwd:9.2f}{bwd:9.2f}{gf / fwd * 1e3:10.1f}{2 * gf / bwd * 1e3:10.1f}"
              f"{gemm:9.2f}{gf / gemm * 1e3:10.1f}{fwd / gemm:10.2f}")
        rows.append((name, fwd / gemm))
        del layer, x, dout

    # ---------------- transposed convolution -----------------------------------------------------
    s6 = squeezenet_shapes(args.size)[3]
    print(f"\nConvTranspose2d 512->{args.ct_out} k4 s4 (GEMM: M=C_out*16, K=C_in, N=batch*H*W; "
          f"forward = GEMM + col2im)")
    print(hdr)
    layer = ConvTranspose2d(512, args.ct_out, 4, stride=4, rng=0)
    x = rng.standard_normal((N, 512, s6, s6), dtype=f32)
    dout = rng.standard_normal(layer.output_shape(x.shape), dtype=f32)
    M, K, Nc = args.ct_out * 16, 512, N * s6 * s6
    fwd, bwd, first, gemm = bench_layer(layer, x, dout, repeat, make_gemm(M, K, Nc, rng))
    compile_ms["ConvTranspose2d"] = first
    gf = 2.0 * M * K * Nc / 1e9
    print(f"{'convT 512->%d k4s4' % args.ct_out:<22}{str(x.shape):>20}{fwd:9.2f}{bwd:9.2f}"
          f"{gf / fwd * 1e3:10.1f}{2 * gf / bwd * 1e3:10.1f}{gemm:9.2f}{gf / gemm * 1e3:10.1f}{fwd / gemm:10.2f}")
    del layer, x, dout

    # ---------------- batch norm and ELU ---------------------------------------------------------
    s1, s2, s4, s6 = squeezenet_shapes(args.size)
    bn_shapes = [("conv1 out", 64, s1), ("fire2 squeeze", 16, s2), ("fire4 squeeze", 32, s4),
                 ("fire6 squeeze", 48, s6), ("fire8 squeeze", 64, s6)]
    if args.quick:
        bn_shapes = bn_shapes[1:2] + bn_shapes[4:]
    print("\nBatchNorm2d (training) and ELU; GB/s counts the minimal traffic "
          "(BN fwd: read x twice, write out+x_hat; bwd: read dout, x_hat twice, write dx; "
          "ELU fwd: read x, write out; bwd: read dout, x, out, write dx)")
    print(f"{'layer':<28}{'input':>20}{'fwd ms':>9}{'bwd ms':>9}{'fwd GB/s':>10}{'bwd GB/s':>10}")
    for name, c, h in bn_shapes:
        x = rng.standard_normal((N, c, h, h), dtype=f32)
        dout = rng.standard_normal(x.shape, dtype=f32)
        nb = x.nbytes / 1e9
        for lname, layer, rf, rb in (("BatchNorm2d", BatchNorm2d(c), 4, 5), ("ELU", ELU(), 2, 4)):
            fwd, bwd, first, _ = bench_layer(layer, x, dout, repeat)
            compile_ms.setdefault(lname, first)
            print(f"{lname + ' ' + name:<28}{str(x.shape):>20}{fwd:9.2f}{bwd:9.2f}"
                  f"{rf * nb / fwd * 1e3:10.1f}{rb * nb / bwd * 1e3:10.1f}")

    # ---------------- col2im vs np.add.at --------------------------------------------------------
    print("\ncol2im (squeezenp.ops.im2col.col2im) vs np.add.at scatter (index arrays precomputed, untimed)")
    print(f"{'case':<30}{'x shape':>20}{'col2im ms':>11}{'add.at ms':>11}{'speed-up':>10}")
    c2i_cases = [("fire2 expand3x3 dx, k3 s1 p1", (N, 16, s2, s2), 3, 1, 1),
                 (f"convT k4 s4 forward", (N, args.ct_out, 4 * s6, 4 * s6), 4, 4, 0)]
    speedups = []
    for name, xs, k, s, p in c2i_cases:
        Nn, C, H, W = xs
        OH, OW = ops.conv_output_size(H, k, s, p), ops.conv_output_size(W, k, s, p)
        cols = rng.standard_normal((Nn, C * k * k, OH * OW), dtype=f32)
        out = np.empty(xs, dtype=f32)
        compile_ms.setdefault("col2im", first_call(lambda: col2im(cols, xs, k, k, s, s, p, p, out=out)))
        t_fast = timeit(lambda: col2im(cols, xs, k, k, s, s, p, p, out=out), repeat)
        idx = add_at_index(C, H, W, k, k, s, s, p, p)
        ref = col2im_add_at(cols, xs, k, k, s, s, p, p, idx)
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
        t_slow = timeit(lambda: col2im_add_at(cols, xs, k, k, s, s, p, p, idx), max(1, min(repeat, 3)))
        speedups.append(t_slow / t_fast)
        print(f"{name:<30}{str(xs):>20}{t_fast:11.2f}{t_slow:11.1f}{t_slow / t_fast:9.1f}x")
        del cols, out, ref

    print("\nfirst call (Numba compilation or cache load + first run), ms:")
    print("  " + ", ".join(f"{k} {v:.0f}" for k, v in compile_ms.items()))
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    print("threads:")
    for line in thread_info():
        print("  " + line)

    worst3 = max(r for n, r in rows if "3x3" in n)
    worst = max(r for _, r in rows)
    print("\ntargets:")
    print(f"  Conv2d forward / GEMM <= 1.5: 3x3 convs worst {worst3:.2f}, all convs worst {worst:.2f} "
          f"-> {'MET' if worst3 <= 1.5 else 'NOT MET'} (3x3), {'MET' if worst <= 1.5 else 'NOT MET'} (all)")
    print(f"  col2im >= 10x np.add.at: worst {min(speedups):.1f}x -> {'MET' if min(speedups) >= 10 else 'NOT MET'}")


if __name__ == "__main__":
    main()
