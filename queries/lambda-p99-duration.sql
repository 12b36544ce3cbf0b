-- Duration percentiles of each Lambda function, from the REPORT lines Lambda writes after every
-- invocation (source_type lambda_platform, fields.type "report", fields.duration_ms in ms).
SELECT log_group,
       count(*) AS invocations,
       approx_percentile(CAST(json_extract_scalar(fields, '$.duration_ms') AS double), 0.5) AS p50_ms,
       approx_percentile(CAST(json_extract_scalar(fields, '$.duration_ms') AS double), 0.99) AS p99_ms,
       max(CAST(json_extract_scalar(fields, '$.duration_ms') AS double)) AS max_ms,
       max(CAST(json_extract_scalar(fields, '$.max_memory_used_mb') AS double)) AS max_memory_mb
FROM tributary.logs
WHERE dt = '2025-11-20'
  AND source_type = 'lambda_platform'
  AND json_extract_scalar(fields, '$.type') = 'report'
GROUP BY log_group
ORDER BY p99_ms DESC;
