-- The way back: undoes 0001_reports.sql.
DROP TABLE example_reports;
