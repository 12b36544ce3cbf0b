-- Top talkers in VPC flow logs: the source/destination pairs that moved the most bytes in accepted
-- flows during one day. NODATA/SKIPDATA records have no byte count and drop out of the sum.
SELECT json_extract_scalar(fields, '$.srcaddr') AS srcaddr,
       json_extract_scalar(fields, '$.dstaddr') AS dstaddr,
       sum(TRY_CAST(json_extract_scalar(fields, '$.bytes') AS bigint)) AS bytes,
       sum(TRY_CAST(json_extract_scalar(fields, '$.packets') AS bigint)) AS packets,
       count(*) AS flows
FROM tributary.logs
WHERE dt = '2025-11-20'
  AND source_type = 'vpc_flow'
  AND json_extract_scalar(fields, '$.action') = 'ACCEPT'
GROUP BY 1, 2
ORDER BY bytes DESC, srcaddr, dstaddr
LIMIT 20;
