DROP TABLE `sentiment_hourly_counts`;--> statement-breakpoint
DROP TABLE `sentiments`;