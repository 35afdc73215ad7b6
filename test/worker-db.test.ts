// retryOnConflict: a statement PostgreSQL picked as a deadlock or serialization victim runs again;
// any other error, or the last attempt's, reaches the caller.
import { describe, expect, it } from 'vitest';
import { retryOnConflict } from '../worker/db.ts';

const failing = (codes: (string | undefined)[]) => {
  let calls = 0;
  const run = async () => {
    const code = codes[calls++];
    if (code === undefined) return `done after ${calls}`;
    throw Object.assign(new Error(`failed with ${code}`), { code });
  };
  return { run, calls: () => calls };
};

describe('retryOnConflict', () => {
  it('runs a deadlock or serialization victim again until it succeeds', async () => {
    const f = failing(['40P01', '40001']);
    expect(await retryOnConflict(f.run)).toBe('done after 3');
  });

  it('passes any other error on at once', async () => {
    const f = failing(['23505']);
    await expect(retryOnConflict(f.run)).rejects.toThrow('failed with 23505');
    expect(f.calls()).toBe(1);
  });

  it('gives up after the last attempt with its error', async () => {
    const f = failing(['40P01', '40P01', '40P01', '40P01']);
    await expect(retryOnConflict(f.run, 3)).rejects.toThrow('failed with 40P01');
    expect(f.calls()).toBe(3);
  });
});
