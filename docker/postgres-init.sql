-- Run once by the postgres image when its data volume is first initialised
-- (/docker-entrypoint-initdb.d, see docker-compose.queue.yml), as POSTGRES_USER, who owns it.
-- n8n itself uses the `n8n` database (POSTGRES_DB); the Convergent store gets its own database,
-- shared by every n8n worker: point the "Convergent Store API" credential at host `postgres`,
-- database `convergent`. The nodes create their tables on first use.
CREATE DATABASE convergent;
