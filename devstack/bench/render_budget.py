"""`python -m devstack.bench.render_budget`: peak memory of a generator-like process rendering
four worst-case accepted jobs at once (one per render thread), for the pixel budget.

A worst-case job is the largest bitmap `api.check` still accepts under the budget
(services/render/budget.py, GENERATOR_MAX_PIXELS): for each scenario, the highest `dpi` whose
final PNG (quiet zones, text, rotation included) fits. Each scenario runs in a fresh child
process that imports what the generator imports, renders one small job to warm up, then
renders four such jobs concurrently in a thread pool of four (GENERATOR_RENDER_THREADS'
default), with verification, as JobRunner does. The child reports its resident memory before
and its peak (VmHWM) after; the parent prints a table. Compare the peak with the generator's
memory limit in helm/barcode-pipeline/values.yaml (components.generator.resources.limits).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devstack import paths

# (name, symbology, engine, format, data, options without dpi): the costliest paths per engine.
# python-barcode draws RGB (3 bytes a pixel) and rotates into a second image; zint writes a
# palette PNG that verification opens and converts.
SCENARIOS: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    ("python-barcode code128 png, colours, rotated", "code128", "python-barcode", "png", "HELLO-1234567890" * 5,
     {"module_width": 0.33, "quiet_zone": 50, "module_height": 200, "font_size": 40, "rotation": 90,
      "foreground": "#112233", "background": "#ffeedd"}),
    # zint takes at most 100 modules of quiet zone (20 mm: 91 modules at the narrowest snapped X).
    ("zint code128 png, colours, rotated", "code128", "zint", "png", "HELLO-1234567890" * 5,
     {"module_width": 0.33, "quiet_zone": 20, "module_height": 200, "rotation": 90,
      "foreground": "#112233", "background": "#ffeedd"}),
    ("zint qrcode v40 png, rotated", "qrcode", "zint", "png", "A",
     {"module_width": 0.5, "version": 40, "quiet_zone": 20, "rotation": 90}),
    ("zint maxicode png", "maxicode", "zint", "png", "HELLO MAXICODE", {"module_width": 1.0, "quiet_zone": 10}),
    ("python-barcode code128 svg (verification raster)", "code128", "python-barcode", "svg", "HELLO-1234567890" * 5,
     {"module_width": 0.33, "quiet_zone": 50, "module_height": 200, "font_size": 40, "rotation": 90}),
]


def rss_kib(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(field)


def worst_case(symbology_name: str, engine: str, fmt: str, data: str, options: dict[str, Any],
               max_pixels: int) -> dict[str, Any]:
    """The options at the highest dpi the budget accepts (pixels grow with dpi)."""
    from services.render import api
    from services.render.errors import JobError
    from services.render.symbologies import CATALOGUE

    symbology = CATALOGUE[symbology_name]
    best: dict[str, Any] | None = None
    low, high = 72, 2400
    while low <= high:
        dpi = (low + high) // 2
        candidate = {**options, "dpi": dpi}
        try:
            api.check(symbology, data, candidate, engine, fmt, max_pixels)
        except JobError as exc:
            if exc.code != "output_too_large":
                raise
            high = dpi - 1
            continue
        best, low = candidate, dpi + 1
    if best is None:
        raise SystemExit(f"{symbology_name}: nothing fits the budget")
    return best


def child(scenario: int, max_pixels: int, jobs: int) -> None:
    import services.generator.__main__  # noqa: F401 - what the generator process imports
    from services.render import api
    from services.render.symbologies import CATALOGUE

    _, name, engine, fmt, data, options = SCENARIOS[scenario]
    symbology = CATALOGUE[name]
    api.render(symbology, "WARM", "png", {}, engine)
    worst = worst_case(name, engine, fmt, data, options, max_pixels)
    from services.render.budget import raster_options
    # The bitmap the job allocates: the PNG, or for a vector format the verification raster.
    sized = worst if fmt == "png" else raster_options(worst)
    info = api.engine_for(symbology, engine).check(name, data, sized)
    before = rss_kib("VmRSS")
    started = time.monotonic()
    with ThreadPoolExecutor(jobs) as pool:
        done = list(pool.map(lambda _: api.render(symbology, data, fmt, worst, engine, True, max_pixels),
                             range(jobs)))
    took = time.monotonic() - started
    print(json.dumps({"dpi": worst["dpi"], "png_px": [info.width_px, info.height_px],
                      "bytes": len(done[0].body), "rss_before_mib": before / 1024,
                      "peak_mib": rss_kib("VmHWM") / 1024, "seconds": took}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-pixels", type=int, default=None, help="budget (default: the generator's)")
    parser.add_argument("--jobs", type=int, default=4, help="concurrent jobs (render threads)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.max_pixels is None:
        from services.render.budget import MAX_PIXELS
        args.max_pixels = MAX_PIXELS
    if args.child is not None:
        child(args.child, args.max_pixels, args.jobs)
        return
    print(f"budget {args.max_pixels / 1e6:g} M pixels, {args.jobs} jobs at once per scenario")
    print(f"{'scenario':52} {'dpi':>5} {'bitmap px':>13} {'RSS before':>11} {'peak RSS':>9} {'seconds':>8}")
    for index, (label, *_rest) in enumerate(SCENARIOS):
        out = subprocess.run([sys.executable, "-m", "devstack.bench.render_budget", "--child", str(index),
                              "--max-pixels", str(args.max_pixels), "--jobs", str(args.jobs)],
                             cwd=paths.ROOT, capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        width, height = row["png_px"]
        print(f"{label:52} {row['dpi']:>5} {f'{width}x{height}':>13} {row['rss_before_mib']:>8.0f} MiB "
              f"{row['peak_mib']:>5.0f} MiB {row['seconds']:>8.1f}")


if __name__ == "__main__":
    main()
