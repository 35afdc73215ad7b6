// Docker healthchecks for the Clawbase containers (`node --import tsx scripts/container-healthcheck.ts
// functions|worker`): exit 0 when the part answers, 1 with the reason otherwise.
import pg from 'pg';
import { loadConfig } from '../lib/config.ts';
import { databaseUrls } from '../lib/database-urls.ts';
import { loadSecrets } from '../lib/secrets.ts';

async function check(what: string | undefined): Promise<void> {
  const config = loadConfig();
  if (what === 'functions') {
    const res = await fetch(`http://127.0.0.1:${config.functionsPort}/functions/v1/version`, { signal: AbortSignal.timeout(4000) });
    if (!res.ok) throw new Error(`GET /functions/v1/version answered ${res.status}`);
    return;
  }
  if (what === 'worker') {
    // The worker's own login reaches the queue it works on.
    const client = new pg.Client({ connectionString: databaseUrls(config, loadSecrets(config)).worker, connectionTimeoutMillis: 4000 });
    await client.connect();
    try {
      await client.query('select count(*) from graphile_worker._private_jobs');
    } finally {
      await client.end();
    }
    return;
  }
  throw new Error(`usage: container-healthcheck.ts functions|worker (got ${what ?? 'nothing'})`);
}

try {
  await check(process.argv[2]);
} catch (err) {
  console.error(`unhealthy: ${(err as Error).message}`);
  process.exit(1);
}
