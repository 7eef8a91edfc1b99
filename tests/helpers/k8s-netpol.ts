/**
 * What NetworkPolicies let a pod reach: for the labels of a pod template, the union of the
 * egress rules of every policy that selects it (policies in one namespace add up), as short
 * strings a test can compare ("pod app.kubernetes.io/name=nats :4222/TCP", "dns :53/UDP",
 * "public :443/TCP"). Used by k8s-manifests.test.ts.
 */
import { id, type Json, type K8sObject } from './k8s-base.ts';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'];

function selects(selector: Json | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of (selector.matchExpressions ?? []) as Json[]) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function peerName(p: Json): string {
  if (p.ipBlock) {
    const except: string[] = p.ipBlock.except ?? [];
    if (p.ipBlock.cidr === '0.0.0.0/0') return PRIVATE.every((c) => except.includes(c)) ? 'public' : 'anywhere';
    return `ip ${p.ipBlock.cidr}`;
  }
  const pod = p.podSelector?.matchLabels ?? {};
  const ns = p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'];
  if (ns === 'kube-system' && pod['k8s-app'] === 'kube-dns') return 'dns';
  const podPart = Object.entries(pod).map(([k, v]) => `${k}=${v}`).join(',') || '*';
  return p.namespaceSelector ? `ns ${ns ?? '*'} pod ${podPart}` : `pod ${podPart}`;
}

export interface Reach {
  /** Whether some policy restricts this pod's egress at all (otherwise it may reach anything). */
  restricted: boolean;
  /** "peer :port/protocol" for each allowed destination; "peer :any" when a rule has no ports. */
  allowed: string[];
}

export function egressOf(objs: K8sObject[], podLabels: Record<string, string>): Reach {
  const allowed = new Set<string>();
  let restricted = false;
  for (const np of objs.filter((o) => o.kind === 'NetworkPolicy') as Json[]) {
    const types: string[] = np.spec?.policyTypes ?? (np.spec?.egress ? ['Ingress', 'Egress'] : ['Ingress']);
    if (!types.includes('Egress') || !selects(np.spec?.podSelector, podLabels)) continue;
    restricted = true;
    for (const rule of (np.spec.egress ?? []) as Json[]) {
      const peers = (rule.to ?? [{}]).map((p: Json) => (Object.keys(p).length ? peerName(p) : 'anywhere'));
      const ports = (rule.ports ?? [{}]).map((p: Json) => (p.port === undefined ? 'any' : `${p.port}/${p.protocol ?? 'TCP'}`));
      for (const peer of peers) for (const port of ports) allowed.add(`${peer} :${port}`);
    }
  }
  return { restricted, allowed: [...allowed].sort() };
}

/** Labels of the pods a workload runs. */
export function podLabelsOf(o: K8sObject): Record<string, string> {
  return ((o as Json).spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
}

/** Every Deployment and StatefulSet whose pods no egress policy restricts. */
export function unrestrictedEgress(objs: K8sObject[]): string[] {
  return objs
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .filter((o) => !egressOf(objs, podLabelsOf(o)).restricted)
    .map((o) => `${id(o)}: no NetworkPolicy restricts where its pods may connect (add one with policyTypes [Egress])`);
}
