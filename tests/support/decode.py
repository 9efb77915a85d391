"""Read barcodes back with an independent decoder (zxing-cpp), from PNG, SVG, PDF, EPS or ZPL
bytes (a ZPL label drawn by zebrash, the independent ZPL renderer)."""
from __future__ import annotations

import atexit
import functools
import io
import re
import subprocess

import cairosvg
import pypdfium2
import zxingcpp
from PIL import Image

from devstack import install, paths
from services.render.zpl_render import ZplRenderer

RASTER_DPI = 600  # vectors are rasterised finely enough that 0.2 mm modules span several pixels


def to_image(body: bytes, content_type: str, dpi: int = RASTER_DPI) -> Image.Image:
    if content_type == "image/png":
        return Image.open(io.BytesIO(body))
    if content_type == "image/svg+xml":
        png = cairosvg.svg2png(bytestring=body, dpi=dpi, background_color="white")
        return Image.open(io.BytesIO(png))
    if content_type == "application/pdf":
        pdf = pypdfium2.PdfDocument(body)
        try:
            return pdf[0].render(scale=dpi / 72).to_pil()
        finally:
            pdf.close()
    if content_type == "application/postscript":
        # Ghostscript (Debian's ghostscript package), cropped to the EPS bounding box.
        png = subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dEPSCrop", "-sDEVICE=pnggray",
                              f"-r{dpi}", "-sOutputFile=-", "-"], input=body, capture_output=True, check=True,
                             timeout=60).stdout
        return Image.open(io.BytesIO(png))
    if content_type == "application/zpl":
        return zpl_label_image(body)
    raise ValueError(f"cannot rasterise {content_type}")


@functools.cache
def zpl_renderer() -> ZplRenderer:
    install.install_zpl_renderer()  # `make test` installed it already; idempotent
    renderer = ZplRenderer(paths.zpl_modules())
    atexit.register(renderer.close)
    return renderer


def zpl_label_image(body: bytes) -> Image.Image:
    """The label as zebrash prints it, one pixel per dot, at the size its ^PW and ^LL give (in
    dots: the density does not change what a label of dots looks like)."""
    width = re.search(rb"\^PW(\d+)", body)
    length = re.search(rb"\^LL(\d+)", body)
    assert width and length, "a ZPL label without ^PW/^LL"
    return zpl_renderer().render(body, int(width.group(1)), int(length.group(1)), 8)


def decode(body: bytes, content_type: str, formats: tuple[str, ...] = ()) -> list[str]:
    """Every distinct text zxing-cpp finds in the image (of the given zxing formats, if any:
    HIBC data read as Code 39 Extended, for one, is a different text)."""
    wanted = [getattr(zxingcpp.BarcodeFormat, f) for f in formats if hasattr(zxingcpp.BarcodeFormat, f)]
    # Vector output is rasterised at a second resolution if the first gives nothing: module
    # edges that fall between pixels can defeat a detector (seen with rectangular Data Matrix).
    for dpi in ((RASTER_DPI,) if content_type == "image/png" else (RASTER_DPI, 300)):
        image = to_image(body, content_type, dpi)
        results = zxingcpp.read_barcodes(image, formats=wanted) if wanted else zxingcpp.read_barcodes(image)
        if results:
            break
    return sorted({result.text for result in results})
