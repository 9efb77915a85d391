// A ZPL result on the page: the label's text beside a preview drawn in this browser by the
// renderer the generator verified the label with (zebrash, WebAssembly). That renderer is ~9 MB,
// so it is imported when the first ZPL result is shown, never with the page.

export const ZPL_TYPE = "application/zpl";
export const DEFAULT_DPMM = 8;  // the generator's when a job gives none (render/zpl.py)
const RENDERER = "/static/zpl/zpl-renderer.js";  // served from the installed package (edge/zpl_bundle.py)

let renderer = null;  // the import in flight or done; forgotten if it fails, so a later label tries again

function loadRenderer() {
  if (!renderer) {
    renderer = import(RENDERER).then((module) => module.ready).then(({ api }) => api);
    renderer.catch(() => { renderer = null; });
  }
  return renderer;
}

// One character per byte, as the generator hands labels to the renderer (latin-1): field data
// may hold bytes above 127 that decoding as UTF-8 would replace.
export function latin1(bytes) {
  let text = "";
  for (let at = 0; at < bytes.length; at += 8192) text += String.fromCharCode(...bytes.subarray(at, at + 8192));
  return text;
}

// The label's size in dots: print width (^PW) and label length (^LL), which our labels carry.
export function labelDots(text) {
  const width = /\^PW(\d+)/.exec(text);
  const length = /\^LL(\d+)/.exec(text);
  return width && length ? { width: Number(width[1]), height: Number(length[1]) } : null;
}

// The label as a PNG data: URL. The renderer takes the size in millimetres: dots / dpmm.
export async function drawLabel(text, dpmm) {
  const dots = labelDots(text);
  if (!dots) throw new Error("the label gives no size (^PW and ^LL)");
  const api = await loadRenderer();
  const png = await api.zplToBase64Async(text, dots.width / dpmm, dots.height / dpmm, dpmm);
  return `data:image/png;base64,${png}`;
}

export function sizeText(text, dpmm) {
  const dots = labelDots(text);
  if (!dots) return "";
  const mm = (value) => (value / dpmm).toFixed(1);
  return ` · ${dots.width} × ${dots.height} dots, ${mm(dots.width)} × ${mm(dots.height)} mm at ${dpmm} dots/mm`;
}
