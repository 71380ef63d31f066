CREATE TABLE `task_daily_counts` (
	`owner_key` text NOT NULL,
	`task` text NOT NULL,
	`source` text NOT NULL,
	`label` text NOT NULL,
	`day_start` integer NOT NULL,
	`count` integer NOT NULL,
	`confidence_sum` real NOT NULL,
	PRIMARY KEY(`owner_key`, `task`, `source`, `day_start`, `label`)
);
