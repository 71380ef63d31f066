CREATE TABLE "analysis_item_tags" (
	"job_id" text COLLATE "C" NOT NULL,
	"item_id" text COLLATE "C" NOT NULL,
	"key" text NOT NULL,
	"value" text NOT NULL,
	CONSTRAINT "analysis_item_tags_item_id_key_pk" PRIMARY KEY("item_id","key")
);
--> statement-breakpoint
CREATE TABLE "analysis_items" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"job_id" text COLLATE "C" NOT NULL,
	"seq" integer NOT NULL,
	"external_id" text,
	"text" text NOT NULL,
	"tags" text NOT NULL,
	"status" text NOT NULL,
	"error_code" text,
	"error_message" text,
	"lease_owner" text,
	"lease_until" timestamp (3) with time zone,
	"attempts" integer NOT NULL,
	"finished_at" timestamp (3) with time zone,
	CONSTRAINT "analysis_items_status_check" CHECK ("analysis_items"."status" in ('pending', 'done', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "analysis_jobs" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"owner" text,
	"name" text,
	"tasks" text NOT NULL,
	"status" text NOT NULL,
	"total" integer NOT NULL,
	"processed" integer NOT NULL,
	"failed" integer NOT NULL,
	"error_code" text,
	"error_message" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"queued_at" timestamp (3) with time zone,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	"last_claimed_at" timestamp (3) with time zone,
	CONSTRAINT "analysis_jobs_owner_check" CHECK ("analysis_jobs"."owner" is null or "analysis_jobs"."owner" <> ''),
	CONSTRAINT "analysis_jobs_status_check" CHECK ("analysis_jobs"."status" in ('open', 'queued', 'running', 'done', 'cancelled', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "task_results" DROP CONSTRAINT "task_results_source_check";--> statement-breakpoint
ALTER TABLE "task_results" ADD COLUMN "job_id" text COLLATE "C";--> statement-breakpoint
ALTER TABLE "task_results" ADD COLUMN "item_id" text COLLATE "C";--> statement-breakpoint
ALTER TABLE "analysis_item_tags" ADD CONSTRAINT "analysis_item_tags_item_id_analysis_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."analysis_items"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "analysis_items" ADD CONSTRAINT "analysis_items_job_id_analysis_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."analysis_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "analysis_item_tags_job_key_value_idx" ON "analysis_item_tags" USING btree ("job_id","key","value");--> statement-breakpoint
CREATE UNIQUE INDEX "analysis_items_job_seq_idx" ON "analysis_items" USING btree ("job_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "analysis_items_job_external_id_idx" ON "analysis_items" USING btree ("job_id","external_id");--> statement-breakpoint
CREATE INDEX "analysis_items_claim_idx" ON "analysis_items" USING btree ("job_id","status","seq");--> statement-breakpoint
CREATE INDEX "analysis_jobs_owner_id_idx" ON "analysis_jobs" USING btree ("owner","id");--> statement-breakpoint
CREATE INDEX "analysis_jobs_owner_name_idx" ON "analysis_jobs" USING btree ("owner","name");--> statement-breakpoint
CREATE INDEX "analysis_jobs_status_idx" ON "analysis_jobs" USING btree ("status");--> statement-breakpoint
ALTER TABLE "task_results" ADD CONSTRAINT "task_results_job_id_analysis_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."analysis_jobs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_results" ADD CONSTRAINT "task_results_item_id_analysis_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."analysis_items"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "task_results_item_task_idx" ON "task_results" USING btree ("item_id","task");--> statement-breakpoint
CREATE INDEX "task_results_job_task_created_idx" ON "task_results" USING btree ("job_id","task","created_at");--> statement-breakpoint
ALTER TABLE "task_results" ADD CONSTRAINT "task_results_source_check" CHECK ("task_results"."source" in ('chat', 'query', 'job'));