-- CreateTable
CREATE TABLE "sms_requests" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "phone" TEXT NOT NULL,
    "phone_normalized" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "encoding" TEXT NOT NULL,
    "segments" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "provider" TEXT,
    "last_error" TEXT,
    "idempotency_key" TEXT,
    "request_hash" TEXT,
    "request_id" TEXT,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "sms_responses" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "request_id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "status_code" INTEGER,
    "body" TEXT,
    "latency_ms" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "error" TEXT,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "sms_responses_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "sms_requests" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "sms_requests_idempotency_key_key" ON "sms_requests"("idempotency_key");

-- CreateIndex
CREATE INDEX "sms_requests_created_at_id_idx" ON "sms_requests"("created_at", "id");

-- CreateIndex
CREATE INDEX "sms_requests_status_created_at_id_idx" ON "sms_requests"("status", "created_at", "id");

-- CreateIndex
CREATE INDEX "sms_requests_status_updated_at_idx" ON "sms_requests"("status", "updated_at");

-- CreateIndex
CREATE INDEX "sms_responses_request_id_id_idx" ON "sms_responses"("request_id", "id");

