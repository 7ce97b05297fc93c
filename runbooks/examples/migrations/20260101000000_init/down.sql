-- The way back: undoes migration.sql (run by the migrate step's undo, newest first).
DROP TABLE example_items;
