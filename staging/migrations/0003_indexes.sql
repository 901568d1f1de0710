-- Indexes the API's queries need beyond the loader's keys.
CREATE INDEX accounts_person_idx ON sis.accounts (person_type, person_id);
CREATE INDEX students_last_name_idx ON sis.students (lower(last_name) text_pattern_ops, school_id);
CREATE INDEX staff_email_idx ON sis.staff (email);
CREATE UNIQUE INDEX students_number_idx ON sis.students (student_number);
