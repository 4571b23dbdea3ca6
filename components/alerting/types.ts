/**
 * Shapes of Prometheus rule files and of the PrometheusRule custom resource, as plain data.
 * Field names are the upstream YAML keys (snake_case where upstream uses it) so that a
 * rendered object can be serialized as is.
 */

/** An alerting rule. `labels.severity` is always set: routing and inhibition depend on it. */
export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string> & { severity: Severity };
  annotations: { summary: string; description: string; runbook_url?: string };
}

/** A recording rule; its name follows the `level:metric:operations` convention. */
export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

/** Either kind of rule. */
export type Rule = AlertingRule | RecordingRule;

/** `none` is only for heartbeats: they must never page a human. */
export type Severity = "critical" | "warning" | "info" | "none";

/**
 * A rule group. `partial_response_strategy` is a Thanos Ruler field; Prometheus refuses it,
 * so spoke groups never set it and the Prometheus Operator drops it for Prometheus anyway.
 */
export interface RuleGroup {
  name: string;
  interval?: string;
  partial_response_strategy?: "warn" | "abort";
  rules: Rule[];
}

/** The `monitoring.coreos.com/v1` PrometheusRule resource. */
export interface PrometheusRuleObject {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "PrometheusRule";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { groups: RuleGroup[] };
}

/** True for alerting rules. */
export function isAlertingRule(rule: Rule): rule is AlertingRule {
  return "alert" in rule;
}
