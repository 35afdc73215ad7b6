--! Previous: sha1:f23e7c92fd36069669c5cd0b56a764f344464d92
--! Hash: sha1:e304952c8dd25699c67bec9bcec43a005d287068
--! Message: fts-statistics

-- The activity feed's full-text filter with "order by seq desc limit 50": for a word outside the
-- default statistics (100 targets → 1,000 most common lexemes) the planner guessed 0.5% of rows
-- matched and walked the seq index backwards, computing to_tsvector on every row it passed until
-- 50 matched. For a rarer word over 1M messages that took 2-4 s (bench/dashboard.ts). With 5,000
-- lexemes in the statistics the guess for the others falls to a handful of rows, the GIN bitmap
-- is chosen, and the same search takes ~20 ms. The price is a larger ANALYZE sample
-- (150k rows) on this one index.
alter index api.messages_fts_idx alter column 1 set statistics 500;
