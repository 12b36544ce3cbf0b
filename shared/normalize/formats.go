package normalize

import "github.com/tributary-logs/tributary/shared/record"

// A format is one kind of log message the normalizer recognizes.
type format struct {
	name   string // Stats.Parser
	source string // the Record.SourceType it yields
	// first lists the bytes a message of this format can start with; "" means
	// any. Normalize only tries a parser when the message's first byte is in
	// this set, which rejects most formats with one table lookup.
	first string
	// example is one real-shaped message; the tests check that this entry
	// recognizes it.
	example string
	// parse recognizes msg and fills rec.Level, rec.TraceID and n.w (the
	// fields), or reports false, leaving the next parser to try.
	parse func(n *Normalizer, rec *record.Record, msg string) bool
}

const (
	digits    = "0123456789"
	letters   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	jsonFirst = "{ \t\r\n"
)

// formats is the table of parsers, in the order they are tried. Specific,
// cheap-to-reject formats come first; the JSON parsers share one parse of
// the message; text accepts everything and comes last.
var formats = []format{
	{
		// AWS CloudTrail record, as CloudTrail delivers it to CloudWatch Logs
		// (one record per event), or inside an EventBridge "AWS API Call via
		// CloudTrail" event's detail.
		name: "cloudtrail", source: record.SourceCloudTrail, first: jsonFirst,
		example: `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2026-11-22T04:24:48Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","userAgent":"aws-cli/2.17.50","errorCode":"AccessDenied","errorMessage":"User is not authorized","requestParameters":{"userName":"bob"},"responseElements":null,"requestID":"3e7e2f5b-1c2d-4e5f-8a9b-0c1d2e3f4a5b","eventID":"6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"}`,
		parse:   parseCloudTrail,
	},
	{
		// Lambda platform event in Lambda's JSON log format (LoggingConfig
		// LogFormat=JSON), the same records as the Telemetry API's
		// platform.* events.
		name: "lambda_platform_json", source: record.SourceLambdaPlatform, first: jsonFirst,
		example: `{"time":"2026-11-22T04:24:48.123Z","type":"platform.report","record":{"requestId":"8f507cfc-7a1e-4697-b07a-ac58fc914c95","metrics":{"durationMs":102.25,"billedDurationMs":103,"memorySizeMB":128,"maxMemoryUsedMB":71,"initDurationMs":180.61},"tracing":{"spanId":"54565fb41ac79632","type":"X-Amzn-Trace-Id","value":"Root=1-62e900b2-710d76f009d6e7785905449a;Parent=0efbd19962d95b05;Sampled=1"},"status":"success"}}`,
		parse:   parseLambdaPlatformJSON,
	},
	{
		// Any JSON object: structured application logs (pino, bunyan,
		// zap, zerolog, slog, logrus, Serilog CLEF, Python json loggers,
		// Powertools, Lambda's JSON application logs, ...).
		name: "json", source: record.SourceJSON, first: jsonFirst,
		example: `{"level":"error","ts":"2026-11-22T04:24:48.123Z","service":"checkout-api","msg":"payment declined","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","http":{"method":"POST","path":"/v1/payments","status":502}}`,
		parse:   parseJSON,
	},
	{
		// Lambda platform lines in Lambda's text log format: START, END,
		// REPORT (with the XRAY line when tracing is on), INIT_START,
		// INIT_REPORT, RESTORE_START, RESTORE_REPORT, EXTENSION, TELEMETRY,
		// and "RequestId: ... Error: ..." runtime failures.
		name: "lambda_platform", source: record.SourceLambdaPlatform, first: "SERITX",
		example: "REPORT RequestId: 8f507cfc-7a1e-4697-b07a-ac58fc914c95\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 71 MB\tInit Duration: 180.61 ms\t\n",
		parse:   parseLambdaPlatformText,
	},
	{
		// VPC flow log record, version 2 default format (14 fields:
		// version account-id interface-id srcaddr dstaddr srcport dstport
		// protocol packets bytes start end action log-status).
		name: "vpc_flow", source: record.SourceVPCFlow, first: digits,
		example: "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
		parse:   parseVPCFlow,
	},
	{
		// A message written through the Node.js or Python Lambda runtime's
		// console/logging with a JSON body:
		// Node "<ISO time>\t<request id>\t<LEVEL>\t<body>",
		// Python "[LEVEL]\t<ISO time>\t<request id>\t<body>".
		name: "lambda_runtime_json", source: record.SourceJSON, first: digits + "[",
		example: "2026-11-22T04:24:48.123Z\t8f507cfc-7a1e-4697-b07a-ac58fc914c95\tINFO\t{\"level\":\"warn\",\"msg\":\"cache miss\",\"key\":\"user:42\"}\n",
		parse:   parseLambdaRuntimeJSON,
	},
	{
		// The same runtime prefix with a plain-text body.
		name: "lambda_runtime_text", source: record.SourceText, first: digits + "[",
		example: "[ERROR]\t2026-11-22T04:24:48.123Z\t8f507cfc-7a1e-4697-b07a-ac58fc914c95\tpayment provider returned 502\n",
		parse:   parseLambdaRuntimeText,
	},
	{
		// Lambda's invocation timeout line:
		// "<ISO time> <request id> Task timed out after 3.00 seconds".
		name: "lambda_timeout", source: record.SourceLambdaPlatform, first: digits,
		example: "2026-11-22T04:24:51.123Z 8f507cfc-7a1e-4697-b07a-ac58fc914c95 Task timed out after 3.00 seconds\n",
		parse:   parseLambdaTimeout,
	},
	{
		// Application Load Balancer access log entry (types http, https, h2,
		// grpcs, ws, wss), fields in the documented order; later additions
		// to the format are ignored.
		name: "alb", source: record.SourceALB, first: "hgw",
		example: `https 2026-11-22T04:24:48.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2026-11-22T04:24:48.186000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90`,
		parse:   parseALB,
	},
	{
		// nginx / Apache access log in the common or combined format
		// (%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"), with an
		// optional leading virtual host (vhost_combined) and trailing extras
		// (nginx's "$http_x_forwarded_for", key=value timings).
		name: "access_log", source: record.SourceAccessLog, first: letters + digits + ":",
		example: `203.0.113.7 - frank [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
		parse:   parseAccessLog,
	},
	{
		// A JSON object after a short plain prefix such as a timestamp and a
		// level: "2026-01-01 12:00:00,123 INFO {...}", "[INFO] {...}".
		name: "json_prefixed", source: record.SourceJSON, first: "",
		example: `2026-11-22 04:24:48,123 INFO {"event":"order_created","order_id":1234567,"correlation_id":"c0ffee00-1234"}`,
		parse:   parseJSONPrefixed,
	},
	{
		// logfmt: key=value pairs, values quoted when they hold spaces
		// (Go's slog text handler, logrus text, Heroku/Grafana logfmt).
		name: "logfmt", source: record.SourceText, first: letters + "_",
		example: `time=2026-11-22T04:24:48.123Z level=WARN msg="disk almost full" path=/var/lib/data used_pct=91.5 trace_id=4bf92f3577b34da6a3ce929d0e0e4736`,
		parse:   parseLogfmt,
	},
	{
		// Anything else: level and trace id found in the text; multi-line
		// Java stack traces, Python tracebacks and Go panics are ERROR.
		name: "text", source: record.SourceText, first: "",
		example: "2026-11-22 04:24:48,123 ERROR [http-nio-8080-exec-7] c.e.billing.InvoiceController - Unhandled exception\njava.lang.IllegalStateException: Invoice is in invalid state FINALIZED\n\tat com.example.billing.domain.Invoice.finalize(Invoice.java:87)\n",
		parse:   parseText,
	},
}

// jsonFormat and cloudTrailFormat are the entries Normalize's streaming
// shortcuts stand in for; isJSONFirst marks the bytes a JSON message may
// start with.
var (
	jsonFormat       = formatNamed("json")
	cloudTrailFormat = formatNamed("cloudtrail")
	isJSONFirst      = func() (t [257]bool) {
		for i := 0; i < len(jsonFirst); i++ {
			t[jsonFirst[i]] = true
		}
		return t
	}()
)

func formatNamed(name string) *format {
	for i := range formats {
		if formats[i].name == name {
			return &formats[i]
		}
	}
	panic("normalize: no format " + name)
}

// dispatch[b] lists, in table order, the formats a message starting with
// byte b may be; dispatch[256] is for the empty message.
var dispatch = func() (d [257][]*format) {
	for i := range formats {
		f := &formats[i]
		if f.first == "" {
			for b := range d {
				d[b] = append(d[b], f)
			}
			continue
		}
		for j := 0; j < len(f.first); j++ {
			d[f.first[j]] = append(d[f.first[j]], f)
		}
	}
	return d
}()
