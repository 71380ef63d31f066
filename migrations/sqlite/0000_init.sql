CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text,
	`title` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "conversations_owner_check" CHECK("conversations"."owner" is null or "conversations"."owner" <> '')
);
--> statement-breakpoint
CREATE INDEX `conversations_owner_id_idx` ON `conversations` (`owner`,`id`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`conversation_id` text NOT NULL,
	`role` text NOT NULL,
	`content` text NOT NULL,
	`status` text NOT NULL,
	`finish_reason` text,
	`token_count` integer,
	`latency_ms` real,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "messages_role_check" CHECK("messages"."role" in ('user', 'assistant')),
	CONSTRAINT "messages_status_check" CHECK("messages"."status" in ('complete', 'aborted', 'failed')),
	CONSTRAINT "messages_finish_reason_check" CHECK("messages"."finish_reason" in ('stop', 'length', 'aborted'))
);
--> statement-breakpoint
CREATE INDEX `messages_conversation_created_idx` ON `messages` (`conversation_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `sentiment_hourly_counts` (
	`owner_key` text NOT NULL,
	`source` text NOT NULL,
	`hour_start` integer NOT NULL,
	`positive` integer NOT NULL,
	`negative` integer NOT NULL,
	`neutral` integer NOT NULL,
	`confidence_sum` real NOT NULL,
	PRIMARY KEY(`owner_key`, `source`, `hour_start`)
);
--> statement-breakpoint
CREATE TABLE `sentiments` (
	`id` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`owner` text,
	`conversation_id` text,
	`message_id` text,
	`text` text,
	`locale` text NOT NULL,
	`method` text NOT NULL,
	`label` text NOT NULL,
	`confidence` real NOT NULL,
	`score_positive` real NOT NULL,
	`score_negative` real NOT NULL,
	`score_neutral` real NOT NULL,
	`latency_ms` real NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "sentiments_owner_check" CHECK("sentiments"."owner" is null or "sentiments"."owner" <> ''),
	CONSTRAINT "sentiments_source_check" CHECK("sentiments"."source" in ('chat', 'query')),
	CONSTRAINT "sentiments_locale_check" CHECK("sentiments"."locale" in ('zh', 'en')),
	CONSTRAINT "sentiments_method_check" CHECK("sentiments"."method" in ('logprob', 'generate')),
	CONSTRAINT "sentiments_label_check" CHECK("sentiments"."label" in ('positive', 'negative', 'neutral'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sentiments_message_id_idx` ON `sentiments` (`message_id`);--> statement-breakpoint
CREATE INDEX `sentiments_conversation_created_idx` ON `sentiments` (`conversation_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `sentiments_owner_source_created_idx` ON `sentiments` (`owner`,`source`,`created_at`);