/**
 * sovereign-observability: validate the stack's configuration, compose the spoke or the
 * hub, and export the stack's contract. Nothing is registered before the configuration
 * (and, for the hub, every spoke it reads) has been validated.
 */
import { loadStackConfig } from "./components/config";
import { hubProgram } from "./stacks/hub";
import { spokeProgram } from "./stacks/spoke";

export = async (): Promise<Record<string, unknown>> => {
  const config = loadStackConfig();
  return config.role === "spoke" ? spokeProgram(config) : hubProgram(config);
};
