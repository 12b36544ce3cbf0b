// Package logsample generates realistic, deterministic CloudWatch Logs
// traffic for the demo and the end-to-end tests: application JSON, Lambda
// platform lines, access and VPC flow logs, CloudTrail records, Korean
// text, stack traces, and a few malformed and oversized payloads. The same
// seed always yields the same events, so a test can count every one of them
// from the generator to its end.
package logsample

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/tributary-logs/tributary/shared/cwlogs"
)

// Source is one log group and the kind of lines it writes.
type Source struct {
	LogGroup string
	Stream   string
	Kind     string
}

// Sources is the estate the generator simulates.
var Sources = []Source{
	{"/aws/lambda/orders-api", "2026/11/22/[$LATEST]7c1e9a0b4d2f", "lambda"},
	{"/ecs/checkout", "checkout/web/5f0e3d2c1b0a", "json"},
	{"/ecs/web/nginx", "nginx/9a8b7c6d", "access"},
	{"vpc-flow-logs", "eni-0a1b2c3d4e5f60718-all", "vpc"},
	{"aws-cloudtrail-logs-123456789012", "123456789012_CloudTrail_us-east-1", "cloudtrail"},
	{"/app/billing-batch", "i-0123456789abcdef0", "text"},
	{"/app/kr-notify", "i-0fedcba9876543210", "korean"},
}

// Generator produces payloads from a seed.
type Generator struct {
	rng   *rand.Rand
	start time.Time
	seq   int
	Owner string
}

// New returns a generator whose events start at start.
func New(seed uint64, start time.Time) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), start: start, Owner: "123456789012"}
}

// Payload returns one DATA_MESSAGE envelope of n events from src.
func (g *Generator) Payload(src Source, n int) (*cwlogs.Envelope, []cwlogs.LogEvent) {
	env := &cwlogs.Envelope{MessageType: cwlogs.DataMessage, Owner: g.Owner, LogGroup: src.LogGroup,
		LogStream: src.Stream, SubscriptionFilters: []string{"tributary"}}
	evs := make([]cwlogs.LogEvent, n)
	for i := range evs {
		g.seq++
		ts := g.start.Add(time.Duration(g.seq) * 37 * time.Millisecond).UnixMilli()
		evs[i] = cwlogs.LogEvent{
			// CloudWatch ids are 56 digits; the tail counts up.
			ID:        fmt.Sprintf("3861509358409383956243821700981541991713843%013d", g.seq),
			Timestamp: ts,
			Message:   g.message(src.Kind, ts),
		}
	}
	return env, evs
}

// Gzip returns the payload as CloudWatch Logs delivers it.
func (g *Generator) Gzip(src Source, n int) ([]byte, []cwlogs.LogEvent, error) {
	env, evs := g.Payload(src, n)
	b, err := cwlogs.Encode(env, evs)
	return b, evs, err
}

