import type { Pool, PoolClient } from 'pg';

/** A pool or one of its clients: the worker's modules only send queries. */
export type Queryable = Pool | PoolClient;
