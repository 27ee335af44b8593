#!/usr/bin/env python3
"""Renders tileconv_bench's Google Benchmark JSON as docs/benchmarks.md and a bar chart.

    python3 bench/render.py [bench/results/h100.json] [--out docs/benchmarks.md] [--plot docs/benchmarks_h100.png]

Reads the median aggregates that bench/run_suite.sh writes (or the median of the single runs when the JSON has no
aggregates). Needs only the standard library, plus matplotlib for the plot; without matplotlib the page is written
without it. The ceilings default to the H100's, measured on the machine of the published numbers; pass your GPU's.
"""

import argparse
import csv
import json
import math
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONTENDERS = ["tileconv", "tileconv_autotuned", "cudnn_nchw_tf32", "cudnn_nhwc_tf32", "cudnn_nchw_fp32"]
TITLES = {
    "tileconv": "tileconv",
    "tileconv_autotuned": "tileconv autotuned",
    "cudnn_nchw_tf32": "cuDNN NCHW TF32",
    "cudnn_nhwc_tf32": "cuDNN NHWC TF32",
    "cudnn_nchw_fp32": "cuDNN NCHW FP32",
}
MS_PER_UNIT = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="?", default=os.path.join(ROOT, "bench", "results", "h100.json"),
                        help="Google Benchmark JSON from bench/run_suite.sh (default: bench/results/h100.json)")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"), help="Markdown page to write")
    parser.add_argument("--plot", default=None,
                        help="PNG to write (default: benchmarks_<json name>.png beside the page)")
    parser.add_argument("--shapes", default=os.path.join(ROOT, "bench", "shapes.csv"),
                        help="the shape list, for the order and GFLOP of each shape")
    parser.add_argument("--mma-tflops", type=float, default=326.0,
                        help="TF32 mma.sync ceiling in TFLOP/s (default: 326, measured on the H100)")
    parser.add_argument("--copy-tbps", type=float, default=3.0,
                        help="device copy bandwidth in TB/s, read + write (default: 3.0, measured on the H100)")
    parser.add_argument("--ceilings-from", default="measured on the H100 of the published numbers",
                        help="where the ceilings come from, for the page")
    args = parser.parse_args(argv)
    if args.plot is None:
        stem = os.path.splitext(os.path.basename(args.json))[0]
        if stem == "bench":  # run_suite.sh's OUTDIR/bench.json: name the plot after OUTDIR
            stem = os.path.basename(os.path.dirname(os.path.abspath(args.json))) or stem
        args.plot = os.path.join(os.path.dirname(os.path.abspath(args.out)), f"benchmarks_{stem}.png")
    return args


