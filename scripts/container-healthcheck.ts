// Docker healthchecks for the Clawbase containers (`node --import tsx scripts/container-healthcheck.ts
// functions|worker|backup`): exit 0 when the part answers, 1 with the reason otherwise.
import fs from 'node:fs';
import path from 'node:path';
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
  if (what === 'backup') {
    // What the backup service is for: reading PostgreSQL's data folder (mode 0700: only its OS
    // user, uid 70 in the postgres image, may) and emptying the WAL archive.
    const { pgDataDir, walArchiveDir } = config.backups;
    try {
      fs.accessSync(path.join(pgDataDir, 'PG_VERSION'), fs.constants.R_OK);
      fs.accessSync(walArchiveDir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
    } catch (err) {
      throw new Error(`${(err as Error).message}: the backup service must run as PostgreSQL's OS user (user: "70:70" for the postgres alpine image) with CLAWBASE_PG_DATA_DIR and CLAWBASE_WAL_ARCHIVE_DIR mounted`, { cause: err });
    }
  }
  if (what === 'worker' || what === 'backup') {
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
  throw new Error(`usage: container-healthcheck.ts functions|worker|backup (got ${what ?? 'nothing'})`);
}

try {
  await check(process.argv[2]);
} catch (err) {
  console.error(`unhealthy: ${(err as Error).message}`);
  process.exit(1);
}
