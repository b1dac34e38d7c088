-- The original MockPie backend's users table, as SPEC 5 of mockpie
-- describes it (what the original's Alembic migrations leave in
-- PostgreSQL), for the tests of users_table = original.  Written from
-- the column list, not taken from the original's code.
CREATE TYPE gender AS ENUM ('MALE', 'FEMALE', 'PREFER_NOT_TO_SAY');

CREATE TABLE users (
	id serial PRIMARY KEY,
	first_name varchar NULL,
	last_name varchar NULL,
	username varchar NOT NULL UNIQUE,
	email varchar NOT NULL UNIQUE,
	phone_number varchar NOT NULL UNIQUE,
	gender gender NOT NULL,
	password varchar NOT NULL,
	created_at timestamp without time zone NOT NULL DEFAULT now(),
	updated_at timestamp without time zone NOT NULL DEFAULT now(),
	remember_token varchar NULL,
	otp varchar NULL,
	otp_expired_at timestamp without time zone NULL,
	email_verified_at timestamp without time zone NULL,
	deleted_at timestamp without time zone NULL
);

CREATE INDEX ix_users_id ON users (id);
CREATE INDEX ix_users_remember_token ON users (remember_token);
