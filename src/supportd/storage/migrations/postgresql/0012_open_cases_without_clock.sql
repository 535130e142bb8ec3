-- Whether the case belongs in open_cases_without_clock, looked up afresh after any
-- change that may move it in or out (the case's is_open and its clock live in two
-- tables; a change to either fires this). A writer holds the case's row lock, so one
-- case's changes do not race; ON CONFLICT keeps a repeated insert harmless anyway.
CREATE FUNCTION keep_open_cases_without_clock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM cases c JOIN case_work w ON w.seq = c.seq
        WHERE c.seq = NEW.seq AND c.is_open
          AND w.sla_due_ms IS NULL AND w.sla_remaining_ms IS NULL
    ) THEN
        INSERT INTO open_cases_without_clock (seq) VALUES (NEW.seq) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM open_cases_without_clock WHERE seq = NEW.seq;
    END IF;
    RETURN NULL;
END
$$;
-- A new case's case_work row follows its cases row, so its insert decides.
CREATE TRIGGER case_work_inserted_without_clock
    AFTER INSERT ON case_work FOR EACH ROW
    WHEN (NEW.sla_due_ms IS NULL AND NEW.sla_remaining_ms IS NULL)
    EXECUTE FUNCTION keep_open_cases_without_clock();
CREATE TRIGGER case_work_clock_changed
    AFTER UPDATE OF sla_due_ms, sla_remaining_ms ON case_work FOR EACH ROW
    WHEN ((OLD.sla_due_ms IS NULL AND OLD.sla_remaining_ms IS NULL)
          IS DISTINCT FROM (NEW.sla_due_ms IS NULL AND NEW.sla_remaining_ms IS NULL))
    EXECUTE FUNCTION keep_open_cases_without_clock();
CREATE TRIGGER cases_opened_or_resolved
    AFTER UPDATE OF is_open ON cases FOR EACH ROW
    WHEN (OLD.is_open IS DISTINCT FROM NEW.is_open)
    EXECUTE FUNCTION keep_open_cases_without_clock();
