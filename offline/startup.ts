/**
 * First module of a stack process (imported before the SDK by ./child.ts): turns off Node's
 * source-map support unless `SOVEREIGN_ENGINE_SOURCE_MAPS=true`.
 *
 * Why: tsx turns source maps on, and then every `new Error().stack` is mapped back to TypeScript.
 * The Pulumi SDK takes a stack trace for every promise it wraps (runtime/debuggable.ts
 * `debuggablePromise`) and for every resource (resource.ts `Resource.callsites`, with an unlimited
 * `Error.stackTraceLimit`), so mapping costs about 0.6 s of CPU per stack (about 15%, measured with
 * `node --cpu-prof` on dev-01: `serializeJSStackFrame`, `lineLengths`, `getOriginalSymbolName`).
 * The engine uses only error messages, never stack positions; set the variable to get TypeScript
 * positions in the stack of a crashing stack process.
 * Source: https://nodejs.org/docs/latest-v20.x/api/process.html#processsetsourcemapsenabledval
 */
import { SOURCE_MAPS_ENV } from "./protocol";

if (process.env[SOURCE_MAPS_ENV] !== "true") process.setSourceMapsEnabled(false);
