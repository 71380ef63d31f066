-- Sentiment becomes one classify task among the others: every stored sentiment moves into task_results with its id
-- (clients hold it), time, owner, source, conversation and message links, text, locale, label, confidence and latency;
-- its three probabilities become task_results.scores, a JSON object keyed positive/negative/neutral (the order the API
-- has always listed them in; json, not jsonb, keeps that order). The `method` column is not carried: the API never
-- showed it and stores only `logprob` results (the generate-and-parse baseline is evaluated, never stored). The next
-- migration drops the old tables.
INSERT INTO "task_results" ("id", "task", "kind", "source", "owner", "conversation_id", "message_id", "text", "locale",
  "label", "confidence", "scores", "value", "latency_ms", "created_at")
SELECT "id", 'sentiment', 'classify', "source", "owner", "conversation_id", "message_id", "text", "locale",
  "label", "confidence",
  json_build_object('positive', "score_positive", 'negative', "score_negative", 'neutral', "score_neutral")::text,
  NULL, "latency_ms", "created_at"
FROM "sentiments";
--> statement-breakpoint
-- The old roll-up kept one confidence sum per hour, not per label, so the new one is counted again from the rows.
INSERT INTO "task_hourly_counts" ("owner_key", "task", "source", "label", "hour_start", "count", "confidence_sum")
SELECT coalesce("owner", ''), 'sentiment', "source", "label", date_trunc('hour', "created_at", 'UTC'), count(*),
  sum("confidence")
FROM "sentiments"
GROUP BY 1, 3, 4, 5;
