-- The open cases whose SLA clock neither runs nor is paused: the console queue's "None
-- due" filter. In the due-time order every case without a clock sorts last, resolved
-- ones included, so the due-time index walked every running clock and then every
-- resolved case to find these few (280 ms on SQLite, 530 ms on PostgreSQL at
-- 1,000,000 cases); this table hands them over in seq order, which is their due-time
-- order. Kept by triggers on cases.is_open and case_work's clock columns (each
-- dialect's own, in its folder), so no write path can forget it.
CREATE TABLE open_cases_without_clock (
    seq BIGINT  PRIMARY KEY REFERENCES cases (seq)
);
INSERT INTO open_cases_without_clock (seq)
SELECT c.seq FROM cases c JOIN case_work w ON w.seq = c.seq
WHERE c.is_open AND w.sla_due_ms IS NULL AND w.sla_remaining_ms IS NULL;
