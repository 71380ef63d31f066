CREATE TABLE `analysis_item_tags` (
	`job_id` text NOT NULL,
	`item_id` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	PRIMARY KEY(`item_id`, `key`),
	FOREIGN KEY (`item_id`) REFERENCES `analysis_items`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `analysis_item_tags_job_key_value_idx` ON `analysis_item_tags` (`job_id`,`key`,`value`);--> statement-breakpoint
CREATE TABLE `analysis_items` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`seq` integer NOT NULL,
	`external_id` text,
	`text` text NOT NULL,
	`tags` text NOT NULL,
	`status` text NOT NULL,
	`error_code` text,
	`error_message` text,
	`lease_owner` text,
	`lease_until` integer,
	`attempts` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`job_id`) REFERENCES `analysis_jobs`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "analysis_items_status_check" CHECK("analysis_items"."status" in ('pending', 'done', 'failed'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `analysis_items_job_seq_idx` ON `analysis_items` (`job_id`,`seq`);--> statement-breakpoint
CREATE UNIQUE INDEX `analysis_items_job_external_id_idx` ON `analysis_items` (`job_id`,`external_id`);--> statement-breakpoint
CREATE INDEX `analysis_items_claim_idx` ON `analysis_items` (`job_id`,`status`,`seq`);--> statement-breakpoint
CREATE TABLE `analysis_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text,
	`name` text,
	`tasks` text NOT NULL,
	`status` text NOT NULL,
	`total` integer NOT NULL,
	`processed` integer NOT NULL,
	`failed` integer NOT NULL,
	`error_code` text,
	`error_message` text,
	`created_at` integer NOT NULL,
	`queued_at` integer,
	`started_at` integer,
	`finished_at` integer,
	`last_claimed_at` integer,
	CONSTRAINT "analysis_jobs_owner_check" CHECK("analysis_jobs"."owner" is null or "analysis_jobs"."owner" <> ''),
	CONSTRAINT "analysis_jobs_status_check" CHECK("analysis_jobs"."status" in ('open', 'queued', 'running', 'done', 'cancelled', 'failed'))
);
--> statement-breakpoint
CREATE INDEX `analysis_jobs_owner_id_idx` ON `analysis_jobs` (`owner`,`id`);--> statement-breakpoint
CREATE INDEX `analysis_jobs_owner_name_idx` ON `analysis_jobs` (`owner`,`name`);--> statement-breakpoint
CREATE INDEX `analysis_jobs_status_idx` ON `analysis_jobs` (`status`);--> statement-breakpoint
ALTER TABLE `task_results` ADD `job_id` text;--> statement-breakpoint
ALTER TABLE `task_results` ADD `item_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `task_results_item_task_idx` ON `task_results` (`item_id`,`task`);--> statement-breakpoint
CREATE INDEX `task_results_job_task_created_idx` ON `task_results` (`job_id`,`task`,`created_at`);