// JSONL era (OpenClaw up to 2026.7): $OPENCLAW_STATE_DIR/agents/<agent>/sessions/<session>.jsonl,
// one entry per line, appended. Each file's position is its identity (device, inode, a hash of its
// first bytes) and the byte offset after the last complete line: a partial last line waits for its
// newline; a truncated or replaced file is read again from the start (entries are stored once by
// key); a file renamed away (rotation) is drained from its old position before its successor is read.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isTranscriptFile, listAgents, readSessionIndex, relative, validAgentId } from './discovery.ts';
import { BatchBuilder, type EntryContext } from './parser.ts';
import { laneOf, type SourceContext } from './records.ts';
import { decodeUtf8, excerpt } from './text.ts';

export interface JsonlPosition {
  dev: number;
  ino: number;
  /** Bytes consumed: everything before this offset is committed. */
  offset: number;
  /** Lines consumed (for error positions). */
  line: number;
  /** sha1 of the file's first min(offset, 1024) bytes: tells a rewritten file from an appended one. */
  head: string;
  headLength: number;
}

const headBytes = 1024;
const readChunk = 4 << 20;
/** A line longer than this is not parsed (it would not fit the limits anyway): recorded and skipped. */
const maxLineBytes = 256 << 20;

function headHash(fd: number, length: number): string {
  const buf = Buffer.alloc(length);
  const n = length ? fs.readSync(fd, buf, 0, length, 0) : 0;
  return createHash('sha1').update(buf.subarray(0, n)).digest('hex');
}

export class JsonlTailer {
  private warned = new Set<string>();
  /** Bytes consumed since start (complete lines), for progress. */
  bytesRead = 0;

  constructor(private ctx: SourceContext, private positions: Map<string, Record<string, unknown>>) {}

  /** Total bytes not yet read, for a progress bar. */
  pendingBytes(): number {
    let total = 0;
    for (const f of this.files()) {
      const pos = this.positions.get(f.rel) as JsonlPosition | undefined;
      try {
        const st = fs.statSync(f.file);
        total += pos && pos.ino === st.ino && st.size >= pos.offset ? st.size - pos.offset : st.size;
      } catch {
        // gone since listing
      }
    }
    return total;
  }

  private files(): Array<{ agentId: string; sessionId: string; file: string; rel: string; sessionsDir: string }> {
    const out = [];
    for (const agent of listAgents(this.ctx.stateDir)) {
      const sessionsDir = path.join(agent.dir, 'sessions');
      let names: string[];
      try {
        names = fs.readdirSync(sessionsDir);
      } catch {
        continue;
      }
      for (const name of names) {
        if (!isTranscriptFile(name)) continue;
        const file = path.join(sessionsDir, name);
        out.push({ agentId: agent.agentId, sessionId: name.slice(0, -'.jsonl'.length), file, rel: relative(this.ctx.stateDir, file), sessionsDir });
      }
    }
    return out;
  }

  /** Reads every complete new line of every transcript file; resolves with the entries read. */
  async poll(signal?: AbortSignal): Promise<number> {
    let read = 0;
    const index = new Map<string, ReturnType<typeof readSessionIndex>>();
    for (const f of this.files()) {
      if (signal?.aborted) break;
      if (!validAgentId(f.agentId) || f.sessionId.length < 1 || f.sessionId.length > 200) {
        if (!this.warned.has(f.rel)) {
          this.warned.add(f.rel);
          this.ctx.log(`ingest: skipping ${f.rel}: agent id "${f.agentId}" or session id "${f.sessionId}" is not one Clawbase can store (letters, digits, . _ -, up to 64 characters)`);
        }
        continue;
      }
      let st: fs.Stats;
      try {
        st = fs.statSync(f.file);
      } catch {
        continue;
      }
      const pos = this.positions.get(f.rel) as JsonlPosition | undefined;
      if (pos && pos.ino === st.ino && pos.dev === st.dev && pos.offset === st.size) continue;
      if (!index.has(f.sessionsDir)) index.set(f.sessionsDir, readSessionIndex(f.sessionsDir));
      const meta = index.get(f.sessionsDir)!.get(f.sessionId);
      read += await this.readFile(f, st, pos, meta, signal);
    }
    return read;
  }

  private async readFile(
    f: { agentId: string; sessionId: string; file: string; rel: string; sessionsDir: string },
    st: fs.Stats,
    pos: JsonlPosition | undefined,
    meta: { key: string; channel: string | null } | undefined,
    signal?: AbortSignal,
  ): Promise<number> {
    let fd: number;
    try {
      fd = fs.openSync(f.file, 'r');
    } catch {
      return 0;
    }
    let read = 0;
    try {
      let start = { offset: 0, line: 0 };
      if (pos) {
        const same = pos.ino === st.ino && pos.dev === st.dev;
        const intact = same && st.size >= pos.offset && headHash(fd, Math.min(pos.headLength, st.size)) === pos.head;
        if (intact) start = { offset: pos.offset, line: pos.line };
        else {
          if (!same) read += await this.drainRotated(f, pos, meta, signal);
          this.ctx.log(`ingest: ${f.rel} was ${same ? 'truncated or rewritten' : 'replaced (rotated)'}; reading it again from the start (entries already stored are skipped)`);
        }
      }
      read += await this.readFrom(fd, f, st.dev, st.ino, start, meta, f.rel, signal);
    } finally {
      fs.closeSync(fd);
    }
    return read;
  }

