-- The schema that init-db made at commit 94ddaad (sqlite), statement by statement as Peewee sent it.
CREATE TABLE IF NOT EXISTS "users" ("id" INTEGER NOT NULL PRIMARY KEY, "username" VARCHAR(64) NOT NULL, "password_hash" VARCHAR(255) NOT NULL, "is_admin" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "lock_reason" VARCHAR(500), "locked_at" DATETIME, "locked_until" DATETIME, "locked_by" VARCHAR(64), "last_success_at" DATETIME, "last_failure_at" DATETIME);
CREATE UNIQUE INDEX IF NOT EXISTS "user_username" ON "users" ("username");
CREATE TABLE IF NOT EXISTS "audit_events" ("id" INTEGER NOT NULL PRIMARY KEY, "at" DATETIME NOT NULL, "actor" VARCHAR(64) NOT NULL, "actor_ip" VARCHAR(64), "action" VARCHAR(16) NOT NULL, "target_id" INTEGER NOT NULL, "reason" VARCHAR(500) NOT NULL, "until" DATETIME, "failures" INTEGER, FOREIGN KEY ("target_id") REFERENCES "users" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "auditevent_target_id_at" ON "audit_events" ("target_id", "at");
CREATE TABLE IF NOT EXISTS "daily_summaries" ("day" DATE NOT NULL, "kind" VARCHAR(8) NOT NULL, "key" VARCHAR(150) NOT NULL, "reason" VARCHAR(16) NOT NULL, "count" INTEGER NOT NULL, PRIMARY KEY ("day", "kind", "key", "reason"));
CREATE TABLE IF NOT EXISTS "failure_budgets" ("account" VARCHAR(150) NOT NULL, "device" VARCHAR(32) NOT NULL, "failures" INTEGER NOT NULL, "last_failure_at" DATETIME, "lockouts" INTEGER NOT NULL, "locked_at" DATETIME, "locked_until" DATETIME, "permanent" INTEGER NOT NULL, PRIMARY KEY ("account", "device"));
CREATE TABLE IF NOT EXISTS "ip_throttles" ("ip" VARCHAR(64) NOT NULL PRIMARY KEY, "started_at" DATETIME, "failures" INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS "login_attempts" ("id" INTEGER NOT NULL PRIMARY KEY, "at" DATETIME NOT NULL, "username" VARCHAR(150) NOT NULL, "username_key" VARCHAR(150) NOT NULL, "user_id" INTEGER, "outcome" VARCHAR(8) NOT NULL, "reason" VARCHAR(16) NOT NULL, "ip" VARCHAR(64) NOT NULL, "ip_key" VARCHAR(32) NOT NULL, "user_agent" VARCHAR(512) NOT NULL, "request_id" VARCHAR(32) NOT NULL, "session" VARCHAR(32), FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "loginattempt_at_id" ON "login_attempts" ("at", "id");
CREATE INDEX IF NOT EXISTS "loginattempt_username_key_at_id" ON "login_attempts" ("username_key", "at", "id");
CREATE INDEX IF NOT EXISTS "loginattempt_user_id_at_id" ON "login_attempts" ("user_id", "at", "id");
CREATE INDEX IF NOT EXISTS "loginattempt_outcome_at_id" ON "login_attempts" ("outcome", "at", "id");
CREATE INDEX IF NOT EXISTS "loginattempt_reason_at_id" ON "login_attempts" ("reason", "at", "id");
CREATE INDEX IF NOT EXISTS "loginattempt_ip_key_at_id" ON "login_attempts" ("ip_key", "at", "id");
CREATE TABLE IF NOT EXISTS "sessions" ("id" VARCHAR(32) NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "last_seen_at" DATETIME NOT NULL, "expires_at" DATETIME NOT NULL, "ended_at" DATETIME, "end_reason" VARCHAR(32), "reported_at" DATETIME, "ip" VARCHAR(64) NOT NULL, "user_agent" VARCHAR(512) NOT NULL, FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "session_user_id_ended_at" ON "sessions" ("user_id", "ended_at");
