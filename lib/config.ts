// Every setting Clawbase reads from the environment, validated once, in one place.
// .env.example and the README's configuration table list the same variables.
import os from 'node:os';
import path from 'node:path';

export interface Config {
  /** Folder holding the embedded cluster, secrets, logs and run files. */
  home: string;
  /** Set when an external PostgreSQL is used; then nothing embedded is started. */
  databaseUrl: string | undefined;
  pgPort: number;
  restPort: number;
  /** Where other processes reach PostgREST (the functions server): loopback unless CLAWBASE_REST_URL says otherwise. */
  restUrl: string;
  /** PostgREST's admin port (/live, /ready); restPort + 1 unless set. */
  restAdminPort: number;
  /** Name of the application database inside the cluster. */
  database: string;
  jwtSecret: string | undefined;
  jwtAudience: string;
  restMaxRows: number;
  restPool: number;
  /** statement_timeout for the API roles, as PostgreSQL reads it (e.g. '8s'). */
  apiStatementTimeout: string;
  ollama: {
    host: string;
    embedModel: string;
    chatModel: string;
    /** An Ollama call slower than this counts as down (summaries fall back, embeddings retry). */
    timeoutMs: number;
  };
  /** OpenClaw's state folder: agents/<id>/sessions/*.jsonl and agents/<id>/agent/openclaw-agent.sqlite. */
  openclawStateDir: string;
  /** The agent's workspace (MEMORY.md, memory/YYYY-MM-DD.md, public folders). */
  workspace: string;
  /** The agent the workspace belongs to (its memory files are synced as that agent's documents). */
  workspaceAgent: string;
  /** Passwords of the authenticator and worker logins when set explicitly (docker compose). */
  authenticatorPassword: string | undefined;
  workerPassword: string | undefined;
  /** Address the functions and file servers listen on (127.0.0.1 unless in a container). */
  functionsHost: string;
  functionsPort: number;
  /** Port of the embedded read-only file server; undefined when turned off (nginx serves files). */
  filesPort: number | undefined;
  /** The dashboard's PostgREST URL as the browser reaches it (GET /config.json); undefined: derived from each request. */
  publicRestUrl: string | undefined;
  /** The functions server's URL as the browser reaches it; undefined: the origin the request came to. */
  publicFunctionsUrl: string | undefined;
  /** The built dashboard the functions server serves (npm run build:web); undefined: web/dist of this checkout. */
  webDist: string | undefined;
  /** The OpenClaw Gateway's WebSocket URL. */
  gatewayUrl: string;
  /** Gateway token; the Gateway observer is off without it. */
  gatewayToken: string | undefined;
  ingest: IngestConfig;
  maintenance: MaintenanceConfig;
  s3: S3Settings;
  backups: BackupConfig;
}

/** Backups: WAL archiving, base backups, workspace snapshots, restore drills. */
export interface BackupConfig {
  /** Bucket for WAL segments and base backups; backups other than the local WAL archive are off without it. */
  bucket: string | undefined;
  /** Key prefix inside the bucket (several installations can share one bucket). */
  prefix: string;
  /** BACKUP_ENCRYPTION_KEY: 32 bytes, hex or base64. Required with a bucket. */
  encryptionKey: string | undefined;
  /** Where PostgreSQL's archiver puts closed WAL segments before the worker ships them. */
  walArchiveDir: string;
  /** The PostgreSQL data directory the base backup copies (read-only is enough). */
  pgDataDir: string;
  /** restic repository for workspace snapshots (a local path or s3:https://…); undefined: snapshots off. */
  resticRepository: string | undefined;
  resticPassword: string | undefined;
  /** Retention in days: base backups (dailies) and workspace snapshots (6-hourlies). */
  keepBaseDays: number;
  keepWorkspaceDays: number;
}

/** Where the S3-compatible object store is; each consumer names its own bucket. */
export interface S3Settings {
  /** Endpoint URL for a non-AWS store (MinIO, s3rver); undefined means AWS. */
  endpoint: string | undefined;
  region: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
  /** Bucket the maintenance sweep flushes old log files to; the step is skipped without it. */
  logsBucket: string | undefined;
}

