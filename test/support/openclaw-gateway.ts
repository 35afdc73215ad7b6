// A real OpenClaw 2026.9.6 Gateway, for test/openclaw-compat.test.ts and the soak: installed
// (cached) by scripts/install-openclaw.sh, run under its own Node 24 on loopback with a token, its
// model a fake OpenAI-compatible server. The soak also takes it away for its Gateway fault.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { connectGateway } from '../../worker/collectors/gateway-client.ts';
import { startFakeModel, type FakeModel } from './fake-openai.ts';
import { freePort } from './ports.ts';

export interface OpenClawGateway {
  /** ws://127.0.0.1:<port>, for OPENCLAW_GATEWAY_URL. */
  url: string;
  token: string;
  /** The fake model behind it (its calls, for usage checks). */
  model: FakeModel;
  /** What the Gateway printed since it was last started. */
  output(): string;
  pid(): number | undefined;
  /** Starts it (again, on the same port and state) and waits for /readyz. */
  start(): Promise<void>;
  /** kill -9 of the Gateway's process group. */
  kill(): Promise<void>;
  /** One chat turn through chat.send on agent:main:main (the fake model answers in text). */
  chat(message: string, idempotencyKey: string): Promise<void>;
  close(): Promise<void>;
}

/** Installs OpenClaw (or finds it cached); the reason it cannot be used otherwise. */
export async function installOpenClaw(root: string): Promise<{ node: string; openclaw: string } | { skip: string }> {
  try {
    const { stdout } = await promisify(execFile)('bash', [path.join(root, 'scripts', 'install-openclaw.sh')], { timeout: 15 * 60_000, maxBuffer: 16 << 20 });
    const node = /^NODE=(.+)$/m.exec(stdout)?.[1];
    const openclaw = /^OPENCLAW=(.+)$/m.exec(stdout)?.[1];
    if (node && openclaw && fs.existsSync(node) && fs.existsSync(openclaw)) return { node, openclaw };
    return { skip: `scripts/install-openclaw.sh printed no usable paths: ${stdout.trim().slice(-300)}` };
  } catch (err) {
    const e = err as Error & { stderr?: string };
    return { skip: `openclaw@2026.9.6 could not be installed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}` };
  }
}

export async function startGateway(install: { node: string; openclaw: string }, stateDir: string, token = 'clawbase-gateway-token-0123456789abcdef'): Promise<OpenClawGateway> {
  const model: FakeModel = await startFakeModel();
  const port = await freePort();
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(path.join(stateDir, 'openclaw.json'), JSON.stringify({
    gateway: { mode: 'local', bind: 'loopback', port, auth: { mode: 'token', token } },
    models: { mode: 'merge', providers: { fake: {
      baseUrl: model.baseUrl, apiKey: 'fake-key', api: 'openai-completions',
      models: [{ id: 'fake-model', name: 'Fake Model', reasoning: false, input: ['text'], cost: { input: 1, output: 2, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128000, maxTokens: 4096 }],
    } } },
    agents: { defaults: { model: { primary: 'fake/fake-model' }, heartbeat: { every: '0m' } } },
    logging: { file: path.join(stateDir, 'openclaw.log') },
  }, null, 2));
  const env = { PATH: `${path.dirname(install.node)}:${process.env.PATH}`, HOME: stateDir, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: path.join(stateDir, 'openclaw.json'), NO_COLOR: '1' };
  const url = `ws://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';

  const ready = async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;
    } catch {
      return false;
    }
  };
  const gateway: OpenClawGateway = {
    url,
    token,
    model,
    output: () => output,
    pid: () => child?.pid,
    async start() {
      output = '';
      const c = spawn(install.node, [install.openclaw, 'gateway', 'run'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child = c;
      c.stdout!.on('data', (d) => (output += d));
      c.stderr!.on('data', (d) => (output += d));
      const t0 = Date.now();
      while (!(await ready())) {
        if (c.exitCode !== null) throw new Error(`the OpenClaw Gateway exited with ${c.exitCode}:\n${output.slice(-2000)}`);
        if (Date.now() - t0 > 180_000) throw new Error(`the OpenClaw Gateway on ${port} was not ready in 180 s:\n${output.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async kill() {
      const c = child;
      if (!c?.pid || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
    async chat(message, idempotencyKey) {
      const driver = await connectGateway({ url, token, scopes: ['operator.read', 'operator.write'], onEvent: () => {} });
      try {
        await driver.request('chat.send', { sessionKey: 'agent:main:main', message, idempotencyKey }, 120_000);
      } finally {
        driver.close();
      }
    },
    async close() {
      const c = child;
      if (c?.pid && c.exitCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        try {
          process.kill(-c.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        await gateway.kill();
      }
      await model.close();
    },
  };
  await gateway.start();
  return gateway;
}
