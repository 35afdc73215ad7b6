// Listening and stopping for the functions process's HTTP servers (functions, files): loopback by
// default, and a stop that lets requests in flight finish before it cuts what is left.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningHttpServer {
  url: string;
  port: number;
  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then closes the rest. */
  stop(graceMs?: number): Promise<void>;
}

export async function listen(server: http.Server, host: string, port: number, what: string): Promise<RunningHttpServer> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ` Something else listens on ${host}:${port}; stop it or choose another port.` : '';
      reject(new Error(`The ${what} could not listen on ${host}:${port}: ${err.message}.${hint}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${actual}`,
    port: actual,
    async stop(graceMs = 5000) {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections go as soon as their last response is out; the rest at the deadline.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(timer);
    },
  };
}
