-- The schema that init-db made at commit 87302ba (postgresql), statement by statement as Peewee sent it.
CREATE TABLE IF NOT EXISTS "users" ("id" SERIAL NOT NULL PRIMARY KEY, "username" VARCHAR(64) NOT NULL, "password_hash" VARCHAR(255) NOT NULL, "is_admin" BOOLEAN NOT NULL, "created_at" TIMESTAMP NOT NULL, "lock_reason" VARCHAR(500), "locked_at" TIMESTAMP, "locked_until" TIMESTAMP, "locked_by" VARCHAR(64), "last_success_at" TIMESTAMP, "last_failure_at" TIMESTAMP);
CREATE UNIQUE INDEX IF NOT EXISTS "user_username" ON "users" ("username");
CREATE TABLE IF NOT EXISTS "audit_events" ("id" SERIAL NOT NULL PRIMARY KEY, "at" TIMESTAMP NOT NULL, "actor" VARCHAR(64) NOT NULL, "actor_ip" VARCHAR(64), "action" VARCHAR(16) NOT NULL, "target_id" INTEGER NOT NULL, "reason" VARCHAR(500) NOT NULL, "until" TIMESTAMP, "failures" INTEGER, FOREIGN KEY ("target_id") REFERENCES "users" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "auditevent_target_id" ON "audit_events" ("target_id");
CREATE INDEX IF NOT EXISTS "auditevent_target_id_at" ON "audit_events" ("target_id", "at");
CREATE TABLE IF NOT EXISTS "failure_budgets" ("user_id" INTEGER NOT NULL, "device" VARCHAR(32) NOT NULL, "failures" INTEGER NOT NULL, "last_failure_at" TIMESTAMP, "lockouts" INTEGER NOT NULL, "locked_at" TIMESTAMP, "locked_until" TIMESTAMP, "permanent" BOOLEAN NOT NULL, PRIMARY KEY ("user_id", "device"), FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "failurebudget_user_id" ON "failure_budgets" ("user_id");
CREATE TABLE IF NOT EXISTS "ip_throttles" ("ip" VARCHAR(64) NOT NULL PRIMARY KEY, "started_at" TIMESTAMP, "failures" INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS "login_attempts" ("id" BIGSERIAL NOT NULL PRIMARY KEY, "at" TIMESTAMP NOT NULL, "username" VARCHAR(150) NOT NULL, "user_id" INTEGER, "outcome" VARCHAR(8) NOT NULL, "reason" VARCHAR(16) NOT NULL, "ip" VARCHAR(64) NOT NULL, "user_agent" VARCHAR(512) NOT NULL, "request_id" VARCHAR(32) NOT NULL, FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "loginattempt_user_id" ON "login_attempts" ("user_id");
CREATE INDEX IF NOT EXISTS "loginattempt_at_id" ON "login_attempts" ("at", "id");
CREATE INDEX IF NOT EXISTS "loginattempt_username_at_id" ON "login_attempts" ("username", "at", "id");
CREATE INDEX IF NOT EXISTS "loginattempt_user_id_at_id" ON "login_attempts" ("user_id", "at", "id");
CREATE INDEX IF NOT EXISTS "loginattempt_outcome_at_id" ON "login_attempts" ("outcome", "at", "id");
CREATE INDEX IF NOT EXISTS "loginattempt_ip_at_id" ON "login_attempts" ("ip", "at", "id");
CREATE TABLE IF NOT EXISTS "sessions" ("id" VARCHAR(32) NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, "last_seen_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP NOT NULL, "ended_at" TIMESTAMP, "end_reason" VARCHAR(32), "ip" VARCHAR(64) NOT NULL, "user_agent" VARCHAR(512) NOT NULL, FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "session_user_id" ON "sessions" ("user_id");
CREATE INDEX IF NOT EXISTS "session_user_id_ended_at" ON "sessions" ("user_id", "ended_at");
