-- The daily roll-up starts with every classification already stored, counted from the rows like the hourly one.
INSERT INTO "task_daily_counts" ("owner_key", "task", "source", "label", "day_start", "count", "confidence_sum")
SELECT coalesce("owner", ''), "task", "source", "label", date_trunc('day', "created_at", 'UTC'), count(*),
  sum("confidence")
FROM "task_results"
WHERE "kind" = 'classify'
GROUP BY 1, 2, 3, 4, 5;
