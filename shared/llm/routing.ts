/**
 * Model routing: which model (and which endpoints, temperature, output length, timeout and
 * price) serves each op. One validated file (YAML or JSON, path in LLM_ROUTING_FILE) plus
 * environment overrides; without a file, OPENAI_BASE_URL + LLM_MODEL route every op to one
 * endpoint, as before. The file format is documented in docs/models.md and used by
 * deploy/k8s/base/models.yaml.
 *
 * A stage key applies to an op when it is the op's task kind ("map", "convolve", "reduce"),
 * the op's name ("v2.judge") or a dotted prefix of it ("v2"). Settings are layered from the
 * least to the most specific: defaults, kind, shorter prefixes, longer prefixes, the op name.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Env } from '../config/env.ts';
import { TASK_KINDS, type TaskKind } from '../protocol/names.ts';
import { DEFAULT_MAX_IN_FLIGHT, ModelSchema, parseRoutingText, plainIssue, RoutingFileSchema, where, type RoutingFile, type StageSettings } from './routing-schema.ts';

export { RoutingFileSchema, type RoutingFile, type StageSettings } from './routing-schema.ts';

export interface EndpointSpec {
  url: string;
  discovery: 'none' | 'dns';
  maxInFlight: number;
  initialInFlight?: number;
}

export interface ModelRoute {
  name: string;
  endpoints: EndpointSpec[];
  apiKey?: string;
  contextWindow?: number;
  structuredOutput: boolean;
  /** Dollars per prompt token and per completion token. */
  price: { prompt: number; completion: number };
  metrics: boolean;
}

export interface OpRoute {
  model: ModelRoute;
  temperature?: number;
  topP?: number;
  /** Reply length set by a stage (beats the op's own default); else `defaultMaxTokens`. */
  maxTokens?: number;
  defaultMaxTokens?: number;
  timeoutMs: number;
  maxRetries: number;
  /** Stage keys that applied, least specific first. */
  stages: string[];
}

export interface Routing {
  /** Where it came from: a file path, or "environment". */
  source: string;
  defaultModel?: string;
  models: Map<string, ModelRoute>;
  route(op: { name: string; kind: TaskKind }): OpRoute;
}

export interface Problem {
  level: 'error' | 'warning';
  message: string;
}

export interface LoadedRouting {
  routing: Routing | null;
  problems: Problem[];
}

/** Does stage key `key` apply to this op? */
export function stageApplies(key: string, op: { name: string; kind: TaskKind }): boolean {
  return key === op.kind || op.name === key || op.name.startsWith(`${key}.`);
}

/**
 * Load the routing: the file named by `file` (else LLM_ROUTING_FILE) with environment
 * overrides, or a one-model routing from OPENAI_BASE_URL + LLM_MODEL. `knownOps` lets the
 * check name stage keys that match no op. `source` is where API key variables are read.
 */
