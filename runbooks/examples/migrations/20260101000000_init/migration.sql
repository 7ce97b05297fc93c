-- An example migration (Prisma layout: one folder per migration).
CREATE TABLE example_items (id bigint PRIMARY KEY, name text NOT NULL);