def read_shapes(path):
    """name -> (row of the CSV, GFLOP), in file order; empty when the file is missing."""
    shapes = {}
    if not os.path.exists(path):
        return shapes
    with open(path, newline="") as f:
        for row in csv.DictReader(line for line in f if line.strip() and not line.startswith("#")):
            v = {k: int(row[k]) for k in row if k != "name"}
            out_h = (v["H"] + 2 * v["pad_h"] - v["dil_h"] * (v["R"] - 1) - 1) // v["stride_h"] + 1
            out_w = (v["W"] + 2 * v["pad_w"] - v["dil_w"] * (v["S"] - 1) - 1) // v["stride_w"] + 1
            flop = 2.0 * v["N"] * v["K"] * out_h * out_w * (v["C"] // v["groups"]) * v["R"] * v["S"]
            shapes[row["name"]] = flop / 1e9
    return shapes


def load_results(path):
    """(context, shapes in order of appearance, {(contender, shape): result}).

    A result holds ms, tflops, bytes_per_second, rel_err, rel_err_max, label, error (None when it ran), repetitions.
    """
    with open(path) as f:
        data = json.load(f)  # Google Benchmark writes NaN / Infinity, which json reads
    order = []
    medians, singles, errors = {}, {}, {}
    for b in data.get("benchmarks", []):
        parts = b.get("run_name", b["name"]).split("/")
        if len(parts) < 3 or parts[0] != "conv2d":
            continue
        key = (parts[1], parts[2])
        if parts[2] not in order:
            order.append(parts[2])
        if b.get("error_occurred") or b.get("skipped"):
            errors[key] = b.get("error_message") or b.get("skip_message") or "skipped"
        elif b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = b
        else:
            singles.setdefault(key, []).append(b)

    def entry(b):
        return {
            "ms": b["real_time"] * MS_PER_UNIT[b.get("time_unit", "ns")],
            "tflops": b.get("TFLOP/s", float("nan")),
            "bytes_per_second": b.get("bytes_per_second", float("nan")),
            "rel_err": b.get("rel_err", float("nan")),
            "rel_err_max": b.get("rel_err_max", float("nan")),
            "label": b.get("label", ""),
            "repetitions": b.get("repetitions", 1),
            "error": None,
        }

    results = {}
    for key, b in medians.items():
        results[key] = entry(b)
    for key, runs in singles.items():
        if key in results:
            continue
        e = entry(runs[0])
        for field in ("ms", "tflops", "bytes_per_second"):
            e[field] = statistics.median(entry(r)[field] for r in runs)
        e["repetitions"] = len(runs)
        results[key] = e
    for key, message in errors.items():
        if key not in results:
            results[key] = {"error": message, "label": ""}
    return data.get("context", {}), order, results


def ok(result):
    return result is not None and result.get("error") is None


def fmt_ms(ms):
    return f"{ms:.3f}" if ms >= 0.1 else f"{ms:.4f}"


def fmt_err(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "inf (non-finite output)"
    return f"{x:.1e}"


def geomean(values):
    values = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def plot(path, order, results, device):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("render.py: matplotlib not installed, no plot (python3 -m pip install matplotlib)", file=sys.stderr)
        return False
    colors = {"tileconv": "#d62728", "tileconv_autotuned": "#ff9896", "cudnn_nchw_tf32": "#1f77b4",
              "cudnn_nhwc_tf32": "#2ca02c", "cudnn_nchw_fp32": "#7f7f7f"}
    width = 0.8 / len(CONTENDERS)
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(order)), 5.5))
    for i, contender in enumerate(CONTENDERS):
        xs, ys, skipped = [], [], []
        for s, shape in enumerate(order):
            r = results.get((contender, shape))
            x = s + (i - (len(CONTENDERS) - 1) / 2) * width
            if ok(r):
                xs.append(x)
                ys.append(r["ms"])
            elif r is not None:
                skipped.append(x)
        ax.bar(xs, ys, width, label=TITLES[contender], color=colors[contender])
        for x in skipped:
            ax.annotate("skipped", (x, 0), xycoords=("data", "axes fraction"), xytext=(0, 4),
                        textcoords="offset points", rotation=90, ha="center", va="bottom", fontsize=7,
                        color=colors[contender])
    ax.set_yscale("log")
    ax.set_ylabel("median time per call, ms (log scale; lower is better)")
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, rotation=35, ha="right", fontsize=8)
    ax.set_title(f"conv2d, float32 tensors: tileconv and cuDNN on {device}", pad=24)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=len(CONTENDERS), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def render(args):
    context, order, results = load_results(args.json)
    gflop = read_shapes(args.shapes)
    # the CSV's order first, then anything else the JSON holds
    order = [s for s in gflop if s in order] + [s for s in order if s not in gflop]
    device = context.get("device", "unknown GPU")
    reps = max((r.get("repetitions", 1) for r in results.values() if ok(r)), default=1)

    lines = []
    add = lines.append
    add("# Benchmarks")
    add("")
    add("<!-- Generated by bench/render.py from " + os.path.relpath(os.path.abspath(args.json), ROOT)
        + "; edit the generator, not this page. -->")
    add("")
    add("tileconv against cuDNN on the public shape suite, `bench/shapes.csv` (NCHW, float32 tensors), all "
        "contenders in one process on the same device buffers.")
    add("")
    add(f"- **Device:** {device} ({context.get('sm_count', '?')} SMs, compute capability "
        f"{context.get('compute_capability', '?')}, {context.get('l2_cache_mib', '?')} MiB L2, "
        f"{context.get('memory_gib', '?')} GiB)")
    add(f"- **Driver:** NVIDIA {context.get('nvidia_driver', '?')} (CUDA {context.get('cuda_driver_api', '?')}), "
        f"CUDA runtime {context.get('cuda_runtime', '?')}, **cuDNN** {context.get('cudnn_version', '?')}, "
        f"tileconv {context.get('tileconv_version', '?')}")
    add(f"- **Date:** {context.get('date', '?')} (host `{context.get('host_name', '?')}`)")
    add(f"- **Method:** {context.get('timing', '?')}. Each number is the median of {reps} repetitions, each of "
        "at least the minimum time (Google Benchmark, `bench/run_suite.sh`).")
    add("- **Contenders:** `tileconv` is `tileconv::conv2d` (the default launcher: TF32 `mma.sync`, and `wgmma` on "
        "sm_90 in an sm_90a build, with the workspace `conv2d_workspace_size` asks for); "
        "`tileconv_autotuned` is `tileconv::conv2d_autotuned`, the opt-in autotuner's pick (tuned once per shape, "
        "outside timing); "
        "`cudnn_nchw_tf32` / `cudnn_nhwc_tf32` are cuDNN with TF32 allowed (`CUDNN_DEFAULT_MATH`) on NCHW / NHWC "
        "tensors (the NHWC copies are made outside timing); `cudnn_nchw_fp32` is cuDNN restricted to FMA kernels "
        "(`CUDNN_FMA_MATH`, no TF32). cuDNN's algorithm: the fastest of those "
        "`cudnnFindConvolutionForwardAlgorithmEx` lists, timed again the way the benchmark times (median of "
        "10 launches over the rotated operands), once per shape, outside timing.")
    add(f"- **Ceilings** ({args.ceilings_from}): TF32 `mma.sync` m16n8k8 {args.mma_tflops:g} TFLOP/s (the `% of TF32 "
        f"mma` column; `wgmma`'s is higher); device copy {args.copy_tbps:.1f} TB/s. `% copy BW` counts input, filter "
        "and output bytes once each.")
    add("")

    footnotes = []

    def cell(contender, shape):
        r = results.get((contender, shape))
        if r is None:
            return "–"
        if not ok(r):
            footnotes.append(f"`conv2d/{contender}/{shape}`: {r['error']}")
            return f"**skipped** [{len(footnotes)}]"
        return fmt_ms(r["ms"])

    add("## Median time per call (ms) and tileconv's standing")
    add("")
    add("Speed-up = cuDNN time / tileconv time (above 1: tileconv is faster). Relative error: "
        "‖tileconv − cuDNN FP32‖₂ / ‖cuDNN FP32‖₂ on the same inputs.")
    add("")
    add("| shape | GFLOP | " + " | ".join(TITLES[c] for c in CONTENDERS) + " | speed-up vs NCHW TF32 "
        "| speed-up vs NHWC TF32 | tileconv TFLOP/s | % of TF32 mma | % of copy BW | tileconv rel. error |")
    add("|---|---:|" + "---:|" * (len(CONTENDERS) + 6))
    speedups = {"cudnn_nchw_tf32": [], "cudnn_nhwc_tf32": []}
    skipped_shapes = []
    for shape in order:
        t = results.get(("tileconv", shape))
        cells = [f"`{shape}`", f"{gflop[shape]:.1f}" if shape in gflop else "?"]
        cells += [cell(c, shape) for c in CONTENDERS]
        for peer in ("cudnn_nchw_tf32", "cudnn_nhwc_tf32"):
            p = results.get((peer, shape))
            if ok(t) and ok(p):
                speedup = p["ms"] / t["ms"]
                speedups[peer].append(speedup)
                cells.append(f"{speedup:.2f}×")
            else:
                cells.append("–")
        if ok(t):
            cells.append(f"{t['tflops']:.1f}")
            cells.append(f"{100 * t['tflops'] / args.mma_tflops:.1f}%")
            cells.append(f"{100 * t['bytes_per_second'] / (args.copy_tbps * 1e12):.1f}%")
            cells.append(fmt_err(t["rel_err"]))
        else:
            cells += ["–"] * 4
            if t is not None:
                skipped_shapes.append(shape)
        add("| " + " | ".join(cells) + " |")
    n_run = len(speedups["cudnn_nchw_tf32"])
    add(f"| **geometric mean** ({n_run} of {len(order)} shapes) | |" + " |" * len(CONTENDERS)
        + f" **{geomean(speedups['cudnn_nchw_tf32']):.2f}×** | **{geomean(speedups['cudnn_nhwc_tf32']):.2f}×** "
        "| | | | |")
    add("")
    tuned = [(shape, results.get(("tileconv_autotuned", shape)), results.get(("tileconv", shape))) for shape in order]
    tuned = [(shape, a["ms"] / d["ms"]) for shape, a, d in tuned if ok(a) and ok(d)]
    if tuned:
        worst_shape, worst = max(tuned, key=lambda t: t[1])
        best_shape, best = min(tuned, key=lambda t: t[1])
        add(f"Opt-in autotune against the default choice (autotuned time / default time, {len(tuned)} shapes): "
            f"geometric mean {geomean([r for _, r in tuned]):.3f}, worst {worst:.3f} (`{worst_shape}`), "
            f"best {best:.3f} (`{best_shape}`). Above 1 the autotuner's pick is slower than the cost model's.")
        add("")
    if skipped_shapes:
        add(f"tileconv skipped {len(skipped_shapes)} shape(s) (it returned an error status instead of running): "
            + ", ".join(f"`{s}`" for s in skipped_shapes) + ". The geometric means cover the shapes it ran.")
        add("")
    if footnotes:
        add("Skipped, with the reason the benchmark reported:")
        add("")
        for i, note in enumerate(footnotes, 1):
            add(f"{i}. {note}")
        add("")

    plot_rel = None
    if plot(args.plot, order, results, device):
        plot_rel = os.path.relpath(os.path.abspath(args.plot), os.path.dirname(os.path.abspath(args.out)))
        add(f"![median time per call of each contender and shape, log scale]({plot_rel})")
        add("")

    add("## Accuracy against cuDNN FP32")
    add("")
    add("Relative L2 error ‖x − ref‖₂ / ‖ref‖₂ and worst element max|x − ref| / max|ref|, where ref is "
        "`cudnn_nchw_fp32`'s output on the same inputs (uniform in [−1, 1)). The FP32 column compares two runs of the "
        "reference algorithm (0 when it is deterministic).")
    add("")
    def contender_table(column_rule, cell):
        """One row per shape, one column per contender; `cell(result)` for results that exist, '–' otherwise."""
        add("| shape | " + " | ".join(TITLES[c] for c in CONTENDERS) + " |")
        add("|---|" + column_rule * len(CONTENDERS))
        for shape in order:
            results_row = [results.get((c, shape)) for c in CONTENDERS]
            add("| " + " | ".join([f"`{shape}`"] + [cell(r) if ok(r) else "–" for r in results_row]) + " |")
        add("")

    contender_table("---:|", lambda r: f"{fmt_err(r['rel_err'])} / {fmt_err(r['rel_err_max'])}")

    add("## What ran")
    add("")
    add("tileconv's tile (BLOCK_OC x BLOCK_OW x BLOCK_R), warps and stages from its launch plan; cuDNN's algorithm, "
        "math type and workspace as chosen above.")
    add("")
    contender_table("---|", lambda r: r.get("label") or "")

    add("## Reproduce on your GPU (e.g. RTX 4090)")
    add("")
    add("Needs the CUDA Toolkit, cuDNN (set `CUDNN_ROOT` if CMake does not find it) and Google Benchmark; from the "
        "repository root:")
    add("")
    add("```sh")
    add("cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=native "
        "-DTILECONV_BUILD_TESTS=OFF -DTILECONV_BUILD_EXAMPLES=OFF && cmake --build build-bench --target tileconv_bench "
        "&& bench/run_suite.sh bench/results/rtx4090 && python3 bench/render.py bench/results/rtx4090/bench.json "
        "--out docs/benchmarks_rtx4090.md --mma-tflops YOUR_TF32_PEAK --copy-tbps YOUR_COPY_BW "
        "--ceilings-from 'YOUR_GPU, measured'")
    add("```")
    add("")
    add("`bench/run_suite.sh` passes extra flags on to `tileconv_bench`, e.g. `--benchmark_filter=r50` for the "
        "ResNet-50 shapes; `tileconv_bench --help` lists them all.")
    add("")

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print(f"render.py: wrote {args.out}" + (f" and {args.plot}" if plot_rel else ""), file=sys.stderr)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.exists(args.json):
        print(f"render.py: no results at {args.json}; run bench/run_suite.sh OUTDIR on a GPU first", file=sys.stderr)
        return 1
    render(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
