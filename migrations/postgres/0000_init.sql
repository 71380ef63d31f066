CREATE TABLE "conversations" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"owner" text,
	"title" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "conversations_owner_check" CHECK ("conversations"."owner" is null or "conversations"."owner" <> '')
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"conversation_id" text COLLATE "C" NOT NULL,
	"role" text NOT NULL,
	"content" text NOT NULL,
	"status" text NOT NULL,
	"finish_reason" text,
	"token_count" integer,
	"latency_ms" double precision,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "messages_role_check" CHECK ("messages"."role" in ('user', 'assistant')),
	CONSTRAINT "messages_status_check" CHECK ("messages"."status" in ('complete', 'aborted', 'failed')),
	CONSTRAINT "messages_finish_reason_check" CHECK ("messages"."finish_reason" in ('stop', 'length', 'aborted'))
);
--> statement-breakpoint
CREATE TABLE "sentiment_hourly_counts" (
	"owner_key" text NOT NULL,
	"source" text NOT NULL,
	"hour_start" timestamp (3) with time zone NOT NULL,
	"positive" integer NOT NULL,
	"negative" integer NOT NULL,
	"neutral" integer NOT NULL,
	"confidence_sum" double precision NOT NULL,
	CONSTRAINT "sentiment_hourly_counts_owner_key_source_hour_start_pk" PRIMARY KEY("owner_key","source","hour_start")
);
--> statement-breakpoint
CREATE TABLE "sentiments" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"owner" text,
	"conversation_id" text COLLATE "C",
	"message_id" text COLLATE "C",
	"text" text,
	"locale" text NOT NULL,
	"method" text NOT NULL,
	"label" text NOT NULL,
	"confidence" double precision NOT NULL,
	"score_positive" double precision NOT NULL,
	"score_negative" double precision NOT NULL,
	"score_neutral" double precision NOT NULL,
	"latency_ms" double precision NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "sentiments_owner_check" CHECK ("sentiments"."owner" is null or "sentiments"."owner" <> ''),
	CONSTRAINT "sentiments_source_check" CHECK ("sentiments"."source" in ('chat', 'query')),
	CONSTRAINT "sentiments_locale_check" CHECK ("sentiments"."locale" in ('zh', 'en')),
	CONSTRAINT "sentiments_method_check" CHECK ("sentiments"."method" in ('logprob', 'generate')),
	CONSTRAINT "sentiments_label_check" CHECK ("sentiments"."label" in ('positive', 'negative', 'neutral'))
);
--> statement-breakpoint
CREATE TABLE "task_hourly_counts" (
	"owner_key" text NOT NULL,
	"task" text NOT NULL,
	"source" text NOT NULL,
	"label" text NOT NULL,
	"hour_start" timestamp (3) with time zone NOT NULL,
	"count" integer NOT NULL,
	"confidence_sum" double precision NOT NULL,
	CONSTRAINT "task_hourly_counts_owner_key_task_source_hour_start_label_pk" PRIMARY KEY("owner_key","task","source","hour_start","label")
);
--> statement-breakpoint
CREATE TABLE "task_results" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"task" text NOT NULL,
	"kind" text NOT NULL,
	"source" text NOT NULL,
	"owner" text,
	"conversation_id" text COLLATE "C",
	"message_id" text COLLATE "C",
	"text" text,
	"locale" text NOT NULL,
	"label" text,
	"confidence" double precision,
	"scores" text,
	"value" text,
	"latency_ms" double precision NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "task_results_owner_check" CHECK ("task_results"."owner" is null or "task_results"."owner" <> ''),
	CONSTRAINT "task_results_kind_check" CHECK ("task_results"."kind" in ('classify', 'extract')),
	CONSTRAINT "task_results_source_check" CHECK ("task_results"."source" in ('chat', 'query')),
	CONSTRAINT "task_results_locale_check" CHECK ("task_results"."locale" in ('zh', 'en')),
	CONSTRAINT "task_results_shape_check" CHECK (("task_results"."kind" = 'classify') = ("task_results"."label" is not null and "task_results"."confidence" is not null))
);
--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sentiments" ADD CONSTRAINT "sentiments_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sentiments" ADD CONSTRAINT "sentiments_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_results" ADD CONSTRAINT "task_results_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_results" ADD CONSTRAINT "task_results_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversations_owner_id_idx" ON "conversations" USING btree ("owner","id");--> statement-breakpoint
CREATE INDEX "messages_conversation_created_idx" ON "messages" USING btree ("conversation_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sentiments_message_id_idx" ON "sentiments" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "sentiments_conversation_created_idx" ON "sentiments" USING btree ("conversation_id","created_at");--> statement-breakpoint
CREATE INDEX "sentiments_owner_source_created_idx" ON "sentiments" USING btree ("owner","source","created_at");--> statement-breakpoint
CREATE INDEX "task_results_message_idx" ON "task_results" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "task_results_conversation_created_idx" ON "task_results" USING btree ("conversation_id","created_at");--> statement-breakpoint
CREATE INDEX "task_results_owner_task_source_created_idx" ON "task_results" USING btree ("owner","task","source","created_at");