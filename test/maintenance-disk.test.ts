// Over the disk limit, the cleanup step deletes the oldest rotated copies of our own logs first,
// and stops as soon as the disk is back under the limit; live logs are never touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freeDiskFromRotatedLogs, rotateLogs } from '../worker/maintenance/cleanup.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawbase-disk-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: number, ageHours: number) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, 'x'.repeat(bytes));
  const t = new Date(Date.now() - ageHours * 3_600_000);
  fs.utimesSync(p, t, t);
}

describe('disk freeing', () => {
  it('deletes rotated logs oldest first until under the limit, never a live log', () => {
    file('edge.log', 500, 0);
    file('edge.log.2026-11-01T00-00-00-000Z', 100, 72);
    file('edge.log.2026-11-02T00-00-00-000Z', 100, 48);
    file('worker.log.2026-11-03T00-00-00-000Z', 100, 24);
    // A pretend disk whose usage is the bytes in `dir`: the limit is 650 bytes.
    const used = () => fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    const freed = freeDiskFromRotatedLogs(dir, () => used() > 650);
    expect(freed).toEqual({ deleted: 2, bytes: 200 });
    expect(fs.readdirSync(dir).sort()).toEqual(['edge.log', 'worker.log.2026-11-03T00-00-00-000Z']);

    // Nothing left to delete but the live log: it stays, and the caller alerts.
    expect(freeDiskFromRotatedLogs(dir, () => true)).toEqual({ deleted: 1, bytes: 100 });
    expect(fs.readdirSync(dir)).toEqual(['edge.log']);
    expect(freeDiskFromRotatedLogs(dir, () => false)).toEqual({ deleted: 0, bytes: 0 });
  });

  it('rotation leaves exactly the copies the freeing recognises', () => {
    file('big.log', 2000, 0);
    expect(rotateLogs(dir, 1000)).toBe(1);
    expect(fs.statSync(path.join(dir, 'big.log')).size).toBe(0);
    expect(freeDiskFromRotatedLogs(dir, () => true).deleted).toBe(1);
    expect(fs.readdirSync(dir).sort()).toEqual(['big.log', 'edge.log']);
  });
});
