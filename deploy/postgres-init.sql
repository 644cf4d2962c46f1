-- Run once by the postgres image on an empty data volume: the landing zone's database
-- (LOGINTEL_POSTGRES_URL) beside the Dagster instance's (POSTGRES_DB, LOGINTEL_DAGSTER_POSTGRES_URL).
CREATE DATABASE logintel;
