// What OpenClaw keeps under its state folder, found afresh on every look: agents appear at their
// first turn, so a collector that started first keeps discovering new folders and databases.
import fs from 'node:fs';
import path from 'node:path';

/** api.agents.id accepts exactly these. */
export const validAgentId = (id: string) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id);

export interface AgentFolder {
  agentId: string;
  dir: string;
}

export function listAgents(stateDir: string): AgentFolder[] {
  const root = path.join(stateDir, 'agents');
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  return names.filter((d) => d.isDirectory()).map((d) => ({ agentId: d.name, dir: path.join(root, d.name) }));
}

/** JSONL transcript files the tailer reads: skips the index and deleted, reset and compressed copies. */
export function isTranscriptFile(name: string): boolean {
  return name.endsWith('.jsonl') && !name.includes('.deleted.') && !name.includes('.reset.') && name !== 'sessions.json';
}

export const sqlitePath = (agentDir: string) => path.join(agentDir, 'agent', 'openclaw-agent.sqlite');

/** A path relative to the state folder, as stored in checkpoints and ingest_errors. */
export const relative = (stateDir: string, file: string) => path.relative(stateDir, file) || '.';

/** JSONL era: session id → {key, channel} from sessions/sessions.json, when it is readable. */
export function readSessionIndex(sessionsDir: string): Map<string, { key: string; channel: string | null }> {
  const out = new Map<string, { key: string; channel: string | null }>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path.join(sessionsDir, 'sessions.json'), 'utf8'));
  } catch {
    return out;
  }
  if (typeof parsed !== 'object' || parsed === null) return out;
  for (const [key, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== 'object' || v === null) continue;
    const e = v as Record<string, unknown>;
    if (typeof e.sessionId !== 'string') continue;
    const channel = typeof e.lastChannel === 'string' ? e.lastChannel : typeof e.channel === 'string' ? e.channel : null;
    out.set(e.sessionId, { key, channel });
  }
  return out;
}
