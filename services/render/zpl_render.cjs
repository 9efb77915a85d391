// A long-lived ZPL renderer for checking ZPL results: zebrash (compiled to WebAssembly, npm
// zpl-renderer-js) draws the label from the ZPL bytes themselves, and the caller decodes the PNG.
// Protocol: one JSON object per line on stdin, {"id", "zpl", "width_mm", "height_mm", "dpmm"};
// one per line on stdout, {"id", "png"} (base64) or {"id", "error"}. Usage: node render.cjs,
// with zpl-renderer-js found through NODE_PATH (services/render/zpl_render.py starts it once).
"use strict";
// The WebAssembly runtime wants Web Crypto as a global, which Node has only from version 19:
// Debian bookworm's Node 18 (the service image) keeps it in the crypto module.
if (!globalThis.crypto) globalThis.crypto = require("crypto").webcrypto;
const readline = require("readline");
const { ready } = require("zpl-renderer-js");

(async () => {
  const { api } = await ready;
  process.stdout.write(JSON.stringify({ ready: true }) + "\n");
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    let id = null;
    try {
      const ask = JSON.parse(line);
      id = ask.id;
      const png = await api.zplToBase64Async(ask.zpl, ask.width_mm, ask.height_mm, ask.dpmm);
      process.stdout.write(JSON.stringify({ id, png }) + "\n");
    } catch (err) {
      process.stdout.write(JSON.stringify({ id, error: String(err && err.message || err) }) + "\n");
    }
  }
})();
