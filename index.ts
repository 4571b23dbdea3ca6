/**
 * sovereign-observability: validate the stack's configuration, compose the spoke, the hub or
 * an edge, and export the stack's contract. Nothing is registered before the configuration
 * (and every other stack the program reads: the hub's spokes, a spoke's hub and edges, an
 * edge's spoke) has been validated.
 */
import { loadStackConfig } from "./components/config";
import { edgeProgram } from "./stacks/edge";
import { hubProgram } from "./stacks/hub";
import { spokeProgram } from "./stacks/spoke";

export = async (): Promise<Record<string, unknown>> => {
  const config = loadStackConfig();
  switch (config.role) {
    case "spoke":
      return spokeProgram(config);
    case "hub":
      return hubProgram(config);
    case "edge":
      return edgeProgram(config);
  }
};
