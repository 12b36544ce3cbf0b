package emf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Per-log-group counts.
//
// CloudWatch bills every distinct combination of namespace, metric name and
// dimension values as one custom metric: $0.30 per metric-month for the first
// 10,000 metrics (us-east-1, prorated by the hour a metric is emitted). A
// LogGroup dimension over every log group of an account would be an unbounded
// bill, so per-log-group counts are off unless METRIC_LOG_GROUPS allow-lists
// groups, and the number of distinct LogGroup values a container emits is
// capped: N allow-listed groups cost at most N (+1 for OtherLogGroups) x
// $0.30 a month, e.g. 20 groups = $6.30.
const (
	// MaxLogGroups is the hard cap on the LogGroup values one container
	// emits, whatever METRIC_LOG_GROUPS_LIMIT says.
	MaxLogGroups = 100
	// DefaultLogGroupLimit is the cap when none is configured.
	DefaultLogGroupLimit = 20
	// OtherLogGroups is the LogGroup value that counts the events of
	// prefix-matched groups once the cap is reached.
	OtherLogGroups = "(other)"
)

// logGroupName is CloudWatch Logs' rule for log group names.
var logGroupName = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

// LogGroupAllowList is a parsed METRIC_LOG_GROUPS: exact log group names and
// prefixes (an entry ending in "*"), and the cap on distinct values.
type LogGroupAllowList struct {
	exact    map[string]bool
	prefixes []string
	limit    int
}

// Errors of ParseLogGroupAllowList.
var (
	ErrLogGroupPattern = errors.New("invalid log group entry")
	ErrLogGroupLimit   = errors.New("log group limit")
)

// ParseLogGroupAllowList reads allow-list entries: exact log group names, or
// prefixes ending in "*" (e.g. "/aws/lambda/orders-*"). A bare "*" is refused:
// it would put every log group of the account on the bill. limit caps the
// distinct LogGroup values (1..MaxLogGroups); exact names count against it
// and must fit. No entries means per-log-group counting is off (nil, nil).
func ParseLogGroupAllowList(entries []string, limit int) (*LogGroupAllowList, error) {
	if limit < 1 || limit > MaxLogGroups {
		return nil, fmt.Errorf("%w is %d; want 1..%d", ErrLogGroupLimit, limit, MaxLogGroups)
	}
	a := &LogGroupAllowList{exact: map[string]bool{}, limit: limit}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		name, prefix := strings.CutSuffix(e, "*")
		switch {
		case prefix && name == "":
			return nil, fmt.Errorf("%w %q: a bare * would count every log group; list names or prefixes such as /aws/lambda/orders-*", ErrLogGroupPattern, e)
		case !logGroupName.MatchString(name):
			return nil, fmt.Errorf("%w %q: want a log group name (letters, digits, . - _ / #), optionally ending in *", ErrLogGroupPattern, e)
		case prefix:
			a.prefixes = append(a.prefixes, name)
		default:
			a.exact[name] = true
		}
	}
	if len(a.exact) == 0 && len(a.prefixes) == 0 {
		return nil, nil
	}
	if len(a.exact) > limit {
		return nil, fmt.Errorf("%w: %d exact log group names exceed the limit of %d metrics", ErrLogGroupLimit, len(a.exact), limit)
	}
	return a, nil
}

// Allowed reports whether a log group is allow-listed.
func (a *LogGroupAllowList) Allowed(group string) bool {
	if a == nil {
		return false
	}
	if a.exact[group] {
		return true
	}
	for _, p := range a.prefixes {
		if strings.HasPrefix(group, p) {
			return true
		}
	}
	return false
}

// Limit is the cap on distinct LogGroup values.
func (a *LogGroupAllowList) Limit() int {
	if a == nil {
		return 0
	}
	return a.limit
}

// LogGroupCounter counts events per allow-listed log group for one function
// and writes them as EMF, one line per log group (an EMF line carries one set
// of dimension values). Exact names always get their own value; groups that
// match a prefix get one while the container has emitted fewer than the
// limit, after which their events count under OtherLogGroups. A nil or
// disabled counter does nothing. It is safe for concurrent use.
type LogGroupCounter struct {
	mu       sync.Mutex
	function string
	allow    *LogGroupAllowList
	admitted map[string]bool // prefix-matched groups given their own value, since cold start
	counts   map[string]float64
	now      func() time.Time
}

// NewLogGroupCounter returns a counter for the named function; allow nil
// (METRIC_LOG_GROUPS unset) gives a counter that counts nothing.
func NewLogGroupCounter(function string, allow *LogGroupAllowList) *LogGroupCounter {
	return &LogGroupCounter{function: function, allow: allow, admitted: map[string]bool{}, counts: map[string]float64{}, now: time.Now}
}

// Enabled reports whether anything is counted.
func (c *LogGroupCounter) Enabled() bool { return c != nil && c.allow != nil }

// Count adds n events of a log group, if it is allow-listed.
func (c *LogGroupCounter) Count(group string, n int) {
	if !c.Enabled() || n <= 0 || !c.allow.Allowed(group) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[c.value(group)] += float64(n)
}

// value is the LogGroup dimension value for an allow-listed group.
func (c *LogGroupCounter) value(group string) string {
	if c.allow.exact[group] || c.admitted[group] {
		return group
	}
	if len(c.allow.exact)+len(c.admitted) < c.allow.limit {
		c.admitted[group] = true
		return group
	}
	return OtherLogGroups
}

// Flush writes one EMF line per log group counted since the last flush, in
// name order, and resets the counts.
func (c *LogGroupCounter) Flush(w io.Writer) error {
	if !c.Enabled() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.counts) == 0 {
		return nil
	}
	groups := make([]string, 0, len(c.counts))
	for g := range c.counts {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	ts := c.now().UnixMilli()
	var out []byte
	for _, g := range groups {
		line, err := json.Marshal(map[string]any{
			DimensionFunction: c.function,
			DimensionLogGroup: g,
			LogGroupEvents:    c.counts[g],
			"_aws": map[string]any{
				"Timestamp": ts,
				"CloudWatchMetrics": []any{map[string]any{
					"Namespace":  Namespace,
					"Dimensions": [][]string{{DimensionFunction, DimensionLogGroup}},
					"Metrics":    []any{map[string]any{"Name": LogGroupEvents, "Unit": Count}},
				}},
			},
		})
		if err != nil {
			return fmt.Errorf("encode log group metrics: %w", err)
		}
		out = append(append(out, line...), '\n')
	}
	clear(c.counts)
	_, err := w.Write(out)
	return err
}
