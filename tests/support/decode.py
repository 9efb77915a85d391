"""Read barcodes back with an independent decoder (zxing-cpp), from PNG, SVG or PDF bytes."""
from __future__ import annotations

import io

import cairosvg
import pypdfium2
import zxingcpp
from PIL import Image

RASTER_DPI = 600  # vectors are rasterised finely enough that 0.2 mm modules span several pixels


def to_image(body: bytes, content_type: str) -> Image.Image:
    if content_type == "image/png":
        return Image.open(io.BytesIO(body))
    if content_type == "image/svg+xml":
        png = cairosvg.svg2png(bytestring=body, dpi=RASTER_DPI, background_color="white")
        return Image.open(io.BytesIO(png))
    if content_type == "application/pdf":
        pdf = pypdfium2.PdfDocument(body)
        try:
            return pdf[0].render(scale=RASTER_DPI / 72).to_pil()
        finally:
            pdf.close()
    raise ValueError(f"cannot rasterise {content_type}")


def decode(body: bytes, content_type: str) -> list[str]:
    """Every distinct text zxing-cpp finds in the image."""
    return sorted({result.text for result in zxingcpp.read_barcodes(to_image(body, content_type))})