/** The maintenance sweep, health checks and alert rules. */
export interface MaintenanceConfig {
  /** Sessions idle longer than this many days move to the archive tables. */
  archiveAfterDays: number;
  /** Log files (legacy JSONL transcripts, our logs) untouched this many days are flushed to S3. */
  logFlushAfterDays: number;
  /** Folders whose *.jsonl / *.log files the log flush takes (recursively). */
  logDirs: string[];
  /** Our own log folder: files over logRotateBytes are rotated by the cleanup step. */
  logsDir: string;
  logRotateBytes: number;
  /** Scratch folder whose files older than a day the cleanup step deletes. */
  tempDir: string;
  /** Alert thresholds. */
  diskAlertPercent: number;
  memoryAlertPercent: number;
  errorRatePercent: number;
  /** Tokens per agent per UTC day before token_budget opens; 0 turns the rule off. */
  dailyTokenBudget: number;
  /** Share of today's tokens spent on OpenClaw heartbeat turns before heartbeat_share opens. */
  heartbeatSharePercent: number;
  /** Expected hours between base backups (backup_late opens at 1.5 ×). */
  backupIntervalHours: number;
  /** Alert transitions are POSTed here (besides the webhooks table); undefined: not sent. */
  alertWebhookUrl: string | undefined;
  alertWebhookSecret: string | undefined;
  /** Optional services: probed only when set ("not configured" otherwise). */
  n8nUrl: string | undefined;
  redisUrl: string | undefined;
  /** The Gateway is probed (GET /readyz) only when OPENCLAW_GATEWAY_URL or its token is set. */
  gatewayConfigured: boolean;
  /** Attempts before a webhook delivery is dead. */
  webhookMaxAttempts: number;
}

export interface IngestConfig {
  /** Text (message content, tool results, raw entries) past this many UTF-8 bytes is stored truncated. */
  maxContentBytes: number;
  /** Entries per written batch. */
  batchSize: number;
  /** Parallel database writers (connections). */
  writers: number;
  /** How often files and SQLite databases are checked for new entries, in milliseconds. */
  pollMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ConfigError(`${name}=${raw} is not a TCP port: use a whole number from 1 to 65535.`);
  }
  return n;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name}=${raw} must be a positive whole number.`);
  return n;
}

function percent(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw new ConfigError(`${name}=${raw} must be a percentage above 0 and at most 100.`);
  return n;
}

function httpUrl(env: NodeJS.ProcessEnv, name: string, example: string): string | undefined {
  const raw = env[name] || undefined;
  if (raw !== undefined && !/^https?:\/\/[^\s/]+/.test(raw)) throw new ConfigError(`${name}=${raw} must be an http(s):// URL, e.g. ${example}.`);
  return raw?.replace(/\/$/, '');
}