export function loadRouting(
  env: Pick<Env, 'OPENAI_BASE_URL' | 'OPENAI_API_KEY' | 'LLM_MODEL' | 'LLM_TIMEOUT_MS' | 'LLM_MAX_RETRIES'> & { LLM_ROUTING_FILE?: string },
  o: { file?: string; knownOps?: { name: string; kind: TaskKind }[]; source?: NodeJS.ProcessEnv } = {},
): LoadedRouting {
  const problems: Problem[] = [];
  const error = (message: string) => problems.push({ level: 'error', message });
  const warn = (message: string) => problems.push({ level: 'warning', message });
  const file = o.file ?? env.LLM_ROUTING_FILE;
  let doc: RoutingFile;
  if (file) {
    if (!existsSync(file)) return { routing: null, problems: [{ level: 'error', message: `the routing file ${file} does not exist` }] };
    let raw: unknown;
    try {
      raw = parseRoutingText(readFileSync(file, 'utf8'), file);
    } catch (e) {
      return { routing: null, problems: [{ level: 'error', message: `the routing file ${file} cannot be read: ${(e as Error).message.split('\n')[0]}` }] };
    }
    const parsed = RoutingFileSchema.safeParse(raw ?? {}, { reportInput: true });
    if (!parsed.success) {
      for (const i of parsed.error.issues) error(`${where(i.path)}: ${plainIssue(i)}`);
      return { routing: null, problems };
    }
    doc = parsed.data;
  } else {
    if (!env.OPENAI_BASE_URL || !env.LLM_MODEL) {
      const missing = [!env.OPENAI_BASE_URL && 'OPENAI_BASE_URL', !env.LLM_MODEL && 'LLM_MODEL'].filter(Boolean).join(' and ');
      return { routing: null, problems: [{ level: 'error', message: `no routing file (LLM_ROUTING_FILE) and ${missing} not set: no model is configured` }] };
    }
    doc = RoutingFileSchema.parse({});
  }

  // Environment overrides: LLM_MODEL is the default model; OPENAI_BASE_URL serves every model
  // the file gives no endpoints (and the default model when the file does not declare it).
  const defaults: StageSettings = { ...doc.defaults };
  if (env.LLM_MODEL) defaults.model = env.LLM_MODEL;
  defaults.timeoutMs ??= env.LLM_TIMEOUT_MS;
  defaults.maxRetries ??= env.LLM_MAX_RETRIES;
  const declared = { ...doc.models };
  if (defaults.model && !declared[defaults.model] && env.OPENAI_BASE_URL) declared[defaults.model] = ModelSchema.parse({});

  const models = new Map<string, ModelRoute>();
  const source = o.source ?? process.env;
  for (const [name, m] of Object.entries(declared)) {
    let endpoints: EndpointSpec[] = m.endpoints.map((e) => (typeof e === 'string' ? { url: e, discovery: 'none', maxInFlight: DEFAULT_MAX_IN_FLIGHT } : e));
    if (endpoints.length === 0 && env.OPENAI_BASE_URL) endpoints = [{ url: env.OPENAI_BASE_URL, discovery: 'none', maxInFlight: DEFAULT_MAX_IN_FLIGHT }];
    const urls = endpoints.map((e) => e.url.replace(/\/+$/, ''));
    if (new Set(urls).size < urls.length) warn(`model "${name}" lists the same endpoint twice`);
    const p = m.price ?? {};
    if ((p.inputPerMillion !== undefined || p.outputPerMillion !== undefined) && (p.promptPer1k !== undefined || p.completionPer1k !== undefined)) {
      error(`models.${name}.price: give prices per million (inputPerMillion, outputPerMillion) or per thousand (promptPer1k, completionPer1k), not both`);
    }
    const apiKeyVar = m.apiKeyEnv ?? 'OPENAI_API_KEY';
    const apiKey = m.apiKeyEnv ? source[m.apiKeyEnv] : (env.OPENAI_API_KEY ?? source.OPENAI_API_KEY);
    if (m.apiKeyEnv && !apiKey && endpoints.some((e) => e.url.startsWith('https:'))) warn(`model "${name}": its key variable ${apiKeyVar} is not set`);
    models.set(name, {
      name,
      endpoints,
      apiKey: apiKey || undefined,
      contextWindow: m.contextWindow,
      structuredOutput: m.structuredOutput === 'json_schema',
      price: {
        prompt: p.inputPerMillion !== undefined ? p.inputPerMillion / 1e6 : (p.promptPer1k ?? 0) / 1e3,
        completion: p.outputPerMillion !== undefined ? p.outputPerMillion / 1e6 : (p.completionPer1k ?? 0) / 1e3,
      },
      metrics: m.metrics,
    });
  }

  const stages = Object.entries(doc.stages).sort(([a], [b]) => specificity(a) - specificity(b));
  const modelNames = [...models.keys()];
  const known = (m: string | undefined, at: string) => {
    if (m !== undefined && !models.has(m)) error(`${at}: "${m}" is not a model of this routing (models: ${modelNames.join(', ') || 'none'})`);
  };
  known(defaults.model, env.LLM_MODEL && defaults.model === env.LLM_MODEL && doc.defaults.model !== env.LLM_MODEL ? 'LLM_MODEL' : 'defaults.model');
  for (const [key, s] of stages) known(s.model, `stages.${key}.model`);

  const route = (op: { name: string; kind: TaskKind }): OpRoute => {
    const applied = stages.filter(([key]) => stageApplies(key, op));
    const merged: StageSettings = { ...defaults };
    let maxTokens: number | undefined;
    for (const [, s] of applied) {
      Object.assign(merged, Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)));
      if (s.maxTokens !== undefined) maxTokens = s.maxTokens;
    }
    const model = merged.model ? models.get(merged.model) : undefined;
    if (!model) {
      const why = merged.model ? `its model "${merged.model}" is not declared` : 'no model is named for it: set defaults.model (or LLM_MODEL) or a stage';
      throw new Error(`no model serves op ${op.name}: ${why}`);
    }
    return {
      model,
      temperature: merged.temperature,
      topP: merged.topP,
      maxTokens,
      defaultMaxTokens: defaults.maxTokens,
      timeoutMs: merged.timeoutMs ?? env.LLM_TIMEOUT_MS,
      maxRetries: merged.maxRetries ?? env.LLM_MAX_RETRIES,
      stages: applied.map(([k]) => k),
    };
  };

  // Cross-checks that need the ops: unmatched stage keys, ops without a model, used models without endpoints.
  if (o.knownOps) {
    for (const [key] of stages) {
      if (!o.knownOps.some((op) => stageApplies(key, op)) && !(TASK_KINDS as readonly string[]).includes(key)) {
        warn(`stages.${key} matches no op (a stage key is a task kind, an op name such as v2.judge, or a prefix such as v2)`);
      }
    }
  }
  const used = new Set<string>();
  if (models.size === 0 && !defaults.model) {
    warn('no models are configured: jobs on the openai engine cannot run (the extractive engine needs none)');
  } else {
    const unrouted = new Map<string, string[]>();
    for (const op of o.knownOps ?? []) {
      try {
        used.add(route(op).model.name);
      } catch (e) {
        const why = (e as Error).message.replace(/^no model serves op \S+: /, '');
        unrouted.set(why, [...(unrouted.get(why) ?? []), op.name]);
      }
    }
    for (const [why, ops] of unrouted) {
      const names = ops.length > 4 ? `${ops.slice(0, 4).join(', ')} and ${ops.length - 4} more` : ops.join(', ');
      error(`no model serves ${ops.length === 1 ? 'op' : `${ops.length} ops`} (${names}): ${why}`);
    }
    if (defaults.model) used.add(defaults.model);
    for (const [, s] of stages) if (s.model) used.add(s.model);
  }
  for (const m of models.values()) {
    if (m.endpoints.length > 0) continue;
    if (used.has(m.name)) error(`model "${m.name}" has no endpoints, and OPENAI_BASE_URL is not set to serve it`);
    else warn(`model "${m.name}" has no endpoints (unused)`);
  }
  const routing: Routing = { source: file ?? 'environment', defaultModel: defaults.model, models, route };
  return { routing, problems };
}

