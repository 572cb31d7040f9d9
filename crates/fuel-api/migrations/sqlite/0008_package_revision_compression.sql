-- One schema, two dialects: keep migrations/postgres/0008_package_revision_compression.sql in step.

-- PostgreSQL compresses package documents with lz4 from here on; SQLite
-- stores them as they are, as before: nothing to change.
SELECT 1;
