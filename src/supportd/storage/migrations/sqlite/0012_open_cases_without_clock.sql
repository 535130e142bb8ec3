-- open_cases_without_clock kept up to date: a case is in it while it is open and its
-- clock neither runs nor is paused (the case's is_open and its clock live in two
-- tables; a change to either decides anew). A new case's case_work row follows its
-- cases row, so its insert decides.
CREATE TRIGGER case_work_inserted_without_clock
    AFTER INSERT ON case_work
    WHEN NEW.sla_due_ms IS NULL AND NEW.sla_remaining_ms IS NULL
BEGIN
    INSERT OR IGNORE INTO open_cases_without_clock (seq)
    SELECT seq FROM cases WHERE seq = NEW.seq AND is_open;
END;
CREATE TRIGGER case_work_clock_changed
    AFTER UPDATE OF sla_due_ms, sla_remaining_ms ON case_work
    WHEN (OLD.sla_due_ms IS NULL AND OLD.sla_remaining_ms IS NULL)
         IS NOT (NEW.sla_due_ms IS NULL AND NEW.sla_remaining_ms IS NULL)
BEGIN
    DELETE FROM open_cases_without_clock WHERE seq = NEW.seq;
    INSERT INTO open_cases_without_clock (seq)
    SELECT seq FROM cases
    WHERE seq = NEW.seq AND is_open AND NEW.sla_due_ms IS NULL AND NEW.sla_remaining_ms IS NULL;
END;
CREATE TRIGGER cases_opened_or_resolved
    AFTER UPDATE OF is_open ON cases
    WHEN OLD.is_open IS NOT NEW.is_open
BEGIN
    DELETE FROM open_cases_without_clock WHERE seq = NEW.seq;
    INSERT INTO open_cases_without_clock (seq)
    SELECT seq FROM case_work
    WHERE seq = NEW.seq AND NEW.is_open AND sla_due_ms IS NULL AND sla_remaining_ms IS NULL;
END;
