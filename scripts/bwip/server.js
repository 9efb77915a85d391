// The plain render server `make bench` measures side by side with the pipeline: bwip-js's own
// Node HTTP handler (bwipjs.request), one process, rendering PNGs from query parameters, e.g.
// GET /?bcid=code128&text=ABC&scale=4&height=15&includetext. Nothing is stored or verified.
// Usage: node server.js <port>; bwip-js is found through NODE_PATH (installed by devstack.bwip).
"use strict";
const http = require("http");
const bwipjs = require("bwip-js");

const port = Number(process.argv[2] || 8091);
const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("ok");
    return;
  }
  bwipjs.request(req, res);
});
server.keepAliveTimeout = 60000;
server.listen(port, "127.0.0.1", () => console.log(`bwip-js ${bwipjs.BWIPJS_VERSION} listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
