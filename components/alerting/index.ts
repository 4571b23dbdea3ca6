/**
 * Alerting: pipeline-alive rules of spokes, meta-monitoring and global SLIs of the hub,
 * Alertmanager routing, and the Prometheus entry forwarding spoke alerts to the hub.
 */
export * from "./types";
export * from "./rules";
export * from "./alertmanager";
export * from "./scrapes";
