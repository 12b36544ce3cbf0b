-- ERROR and FATAL events per log group, hour by hour (UTC), on one day.
SELECT dt,
       hour,
       log_group,
       count(*) AS errors
FROM tributary.logs
WHERE dt = '2025-11-20'
  AND level IN ('ERROR', 'FATAL')
GROUP BY dt, hour, log_group
ORDER BY dt, hour, errors DESC, log_group;
