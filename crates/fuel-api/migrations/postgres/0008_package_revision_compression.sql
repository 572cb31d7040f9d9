-- One schema, two dialects: keep migrations/sqlite/0008_package_revision_compression.sql in step.

-- Package documents (tens of KB each) are compressed with lz4 instead of
-- the default pglz: pglz took a third of the server's time per upload
-- (`cargo xtask bench api`), lz4 a tenth of that for nearly the same WAL.
-- Only new revisions are affected; older ones are read as they were stored.
-- A server built without lz4 stores them uncompressed instead (still out of
-- line, no pglz on the upload's path).
DO $$
BEGIN
    ALTER TABLE package_revisions ALTER COLUMN content SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    ALTER TABLE package_revisions ALTER COLUMN content SET STORAGE EXTERNAL;
END
$$;
