#!/usr/bin/env node
// Runs @20minutes/s3rver (which ships no bin script) for the C test harness.
// Usage: node s3rver-run.js --port N --directory DIR --bucket NAME [--package DIR]
//                            [--key FILE --cert FILE]   (HTTPS with that key and certificate)
// The package directory comes from --package, else $S3RVER_PACKAGE, else
// tests/.tools/node_modules/@20minutes/s3rver next to this script.
'use strict';

const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (!name.startsWith('--') || value === undefined) {
      throw new Error(`bad argument: ${name}`);
    }
    opts[name.slice(2)] = value;
  }
  for (const required of ['port', 'directory', 'bucket']) {
    if (!opts[required]) throw new Error(`--${required} is required`);
  }
  return opts;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const pkg =
    opts.package ||
    process.env.S3RVER_PACKAGE ||
    path.join(__dirname, '..', '.tools', 'node_modules', '@20minutes', 's3rver');
  const S3rver = require(pkg);
  if (!opts.key !== !opts.cert) throw new Error('--key and --cert go together');
  const tls = opts.key ? { key: fs.readFileSync(opts.key), cert: fs.readFileSync(opts.cert) } : {};
  const server = new S3rver({
    port: Number(opts.port),
    address: '127.0.0.1',
    directory: opts.directory,
    silent: true,
    configureBuckets: [{ name: opts.bucket }],
    ...tls,
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Keep-alive connections from clients would hold close() open; a test
    // pausing the server wants it gone now, so drop them after a grace period.
    const force = setTimeout(() => {
      if (server.httpServer) server.httpServer.closeAllConnections();
      process.exit(0);
    }, 2000);
    force.unref();
    server
      .close()
      .then(() => process.exit(0))
      .catch(() => process.exit(0));
    if (server.httpServer) server.httpServer.closeIdleConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  server.run().then(
    (addr) => console.log(`s3rver listening on ${addr.address}:${addr.port}`),
    (err) => {
      console.error(`s3rver failed to start: ${err.message}`);
      process.exit(1);
    },
  );
}

try {
  main();
} catch (err) {
  console.error(`s3rver-run: ${err.message}`);
  process.exit(2);
}
