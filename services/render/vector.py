"""Vector formats from one SVG: physical size, rotation, PDF and EPS (through cairo).

Both engines produce SVG; PDF and EPS are converted from it with cairosvg, so they are
vectors too, and sized in millimetres so they print at the requested X-dimension.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import cairosvg

_ROOT = re.compile(rb"<svg\b[^>]*>", re.S)
_ATTR = re.compile(rb'\s(width|height|viewBox)="([^"]*)"')


def _root_size(svg: bytes) -> tuple[bytes, float, float, bytes | None]:
    root = _ROOT.search(svg)
    if root is None:
        raise ValueError("not an SVG document")
    attrs = {k: v for k, v in _ATTR.findall(root.group(0))}
    width = float(re.sub(rb"[a-z]+$", b"", attrs[b"width"]))
    height = float(re.sub(rb"[a-z]+$", b"", attrs[b"height"]))
    return root.group(0), width, height, attrs.get(b"viewBox")


def physical(svg: bytes, mm_per_unit: float) -> bytes:
    """Give an SVG drawn in user units a size in millimetres (and a viewBox), so it prints true."""
    root, width, height, view_box = _root_size(svg)
    if root.find(b'mm"') >= 0:
        return svg  # already physical (python-barcode writes mm)
    new_root = _ATTR.sub(b"", root)
    box = view_box or f"0 0 {width:g} {height:g}".encode()
    sized = new_root.replace(b"<svg", f'<svg width="{width * mm_per_unit:.3f}mm" height="{height * mm_per_unit:.3f}mm"'
                             .encode() + b' viewBox="' + box + b'"', 1)
    return svg.replace(root, sized, 1)


_MM_VALUE = re.compile(rb'="(-?[0-9.]+)mm"')
_FONT_PT = re.compile(rb"font-size:\s*([0-9.]+)pt")


def user_units_in_mm(svg: bytes) -> bytes:
    """python-barcode writes every coordinate as "N.NNNmm" and the font size in pt, with no
    viewBox. Make the user unit one millimetre instead (numbers only, a viewBox on the root),
    so the document can be nested and rotated without renderer-dependent unit conversions."""
    root, width, height, view_box = _root_size(svg)
    if view_box is not None:
        return svg
    body = svg.replace(root, b"", 1)
    body = _MM_VALUE.sub(rb'="\1"', body)
    body = _FONT_PT.sub(lambda m: b"font-size:%.3fpx" % (float(m.group(1)) * 25.4 / 72), body)
    new_root = _ATTR.sub(b"", root).replace(
        b"<svg", f'<svg width="{width:g}mm" height="{height:g}mm" viewBox="0 0 {width:g} {height:g}"'.encode(), 1)
    start = svg.index(root)
    return svg[:start] + new_root + body[start:]


def rotate(svg: bytes, degrees: int) -> bytes:
    """Rotate a physically sized SVG (width/height in mm, and a viewBox) clockwise: its root
    becomes a nested <svg> in user units inside a new root whose group turns it."""
    if degrees % 360 == 0:
        return svg
    root, width_mm, height_mm, view_box = _root_size(svg)
    if view_box is None:
        raise ValueError("rotate() needs an SVG with a viewBox")
    _, _, w, h = (float(v) for v in view_box.split())
    swap = degrees % 180 != 0
    transform = {90: f"translate({h:g} 0) rotate(90)", 180: f"translate({w:g} {h:g}) rotate(180)",
                 270: f"translate(0 {w:g}) rotate(270)"}[degrees % 360]
    outer_w, outer_h = (height_mm, width_mm) if swap else (width_mm, height_mm)
    outer_vb = f"0 0 {h:g} {w:g}" if swap else f"0 0 {w:g} {h:g}"
    outer = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{outer_w:g}mm" height="{outer_h:g}mm" '
             f'viewBox="{outer_vb}"><g transform="{transform}">').encode()
    nested = _ATTR.sub(b"", root).replace(b"<svg", b'<svg width="%g" height="%g" viewBox="%s"' % (w, h, view_box), 1)
    start = svg.index(root)
    rest = svg[start + len(root):].rstrip().removesuffix(b"</svg>")
    return svg[:start] + outer + nested + rest + b"</svg></g></svg>\n"


def to_pdf(svg: bytes) -> bytes:
    return bytes(cairosvg.svg2pdf(bytestring=svg))


def to_eps(svg: bytes) -> bytes:
    return bytes(cairosvg.svg2eps(bytestring=svg))


# How each vector format of render/formats.py is written from the engine's SVG (in millimetres).
WRITERS: dict[str, Callable[[bytes], bytes]] = {"svg": lambda svg: svg, "pdf": to_pdf, "eps": to_eps}
