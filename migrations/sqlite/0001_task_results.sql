CREATE TABLE `task_hourly_counts` (
	`owner_key` text NOT NULL,
	`task` text NOT NULL,
	`source` text NOT NULL,
	`label` text NOT NULL,
	`hour_start` integer NOT NULL,
	`count` integer NOT NULL,
	`confidence_sum` real NOT NULL,
	PRIMARY KEY(`owner_key`, `task`, `source`, `hour_start`, `label`)
);
--> statement-breakpoint
CREATE TABLE `task_results` (
	`id` text PRIMARY KEY NOT NULL,
	`task` text NOT NULL,
	`kind` text NOT NULL,
	`source` text NOT NULL,
	`owner` text,
	`conversation_id` text,
	`message_id` text,
	`text` text,
	`locale` text NOT NULL,
	`label` text,
	`confidence` real,
	`scores` text,
	`value` text,
	`latency_ms` real NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "task_results_owner_check" CHECK("task_results"."owner" is null or "task_results"."owner" <> ''),
	CONSTRAINT "task_results_kind_check" CHECK("task_results"."kind" in ('classify', 'extract')),
	CONSTRAINT "task_results_source_check" CHECK("task_results"."source" in ('chat', 'query')),
	CONSTRAINT "task_results_locale_check" CHECK("task_results"."locale" in ('zh', 'en')),
	CONSTRAINT "task_results_shape_check" CHECK(("task_results"."kind" = 'classify') = ("task_results"."label" is not null and "task_results"."confidence" is not null))
);
--> statement-breakpoint
CREATE INDEX `task_results_message_idx` ON `task_results` (`message_id`);--> statement-breakpoint
CREATE INDEX `task_results_conversation_created_idx` ON `task_results` (`conversation_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `task_results_owner_task_source_created_idx` ON `task_results` (`owner`,`task`,`source`,`created_at`);