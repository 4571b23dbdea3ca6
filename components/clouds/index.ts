/**
 * The cloud seam's registry: the only place that knows which module serves which cloud.
 */
import type { Cloud } from "../config";
import { awsCloud } from "./aws";
import { azureCloud } from "./azure";
import { gcpCloud } from "./gcp";
import type { CloudModule } from "./types";

export type * from "./types";

const MODULES: Readonly<Record<Cloud, CloudModule>> = { aws: awsCloud, gcp: gcpCloud, azure: azureCloud };

/** The implementation of the seam for a cloud. */
export function cloudModule(cloud: Cloud): CloudModule {
  return MODULES[cloud];
}
