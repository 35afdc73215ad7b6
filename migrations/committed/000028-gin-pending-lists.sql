--! Previous: sha1:381708ae614cd247184994b2486a12779f72479b
--! Hash: sha1:bd304e9e1577009ad5091c854f3000a0d11e0c7a
--! Message: gin-pending-lists

-- A GIN index keeps new entries in a pending list and merges them into the tree once the list
-- passes gin_pending_list_limit (4 MB by default), inside whichever insert crosses it. In the
-- soak, that insert was the collectors' COPY of a 20-entry batch into messages: 2.6 s on the CPU,
-- the live feed late by as much, and an autovacuum of search_items beside it left PostgREST's
-- requests queueing for the two cores (p99 0.3-0.5 s for those 10 s). A smaller list costs the
-- same merging in smaller pieces, as the PostgreSQL manual suggests for heavily updated indexes.
alter index api.messages_fts_idx set (gin_pending_list_limit = 256);
alter index api.search_items_tsv_idx set (gin_pending_list_limit = 256);
alter index api.search_items_title_trgm_idx set (gin_pending_list_limit = 256);
