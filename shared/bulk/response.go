package bulk

import (
	"errors"
	"fmt"

	"github.com/valyala/fastjson"
)

// ItemResult is what the server said about one item of a _bulk request.
type ItemResult struct {
	Status int
	Type   string // error.type, empty on success
	Reason string // error.reason
}

// ErrResponse means a _bulk response could not be understood; the items of
// that request are treated as not indexed and retried.
var ErrResponse = errors.New("unexpected _bulk response")

// parseResponse reads a 200 _bulk response into results, one per item of
// the request, in order. It fails unless there is exactly one result per
// item, because a result cannot be attributed otherwise.
func parseResponse(p *fastjson.Parser, body []byte, results []ItemResult) error {
	v, err := p.ParseBytes(body)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrResponse, err)
	}
	items := v.GetArray("items")
	if len(items) != len(results) {
		return fmt.Errorf("%w: %d items for %d documents", ErrResponse, len(items), len(results))
	}
	for i, it := range items {
		o, err := it.Object()
		if err != nil || o.Len() != 1 {
			return fmt.Errorf("%w: items[%d] is not a one-action object", ErrResponse, i)
		}
		var res *fastjson.Value
		o.Visit(func(_ []byte, v *fastjson.Value) { res = v })
		st := res.GetInt("status")
		if st == 0 {
			return fmt.Errorf("%w: items[%d] has no status", ErrResponse, i)
		}
		r := ItemResult{Status: st}
		if e := res.Get("error"); e != nil {
			switch e.Type() {
			case fastjson.TypeObject:
				r.Type = string(e.GetStringBytes("type"))
				r.Reason = string(e.GetStringBytes("reason"))
				if cb := e.Get("caused_by"); cb != nil {
					if cr := cb.GetStringBytes("reason"); len(cr) > 0 && len(r.Reason)+len(cr) < 2048 {
						r.Reason += ": " + string(cr)
					}
				}
			case fastjson.TypeString:
				r.Reason = string(e.GetStringBytes())
			}
		}
		results[i] = r
	}
	return nil
}

// requestError extracts error.type and error.reason from a non-200 response
// body (OpenSearch's {"error":{...},"status":N}), for reports.
func requestError(p *fastjson.Parser, status int, body []byte) (typ, reason string) {
	v, err := p.ParseBytes(body)
	if err == nil {
		if e := v.Get("error"); e != nil {
			if e.Type() == fastjson.TypeString {
				return httpType(status), string(e.GetStringBytes())
			}
			typ, reason = string(e.GetStringBytes("type")), string(e.GetStringBytes("reason"))
			if typ != "" {
				return typ, reason
			}
		}
	}
	reason = string(body)
	if len(reason) > 512 {
		reason = reason[:512]
	}
	return httpType(status), reason
}

func httpType(status int) string {
	switch status {
	case 413:
		return "request_entity_too_large"
	case 429:
		return "too_many_requests"
	case 401, 403:
		return "security_exception"
	}
	return fmt.Sprintf("http_%d", status)
}

// Retryable reports whether an item or request with this status and error
// type may succeed if sent again: throttling, rejected executions (a full
// write queue) and server-side failures.
func Retryable(status int, errType string) bool {
	switch {
	case status == 429, status >= 500:
		return true
	case errType == "es_rejected_execution_exception", errType == "opensearch_rejected_execution_exception",
		errType == "cluster_block_exception" && status == 429,
		errType == "process_cluster_event_timeout_exception", errType == "unavailable_shards_exception":
		return true
	}
	return false
}
