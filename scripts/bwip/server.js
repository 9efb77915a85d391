// The plain render server `make bench` measures side by side with the pipeline: bwip-js's own
// Node HTTP handler (bwipjs.request), rendering PNGs from query parameters, e.g.
// GET /?bcid=code128&text=ABC&scale=4&height=15&includetext. Nothing is stored or verified.
// Usage: node server.js <port> [workers]; bwip-js is found through NODE_PATH (installed by
// devstack.bench.bwip). With workers > 1, Node's cluster module runs that many processes
// behind the one port (the primary hands connections out round-robin): the "two-process
// bwip-js" a two-core machine can run.
"use strict";
const cluster = require("cluster");
const http = require("http");
const bwipjs = require("bwip-js");

const port = Number(process.argv[2] || 8091);
const workers = Number(process.argv[3] || 1);

function serve() {
  const server = http.createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ok");
      return;
    }
    bwipjs.request(req, res);
  });
  server.keepAliveTimeout = 60000;
  server.listen(port, "127.0.0.1", () =>
    console.log(`bwip-js ${bwipjs.BWIPJS_VERSION} pid ${process.pid} listening on 127.0.0.1:${port}`));
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

if (workers > 1 && cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  for (let i = 0; i < workers; i++) cluster.fork();
  // A worker that dies is not replaced: the benchmark should see it, not ride over it.
  cluster.on("exit", (worker, code) => console.log(`worker ${worker.process.pid} exited ${code}`));
  process.on("SIGTERM", () => {
    for (const id in cluster.workers) cluster.workers[id].process.kill("SIGTERM");
    process.exit(0);
  });
} else {
  serve();
}
