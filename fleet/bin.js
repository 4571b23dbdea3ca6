#!/usr/bin/env node
// The `fleet` bin: the CLI is TypeScript, so register tsx's CommonJS loader before loading it.
require("tsx/cjs");
const { main } = require("./cli.ts");
main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
  process.exitCode = code;
});