/** One model at one endpoint serving every op (the engine's shorthand options). */
export function singleModelRouting(o: { url: string; model: string; apiKey?: string; temperature?: number; timeoutMs: number; maxRetries: number }): Routing {
  const model: ModelRoute = { name: o.model, endpoints: [{ url: o.url, discovery: 'none', maxInFlight: DEFAULT_MAX_IN_FLIGHT }], apiKey: o.apiKey, structuredOutput: true, price: { prompt: 0, completion: 0 }, metrics: false };
  const route: OpRoute = { model, temperature: o.temperature, timeoutMs: o.timeoutMs, maxRetries: o.maxRetries, stages: [] };
  return { source: 'options', defaultModel: o.model, models: new Map([[o.model, model]]), route: () => route };
}

function specificity(key: string): number {
  return (TASK_KINDS as readonly string[]).includes(key) ? 0 : key.split('.').length;
}

/** True when the environment configures any model endpoint (the openai engine can run). */
export function routingConfigured(env: Parameters<typeof loadRouting>[0]): boolean {
  if (env.OPENAI_BASE_URL) return true;
  if (!env.LLM_ROUTING_FILE) return false;
  const { routing } = loadRouting(env);
  return !!routing && [...routing.models.values()].some((m) => m.endpoints.length > 0);
}
