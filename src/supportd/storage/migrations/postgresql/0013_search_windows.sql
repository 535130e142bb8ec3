-- Search reads the newest matches window by window (postgres_search): `seq` within a
-- range, ANDed in a bitmap with the GIN index's matches, so that only the window's
-- matches are fetched. A BRIN index on seq gives that range for almost nothing (the
-- rows are appended in seq order; a B-tree range over 200,000 rows cost 9 ms at
-- 1,000,000 cases). Four pages a range on cases: with more, the planner ranked the BRIN
-- scan before the GIN one, the AND came out lossy, and every row of the pages with a
-- match was checked again (34,736 rows for 1,652 matches). autosummarize: the newest
-- pages, which every search reads, are summarized soon after they fill.
CREATE INDEX communications_seq_range ON communications USING brin (seq)
    WITH (pages_per_range = 16, autosummarize = on);
CREATE INDEX cases_seq_range ON cases USING brin (seq)
    WITH (pages_per_range = 4, autosummarize = on);
