--! Previous: sha1:ca61185ca116de606153cf19381a1da507cb08a5
--! Hash: sha1:5285268bf0ceb68947dcc288fc98164fce30d1bb
--! Message: foreign-key-indexes

-- Indexes the cascading foreign keys can use. The unique indexes on search_items are partial on
-- kind = '…', which the cascade's "memory_key = $1" does not imply, so each deleted memory row
-- scanned all of its agent's search items: the full-size sweep bench (100k expired rows, 20k
-- items per agent) took 13 minutes in its first step. A predicate of "column IS NOT NULL" is
-- implied by the cascade's equality, so these are used. The unique indexes stay: ON CONFLICT
-- infers them by their kind predicate.
create index search_items_memory_fk_idx on api.search_items (agent_id, memory_key) where memory_key is not null;
comment on index api.search_items_memory_fk_idx is 'For the cascade from memory_kv (deleting or renaming a memory row).';
create index search_items_summary_fk_idx on api.search_items (summary_id) where summary_id is not null;
comment on index api.search_items_summary_fk_idx is 'For the cascade from conversation_summaries (expired summaries).';
create index search_items_chunk_fk_idx on api.search_items (chunk_id) where chunk_id is not null;
comment on index api.search_items_chunk_fk_idx is 'For the cascade from knowledge_chunks.';
create index knowledge_chunks_doc_agent_idx on api.knowledge_chunks (doc_id, agent_id);
comment on index api.knowledge_chunks_doc_agent_idx is 'For the cascade from knowledge_docs on (doc_id, agent_id).';
