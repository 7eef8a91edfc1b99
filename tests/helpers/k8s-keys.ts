/**
 * Unknown keys in Kubernetes objects: each object is walked alongside the TypeScript type that
 * kubernetes-models declares for its kind (read with the TypeScript compiler API). Kinds
 * without a model (ServiceMonitor, PrometheusRule) get hand-written types here.
 */
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT, gvk, id, type K8sObject } from './k8s-base.ts';

// ---------------------------------------------------------------------------------------------
// Unknown keys: walk each object alongside the TypeScript type that kubernetes-models declares
// for its kind. ServiceMonitor gets a hand-written type covering the fields a ServiceMonitor
// commonly uses (anything else is reported, and must be added here on purpose).

const TYPE_SOURCE = `
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { ILabelSelector } from '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector';

interface SecretKey { name?: string; key: string; optional?: boolean }
interface Relabel {
  sourceLabels?: string[]; separator?: string; targetLabel?: string; regex?: string;
  modulus?: number; replacement?: string; action?: string;
}
interface SafeTls {
  ca?: { secret?: SecretKey; configMap?: SecretKey }; cert?: { secret?: SecretKey; configMap?: SecretKey };
  keySecret?: SecretKey; serverName?: string; insecureSkipVerify?: boolean;
}
interface MonitorEndpoint {
  port?: string; targetPort?: string | number; path?: string; scheme?: string;
  params?: { [name: string]: string[] }; interval?: string; scrapeTimeout?: string;
  honorLabels?: boolean; honorTimestamps?: boolean; followRedirects?: boolean; enableHttp2?: boolean;
  filterRunning?: boolean; relabelings?: Relabel[]; metricRelabelings?: Relabel[];
  bearerTokenSecret?: SecretKey; tlsConfig?: SafeTls & { caFile?: string; certFile?: string; keyFile?: string };
}
interface IServiceMonitor {
  apiVersion: 'monitoring.coreos.com/v1'; kind: 'ServiceMonitor'; metadata?: IObjectMeta;
  spec: {
    selector: ILabelSelector; endpoints: MonitorEndpoint[];
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    jobLabel?: string; targetLabels?: string[]; podTargetLabels?: string[];
    sampleLimit?: number; targetLimit?: number; labelLimit?: number;
    attachMetadata?: { node?: boolean };
  };
}

interface Rule {
  alert?: string; record?: string; expr: string | number; for?: string; keep_firing_for?: string;
  labels?: { [name: string]: string }; annotations?: { [name: string]: string };
}
interface IPrometheusRule {
  apiVersion: 'monitoring.coreos.com/v1'; kind: 'PrometheusRule'; metadata?: IObjectMeta;
  spec: { groups: { name: string; interval?: string; limit?: number; partial_response_strategy?: string; rules: Rule[] }[] };
}

export interface Kinds {
  'v1/ConfigMap': IConfigMap;
  'v1/Secret': ISecret;
  'v1/Service': IService;
  'v1/Namespace': INamespace;
  'v1/PersistentVolumeClaim': IPersistentVolumeClaim;
  'apps/v1/Deployment': IDeployment;
  'apps/v1/StatefulSet': IStatefulSet;
  'policy/v1/PodDisruptionBudget': IPodDisruptionBudget;
  'networking.k8s.io/v1/NetworkPolicy': INetworkPolicy;
  'keda.sh/v1alpha1/ScaledObject': IScaledObject;
  'monitoring.coreos.com/v1/ServiceMonitor': IServiceMonitor;
  'monitoring.coreos.com/v1/PrometheusRule': IPrometheusRule;
}
`;

interface TypeIndex {
  checker: ts.TypeChecker;
  kinds: Map<string, ts.Type>;
}

let typeIndex: TypeIndex | undefined;

function loadTypes(): TypeIndex {
  if (typeIndex) return typeIndex;
  // A virtual file inside the repository so that module resolution finds node_modules.
  const root = path.join(REPO_ROOT, 'tests', 'unit', '__k8s_kinds__.ts');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    strict: true,
    types: [],
    lib: ['lib.es5.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const same = (f: string) => path.resolve(f) === root;
  host.getSourceFile = (f, lang, ...rest) =>
    same(f) ? ts.createSourceFile(f, TYPE_SOURCE, lang) : getSourceFile(f, lang, ...rest);
  host.fileExists = (f) => same(f) || fileExists(f);
  const program = ts.createProgram([root], options, host);
  const errors = ts.getPreEmitDiagnostics(program);
  if (errors.length) {
    const text = errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n');
    throw new Error(`cannot load the kubernetes-models type declarations:\n${text}`);
  }
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(root);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  const kindsSymbol = moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === 'Kinds');
  if (!kindsSymbol) throw new Error('internal: Kinds interface not found');
  const kindsType = checker.getDeclaredTypeOfSymbol(kindsSymbol);
  const kinds = new Map<string, ts.Type>();
  for (const p of checker.getPropertiesOfType(kindsType)) kinds.set(p.name, checker.getTypeOfSymbol(p));
  typeIndex = { checker, kinds };
  return typeIndex;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function walk(ix: TypeIndex, value: unknown, type: ts.Type, at: string, out: string[]): void {
  const { checker } = ix;
  if (value === null || value === undefined || typeof value !== 'object') return;
  const t = checker.getNonNullableType(type);
  if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
  if (t.isUnion()) {
    // e.g. IntOrString, or an object type mixed with primitives: try every object member.
    const members = t.types.filter((m) => m.flags & ts.TypeFlags.Object);
    if (members.length === 0) return;
    let best: string[] | undefined;
    for (const m of members) {
      const attempt: string[] = [];
      walk(ix, value, m, at, attempt);
      if (!best || attempt.length < best.length) best = attempt;
    }
    out.push(...(best ?? []));
    return;
  }
  if (Array.isArray(value)) {
    const element = checker.getIndexInfoOfType(t, ts.IndexKind.Number)?.type;
    if (!element) return; // a type mismatch, which schema validation reports
    value.forEach((v, i) => walk(ix, v, element, `${at}[${i}]`, out));
    return;
  }
  if (!(t.flags & ts.TypeFlags.Object)) return; // a primitive expected: schema validation reports it
  const stringIndex = checker.getIndexInfoOfType(t, ts.IndexKind.String)?.type;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const where = at ? `${at}.${key}` : key;
    const prop = checker.getPropertyOfType(t, key);
    if (prop) {
      walk(ix, child, checker.getTypeOfSymbol(prop), where, out);
    } else if (stringIndex) {
      walk(ix, child, stringIndex, where, out);
    } else {
      const known = checker.getPropertiesOfType(t).map((p) => p.name);
      const near = known.filter((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
      out.push(`unknown key "${where}"${near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)` : ''}`);
    }
  }
}

/** Keys that the kind's type does not declare (typos such as "resource" for "resources"). */
export function unknownKeyProblems(o: K8sObject): string[] {
  const ix = loadTypes();
  const type = ix.kinds.get(gvk(o));
  if (!type) return [`${id(o)}: no type for ${gvk(o)} to check keys against`];
  const out: string[] = [];
  walk(ix, o, type, '', out);
  return out.map((p) => `${id(o)}: ${p}`);
}
