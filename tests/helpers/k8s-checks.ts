/**
 * Offline checks of the Kubernetes manifests in deploy/k8s (used by k8s-manifests.test.ts).
 *
 * `kubectl kustomize` renders an overlay; every object is then validated with the
 * kubernetes-models / @kubernetes-models/keda classes, plus strict checks those classes do not
 * make: unknown keys (against the property lists in the models' own type declarations, read
 * with the TypeScript compiler API), DNS names, KEDA trigger metadata, and consistency with
 * the code (durable consumer names, environment variables, the metrics port).
 *
 * Every check returns a list of problems, each starting with "Kind/name", so that a failing
 * test says exactly what to fix. An empty list means the check passed.
 */
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { OUR_IMAGE, gvk, id, type Json, type K8sObject } from './k8s-base.ts';
import { unknownKeyProblems } from './k8s-keys.ts';
import { prometheusRuleProblems } from './k8s-monitoring.ts';

export { REPO_ROOT, SERVICES, OUR_IMAGE, id, type K8sObject } from './k8s-base.ts';
export { unknownKeyProblems } from './k8s-keys.ts';
export { envProblems, prefixOf, consumerProblems, natsClusterProblems, routingProblems } from './k8s-consistency.ts';

// ---------------------------------------------------------------------------------------------
// Rendering

export function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

