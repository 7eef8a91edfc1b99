/**
 * `llmxmr config check [--file F]`: validate the model routing file (LLM_ROUTING_FILE, or F)
 * together with the environment overrides, print every problem in plain words and the route
 * each op gets, and exit non-zero when there are errors. Credentials inside endpoint URLs are
 * masked (`http://user:***@host`) in both the text and the --json report.
 */
import type { Command } from 'commander';
import { loadEnv } from '../../shared/config/env.ts';
import { loadRouting, type OpRoute, type Problem } from '../../shared/llm/routing.ts';
import { ALL_OPS } from '../../shared/ops/registry.ts';
import { redactDeep } from '../../shared/log/redact.ts';

interface CheckOpts {
  file?: string;
  json?: boolean;
}

export interface CheckReport {
  source: string;
  errors: string[];
  warnings: string[];
  routes: { op: string; model: string; endpoints: string[]; temperature?: number; maxTokens?: number; timeoutMs: number; maxRetries: number; pricePerMillion: { input: number; output: number } }[];
}

/** The check as data (the command prints it). */
export function checkRouting(file: string | undefined, source: NodeJS.ProcessEnv = process.env): CheckReport {
  const env = loadEnv(source);
  const ops = ALL_OPS.filter((op) => !op.name.startsWith('test.')).map((op) => ({ name: op.name, kind: op.kind, maxOutputTokens: op.maxOutputTokens }));
  const { routing, problems } = loadRouting(env, { file, knownOps: ops, source });
  const pick = (level: Problem['level']) => problems.filter((p) => p.level === level).map((p) => p.message);
  const routes: CheckReport['routes'] = [];
  if (routing && routing.models.size > 0) {
    for (const op of ops) {
      let r: OpRoute;
      try {
        r = routing.route(op);
      } catch {
        continue; // already reported as a problem
      }
      routes.push({
        op: op.name,
        model: r.model.name,
        endpoints: r.model.endpoints.map((e) => (e.discovery === 'dns' ? `${e.url} (every address)` : e.url)),
        temperature: r.temperature,
        maxTokens: r.maxTokens ?? op.maxOutputTokens ?? r.defaultMaxTokens,
        timeoutMs: r.timeoutMs,
        maxRetries: r.maxRetries,
        pricePerMillion: { input: round(r.model.price.prompt * 1e6), output: round(r.model.price.completion * 1e6) },
      });
    }
  }
  const report = { source: routing?.source ?? file ?? env.LLM_ROUTING_FILE ?? 'environment', errors: pick('error'), warnings: pick('warning'), routes };
  // Endpoint URLs may carry credentials (http://user:pw@host): the report shows the user only.
  return redactDeep(report);
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export function formatReport(r: CheckReport): string {
  const out = [`model routing from ${r.source}`];
  for (const e of r.errors) out.push(`  error: ${e}`);
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  if (r.routes.length) {
    out.push('', 'route of each op:');
    const rows = [['op', 'model', 'temp', 'max tokens', 'timeout', 'retries', '$/1M in/out', 'endpoints']];
    for (const x of r.routes) {
      rows.push([x.op, x.model, x.temperature === undefined ? 'server' : String(x.temperature), x.maxTokens === undefined ? 'server' : String(x.maxTokens), `${x.timeoutMs / 1000} s`, String(x.maxRetries), `${x.pricePerMillion.input}/${x.pricePerMillion.output}`, x.endpoints.join(', ')]);
    }
    out.push(table(rows).replace(/^/gm, '  '));
  }
  out.push('', r.errors.length ? `${r.errors.length} error(s), ${r.warnings.length} warning(s)` : `ok (${r.warnings.length} warning(s))`);
  return out.join('\n');
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('check configuration files');
  config
    .command('check')
    .description('validate the model routing file (default: $LLM_ROUTING_FILE) with the environment overrides, and show the route of each op')
    .option('--file <path>', 'routing file to check (YAML, or JSON when it ends in .json)')
    .option('--json', 'print the report as one JSON object')
    .action((o: CheckOpts) => {
      const report = checkRouting(o.file);
      process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
      if (report.errors.length) throw new Error(`the model routing has ${report.errors.length} error(s)${o.json ? '' : ' (listed above)'}`);
    });
}
