-- An example plain-style migration: files applied in name order.
CREATE TABLE example_reports (id bigint PRIMARY KEY, title text NOT NULL);
