/**
 * robots.txt: the rules of the group that names our agent (else "*"); the longest matching
 * Allow/Disallow path wins, "*" and "$" as in the robots exclusion standard (RFC 9309).
 */
export interface RobotRules {
  rules: { allow: boolean; pattern: string }[];
}

export function parseRobots(text: string, agent: string): RobotRules {
  const groups: { agents: string[]; rules: RobotRules['rules'] }[] = [];
  let cur: (typeof groups)[number] | null = null;
  let lastWasAgent = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1].toLowerCase();
    const value = m[2].trim();
    if (key === 'user-agent') {
      if (!cur || !lastWasAgent) groups.push((cur = { agents: [], rules: [] }));
      cur.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if (cur && (key === 'allow' || key === 'disallow') && value) cur.rules.push({ allow: key === 'allow', pattern: value });
  }
  const token = agent.toLowerCase().split(/[/\s]/)[0];
  const mine = groups.filter((g) => g.agents.some((a) => a !== '*' && token.includes(a)));
  const chosen = mine.length ? mine : groups.filter((g) => g.agents.includes('*'));
  return { rules: chosen.flatMap((g) => g.rules) };
}

function matches(pattern: string, path: string): boolean {
  const anchored = pattern.endsWith('$');
  const body = (anchored ? pattern.slice(0, -1) : pattern).split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}${anchored ? '$' : ''}`).test(path);
}

/** Whether `path` (with its query) may be fetched. */
export function robotsAllow(rules: RobotRules, path: string): boolean {
  let best: { allow: boolean; len: number } | null = null;
  for (const r of rules.rules) {
    if (!matches(r.pattern, path)) continue;
    if (!best || r.pattern.length > best.len || (r.pattern.length === best.len && r.allow)) best = { allow: r.allow, len: r.pattern.length };
  }
  return best ? best.allow : true;
}
