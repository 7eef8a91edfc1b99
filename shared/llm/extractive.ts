/** The offline engine: every op's deterministic, content-derived implementation. */
import { PermanentError, type Engine } from './engine.ts';
import { ZERO_USAGE } from '../protocol/schemas.ts';

export const extractiveEngine: Engine = {
  name: 'extractive',
  async execute(op, input, env) {
    const raw = await op.extractive(input, env);
    const parsed = op.output.safeParse(raw);
    if (!parsed.success) {
      throw new PermanentError(`offline ${op.name} produced an invalid output: ${parsed.error.message}`);
    }
    return { output: parsed.data, usage: { ...ZERO_USAGE } };
  },
};
