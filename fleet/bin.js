#!/usr/bin/env node
// The `fleet` bin: the CLI is TypeScript, so register tsx's CommonJS loader before loading it.
require("tsx/cjs");
const { main } = require("./cli.ts");
const { pipeSafeSink } = require("./output.ts");
// A reader that closes early (fleet ... | head -1) must not crash the CLI with EPIPE.
main(process.argv.slice(2), { stdout: pipeSafeSink(process.stdout), stderr: pipeSafeSink(process.stderr), env: process.env }).then((code) => {
  process.exitCode = code;
});
