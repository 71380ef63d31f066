PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_task_results` (
	`id` text PRIMARY KEY NOT NULL,
	`task` text NOT NULL,
	`kind` text NOT NULL,
	`source` text NOT NULL,
	`owner` text,
	`conversation_id` text,
	`message_id` text,
	`job_id` text,
	`item_id` text,
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
	FOREIGN KEY (`job_id`) REFERENCES `analysis_jobs`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`item_id`) REFERENCES `analysis_items`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "task_results_owner_check" CHECK("__new_task_results"."owner" is null or "__new_task_results"."owner" <> ''),
	CONSTRAINT "task_results_kind_check" CHECK("__new_task_results"."kind" in ('classify', 'extract')),
	CONSTRAINT "task_results_source_check" CHECK("__new_task_results"."source" in ('chat', 'query', 'job')),
	CONSTRAINT "task_results_locale_check" CHECK("__new_task_results"."locale" in ('zh', 'en')),
	CONSTRAINT "task_results_shape_check" CHECK(("__new_task_results"."kind" = 'classify') = ("__new_task_results"."label" is not null and "__new_task_results"."confidence" is not null))
);
--> statement-breakpoint
INSERT INTO `__new_task_results`("id", "task", "kind", "source", "owner", "conversation_id", "message_id", "job_id", "item_id", "text", "locale", "label", "confidence", "scores", "value", "latency_ms", "created_at") SELECT "id", "task", "kind", "source", "owner", "conversation_id", "message_id", "job_id", "item_id", "text", "locale", "label", "confidence", "scores", "value", "latency_ms", "created_at" FROM `task_results`;--> statement-breakpoint
DROP TABLE `task_results`;--> statement-breakpoint
ALTER TABLE `__new_task_results` RENAME TO `task_results`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `task_results_message_idx` ON `task_results` (`message_id`);--> statement-breakpoint
CREATE INDEX `task_results_conversation_created_idx` ON `task_results` (`conversation_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `task_results_owner_task_source_created_idx` ON `task_results` (`owner`,`task`,`source`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `task_results_item_task_idx` ON `task_results` (`item_id`,`task`);--> statement-breakpoint
CREATE INDEX `task_results_job_task_created_idx` ON `task_results` (`job_id`,`task`,`created_at`);