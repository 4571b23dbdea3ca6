/**
 * Pure renderers from typed parameters to the Helm values of the pinned charts
 * (kube-prometheus-stack 88.5.3, loki 18.11.0, alloy 1.11.1, grafana 12.11.1).
 */
export * from "./types";
export * from "./kube-prometheus-stack";
export * from "./loki";
export * from "./alloy";
export * from "./grafana";
export * from "./dashboard";
export * from "./edge";
