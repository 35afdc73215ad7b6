--! Previous: sha1:8072c0f174ed779be2061c9a084f96e56f0ebb7d
--! Hash: sha1:dff626706a6ca2f2162101c6f70c0a9d41f42faf
--! Message: ingest storage

-- The collectors' write path: transcript text and raw entries are stored uncompressed
-- (STORAGE EXTERNAL). pglz cost a third of the ingest rate (NOTES.md: 15k → 24k rows/s by COPY),
-- and this PostgreSQL build has no lz4. Large tool results take more disk in exchange.
alter table api.messages alter column content set storage external, alter column raw set storage external;
alter table api.tool_calls alter column arguments set storage external, alter column result set storage external;
