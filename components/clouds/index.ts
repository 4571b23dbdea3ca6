/**
 * The cloud seam's registry: the only place that knows which module serves which cloud.
 *
 * Each cloud's module is loaded on first use, so a stack loads only its own cloud's provider SDK
 * (`@pulumi/aws` alone takes longer to load than most stacks take to plan offline); the other
 * clouds' modules, and their SDKs, are never required. scripts/bench-plan.ts measures this and
 * test/plan.test.ts checks which SDKs a stack run loads.
 */
import type { Cloud } from "../config";
import type { CloudModule } from "./types";

export type * from "./types";

/** How each cloud's module is loaded; typed through the module itself so a renamed export fails to compile. */
const LOADERS: Readonly<Record<Cloud, () => CloudModule>> = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  aws: () => (require("./aws") as typeof import("./aws")).awsCloud,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  gcp: () => (require("./gcp") as typeof import("./gcp")).gcpCloud,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  azure: () => (require("./azure") as typeof import("./azure")).azureCloud,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  s3: () => (require("./s3") as typeof import("./s3")).s3Cloud,
};

const loaded = new Map<Cloud, CloudModule>();

/** The implementation of the seam for a cloud (its module, and its SDK, load on the first call). */
export function cloudModule(cloud: Cloud): CloudModule {
  let module = loaded.get(cloud);
  if (module === undefined) {
    const load = LOADERS[cloud] as (() => CloudModule) | undefined;
    if (load === undefined) throw new Error(`no cloud module for '${String(cloud)}' (expected one of ${Object.keys(LOADERS).join(", ")})`);
    module = load();
    loaded.set(cloud, module);
  }
  return module;
}
