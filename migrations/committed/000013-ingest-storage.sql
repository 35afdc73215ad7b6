--! Previous: sha1:ba27e19809b9140625904dc1ad509277252e0bdc
--! Hash: sha1:1e74909a08dfe8399d12a1c7b1dd4dff967da919
--! Message: ingest storage

-- The collectors' write path: transcript text and raw entries are stored uncompressed
-- (STORAGE EXTERNAL). pglz cost a third of the ingest rate (NOTES.md: 15k → 24k rows/s by COPY),
-- and this PostgreSQL build has no lz4. Large tool results take more disk in exchange.
alter table api.messages alter column content set storage external, alter column raw set storage external;
alter table api.tool_calls alter column arguments set storage external, alter column result set storage external;