function password(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name] || undefined;
  if (raw !== undefined && raw.length < 16) throw new ConfigError(`${name} must be at least 16 characters; generate one with: openssl rand -base64 32`);
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const home = path.resolve(env.CLAWBASE_HOME || '.clawbase');
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be a postgres:// URL, got "${databaseUrl.slice(0, 20)}…".`);
  }
  const jwtSecret = env.JWT_SECRET || undefined;
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    // PostgREST starts with a short secret and then rejects every token: fail here instead.
    throw new ConfigError('JWT_SECRET must be at least 32 characters (PostgREST rejects every token otherwise). Unset it to let Clawbase generate one.');
  }
  const restPort = port(env, 'CLAWBASE_REST_PORT', 3000);
  const timeout = env.CLAWBASE_API_STATEMENT_TIMEOUT || '8s';
  if (!/^\d+(ms|s|min)?$/.test(timeout)) {
    throw new ConfigError(`CLAWBASE_API_STATEMENT_TIMEOUT=${timeout} must look like 500ms, 8s or 1min.`);
  }
  // `~` is expanded the way a shell would (the values come from .env files too).
  const home_ = (value: string) => path.resolve(value.replace(/^~(?=$|\/)/, os.homedir()));
  const stateDir = home_(env.OPENCLAW_STATE_DIR || path.join(os.homedir(), '.openclaw'));
  const workspaceAgent = env.CLAWBASE_WORKSPACE_AGENT || 'main';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(workspaceAgent)) {
    throw new ConfigError(`CLAWBASE_WORKSPACE_AGENT=${workspaceAgent} is not an agent id (letters, digits, dot, dash, underscore).`);
  }
  const ollamaHost = env.OLLAMA_HOST || 'http://127.0.0.1:11434';
  if (!/^https?:\/\//.test(ollamaHost)) throw new ConfigError(`OLLAMA_HOST=${ollamaHost} must be an http(s):// URL, e.g. http://127.0.0.1:11434.`);
  const functionsPort = port(env, 'CLAWBASE_FUNCTIONS_PORT', 8080);
  const filesPort = env.CLAWBASE_FILES_PORT === 'off' ? undefined : port(env, 'CLAWBASE_FILES_PORT', functionsPort + 1);
  if (filesPort === functionsPort) {
    throw new ConfigError(`CLAWBASE_FILES_PORT and CLAWBASE_FUNCTIONS_PORT are both ${filesPort}: give the file server its own port (or CLAWBASE_FILES_PORT=off).`);
  }
  const functionsHost = env.CLAWBASE_FUNCTIONS_HOST || '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]+$/.test(functionsHost)) throw new ConfigError(`CLAWBASE_FUNCTIONS_HOST=${functionsHost} is not an address: use e.g. 127.0.0.1 or 0.0.0.0.`);
  const gatewayUrl = env.OPENCLAW_GATEWAY_URL || 'ws://127.0.0.1:18789';
  if (!/^wss?:\/\/[^/\s]+/.test(gatewayUrl)) {
    throw new ConfigError(`OPENCLAW_GATEWAY_URL=${gatewayUrl} must be a ws:// or wss:// URL, e.g. ws://127.0.0.1:18789.`);
  }
  const maxContent = positiveInt(env, 'CLAWBASE_INGEST_MAX_CONTENT_BYTES', 1_048_576);
  if (maxContent < 4096) throw new ConfigError(`CLAWBASE_INGEST_MAX_CONTENT_BYTES=${maxContent} is too small: use at least 4096.`);
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\/[^\s/]+/.test(redisUrl)) throw new ConfigError(`REDIS_URL=${redisUrl} must be a redis:// URL, e.g. redis://127.0.0.1:6379.`);
  const budget = env.CLAWBASE_DAILY_TOKEN_BUDGET ? Number(env.CLAWBASE_DAILY_TOKEN_BUDGET) : 0;
  if (!Number.isInteger(budget) || budget < 0) throw new ConfigError(`CLAWBASE_DAILY_TOKEN_BUDGET=${env.CLAWBASE_DAILY_TOKEN_BUDGET} must be a whole number of tokens (0 turns the rule off).`);
  const logsDir = path.join(home, 'logs');
  const backupBucket = env.S3_BUCKET_BACKUPS || undefined;
  const backupKey = env.BACKUP_ENCRYPTION_KEY || undefined;
  if (backupBucket && !backupKey) throw new ConfigError('S3_BUCKET_BACKUPS is set but BACKUP_ENCRYPTION_KEY is not: backups are encrypted before upload; generate a key with: openssl rand -base64 32 (and keep a copy off this machine).');
  const resticRepository = env.RESTIC_REPOSITORY ? (env.RESTIC_REPOSITORY.includes(':') ? env.RESTIC_REPOSITORY : home_(env.RESTIC_REPOSITORY)) : undefined;
  if (resticRepository && !env.RESTIC_PASSWORD) throw new ConfigError('RESTIC_REPOSITORY is set but RESTIC_PASSWORD is not: restic encrypts the repository with it; keep a copy off this machine.');
  return {
    home,
    databaseUrl,
    pgPort: port(env, 'CLAWBASE_PG_PORT', 54329),
    restPort,
    restAdminPort: port(env, 'CLAWBASE_REST_ADMIN_PORT', restPort + 1),
    restUrl: (env.CLAWBASE_REST_URL || `http://127.0.0.1:${restPort}`).replace(/\/$/, ''),
    database: env.CLAWBASE_DB_NAME || 'clawbase',
    jwtSecret,
    jwtAudience: 'clawbase',
    restMaxRows: positiveInt(env, 'CLAWBASE_REST_MAX_ROWS', 1000),
    restPool: positiveInt(env, 'CLAWBASE_REST_POOL', 10),
    apiStatementTimeout: timeout,
    ollama: {
      host: ollamaHost,
      embedModel: env.OLLAMA_EMBED_MODEL || 'nomic-embed-text',
      chatModel: env.OLLAMA_CHAT_MODEL || 'llama3.2',
      timeoutMs: positiveInt(env, 'OLLAMA_TIMEOUT_MS', 60_000),
    },
    openclawStateDir: stateDir,
    workspace: env.OPENCLAW_WORKSPACE ? home_(env.OPENCLAW_WORKSPACE) : path.join(stateDir, 'workspace'),
    workspaceAgent,
    authenticatorPassword: password(env, 'CLAWBASE_AUTHENTICATOR_PASSWORD'),
    workerPassword: password(env, 'CLAWBASE_WORKER_PASSWORD'),
    functionsHost,
    functionsPort,
    filesPort,
    publicRestUrl: httpUrl(env, 'CLAWBASE_PUBLIC_REST_URL', 'https://conductor.example.com/rest'),
    publicFunctionsUrl: httpUrl(env, 'CLAWBASE_PUBLIC_FUNCTIONS_URL', 'https://conductor.example.com'),
    webDist: env.CLAWBASE_WEB_DIST ? home_(env.CLAWBASE_WEB_DIST) : undefined,
    gatewayUrl,
    gatewayToken: env.OPENCLAW_GATEWAY_TOKEN || undefined,
    ingest: {
      maxContentBytes: maxContent,
      batchSize: positiveInt(env, 'CLAWBASE_INGEST_BATCH', 5000),
      writers: positiveInt(env, 'CLAWBASE_INGEST_WRITERS', 2),
      pollMs: positiveInt(env, 'CLAWBASE_INGEST_POLL_MS', 200),
    },
    maintenance: {
      archiveAfterDays: positiveInt(env, 'CLAWBASE_ARCHIVE_AFTER_DAYS', 30),
      logFlushAfterDays: positiveInt(env, 'CLAWBASE_LOG_FLUSH_AFTER_DAYS', 7),
      logDirs: (env.CLAWBASE_LOG_DIRS ? env.CLAWBASE_LOG_DIRS.split(':').filter(Boolean) : [path.join(stateDir, 'agents'), logsDir]).map(home_),
      logsDir,
      logRotateBytes: positiveInt(env, 'CLAWBASE_LOG_ROTATE_BYTES', 50 * 1024 * 1024),
      tempDir: path.join(home, 'tmp'),
      diskAlertPercent: percent(env, 'CLAWBASE_ALERT_DISK_PERCENT', 80),
      memoryAlertPercent: percent(env, 'CLAWBASE_ALERT_MEMORY_PERCENT', 85),
      errorRatePercent: percent(env, 'CLAWBASE_ALERT_ERROR_RATE_PERCENT', 5),
      dailyTokenBudget: budget,
      heartbeatSharePercent: percent(env, 'CLAWBASE_ALERT_HEARTBEAT_SHARE_PERCENT', 25),
      backupIntervalHours: positiveInt(env, 'CLAWBASE_BACKUP_INTERVAL_HOURS', 24),
      alertWebhookUrl: httpUrl(env, 'ALERT_WEBHOOK_URL', 'https://n8n.example.com/webhook/clawbase-alerts'),
      alertWebhookSecret: env.ALERT_WEBHOOK_SECRET || undefined,
      n8nUrl: httpUrl(env, 'N8N_URL', 'http://127.0.0.1:5678'),
      redisUrl,
      gatewayConfigured: Boolean(env.OPENCLAW_GATEWAY_URL || env.OPENCLAW_GATEWAY_TOKEN),
      webhookMaxAttempts: positiveInt(env, 'CLAWBASE_WEBHOOK_MAX_ATTEMPTS', 10),
    },
    s3: {
      endpoint: httpUrl(env, 'S3_ENDPOINT', 'http://127.0.0.1:9000'),
      region: env.S3_REGION || 'us-east-1',
      accessKeyId: env.S3_ACCESS_KEY_ID || undefined,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY || undefined,
      forcePathStyle: ['1', 'true', 'yes'].includes((env.S3_FORCE_PATH_STYLE || '').toLowerCase()),
      logsBucket: env.S3_BUCKET_LOGS || undefined,
    },
    backups: {
      bucket: backupBucket,
      prefix: (env.CLAWBASE_BACKUP_PREFIX || 'clawbase').replace(/^\/+|\/+$/g, ''),
      encryptionKey: backupKey,
      walArchiveDir: home_(env.CLAWBASE_WAL_ARCHIVE_DIR || path.join(home, 'wal-archive')),
      pgDataDir: home_(env.CLAWBASE_PG_DATA_DIR || path.join(home, 'pg')),
      resticRepository,
      resticPassword: env.RESTIC_PASSWORD || undefined,
      keepBaseDays: positiveInt(env, 'CLAWBASE_BACKUP_KEEP_DAYS', 30),
      keepWorkspaceDays: positiveInt(env, 'CLAWBASE_WORKSPACE_KEEP_DAYS', 7),
    },
  };
}
