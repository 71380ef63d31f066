DROP TABLE "sentiment_hourly_counts" CASCADE;--> statement-breakpoint
DROP TABLE "sentiments" CASCADE;