/**
 * A simulated OpenAI-compatible vLLM fleet for tests, benchmarks and capacity planning:
 * R replicas × S slots, a bounded waiting queue (429 + Retry-After when full), service time
 * from prefill and decode token rates, seeded fault injection, replies shaped by the prompt
 * (respond/: each op's responder reads the fenced sources and the schema, including a schema
 * written into the prompt for servers without structured output), an optional sloppy mode that
 * corrupts a stated share of replies (sloppy.ts), and vLLM's Prometheus metric names. The real `openai` client talks to it over
 * real HTTP like to any server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRng, seedFromString } from '../algo/rng.ts';
import { schemaInPrompt } from './prompt.ts';
import { respondJson, respondText } from './respond/index.ts';
import { CORRUPTION_KINDS, DEFAULT_CORRUPTION_WEIGHTS, sloppyReply, type CorruptionKind } from './sloppy.ts';
import { BodyTooLarge, estimateTokens, readBody, sendError, sendJson, sendRaw } from './http.ts';
import { createSimMetrics } from './metrics.ts';
import { FAULT_KINDS, type FaultKind, type FleetSim, type FleetSimOptions } from './types.ts';

export { FAULT_KINDS, type FaultKind, type FleetSim, type FleetSimOptions, type FleetStats } from './types.ts';
export { CORRUPTION_KINDS, DEFAULT_CORRUPTION_WEIGHTS, type CorruptionKind } from './sloppy.ts';

interface Work {
  arrived: number;
  started: number;
  replica: number;
  serviceMs: number;
  fault: FaultKind | undefined;
  timer?: NodeJS.Timeout;
  done: boolean;
  finish(): void;
}

export async function startFleetSim(opts: FleetSimOptions = {}): Promise<FleetSim> {
  const o = {
    port: 0, host: '127.0.0.1', replicas: 1, slots: 8, queueLimit: 1000, prefillTokensPerSec: 5000,
    decodeTokensPerSec: 50, baseLatencyMs: 50, jitter: 0, faultRate: 0, seed: 1, model: 'sim-model',
    maxModelLen: 32768, slowFactor: 4, tailRate: 0, tailFactor: 10, hangMs: 600_000, structuredOutput: true, quality: 'clean', sloppyRate: 0.3, ...opts,
  };
  if (!(o.sloppyRate >= 0 && o.sloppyRate <= 1)) throw new Error(`sloppyRate must be between 0 and 1, got ${o.sloppyRate}`);
  const corruptionWeights = { ...DEFAULT_CORRUPTION_WEIGHTS, ...opts.corruptions };
  const weights = FAULT_KINDS.map((k) => Math.max(0, opts.faults?.[k] ?? 1));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const totalSlots = o.replicas * o.slots;
  const busy: number[] = new Array(o.replicas).fill(0);
  const queue: Work[] = [];
  const running = new Set<Work>();
  const rng = createRng(o.seed);
  const zeroFaults = () => Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const zeroSloppy = () => Object.fromEntries(CORRUPTION_KINDS.map((k) => [k, 0])) as Record<CorruptionKind, number>;
  let c = { requests: 0, successes: 0, rejected429: 0, badRequests: 0, faults: zeroFaults(), sloppy: zeroSloppy(), replies: {} as Record<string, number>, clientAborts: 0, maxConcurrent: 0, maxWaiting: 0, promptTokens: 0, completionTokens: 0 };
  let windowStart = performance.now();
  let closedAt: number | undefined;
  let busyMs = 0;
  let avgServiceMs = o.baseLatencyMs + 1000 * (100 / o.decodeTokensPerSec);
  const metrics = createSimMetrics(o.model, { running: () => running.size, waiting: () => queue.length, totalSlots: () => totalSlots });

  const release = (w: Work) => {
    if (!running.delete(w)) return;
    busy[w.replica]--;
    busyMs += performance.now() - Math.max(w.started, windowStart);
    dispatch();
  };
  const start = (w: Work, replica: number) => {
    w.replica = replica;
    w.started = performance.now();
    busy[replica]++;
    running.add(w);
    c.maxConcurrent = Math.max(c.maxConcurrent, running.size);
    if (w.fault) c.faults[w.fault]++, metrics.fault(w.fault);
    w.timer = setTimeout(() => {
      if (w.done) return;
      w.done = true;
      release(w);
      w.finish();
    }, w.fault === 'timeout' ? o.hangMs : w.serviceMs);
  };
  const freeReplica = (): number => {
    let best = -1;
    for (let r = 0; r < o.replicas; r++) if (busy[r] < o.slots && (best < 0 || busy[r] < busy[best])) best = r;
    return best;
  };
  function dispatch(): void {
    while (queue.length > 0) {
      const r = freeReplica();
      if (r < 0) return;
      start(queue.shift()!, r);
    }
  }
  const serviceTime = (promptTokens: number, completionTokens: number, fault: FaultKind | undefined) => {
    let ms = o.baseLatencyMs;
    if (o.prefillTokensPerSec > 0) ms += (1000 * promptTokens) / o.prefillTokensPerSec;
    if (o.decodeTokensPerSec > 0) ms += (1000 * completionTokens) / o.decodeTokensPerSec;
    if (o.jitter > 0) ms *= 1 + o.jitter * (2 * rng.next() - 1);
    if (fault === 'slow') ms *= o.slowFactor;
    if (o.tailRate > 0 && rng.next() < o.tailRate) ms *= o.tailFactor; // stragglers
    return Math.max(0, ms);
  };
  const pickFault = (): FaultKind | undefined => {
    if (o.faultRate <= 0 || weightSum <= 0 || rng.next() >= o.faultRate) return undefined;
    let x = rng.next() * weightSum;
    for (let i = 0; i < FAULT_KINDS.length; i++) if ((x -= weights[i]) < 0) return FAULT_KINDS[i];
    return FAULT_KINDS[FAULT_KINDS.length - 1];
  };

  async function chat(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    c.requests++;
    let body: any;
    try {
      body = JSON.parse(await readBody(req, 32 * 1024 * 1024));
    } catch (err) {
      c.badRequests++;
      return err instanceof BodyTooLarge ? sendError(res, 413, err.message) : sendError(res, 400, 'the request body is not valid JSON');
    }
    const messages = body?.messages;
    if (!Array.isArray(messages) || messages.length === 0) return (c.badRequests++, sendError(res, 400, '"messages" must be a non-empty array'));
    if (body.model !== undefined && body.model !== o.model) {
      c.badRequests++;
      return sendError(res, 404, `The model \`${body.model}\` does not exist.`, 'NotFoundError');
    }
    if (body.stream) return (c.badRequests++, sendError(res, 400, 'streaming is not supported by the simulator'));
    const rf = body.response_format;
    let schema: Record<string, any> | boolean | undefined;
    let formatName: string | undefined;
    let guided = false;
    if (rf?.type === 'json_schema') {
      if (!o.structuredOutput) return (c.badRequests++, sendError(res, 400, 'response_format of type json_schema is not supported by this server'));
      schema = rf.json_schema?.schema ?? true;
      formatName = rf.json_schema?.name;
      guided = true;
    } else if (rf?.type === 'json_object') {
      schema = schemaInPrompt(messages) ?? { type: 'object', additionalProperties: { type: 'string' }, minProperties: 2 };
    } else schema = schemaInPrompt(messages); // a server without structured output reads the schema in the prompt, like a model
    const promptTokens = messages.reduce((n: number, m: any) => n + 4 + estimateTokens(typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content ?? '')), 0);
    const requested = body.max_tokens ?? body.max_completion_tokens;
    const maxTokens = Number.isInteger(requested) && requested > 0 ? requested : Math.max(1, o.maxModelLen - promptTokens);
    if (promptTokens + (Number.isInteger(requested) ? requested : 0) > o.maxModelLen) {
      c.badRequests++;
      return sendError(
        res,
        400,
        `This model's maximum context length is ${o.maxModelLen} tokens. However, you requested ${promptTokens + (requested ?? 0)} tokens ` +
          `(${promptTokens} in the messages, ${requested ?? 0} in the completion). Please reduce the length of the messages or completion.`,
      );
    }
    // Content depends only on the seeds (ours and the request's) and the request, never on arrival order.
    const requestKey = `${o.seed}|${body.seed ?? ''}|${JSON.stringify(messages)}|${JSON.stringify(schema ?? null)}`;
    const crng = createRng(seedFromString(requestKey));
    let value: unknown;
    let replyOp: string | undefined;
    let content: string;
    if (schema !== undefined) {
      const r = respondJson({ messages, schema, formatName, maxTokens }, crng);
      value = r.value;
      replyOp = r.op ?? 'generic';
      content = JSON.stringify(value);
    } else content = respondText(messages, crng, Math.max(1, Math.floor((maxTokens * 4) / 10)));
    let finishReason: 'stop' | 'length' = 'stop';
    let corruption: CorruptionKind | undefined;
    if (o.quality === 'sloppy') {
      const input = { value, text: value === undefined ? content : undefined, schema: typeof schema === 'object' ? schema : undefined, structured: guided };
      const r = sloppyReply(input, createRng(seedFromString(`sloppy|${requestKey}`)), o.sloppyRate, corruptionWeights);
      ({ content, finishReason, kind: corruption } = r);
    }
    if (estimateTokens(content) > maxTokens) {
      content = content.slice(0, maxTokens * 4);
      finishReason = 'length';
    }
    const completionTokens = estimateTokens(content);
    const fault = pickFault();
    if (fault === 'http5xx') {
      c.faults.http5xx++;
      metrics.fault('http5xx');
      const status = rng.next() < 0.5 ? 500 : 503;
      return sendError(res, status, status === 500 ? 'simulated internal error' : 'simulated overload: service unavailable', 'InternalServerError');
    }
    const freeNow = freeReplica() >= 0;
    if (!freeNow && queue.length >= o.queueLimit) {
      c.rejected429++;
      metrics.rejected();
      const waitMs = Math.max(50, Math.round(((queue.length + 1) / totalSlots) * avgServiceMs));
      return sendError(res, 429, 'the server is busy: too many requests waiting', 'RateLimitError', {
        'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))),
        'retry-after-ms': String(waitMs),
      });
    }
    const malformedBody = fault === 'malformed' && (schema === undefined || rng.next() < 0.5);
    const w: Work = {
      arrived: performance.now(), started: 0, replica: -1, fault, done: false,
      serviceMs: serviceTime(promptTokens, completionTokens, fault),
      finish() {
        if (fault === 'timeout') return void res.destroy(); // hung past any sane client timeout
        const elapsed = performance.now() - w.arrived;
        avgServiceMs = 0.9 * avgServiceMs + 0.1 * w.serviceMs;
        c.promptTokens += promptTokens;
        c.completionTokens += completionTokens;
        if (malformedBody) return sendRaw(res, 200, `{"id":"chatcmpl-sim","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"`);
        const text = fault === 'malformed' ? `Here is what I found: ${content.slice(0, 200).replace(/[{}[\]"]/g, ' ')}` : content;
        if (fault !== 'malformed') {
          c.successes++;
          if (corruption) (c.sloppy[corruption]++, metrics.corruption(corruption));
          if (replyOp) c.replies[replyOp] = (c.replies[replyOp] ?? 0) + 1;
          metrics.success(finishReason, promptTokens, completionTokens, elapsed / 1000, (w.started - w.arrived) / 1000);
        }
        sendJson(res, 200, {
          id: `chatcmpl-sim-${c.requests}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: o.model,
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finishReason, logprobs: null }],
          usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        });
      },
    };
    res.on('close', () => {
      if (w.done) return;
      w.done = true; // the client went away (its timeout or abort): free the slot or the queue place
      c.clientAborts++;
      clearTimeout(w.timer);
      const i = queue.indexOf(w);
      if (i >= 0) queue.splice(i, 1);
      release(w);
    });
    if (freeNow) start(w, freeReplica());
    else {
      queue.push(w);
      c.maxWaiting = Math.max(c.maxWaiting, queue.length);
    }
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      chat(req, res).catch((err) => sendError(res, 500, `simulator error: ${String(err?.message ?? err)}`, 'InternalServerError'));
    } else if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, { object: 'list', data: [{ id: o.model, object: 'model', created: 0, owned_by: 'llmxmr-sim', max_model_len: o.maxModelLen }] });
    } else if (req.method === 'GET' && path === '/metrics') {
      metrics.text().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      }, (err) => sendError(res, 500, String(err)));
    } else if (req.method === 'GET' && (path === '/health' || path === '/healthz')) {
      res.writeHead(200).end();
    } else {
      sendError(res, 404, `no route for ${req.method} ${path}`, 'NotFoundError');
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${o.host}:${port}/v1`,
    port,
    stats() {
      const now = closedAt ?? performance.now();
      let busySlotMs = busyMs;
      for (const w of running) busySlotMs += now - Math.max(w.started, windowStart);
      const elapsedMs = now - windowStart;
      return {
        ...c, faults: { ...c.faults }, sloppy: { ...c.sloppy }, replies: { ...c.replies }, running: running.size, waiting: queue.length, totalSlots, elapsedMs, busySlotMs,
        slotUtilisation: elapsedMs > 0 ? busySlotMs / (totalSlots * elapsedMs) : 0,
      };
    },
    resetStats() {
      c = { requests: 0, successes: 0, rejected429: 0, badRequests: 0, faults: zeroFaults(), sloppy: zeroSloppy(), replies: {}, clientAborts: 0, maxConcurrent: running.size, maxWaiting: queue.length, promptTokens: 0, completionTokens: 0 };
      windowStart = performance.now();
      busyMs = 0;
    },
    setBaseLatency(ms: number) {
      if (!(ms >= 0)) throw new Error(`the base latency must be a number of milliseconds ≥ 0, got ${ms}`);
      o.baseLatencyMs = ms;
    },
    async close() {
      if (closedAt !== undefined) return;
      closedAt = performance.now();
      for (const w of [...running, ...queue]) (w.done = true), clearTimeout(w.timer);
      for (const w of running) busyMs += closedAt - Math.max(w.started, windowStart);
      running.clear();
      queue.length = 0;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