  /** The old file of a rotation, found by inode among its siblings, read to its end from the old position. */
  private async drainRotated(
    f: { agentId: string; sessionId: string; rel: string; sessionsDir: string },
    pos: JsonlPosition,
    meta: { key: string; channel: string | null } | undefined,
    signal?: AbortSignal,
  ): Promise<number> {
    let names: string[] = [];
    try {
      names = fs.readdirSync(f.sessionsDir);
    } catch {
      return 0;
    }
    for (const name of names) {
      const file = path.join(f.sessionsDir, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        continue;
      }
      if (st.ino !== pos.ino || st.dev !== pos.dev || st.size <= pos.offset) continue;
      const fd = fs.openSync(file, 'r');
      try {
        if (headHash(fd, pos.headLength) !== pos.head) return 0;
        // Positions still belong to the live name, so the successor starts from a clean slate after this.
        return await this.readFrom(fd, f, st.dev, st.ino, { offset: pos.offset, line: pos.line }, meta, f.rel, signal, false);
      } finally {
        fs.closeSync(fd);
      }
    }
    return 0;
  }

  private async readFrom(
    fd: number,
    f: { agentId: string; sessionId: string; rel: string },
    dev: number,
    ino: number,
    start: { offset: number; line: number },
    meta: { key: string; channel: string | null } | undefined,
    stream: string,
    signal?: AbortSignal,
    checkpoint = true,
  ): Promise<number> {
    const lane = laneOf(stream, this.ctx.lanes);
    let builder = new BatchBuilder('jsonl', stream, lane, this.ctx.limits);
    let offset = start.offset;
    let line = start.line;
    let entries = 0;
    const ctxFor = (position: number): EntryContext => ({
      source: 'jsonl', agentId: f.agentId, sessionId: f.sessionId, file: f.rel, position,
      sessionKey: meta?.key ?? null, channel: meta?.channel ?? null,
    });
    let headLength = 0;
    let head = '';
    const flush = async () => {
      const batch = builder.finish();
      if (checkpoint) {
        if (headLength < Math.min(offset, headBytes)) {
          headLength = Math.min(offset, headBytes);
          head = headHash(fd, headLength);
        }
        batch.checkpoints.push({ source: 'jsonl', stream, position: { dev, ino, offset, line, head, headLength } satisfies JsonlPosition });
        this.positions.set(stream, { dev, ino, offset, line, head, headLength });
      }
      if (batch.messages.length || batch.errors.length || batch.sessions.length || batch.checkpoints.length) await this.ctx.emit(batch);
      builder = new BatchBuilder('jsonl', stream, lane, this.ctx.limits);
    };
    if (start.offset > 0) {
      headLength = Math.min(start.offset, headBytes);
      head = headHash(fd, headLength);
    }
    const buf = Buffer.alloc(readChunk);
    let readAt = start.offset;
    let carry: Buffer | null = null;
    let skipping = false;
    for (;;) {
      if (signal?.aborted) break;
      const n = fs.readSync(fd, buf, 0, readChunk, readAt);
      if (n === 0) break;
      const chunkBase = readAt - (carry?.length ?? 0);
      const chunk: Buffer = carry ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      readAt += n;
      carry = null;
      let lineStart = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, lineStart);
        if (nl === -1) break;
        const bytes = chunk.subarray(lineStart, nl > lineStart && chunk[nl - 1] === 0x0d ? nl - 1 : nl);
        lineStart = nl + 1;
        line++;
        if (skipping) skipping = false;
        else if (this.parseLine(builder, bytes, ctxFor(line))) entries++;
        offset = chunkBase + lineStart;
        if (builder.size >= this.ctx.batchSize) await flush();
      }
      if (lineStart < chunk.length && !skipping) {
        carry = Buffer.from(chunk.subarray(lineStart));
        if (carry.length > maxLineBytes) {
          builder.error(ctxFor(line + 1), `line ${line + 1} is longer than ${maxLineBytes} bytes: skipped`, carry);
          skipping = true;
          carry = null;
        }
      }
    }
    // A partial last line (no newline yet) stays unread: offset points at its start.
    if (builder.size > 0 || (checkpoint && offset !== start.offset)) await flush();
    this.bytesRead += offset - start.offset;
    return entries;
  }

  /** Returns whether the line held an entry (valid or not); blank lines do not count. */
  private parseLine(builder: BatchBuilder, bytes: Buffer, ctx: EntryContext): boolean {
    if (bytes.length === 0 || (bytes.length < 8 && bytes.toString().trim() === '')) return false;
    const text = decodeUtf8(bytes);
    if (text === null) {
      builder.error(ctx, `line ${ctx.position} is not valid UTF-8: skipped`, excerpt(bytes));
      return true;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      builder.error(ctx, `line ${ctx.position} is not valid JSON (${(err as Error).message}): skipped`, text);
      return true;
    }
    builder.entry(value, text, ctx);
    return true;
  }
}
