-- Optional retained capture per template (image retention is off unless the operator turns it on).
-- NULL = no image kept. Sealed like the template; deleted with it.
ALTER TABLE templates ADD COLUMN sealed_image bytea;
ALTER TABLE templates ALTER COLUMN sealed_image SET STORAGE EXTERNAL;