export function kustomizeBuild(dir: string): string {
  return execFileSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 32 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function parseStream(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`YAML error: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error('a YAML document is not an object');
    out.push(value as K8sObject);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Schema validation (kubernetes-models)

interface ModelClass {
  new (data: never): { validate(): void };
}

const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap as unknown as ModelClass,
  'v1/Secret': Secret as unknown as ModelClass,
  'v1/Service': Service as unknown as ModelClass,
  'v1/Namespace': Namespace as unknown as ModelClass,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as unknown as ModelClass,
  'apps/v1/Deployment': Deployment as unknown as ModelClass,
  'apps/v1/StatefulSet': StatefulSet as unknown as ModelClass,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelClass,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as ModelClass,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject as unknown as ModelClass,
};


/**
 * Validates against the model of the object's apiVersion/kind. ServiceMonitor has no model
 * installed: its required fields are checked by hand; a PrometheusRule's in k8s-monitoring.ts. Any other kind is a problem, so that
 * a new kind cannot slip in unchecked.
 */
export function schemaProblems(o: K8sObject): string[] {
  const key = gvk(o);
  if (key === 'monitoring.coreos.com/v1/ServiceMonitor') {
    const spec = (o as Json).spec;
    const problems: string[] = [];
    if (!spec?.selector || typeof spec.selector !== 'object') problems.push(`${id(o)}: spec.selector is required`);
    if (!Array.isArray(spec?.endpoints) || spec.endpoints.length === 0) {
      problems.push(`${id(o)}: spec.endpoints needs at least one endpoint`);
    } else {
      spec.endpoints.forEach((e: Json, i: number) => {
        if (!e?.port && !e?.targetPort) problems.push(`${id(o)}: spec.endpoints[${i}] needs port or targetPort`);
      });
    }
    return problems;
  }
  if (key === 'monitoring.coreos.com/v1/PrometheusRule') return prometheusRuleProblems(o);
  const Model = MODELS[key];
  if (!Model) return [`${id(o)}: no schema for ${key} (add its model to tests/helpers/k8s-checks.ts)`];
  try {
    new Model(o as never).validate();
    return [];
  } catch (err) {
    return [`${id(o)}: ${(err as Error).message}`];
  }
}

// ---------------------------------------------------------------------------------------------
// Names

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export const isDnsLabel = (s: string) => s.length <= 63 && DNS_LABEL.test(s);
export const isDnsSubdomain = (s: string) => s.length <= 253 && DNS_SUBDOMAIN.test(s);
/** IANA service name, as Kubernetes requires for port names. */
export const isPortName = (s: string) =>
  s.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');

function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return `label key "${key}" has an invalid prefix`;
  if (name.length > 63 || !LABEL_NAME.test(name)) return `label key "${key}" is invalid`;
  return undefined;
}

/** Kinds whose names end up as DNS labels (Service names, pod hostnames of a StatefulSet). */
const LABEL_NAMED = new Set(['Service', 'Namespace', 'StatefulSet']);

function podSpecOf(o: K8sObject): Json | undefined {
  const spec = (o as Json).spec;
  if (o.kind === 'Deployment' || o.kind === 'StatefulSet') return spec?.template?.spec;
  return undefined;
}

function containersOf(o: K8sObject): Json[] {
  const pod = podSpecOf(o);
  if (!pod) return [];
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
}

/** DNS-1123 object, container, volume and port names; label keys and values. */
export function nameProblems(o: K8sObject): string[] {
  const out: string[] = [];
  const name = String(o.metadata?.name ?? '');
  const nameOk = LABEL_NAMED.has(o.kind) ? isDnsLabel(name) : isDnsSubdomain(name);
  if (!nameOk) {
    out.push(`name "${name}" is not a DNS-1123 ${LABEL_NAMED.has(o.kind) ? 'label' : 'subdomain'}`);
  }
  if (o.metadata?.namespace !== undefined && !isDnsLabel(o.metadata.namespace)) {
    out.push(`namespace "${o.metadata.namespace}" is not a DNS-1123 label`);
  }
  const labelSets: [string, Record<string, unknown> | undefined][] = [['metadata.labels', o.metadata?.labels]];
  const spec = (o as Json).spec;
  if (spec?.selector?.matchLabels) labelSets.push(['spec.selector.matchLabels', spec.selector.matchLabels]);
  if (spec?.template?.metadata?.labels) labelSets.push(['spec.template.metadata.labels', spec.template.metadata.labels]);
  for (const [where, labels] of labelSets) {
    for (const [k, v] of Object.entries(labels ?? {})) {
      const keyProblem = labelKeyProblem(k);
      if (keyProblem) out.push(`${where}: ${keyProblem}`);
      if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
        out.push(`${where}: label value ${JSON.stringify(v)} of "${k}" is invalid`);
      }
    }
  }
  for (const c of containersOf(o)) {
    if (!isDnsLabel(String(c.name ?? ''))) out.push(`container name "${c.name}" is not a DNS-1123 label`);
    for (const p of c.ports ?? []) {
      if (p.name !== undefined && !isPortName(String(p.name))) out.push(`port name "${p.name}" is not a valid port name`);
    }
  }
  for (const v of podSpecOf(o)?.volumes ?? []) {
    if (!isDnsLabel(String(v.name ?? ''))) out.push(`volume name "${v.name}" is not a DNS-1123 label`);
  }
  if (o.kind === 'Service') {
    for (const p of spec?.ports ?? []) {
      if (p.name !== undefined && !isPortName(String(p.name))) out.push(`port name "${p.name}" is not a valid port name`);
    }
  }
  return out.map((p) => `${id(o)}: ${p}`);
}

// ---------------------------------------------------------------------------------------------
// KEDA triggers

/** Trigger types we deploy, with the metadata keys KEDA needs for each. */
export const TRIGGER_METADATA: Record<string, string[]> = {
  'nats-jetstream': ['natsServerMonitoringEndpoint', 'account', 'stream', 'consumer', 'lagThreshold'],
  prometheus: ['serverAddress', 'query', 'threshold'],
};

const INTEGER = /^[0-9]+$/;
const NUMBER = /^[0-9]+(\.[0-9]+)?$/;

/** Known trigger types, required metadata present and well-formed. */
export function triggerProblems(o: K8sObject): string[] {
  if (o.kind !== 'ScaledObject') return [];
  const out: string[] = [];
  const triggers: Json[] = (o as Json).spec?.triggers ?? [];
  if (triggers.length === 0) out.push('has no triggers');
  triggers.forEach((t, i) => {
    const at = `trigger ${i} (${t.type})`;
    const required = TRIGGER_METADATA[t.type];
    if (!required) {
      out.push(`${at}: unknown trigger type "${t.type}"`);
      return;
    }
    const md: Record<string, unknown> = t.metadata ?? {};
    for (const key of required) {
      if (typeof md[key] !== 'string' || md[key] === '') out.push(`${at}: metadata.${key} is missing`);
    }
    if (t.type === 'nats-jetstream') {
      const endpoint = md.natsServerMonitoringEndpoint;
      if (typeof endpoint === 'string' && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$/.test(endpoint)) {
        out.push(`${at}: natsServerMonitoringEndpoint "${endpoint}" must be host:port without a scheme`);
      }
      for (const key of ['lagThreshold', 'activationLagThreshold']) {
        const v = md[key];
        if (v !== undefined && (typeof v !== 'string' || !INTEGER.test(v))) out.push(`${at}: ${key} must be an integer string`);
      }
      if (md.lagThreshold === '0') out.push(`${at}: lagThreshold must be above 0`);
    }
    if (t.type === 'prometheus') {
      for (const key of ['threshold', 'activationThreshold']) {
        const v = md[key];
        if (v !== undefined && (typeof v !== 'string' || !NUMBER.test(v))) out.push(`${at}: ${key} must be a number string`);
      }
      if (typeof md.serverAddress === 'string' && !/^https?:\/\//.test(md.serverAddress)) {
        out.push(`${at}: serverAddress must be an http(s) URL`);
      }
    }
  });
  return out.map((p) => `${id(o)}: ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Our workloads

function imageRepo(image: string): string {
  const noDigest = image.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const repo = colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
  return repo.slice(repo.lastIndexOf('/') + 1);
}

/** The service a container of ours runs (its first argument), or undefined for other images. */
export function serviceOf(c: Json): string | undefined {
  if (typeof c.image !== 'string' || imageRepo(c.image) !== OUR_IMAGE) return undefined;
  if (Array.isArray(c.command)) return undefined; // another command than `service` (e.g. auth provision)
  const arg = Array.isArray(c.args) ? c.args[0] : undefined;
  return typeof arg === 'string' ? arg : 'mapper'; // the image's CMD
}

export function ourContainers(o: K8sObject): Json[] {
  return containersOf(o).filter((c) => serviceOf(c) !== undefined);
}

/** Every image has an explicit tag (not "latest") or a digest. */
export function imageProblems(o: K8sObject): string[] {
  const out: string[] = [];
  for (const c of containersOf(o)) {
    const image = c.image;
    if (typeof image !== 'string' || image === '') {
      out.push(`container "${c.name}" has no image`);
      continue;
    }
    if (image.includes('@sha256:')) continue;
    const lastSlash = image.lastIndexOf('/');
    const colon = image.lastIndexOf(':');
    const tag = colon > lastSlash ? image.slice(colon + 1) : '';
    if (!tag) out.push(`container "${c.name}": image "${image}" has no tag`);
    else if (tag === 'latest') out.push(`container "${c.name}": image "${image}" uses the "latest" tag`);
  }
  return out.map((p) => `${id(o)}: ${p}`);
}

/** Every container of a Deployment or StatefulSet has both probes, cpu/memory requests and limits, and is hardened. */
export function workloadProblems(o: K8sObject): string[] {
  if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet') return [];
  const out: string[] = [];
  const pod = podSpecOf(o) ?? {};
  for (const c of pod.containers ?? []) {
    const n = `container "${c.name}"`;
    if (!c.livenessProbe) out.push(`${n} has no livenessProbe`);
    if (!c.readinessProbe) out.push(`${n} has no readinessProbe`);
    for (const part of ['requests', 'limits'] as const) {
      for (const res of ['cpu', 'memory']) {
        if (c.resources?.[part]?.[res] === undefined) out.push(`${n} has no resources.${part}.${res}`);
      }
    }
    if (serviceOf(c)) {
      if (c.livenessProbe?.httpGet?.path !== '/healthz') out.push(`${n}: livenessProbe must GET /healthz`);
      if (c.readinessProbe?.httpGet?.path !== '/readyz') out.push(`${n}: readinessProbe must GET /readyz`);
    }
  }
  // Every container, ours or not (NATS, its exporter, vLLM), init containers included.
  for (const c of containersOf(o)) out.push(...hardeningProblems(pod, c));
  if (ourContainers(o).length > 0) {
    const grace = pod.terminationGracePeriodSeconds;
    if (typeof grace !== 'number' || grace < 60) {
      out.push(`terminationGracePeriodSeconds must be at least 60 to let a service drain (is ${grace ?? 'unset (30)'})`);
    }
  }
  return out.map((p) => `${id(o)}: ${p}`);
}

/** Not root, read-only root filesystem, no privilege escalation, no capabilities, seccomp RuntimeDefault. */
function hardeningProblems(pod: Json, c: Json): string[] {
  const n = `container "${c.name}"`;
  const sc = c.securityContext ?? {};
  const out: string[] = [];
  if (sc.allowPrivilegeEscalation !== false) out.push(`${n} must set allowPrivilegeEscalation: false`);
  if (sc.readOnlyRootFilesystem !== true) out.push(`${n} must set readOnlyRootFilesystem: true (mount emptyDir volumes where it writes)`);
  if ((sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) !== true) out.push(`${n} must run with runAsNonRoot: true`);
  if ((sc.runAsUser ?? pod.securityContext?.runAsUser) === 0) out.push(`${n} must not set runAsUser: 0`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${n} must drop ALL capabilities`);
  if ((sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type) !== 'RuntimeDefault') out.push(`${n} must use seccompProfile RuntimeDefault (pod or container)`);
  return out;
}

/** All per-object checks of one object. */
export function objectProblems(o: K8sObject): string[] {
  return [
    ...schemaProblems(o),
    ...unknownKeyProblems(o),
    ...nameProblems(o),
    ...triggerProblems(o),
    ...imageProblems(o),
    ...workloadProblems(o),
  ];
}