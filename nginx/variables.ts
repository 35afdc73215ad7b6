// Every variable the nginx templates use, with the value docker-compose.yml gives it by default.
// The tests render the same templates with their own loopback values; test/compose.test.ts checks
// that the compose file passes each of these to the nginx container.

export interface EdgeVariable {
  default: string;
  meaning: string;
}

export const edgeVariables = {
  CLAWBASE_DOMAIN: { default: 'example.com', meaning: 'the domain: vhosts are conductor., gateway., n8n. and files. under it' },
  CLAWBASE_EDGE_HTTP_LISTEN: { default: '80', meaning: 'nginx listen address for plain HTTP (ACME challenges, redirects)' },
  CLAWBASE_EDGE_HTTPS_LISTEN: { default: '443', meaning: 'nginx listen address for HTTPS' },
  CLAWBASE_TLS_CERT: { default: '/etc/clawbase/tls/fullchain.pem', meaning: 'certificate chain covering the four names' },
  CLAWBASE_TLS_KEY: { default: '/etc/clawbase/tls/privkey.pem', meaning: 'its private key' },
  CLAWBASE_TLS_CHAIN: { default: '/etc/clawbase/tls/fullchain.pem', meaning: 'CA chain for OCSP stapling verification' },
  CLAWBASE_TLS_STAPLING: { default: 'off', meaning: 'OCSP stapling (on/off); Let\'s Encrypt no longer runs OCSP' },
  CLAWBASE_ACME_ROOT: { default: '/var/www/acme', meaning: 'webroot for ACME http-01 challenges (certbot --webroot)' },
  CLAWBASE_EDGE_RESOLVER: { default: '127.0.0.11', meaning: 'DNS resolver for optional upstreams (Docker\'s embedded DNS)' },
  CLAWBASE_EDGE_LOG_DIR: { default: '/var/log/clawbase-edge', meaning: 'folder of the JSON access and error logs' },
  CLAWBASE_EDGE_RATE: { default: '20r/s', meaning: 'general request rate per client IP, per vhost' },
  CLAWBASE_EDGE_BURST: { default: '100', meaning: 'requests above that rate let through at once before 429' },
  CLAWBASE_EDGE_WRITE_RATE: { default: '5r/s', meaning: 'rate of writes (POST, PATCH, PUT, DELETE) to /rest/ and /functions/' },
  CLAWBASE_EDGE_WRITE_BURST: { default: '20', meaning: 'burst of writes before 429' },
  CLAWBASE_EDGE_LOGIN_RATE: { default: '10r/m', meaning: 'login attempts per client IP (Conductor and n8n)' },
  CLAWBASE_EDGE_LOGIN_BURST: { default: '5', meaning: 'burst of login attempts before 429' },
  CLAWBASE_EDGE_CONN_LIMIT: { default: '50', meaning: 'open connections per client IP' },
  CLAWBASE_EDGE_BODY_LIMIT: { default: '8m', meaning: 'largest request body to /rest/ and /functions/' },
  CLAWBASE_REST_UPSTREAM: { default: 'postgrest:3000', meaning: 'PostgREST host:port' },
  CLAWBASE_FUNCTIONS_UPSTREAM: { default: 'functions:8080', meaning: 'functions server host:port' },
  CLAWBASE_GATEWAY_UPSTREAM: { default: 'openclaw-gateway:18789', meaning: 'OpenClaw Gateway host:port' },
  CLAWBASE_N8N_UPSTREAM: { default: 'n8n:5678', meaning: 'n8n host:port' },
  CLAWBASE_DASHBOARD_ROOT: { default: '/srv/conductor', meaning: 'the built dashboard (web/dist)' },
  CLAWBASE_FILES_ROOT: { default: '/srv/workspace', meaning: 'the agent workspace, mounted read-only' },
} satisfies Record<string, EdgeVariable>;

export type EdgeVariableName = keyof typeof edgeVariables;
export type EdgeSettings = Record<EdgeVariableName, string>;

export const edgeDefaults = (): EdgeSettings =>
  Object.fromEntries(Object.entries(edgeVariables).map(([k, v]) => [k, v.default])) as EdgeSettings;
