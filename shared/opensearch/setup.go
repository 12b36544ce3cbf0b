package opensearch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// SetupOptions describe the index template and ISM policy to install.
type SetupOptions struct {
	// IndexPatterns the template and policy apply to, e.g. ["cwl-*"].
	IndexPatterns []string
	Name          string // template and policy name; default "tributary-logs"
	// WarmAfterDays moves indices to warm (read-only, force-merged) after
	// this many days; 0 (or not below DeleteAfterDays) skips warm.
	WarmAfterDays   int
	DeleteAfterDays int // deletes indices this many days old; 0: keep forever
	// FieldLimit caps mapped fields when flat_object is unavailable; default 2000.
	FieldLimit int
	// Shards and Replicas for new indices; 0: cluster defaults (1 shard,
	// replicas left to the cluster).
	Shards, Replicas int
	// ForceFallback maps fields as an object with a field limit even where
	// flat_object is available (tests, or clusters with tools that need it).
	ForceFallback bool
}

// SetupResult says what was found and done.
type SetupResult struct {
	Version    string // cluster version, empty for Serverless
	FlatObject bool   // fields is mapped as flat_object
	Template   string // "installed"
	Policy     string // created, updated, unchanged, unavailable (no ISM plugin), skipped
}

// DefaultName is the template's and policy's name.
const DefaultName = "tributary-logs"

// Setup installs the index template and the ISM policy. Both are
// idempotent: the template is put (it replaces itself), and the policy is
// only written when what we want differs from what is there, with
// optimistic concurrency so two cold starts cannot clobber each other.
func (c *Client) Setup(ctx context.Context, o SetupOptions) (SetupResult, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.FieldLimit <= 0 {
		o.FieldLimit = 2000
	}
	if len(o.IndexPatterns) == 0 {
		return SetupResult{}, errors.New("setup: no index patterns")
	}
	var res SetupResult
	if !c.Serverless() {
		info, err := c.Info(ctx)
		if err != nil {
			return res, fmt.Errorf("setup: cluster version: %w", err)
		}
		res.Version = info.Version
		res.FlatObject = info.Distribution == "opensearch" && versionAtLeast(info.Version, 2, 7) && !o.ForceFallback
	}
	tpl := IndexTemplate(o, res.FlatObject)
	if err := c.jsonCall(ctx, http.MethodPut, "/_index_template/"+o.Name, tpl, nil); err != nil {
		return res, fmt.Errorf("setup: index template %s: %w", o.Name, err)
	}
	res.Template = "installed"
	if c.Serverless() || o.DeleteAfterDays <= 0 && o.WarmAfterDays <= 0 {
		// Serverless manages retention with data lifecycle policies, not ISM.
		res.Policy = "skipped"
		return res, nil
	}
	state, err := c.putPolicy(ctx, o)
	if err != nil {
		return res, fmt.Errorf("setup: ISM policy %s: %w", o.Name, err)
	}
	res.Policy = state
	return res, nil
}

// versionAtLeast compares a dotted version with major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// IndexTemplate returns the composable index template for the record
// schema. fields is a flat_object when flat is true (one mapped field
// however many keys the parsers extract); otherwise an object whose string
// values map to keywords, under a total field limit, so a noisy log group
// cannot explode the mapping.
func IndexTemplate(o SetupOptions, flat bool) map[string]any {
	keyword := map[string]any{"type": "keyword", "ignore_above": 1024}
	props := map[string]any{
		"@timestamp":  map[string]any{"type": "date"},
		"id":          map[string]any{"type": "keyword"},
		"owner":       keyword,
		"log_group":   keyword,
		"log_stream":  keyword,
		"message":     map[string]any{"type": "text"},
		"level":       keyword,
		"trace_id":    keyword,
		"source_type": keyword,
	}
	settings := map[string]any{}
	mappings := map[string]any{
		// The schema is fixed: an unknown top-level key is kept in _source
		// but not mapped, so it can never conflict.
		"dynamic":    false,
		"properties": props,
	}
	if flat {
		props["fields"] = map[string]any{"type": "flat_object"}
	} else {
		props["fields"] = map[string]any{"type": "object", "dynamic": true}
		mappings["dynamic_templates"] = []any{
			map[string]any{"fields_strings": map[string]any{
				"path_match":         "fields.*",
				"match_mapping_type": "string",
				"mapping":            keyword,
			}},
		}
		settings["index.mapping.total_fields.limit"] = o.FieldLimit
		settings["index.mapping.ignore_malformed"] = false
	}
	if o.Shards > 0 {
		settings["index.number_of_shards"] = o.Shards
	}
	if o.Replicas > 0 {
		settings["index.number_of_replicas"] = o.Replicas
	}
	return map[string]any{
		"index_patterns": o.IndexPatterns,
		"priority":       100,
		"template": map[string]any{
			"settings": settings,
			"mappings": mappings,
		},
		"_meta": map[string]any{"managed_by": "tributary", "flat_object": flat},
	}
}

