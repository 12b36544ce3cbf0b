-- Follow one request across services: every event that carries its trace id (an X-Ray or W3C trace
-- id, a Lambda request id, ...), in time order. The bloom filter on trace_id lets Athena skip every
-- row group that does not hold it; widen the dt range when the request may span midnight.
SELECT "timestamp",
       log_group,
       log_stream,
       level,
       source_type,
       message
FROM tributary.logs
WHERE dt BETWEEN '2025-11-19' AND '2025-11-20'
  AND trace_id = '4bf92f3577b34da6a3ce929d0e0e4736'
ORDER BY "timestamp", log_group;