var (
	paths  = []string{"/api/orders", "/api/cart", "/api/checkout", "/healthz", "/api/users/me", "/static/app.js"}
	agents = []string{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15", "curl/8.5.0", "okhttp/4.12.0", "ELB-HealthChecker/2.0"}
	levels = []string{"debug", "info", "info", "info", "warn", "error"}
	// Mostly reads, as in a real trail; now and then a change the CIS rules watch.
	reads   = []string{"DescribeInstances", "AssumeRole", "GetObject", "ListBuckets", "DescribeSecurityGroups", "GetCallerIdentity"}
	changes = []string{"AuthorizeSecurityGroupIngress", "CreateVpc", "PutBucketPolicy"}
)

func (g *Generator) pick(s []string) string { return s[g.rng.IntN(len(s))] }

func (g *Generator) trailEvent() string {
	if g.rng.IntN(40) == 0 {
		return g.pick(changes)
	}
	return g.pick(reads)
}

func (g *Generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *Generator) message(kind string, ts int64) string {
	t := time.UnixMilli(ts).UTC()
	switch kind {
	case "lambda":
		req := g.hex(8) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(12)
		switch g.rng.IntN(4) {
		case 0:
			return "START RequestId: " + req + " Version: $LATEST\n"
		case 1:
			return fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: 512 MB\tMax Memory Used: %d MB\t\n",
				req, 5+g.rng.Float64()*400, 6+g.rng.IntN(400), 60+g.rng.IntN(200))
		default:
			return fmt.Sprintf("%s\t%s\t%s\t{\"msg\":\"order processed\",\"order_id\":\"A-%d\",\"amount\":%d}\n",
				t.Format("2006-01-02T15:04:05.000Z"), req, strings.ToUpper(g.pick(levels)), g.rng.IntN(100000), g.rng.IntN(50000))
		}
	case "json":
		return fmt.Sprintf(`{"time":"%s","level":"%s","msg":"cart updated","trace_id":"%s","http":{"method":"POST","path":"%s","status":%d},"user":{"id":%d}}`,
			t.Format(time.RFC3339Nano), g.pick(levels), g.hex(32), g.pick(paths), []int{200, 200, 201, 400, 500}[g.rng.IntN(5)], g.rng.IntN(10000))
	case "access":
		return fmt.Sprintf(`%d.%d.%d.%d - - [%s] "GET %s HTTP/1.1" %d %d "-" "%s"`,
			g.rng.IntN(223)+1, g.rng.IntN(256), g.rng.IntN(256), g.rng.IntN(256), t.Format("02/Jan/2006:15:04:05 -0700"),
			g.pick(paths), []int{200, 200, 304, 404, 502}[g.rng.IntN(5)], g.rng.IntN(90000), g.pick(agents))
	case "vpc":
		action := "ACCEPT"
		if g.rng.IntN(5) == 0 {
			action = "REJECT"
		}
		return fmt.Sprintf("2 123456789012 eni-0a1b2c3d4e5f60718 10.0.%d.%d 10.0.%d.%d %d %d 6 %d %d %d %d %s OK",
			g.rng.IntN(4), g.rng.IntN(255), g.rng.IntN(4), g.rng.IntN(255), 1024+g.rng.IntN(60000), []int{443, 80, 22, 5432}[g.rng.IntN(4)],
			1+g.rng.IntN(40), 40+g.rng.IntN(90000), ts/1000-60, ts/1000, action)
	case "cloudtrail":
		return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/ops/alice","accountId":"123456789012","accessKeyId":"ASIA%s"},"eventTime":"%s","eventSource":"ec2.amazonaws.com","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2.17.0","requestParameters":{"groupId":"sg-0%s"},"requestID":"%s","eventID":"%s","recipientAccountId":"123456789012"}`,
			strings.ToUpper(g.hex(16)), t.Format(time.RFC3339), g.trailEvent(), g.rng.IntN(255), g.hex(16), g.hex(36), g.hex(36))
	case "korean":
		return []string{
			"주문 처리 완료: 고객 김민수, 주문번호 A-" + fmt.Sprint(g.rng.IntN(9999)) + " 🎉",
			`{"level":"error","msg":"결제 실패: 카드 한도 초과","user":"lee.jiwoo@example.co.kr"}`,
			"알림 발송 대기열 지연 " + fmt.Sprint(g.rng.IntN(900)) + "ms",
		}[g.rng.IntN(3)]
	default:
		if g.rng.IntN(3) == 0 {
			return "ERROR [billing] invoice run failed\njava.lang.IllegalStateException: ledger closed\n\tat com.example.billing.Ledger.post(Ledger.java:88)\n\tat com.example.billing.Run.main(Run.java:21)\nCaused by: java.sql.SQLTimeoutException: timeout after 30000ms"
		}
		return fmt.Sprintf("INFO billing batch step %d finished in %dms password=%s", g.rng.IntN(20), g.rng.IntN(5000), g.hex(10))
	}
}
