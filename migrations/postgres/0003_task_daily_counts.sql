CREATE TABLE "task_daily_counts" (
	"owner_key" text NOT NULL,
	"task" text NOT NULL,
	"source" text NOT NULL,
	"label" text NOT NULL,
	"day_start" timestamp (3) with time zone NOT NULL,
	"count" integer NOT NULL,
	"confidence_sum" double precision NOT NULL,
	CONSTRAINT "task_daily_counts_owner_key_task_source_day_start_label_pk" PRIMARY KEY("owner_key","task","source","day_start","label")
);
