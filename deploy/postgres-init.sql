-- First start of the postgres container (docker-compose.yml): one database per Hudoor service.
-- The image has already created `registration` (POSTGRES_DB) for POSTGRES_USER `hudoor`, who runs
-- this script and so owns these too. Runs only while the data volume is empty.
CREATE DATABASE checkin;
CREATE DATABASE notifications;
