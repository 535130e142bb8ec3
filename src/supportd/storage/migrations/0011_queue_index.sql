-- The console queue's filters that the due-time index alone serves badly, each walked in
-- the queue's order (due time, then seq) and stopped at the page's end:
-- - one assignee's cases: case_work_by_assignee finds them but in seq order, so a page
--   sorted every one of them (10,000 at 1,000,000 cases for 100 agents);
-- - paused clocks (cases waiting on the customer): the due-time index walked every case
--   with a running clock before reaching them.
CREATE INDEX case_work_by_assignee_due
    ON case_work (assignee, COALESCE(sla_due_ms, 9223372036854775807), seq)
    WHERE assignee IS NOT NULL;
CREATE INDEX case_work_paused
    ON case_work (COALESCE(sla_due_ms, 9223372036854775807), seq)
    WHERE sla_remaining_ms IS NOT NULL;
