/**
 * The routing file: layering of stage settings, environment overrides, the shipped files, and
 * `llmxmr config check` reporting a bad file in plain words. Plus the pure pieces of the fleet
 * layer: cache keys and vLLM metric parsing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadEnv } from '../../shared/config/env.ts';
import { loadRouting } from '../../shared/llm/routing.ts';
import { cacheKey, sampleSeed } from '../../shared/llm/cache.ts';
import { parseVllmLoad } from '../../shared/llm/pool-io.ts';
import { checkRouting, formatReport, registerConfig } from '../../cli/commands/config.ts';
import { ROOT } from '../helpers/cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'llmxmr-routing-'));
let n = 0;
function file(text: string, ext = 'yaml'): string {
  const f = join(dir, `r${n++}.${ext}`);
  writeFileSync(f, text);
  return f;
}
const env = (over: Record<string, string> = {}) => loadEnv(over);

const GOOD = `
defaults:
  model: small
  temperature: 0.7
  maxTokens: 900
models:
  small:
    endpoints:
      - http://a:8000/v1
      - url: http://b:8000/v1
        maxInFlight: 16
    price: { inputPerMillion: 0.5, outputPerMillion: 1.5 }
  big:
    endpoints: [http://c:8000/v1]
    price: { promptPer1k: 0.01, completionPer1k: 0.03 }
stages:
  reduce: { model: big, timeoutMs: 300000 }
  v2: { temperature: 0.4 }
  v2.judge: { temperature: 0, maxTokens: 200 }
`;

describe('routing file', () => {
  it('layers defaults, task kind, op-name prefix and op name, field by field', () => {
    const { routing, problems } = loadRouting(env(), { file: file(GOOD) });
    expect(problems).toEqual([]);
    const judge = routing!.route({ name: 'v2.judge', kind: 'convolve' });
    expect(judge).toMatchObject({ temperature: 0, maxTokens: 200, stages: ['v2', 'v2.judge'] });
    expect(judge.model.name).toBe('small');
    const write = routing!.route({ name: 'v2.write', kind: 'reduce' });
    expect(write).toMatchObject({ temperature: 0.4, timeoutMs: 300000, maxTokens: undefined, defaultMaxTokens: 900, stages: ['reduce', 'v2'] });
    expect(write.model.name).toBe('big');
    expect(write.model.price).toEqual({ prompt: 0.01 / 1000, completion: 0.03 / 1000 });
    const map = routing!.route({ name: 'v1.map', kind: 'map' });
    expect(map).toMatchObject({ temperature: 0.7, timeoutMs: 120000, maxRetries: 3 });
    expect(map.model.endpoints.map((e) => [e.url, e.maxInFlight])).toEqual([['http://a:8000/v1', 64], ['http://b:8000/v1', 16]]);
    expect(map.model.price.prompt).toBeCloseTo(0.5 / 1e6, 12);
  });

  it('takes LLM_MODEL and OPENAI_BASE_URL as overrides, and reads JSON too', () => {
    const f = file(JSON.stringify({ models: { m1: {}, m2: { endpoints: ['http://x:1/v1'] } }, defaults: { model: 'm2' } }), 'json');
    const { routing, problems } = loadRouting(env({ LLM_MODEL: 'm1', OPENAI_BASE_URL: 'http://fallback:9/v1' }), { file: f });
    expect(problems).toEqual([]);
    const r = routing!.route({ name: 'v1.map', kind: 'map' });
    expect(r.model.name).toBe('m1');
    expect(r.model.endpoints[0].url).toBe('http://fallback:9/v1'); // m1 had none in the file
    expect(routing!.models.get('m2')!.endpoints[0].url).toBe('http://x:1/v1'); // the file's endpoints win
  });

  it('without a file: one model from the environment, or a plain reason why not', () => {
    const { routing } = loadRouting(env({ OPENAI_BASE_URL: 'http://h:1/v1', LLM_MODEL: 'm' }));
    expect(routing!.route({ name: 'v2.digest', kind: 'map' }).model).toMatchObject({ name: 'm', endpoints: [{ url: 'http://h:1/v1' }] });
    const none = loadRouting(env());
    expect(none.routing).toBeNull();
    expect(none.problems[0].message).toMatch(/no routing file \(LLM_ROUTING_FILE\) and OPENAI_BASE_URL and LLM_MODEL not set/);
  });

  it('the shipped routing files pass the check', () => {
    for (const f of ['deploy/k8s/base/models.yaml', 'deploy/k8s/overlays/dev/models.yaml']) {
      const r = checkRouting(join(ROOT, f), {});
      expect(r.errors, f).toEqual([]);
    }
    const base = checkRouting(join(ROOT, 'deploy/k8s/base/models.yaml'), {});
    expect(base.routes.find((x) => x.op === 'v2.judge')).toMatchObject({ temperature: 0, maxTokens: 600 });
  });
});

describe('llmxmr config check', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reports a bad file in plain words and fails', async () => {
    const bad = file(`
defaults:
  model: large
  temperature: 3
models:
  small:
    endpoints: ["not a url", { url: "http://a:1/v1", maxInflight: 4 }]
stages:
  map: { timeoutMs: 10, temperature: "warm" }
`);
    const r = checkRouting(bad, {});
    expect(r.errors).toEqual(
      expect.arrayContaining([
        'defaults.temperature: must be at most 2',
        'models.small.endpoints[0]: is not a valid URL (e.g. http://vllm:8000/v1)',
        'models.small.endpoints[1]: unknown setting "maxInflight" (check the spelling)',
        'stages.map.timeoutMs: must be at least 1000',
        'stages.map.temperature: must be a number, not "warm"',
      ]),
    );
    const refs = checkRouting(file('defaults: { model: large }\nmodels:\n  small: { endpoints: [http://a:1/v1] }\nstages:\n  v2.jugde: { model: tiny }\n'), {});
    expect(refs.errors).toEqual(
      expect.arrayContaining([
        'defaults.model: "large" is not a model of this routing (models: small)',
        'stages.v2.jugde.model: "tiny" is not a model of this routing (models: small)',
        expect.stringMatching(/^no model serves \d+ ops \(v1\.map, .* and \d+ more\): its model "large" is not declared$/),
      ]),
    );
    expect(refs.warnings).toEqual([expect.stringMatching(/^stages\.v2\.jugde matches no op/)]);
    expect(checkRouting(join(dir, 'missing.yaml'), {}).errors).toEqual([`the routing file ${join(dir, 'missing.yaml')} does not exist`]);
    expect(checkRouting(file('models: [unclosed'), {}).errors[0]).toMatch(/cannot be read/);

    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    const program = new Command().exitOverride();
    registerConfig(program);
    await expect(program.parseAsync(['node', 'llmxmr', 'config', 'check', '--file', bad])).rejects.toThrow(/has 5 error\(s\)/);
    expect(out.join('')).toMatch(/error: defaults\.temperature: must be at most 2/);
    out.length = 0;
    await program.parseAsync(['node', 'llmxmr', 'config', 'check', '--file', file(GOOD)]);
    expect(out.join('')).toMatch(/^ {2}v2\.judge +small +0 +200 /m);
    expect(formatReport(checkRouting(file(GOOD), {}))).toMatch(/ok \(0 warning\(s\)\)$/);
  });
});

describe('fleet pieces', () => {
  it('cache keys cover model, messages, sampling, sample seed and op version', () => {
    const op = { name: 'v2.judge', version: 1 };
    const req = { model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 0.2 };
    const k = cacheKey(op, req);
    expect(k).toMatch(/^v2\.judge\.[0-9a-f]{64}$/);
    expect(cacheKey(op, { temperature: 0.2, messages: req.messages, model: 'm' })).toBe(k); // key order does not matter
    for (const other of [{ ...req, model: 'n' }, { ...req, temperature: 0.3 }, { ...req, seed: 1 }, { ...req, messages: [{ role: 'user', content: 'y' }] }]) {
      expect(cacheKey(op, other)).not.toBe(k);
    }
    expect(cacheKey({ ...op, version: 2 }, req)).not.toBe(k);
    expect(sampleSeed({ sample: 3 })).toBe(3);
    expect(sampleSeed({ text: 'a' })).toBeUndefined();
  });

  it('reads queue length and running requests from vLLM metrics text', () => {
    const text = [
      '# HELP vllm:num_requests_waiting Requests waiting.',
      '# TYPE vllm:num_requests_waiting gauge',
      'vllm:num_requests_waiting{model_name="a"} 3',
      'vllm:num_requests_waiting{model_name="b"} 2.0',
      'vllm:num_requests_running{model_name="a"} 8',
      'vllm:num_requests_running_other 100',
    ].join('\n');
    expect(parseVllmLoad(text)).toEqual({ waiting: 5, running: 8 });
    expect(parseVllmLoad('process_cpu_seconds_total 1')).toBeUndefined();
  });
});
