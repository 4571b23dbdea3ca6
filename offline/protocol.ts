/** What the engine hands a stack process and what it gets back. */
import type { RecordedResource } from "./monitor";

/** Set to `true` to keep Node's source maps on in stack processes (see ./startup.ts). */
export const SOURCE_MAPS_ENV = "SOVEREIGN_ENGINE_SOURCE_MAPS";

/** Outputs of another stack, as a StackReference sees them. */
export interface StackReferenceData {
  outputs: Record<string, unknown>;
  secretOutputNames: string[];
}

export interface ChildJob {
  /** Directory with the stack files; the program runs with it as working directory. */
  projectDir: string;
  /** The program's entry point (index.ts of this repository). */
  programPath: string;
  project: string;
  organization: string;
  stack: string;
  /** Full config keys (`observability:cloud`) to values; structured values as objects. */
  config: Record<string, unknown>;
  secretKeys: string[];
  /** Other stacks' outputs by stack name. */
  references: Record<string, StackReferenceData>;
  /** Environment for the program (null unsets). */
  env: Record<string, string | null>;
  /**
   * The stack's state from a previous run: a resource registered again with the same type, name
   * and inputs keeps its id and outputs, as a real engine would not re-create it.
   */
  prior?: RecordedResource[];
  resultPath: string;
}

export interface ChildResult {
  stack: string;
  resources: RecordedResource[];
  /** Stack outputs in wire form (secrets marked). */
  outputs: Record<string, unknown>;
  error?: { name: string; message: string };
  /**
   * The `@pulumi/*` packages the stack's process loaded, sorted; `<package>/index.js` is listed too
   * when the package's root index was loaded (for azure-native, the whole SDK). Shows that a stack
   * loads only its own cloud's SDK (see components/clouds/index.ts).
   */
  loadedSdks?: string[];
}