// Policy returns the ISM policy: hot, then warm (read-only, merged to one
// segment) after WarmAfterDays, then delete after DeleteAfterDays, attached
// to new indices by ism_template.
func Policy(o SetupOptions) map[string]any {
	var states []any
	warm := o.WarmAfterDays > 0 && (o.DeleteAfterDays <= 0 || o.WarmAfterDays < o.DeleteAfterDays)
	hot := map[string]any{"name": "hot", "actions": []any{}, "transitions": []any{}}
	switch {
	case warm:
		hot["transitions"] = []any{transition("warm", o.WarmAfterDays)}
	case o.DeleteAfterDays > 0:
		hot["transitions"] = []any{transition("delete", o.DeleteAfterDays)}
	}
	states = append(states, hot)
	if warm {
		w := map[string]any{
			"name": "warm",
			"actions": []any{
				map[string]any{"read_only": map[string]any{}},
				map[string]any{"force_merge": map[string]any{"max_num_segments": 1}},
			},
			"transitions": []any{},
		}
		if o.DeleteAfterDays > 0 {
			w["transitions"] = []any{transition("delete", o.DeleteAfterDays)}
		}
		states = append(states, w)
	}
	if o.DeleteAfterDays > 0 {
		states = append(states, map[string]any{
			"name":        "delete",
			"actions":     []any{map[string]any{"delete": map[string]any{}}},
			"transitions": []any{},
		})
	}
	p := map[string]any{
		"description":   "Tributary logs: hot, warm, delete",
		"default_state": "hot",
		"states":        states,
		"ism_template":  []any{map[string]any{"index_patterns": o.IndexPatterns, "priority": 100}},
	}
	// The description carries a digest of the policy, so set-up can tell
	// whether the installed one is ours and current without comparing the
	// fields the server adds.
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	p["description"] = fmt.Sprintf("Tributary logs: hot → warm after %d days → delete after %d days [tributary:%s]",
		o.WarmAfterDays, o.DeleteAfterDays, hex.EncodeToString(sum[:6]))
	return map[string]any{"policy": p}
}

func transition(state string, days int) map[string]any {
	return map[string]any{"state_name": state, "conditions": map[string]any{"min_index_age": strconv.Itoa(days) + "d"}}
}

// putPolicy creates the policy, or updates it if it differs.
func (c *Client) putPolicy(ctx context.Context, o SetupOptions) (string, error) {
	want := Policy(o)
	wantDesc := want["policy"].(map[string]any)["description"].(string)
	p := "/_plugins/_ism/policies/" + o.Name
	status, _, body, err := c.Do(ctx, http.MethodGet, p, "", nil)
	if err != nil {
		return "", err
	}
	if unavailable(status, body) {
		return "unavailable", nil
	}
	path := p
	state := "created"
	switch status {
	case 200:
		var cur struct {
			SeqNo       int64 `json:"_seq_no"`
			PrimaryTerm int64 `json:"_primary_term"`
			Policy      struct {
				Description string `json:"description"`
			} `json:"policy"`
		}
		if err := json.Unmarshal(body, &cur); err != nil {
			return "", fmt.Errorf("decode %s: %w", p, err)
		}
		if cur.Policy.Description == wantDesc {
			return "unchanged", nil
		}
		path = fmt.Sprintf("%s?if_seq_no=%d&if_primary_term=%d", p, cur.SeqNo, cur.PrimaryTerm)
		state = "updated"
	case 404:
	default:
		return "", statusError(http.MethodGet, p, status, body)
	}
	b, err := json.Marshal(want)
	if err != nil {
		return "", err
	}
	status, _, body, err = c.Do(ctx, http.MethodPut, path, "application/json", b)
	if err != nil {
		return "", err
	}
	switch {
	case status == 200 || status == 201:
		return state, nil
	case status == 409:
		// Another cold start wrote it between our GET and PUT: theirs is
		// the same policy.
		return "unchanged", nil
	}
	return "", statusError(http.MethodPut, p, status, body)
}

// unavailable recognises a cluster without the ISM plugin: OpenSearch
// answers an unknown route with 400/404/405 "no handler found for uri".
func unavailable(status int, body []byte) bool {
	if status != 400 && status != 404 && status != 405 {
		return false
	}
	return strings.Contains(string(body), "no handler found")
}
