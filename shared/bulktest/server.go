// Package bulktest is a strict local stand-in for the parts of the
// OpenSearch REST API the indexer uses, for tests and the demo where a real
// node is not available. It speaks the _bulk wire format exactly (NDJSON
// action/source pairs, the trailing newline, the response with "errors" and
// a per-item status and error.type/error.reason), keeps documents by index
// and _id so a test can assert exactly what was stored, applies index
// templates and a dynamic mapping (so a field whose type changes is a
// mapper_parsing_exception, as on a cluster), and injects faults on demand:
// item-level 429s, 413 above a size, 5xx, whole-request 429 with
// Retry-After, and slow responses.
//
// Served: GET /, GET /_cluster/health, POST /_bulk and /{index}/_bulk,
// PUT/GET/DELETE /_index_template/{name}, PUT/GET /_plugins/_ism/policies/{id},
// PUT/DELETE/HEAD /{index}, GET /{index}/_mapping, POST /{index}/_refresh,
// GET /{index}/_doc/{id}, GET|POST /{index}/_count and /{index}/_search
// (match_all, term on one field, size).
package bulktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

// Faults are the failures the server injects. The zero value injects none.
type Faults struct {
	// ThrottleRatio of documents (chosen by a hash of their _id, so the same
	// ones every time) are rejected with 429 es_rejected_execution_exception
	// on their first ThrottleTimes attempts (default 1).
	ThrottleRatio float64
	ThrottleTimes int
	// MaxContentLength: a _bulk body larger than this gets 413 (0: no limit).
	MaxContentLength int
	// FailRequests: the next N _bulk requests get ServerErrorStatus (503).
	FailRequests      int
	ServerErrorStatus int
	// ThrottleRequests: the next N _bulk requests get a whole-request 429
	// with Retry-After: RetryAfter (whole seconds, rounded up) when set.
	ThrottleRequests int
	RetryAfter       time.Duration
	// Latency delays every _bulk response.
	Latency time.Duration
}

// Request is one request the server received, for assertions.
type Request struct {
	Method, Path  string
	Authorization string
	ContentType   string
	Bytes         int
	Status        int
}

// Server is the fake. Create it with Start or NewServer.
type Server struct {
	URL     string
	Version string // reported by GET /; default 2.19.1

	mu        sync.Mutex
	faults    Faults
	indices   map[string]*index
	templates map[string]json.RawMessage
	policies  map[string]json.RawMessage
	seen      map[string]int // _index/_id → times a create for it arrived
	requests  []Request
	bulkCalls int
	httpSrv   *httptest.Server
}

type index struct {
	docs        map[string]json.RawMessage
	order       []string
	fields      map[string]fieldType // dotted path → type
	fieldLimit  int
	flat        map[string]bool // flat_object roots
	mappingJSON json.RawMessage
}

type fieldType string

const (
	tDate    fieldType = "date"
	tKeyword fieldType = "keyword"
	tText    fieldType = "text"
	tLong    fieldType = "long"
	tFloat   fieldType = "float"
	tBool    fieldType = "boolean"
	tObject  fieldType = "object"
	tFlat    fieldType = "flat_object"
)

// NewServer returns a server that is not listening yet; Handler serves it.
func NewServer() *Server {
	return &Server{
		Version:   "2.19.1",
		indices:   map[string]*index{},
		templates: map[string]json.RawMessage{},
		policies:  map[string]json.RawMessage{},
		seen:      map[string]int{},
	}
}

// Start serves the fake on a free loopback port. Close it when done.
func Start() *Server {
	s := NewServer()
	s.httpSrv = httptest.NewUnstartedServer(s)
	s.httpSrv.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("bulktest: listen: %v", err))
	}
	s.httpSrv.Listener = l
	s.httpSrv.Start()
	s.URL = s.httpSrv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() {
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Reset forgets every index, template, policy, request and fault.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = Faults{}
	s.indices = map[string]*index{}
	s.templates = map[string]json.RawMessage{}
	s.policies = map[string]json.RawMessage{}
	s.seen = map[string]int{}
	s.requests = nil
	s.bulkCalls = 0
}

// ClearIndices deletes every index (documents and mappings) but keeps the
// templates, policies and faults, as DELETE /_all would.
func (s *Server) ClearIndices() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indices = map[string]*index{}
	s.seen = map[string]int{}
}

// Docs returns the documents of an index by _id.
func (s *Server) Docs(idx string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]json.RawMessage{}
	if ix := s.indices[idx]; ix != nil {
		for k, v := range ix.docs {
			out[k] = v
		}
	}
	return out
}

// Indices lists the indices, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.indices))
	for k := range s.indices {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Count is the number of documents across all indices.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ix := range s.indices {
		n += len(ix.docs)
	}
	return n
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Template returns an installed index template's body.
func (s *Server) Template(name string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.templates[name]
	return t, ok
}

// Policy returns an installed ISM policy's body.
func (s *Server) Policy(id string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.policies[id]
	return p, ok
}

// statusWriter records the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, 400, "parse_exception", "cannot read body: "+err.Error())
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: 200}
	s.route(sw, r, body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Bytes: len(body), Status: sw.status,
	})
	s.mu.Unlock()
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	p := path.Clean("/" + strings.Trim(r.URL.Path, "/"))
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if p == "/" {
		seg = nil
	}
	switch {
	case len(seg) == 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.info(w)
	case len(seg) == 2 && seg[0] == "_cluster" && seg[1] == "health":
		writeJSON(w, 200, map[string]any{"cluster_name": "bulktest", "status": "green", "number_of_nodes": 1})
	case len(seg) >= 1 && seg[len(seg)-1] == "_bulk" && len(seg) <= 2:
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			methodNotAllowed(w, r)
			return
		}
		def := ""
		if len(seg) == 2 {
			def = seg[0]
		}
		s.bulk(w, r, body, def)
	case len(seg) == 2 && seg[0] == "_index_template":
		s.template(w, r, seg[1], body)
	case len(seg) == 4 && seg[0] == "_plugins" && seg[1] == "_ism" && seg[2] == "policies":
		s.policy(w, r, seg[3], body)
	case len(seg) == 1 && !strings.HasPrefix(seg[0], "_"):
		s.indexAPI(w, r, seg[0], body)
	case len(seg) == 2 && seg[1] == "_mapping":
		s.mapping(w, seg[0])
	case len(seg) == 2 && seg[1] == "_refresh":
		writeJSON(w, 200, map[string]any{"_shards": map[string]int{"total": 1, "successful": 1, "failed": 0}})
	case len(seg) == 3 && seg[1] == "_doc" && r.Method == http.MethodGet:
		s.getDoc(w, seg[0], seg[2])
	case len(seg) == 2 && (seg[1] == "_count" || seg[1] == "_search"):
		s.search(w, r, seg[0], seg[1] == "_count", body)
	default:
		writeError(w, 400, "illegal_argument_exception", fmt.Sprintf("no handler found for uri [%s] and method [%s]", r.URL.Path, r.Method))
	}
}

func (s *Server) info(w http.ResponseWriter) {
	writeJSON(w, 200, map[string]any{
		"name":         "bulktest",
		"cluster_name": "bulktest",
		"version": map[string]any{
			"distribution": "opensearch",
			"number":       s.Version,
		},
		"tagline": "The OpenSearch Project: https://opensearch.org/",
	})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, 405, "method_not_allowed", fmt.Sprintf("Incorrect HTTP method for uri [%s] and method [%s]", r.URL.Path, r.Method))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes OpenSearch's error document.
func writeError(w http.ResponseWriter, status int, typ, reason string) {
	e := map[string]any{"type": typ, "reason": reason}
	writeJSON(w, status, map[string]any{
		"error":  map[string]any{"root_cause": []any{e}, "type": typ, "reason": reason},
		"status": status,
	})
}

func hashRatio(id string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return float64(h.Sum64()%10000) / 10000
}

// bulk handles one _bulk request strictly.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request, body []byte, defIndex string) {
	start := time.Now()
	s.mu.Lock()
	f := s.faults
	s.bulkCalls++
	var inject int
	switch {
	case s.faults.FailRequests > 0:
		s.faults.FailRequests--
		inject = f.ServerErrorStatus
		if inject == 0 {
			inject = 503
		}
	case s.faults.ThrottleRequests > 0:
		s.faults.ThrottleRequests--
		inject = 429
	}
	s.mu.Unlock()
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if f.MaxContentLength > 0 && len(body) > f.MaxContentLength {
		// OpenSearch's HTTP layer answers 413 with an empty body.
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	switch inject {
	case 429:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
		}
		writeError(w, 429, "rejected_execution_exception", "rejected execution of coordinating operation (injected)")
		return
	case 0:
	default:
		writeError(w, inject, "node_not_connected_exception", "injected server error")
		return
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); mt != "application/json" && mt != "application/x-ndjson" {
		writeError(w, 406, "content_type_exception", fmt.Sprintf("Content-Type header [%s] is not supported", ct))
		return
	}
	if len(body) == 0 {
		writeError(w, 400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
		return
	}
	if body[len(body)-1] != '\n' {
		writeError(w, 400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
		return
	}
	ops, err := parseBulk(body, defIndex)
	if err != nil {
		writeError(w, 400, "illegal_argument_exception", err.Error())
		return
	}
	var out bytes.Buffer
	out.Grow(len(ops) * 160)
	errorsSeen := false
	s.mu.Lock()
	for _, op := range ops {
		key := op.index + "/" + op.id
		s.seen[key]++
		res := s.apply(op, f, s.seen[key])
		if res.status >= 300 {
			errorsSeen = true
		}
		if out.Len() > 0 {
			out.WriteByte(',')
		}
		res.write(&out, op)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(200)
	fmt.Fprintf(w, `{"took":%d,"errors":%t,"items":[`, time.Since(start).Milliseconds(), errorsSeen)
	_, _ = w.Write(out.Bytes())
	_, _ = io.WriteString(w, "]}")
}

type op struct {
	action string // create, index, delete, update
	index  string
	id     string
	source []byte
}

// parseBulk validates the NDJSON strictly: each action line one object with
// one known action whose metadata names the index (or the path does); each
// create/index/update followed by a source object.
func parseBulk(body []byte, defIndex string) ([]op, error) {
	var ops []op
	var p fastjson.Parser
	line := 0
	for len(body) > 0 {
		nl := bytes.IndexByte(body, '\n')
		action := body[:nl]
		body = body[nl+1:]
		line++
		if len(bytes.TrimSpace(action)) == 0 {
			continue
		}
		v, err := p.ParseBytes(action)
		if err != nil {
			return nil, fmt.Errorf("Malformed action/metadata line [%d], expected START_OBJECT: %v", line, err)
		}
		obj, err := v.Object()
		if err != nil || obj.Len() != 1 {
			return nil, fmt.Errorf("Malformed action/metadata line [%d], expected an object with one action", line)
		}
		var o op
		var meta *fastjson.Value
		obj.Visit(func(k []byte, v *fastjson.Value) { o.action, meta = string(k), v })
		switch o.action {
		case "create", "index", "update", "delete":
		default:
			return nil, fmt.Errorf("Malformed action/metadata line [%d], expected one of [create, delete, index, update] but found [%s]", line, o.action)
		}
		if meta.Type() != fastjson.TypeObject {
			return nil, fmt.Errorf("Malformed action/metadata line [%d], expected START_OBJECT", line)
		}
		var bad string
		meta.GetObject().Visit(func(k []byte, v *fastjson.Value) {
			switch string(k) {
			case "_index":
				o.index = string(v.GetStringBytes())
			case "_id":
				if v.Type() != fastjson.TypeString {
					bad = "_id must be a string"
				}
				o.id = string(v.GetStringBytes())
			case "routing", "pipeline", "require_alias", "if_seq_no", "if_primary_term", "version", "version_type", "retry_on_conflict":
			default:
				bad = fmt.Sprintf("Action/metadata line [%d] contains an unknown parameter [%s]", line, k)
			}
		})
		if bad != "" {
			return nil, fmt.Errorf("%s", bad)
		}
		if o.index == "" {
			o.index = defIndex
		}
		if o.index == "" {
			return nil, fmt.Errorf("Validation Failed: index is missing (line %d)", line)
		}
		if err := validIndexName(o.index); err != nil {
			return nil, err
		}
		if o.action != "delete" {
			if len(body) == 0 {
				return nil, fmt.Errorf("Validation Failed: source is missing after line [%d]", line)
			}
			nl := bytes.IndexByte(body, '\n')
			o.source = body[:nl]
			body = body[nl+1:]
			line++
		}
		ops = append(ops, o)
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("Validation Failed: 1: no requests added;")
	}
	return ops, nil
}

// validIndexName applies OpenSearch's index name rules.
func validIndexName(n string) error {
	switch {
	case n != strings.ToLower(n):
		return fmt.Errorf("Invalid index name [%s], must be lowercase", n)
	case strings.ContainsAny(n, "\\/*?\"<>| ,#:"):
		return fmt.Errorf("Invalid index name [%s], must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]", n)
	case strings.HasPrefix(n, "-") || strings.HasPrefix(n, "_") || strings.HasPrefix(n, "+"):
		return fmt.Errorf("Invalid index name [%s], must not start with '_', '-', or '+'", n)
	case n == "." || n == "..":
		return fmt.Errorf("Invalid index name [%s], must not be '.' or '..'", n)
	case len(n) > 255:
		return fmt.Errorf("Invalid index name [%s], index name is too long, (%d > 255)", n, len(n))
	}
	return nil
}

type itemResult struct {
	status  int
	result  string
	errType string
	reason  string
	version int
}

func (r itemResult) write(out *bytes.Buffer, o op) {
	fmt.Fprintf(out, `{%q:{"_index":%q,"_id":%q`, o.action, o.index, o.id)
	if r.status < 300 {
		fmt.Fprintf(out, `,"_version":%d,"result":%q,"_shards":{"total":1,"successful":1,"failed":0},"status":%d}}`, r.version, r.result, r.status)
		return
	}
	reason, _ := json.Marshal(r.reason)
	fmt.Fprintf(out, `,"status":%d,"error":{"type":%q,"reason":%s,"index":%q}}}`, r.status, r.errType, reason, o.index)
}

// apply runs one operation against the store; s.mu is held.
func (s *Server) apply(o op, f Faults, attempt int) itemResult {
	if f.ThrottleRatio > 0 {
		times := f.ThrottleTimes
		if times == 0 {
			times = 1
		}
		if attempt <= times && hashRatio(o.id) < f.ThrottleRatio {
			return itemResult{status: 429, errType: "es_rejected_execution_exception",
				reason: "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0] (injected)"}
		}
	}
	switch o.action {
	case "update":
		return itemResult{status: 400, errType: "action_request_validation_exception", reason: "update is not supported by bulktest"}
	case "delete":
		ix := s.indices[o.index]
		if ix == nil || ix.docs[o.id] == nil {
			return itemResult{status: 404, result: "not_found", version: 1}
		}
		delete(ix.docs, o.id)
		return itemResult{status: 200, result: "deleted", version: 2}
	}
	if o.id == "" {
		o.id = fmt.Sprintf("auto-%d", len(s.seen))
	}
	if len(o.id) > 512 {
		return itemResult{status: 400, errType: "action_request_validation_exception",
			reason: fmt.Sprintf("Validation Failed: 1: id [%s...] is too long, must be no longer than 512 bytes but was: %d;", o.id[:16], len(o.id))}
	}
	ix := s.indexFor(o.index)
	if _, ok := ix.docs[o.id]; ok && o.action == "create" {
		return itemResult{status: 409, errType: "version_conflict_engine_exception",
			reason: fmt.Sprintf("[%s]: version conflict, document already exists (current version [1])", o.id)}
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(o.source)
	if err != nil || v.Type() != fastjson.TypeObject {
		reason := "failed to parse"
		if err != nil {
			reason = "failed to parse: " + err.Error()
		}
		return itemResult{status: 400, errType: "mapper_parsing_exception", reason: reason}
	}
	added := map[string]fieldType{}
	if res, bad := ix.check(v, "", added); bad {
		return res
	}
	if ix.fieldLimit > 0 && len(ix.fields)+len(added) > ix.fieldLimit {
		return itemResult{status: 400, errType: "illegal_argument_exception",
			reason: fmt.Sprintf("Limit of total fields [%d] has been exceeded", ix.fieldLimit)}
	}
	for k, t := range added {
		ix.fields[k] = t
	}
	if _, ok := ix.docs[o.id]; !ok {
		ix.order = append(ix.order, o.id)
	}
	ix.docs[o.id] = append(json.RawMessage(nil), o.source...)
	return itemResult{status: 201, result: "created", version: 1}
}

// indexFor returns the index, creating it from the matching template.
func (s *Server) indexFor(name string) *index {
	if ix := s.indices[name]; ix != nil {
		return ix
	}
	ix := &index{docs: map[string]json.RawMessage{}, fields: map[string]fieldType{}, flat: map[string]bool{}, fieldLimit: 1000}
	if tpl := s.matchTemplate(name); tpl != nil {
		ix.applyTemplate(tpl)
	}
	s.indices[name] = ix
	return ix
}

// matchTemplate returns the template with the highest priority whose
// index_patterns match name.
func (s *Server) matchTemplate(name string) *fastjson.Value {
	var best *fastjson.Value
	bestPrio := -1
	for _, raw := range s.templates {
		v, err := fastjson.ParseBytes(raw)
		if err != nil {
			continue
		}
		for _, pat := range v.GetArray("index_patterns") {
			if ok, _ := path.Match(string(pat.GetStringBytes()), name); ok {
				if prio := v.GetInt("priority"); prio > bestPrio {
					best, bestPrio = v, prio
				}
			}
		}
	}
	return best
}

func (ix *index) applyTemplate(tpl *fastjson.Value) {
	t := tpl.Get("template")
	if t == nil {
		return
	}
	if lim := t.Get("settings", "index.mapping.total_fields.limit"); lim != nil {
		ix.fieldLimit = atoiValue(lim)
	}
	if lim := t.Get("settings", "index", "mapping", "total_fields", "limit"); lim != nil {
		ix.fieldLimit = atoiValue(lim)
	}
	if m := t.Get("mappings"); m != nil {
		ix.mappingJSON = json.RawMessage(m.String())
		ix.addProperties(m.Get("properties"), "")
	}
}

func atoiValue(v *fastjson.Value) int {
	if v.Type() == fastjson.TypeString {
		n, _ := strconv.Atoi(string(v.GetStringBytes()))
		return n
	}
	return v.GetInt()
}

func (ix *index) addProperties(props *fastjson.Value, prefix string) {
	if props == nil {
		return
	}
	props.GetObject().Visit(func(k []byte, v *fastjson.Value) {
		name := prefix + string(k)
		typ := fieldType(v.GetStringBytes("type"))
		if typ == "" && v.Get("properties") != nil {
			typ = tObject
		}
		delete(ix.flat, name)
		switch typ {
		case tFlat:
			ix.flat[name] = true
		case "match_only_text", "wildcard":
			typ = tText
		case "integer", "short", "byte", "unsigned_long":
			typ = tLong
		case "double", "half_float", "scaled_float":
			typ = tFloat
		}
		ix.fields[name] = typ
		ix.addProperties(v.Get("properties"), name+".")
	})
}

// check verifies a document against the mapping, collecting new dynamic
// fields in added. It reports a mapper_parsing_exception on a conflict.
func (ix *index) check(v *fastjson.Value, prefix string, added map[string]fieldType) (itemResult, bool) {
	var res itemResult
	bad := false
	v.GetObject().Visit(func(k []byte, val *fastjson.Value) {
		if bad {
			return
		}
		name := prefix + string(k)
		if ix.flat[name] {
			if val.Type() != fastjson.TypeObject && val.Type() != fastjson.TypeNull {
				res, bad = conflict(name, tFlat, val), true
			}
			return
		}
		typ, known := ix.fields[name]
		if !known {
			typ, known = added[name]
		}
		if val.Type() == fastjson.TypeNull {
			return
		}
		if !known {
			typ = dynamicType(val)
			added[name] = typ
		}
		if !compatible(typ, val) {
			res, bad = conflict(name, typ, val), true
			return
		}
		if val.Type() == fastjson.TypeObject {
			res, bad = ix.check(val, name+".", added)
		}
		if val.Type() == fastjson.TypeArray {
			for _, e := range val.GetArray() {
				if e.Type() == fastjson.TypeObject {
					if res, bad = ix.check(e, name+".", added); bad {
						return
					}
				}
			}
		}
	})
	return res, bad
}

func dynamicType(v *fastjson.Value) fieldType {
	switch v.Type() {
	case fastjson.TypeObject:
		return tObject
	case fastjson.TypeNumber:
		if strings.ContainsAny(v.String(), ".eE") {
			return tFloat
		}
		return tLong
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return tBool
	case fastjson.TypeArray:
		for _, e := range v.GetArray() {
			if e.Type() != fastjson.TypeNull {
				return dynamicType(e)
			}
		}
		return tText
	case fastjson.TypeString:
		if _, err := time.Parse(time.RFC3339Nano, string(v.GetStringBytes())); err == nil {
			return tDate
		}
	}
	return tText
}

// compatible mirrors how OpenSearch coerces a value into a mapped type.
func compatible(t fieldType, v *fastjson.Value) bool {
	if v.Type() == fastjson.TypeArray {
		for _, e := range v.GetArray() {
			if e.Type() != fastjson.TypeNull && !compatible(t, e) {
				return false
			}
		}
		return true
	}
	switch t {
	case tObject:
		return v.Type() == fastjson.TypeObject
	case tKeyword, tText:
		return v.Type() != fastjson.TypeObject
	case tLong, tFloat:
		switch v.Type() {
		case fastjson.TypeNumber:
			return t == tFloat || !strings.ContainsAny(v.String(), ".eE") || isWholeNumber(v.GetFloat64())
		case fastjson.TypeString:
			_, err := strconv.ParseFloat(string(v.GetStringBytes()), 64)
			return err == nil
		}
		return false
	case tBool:
		switch v.Type() {
		case fastjson.TypeTrue, fastjson.TypeFalse:
			return true
		case fastjson.TypeString:
			s := string(v.GetStringBytes())
			return s == "true" || s == "false" || s == ""
		}
		return false
	case tDate:
		switch v.Type() {
		case fastjson.TypeNumber:
			return true
		case fastjson.TypeString:
			s := string(v.GetStringBytes())
			if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return true
			}
			_, err := time.Parse("2006-01-02", s)
			return err == nil
		}
		return false
	}
	return true
}

func isWholeNumber(f float64) bool { return f == float64(int64(f)) }

func conflict(name string, t fieldType, v *fastjson.Value) itemResult {
	preview := v.String()
	if len(preview) > 64 {
		preview = preview[:64]
	}
	if t == tObject {
		return itemResult{status: 400, errType: "mapper_parsing_exception",
			reason: fmt.Sprintf("object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", name, name)}
	}
	return itemResult{status: 400, errType: "mapper_parsing_exception",
		reason: fmt.Sprintf("failed to parse field [%s] of type [%s]. Preview of field's value: '%s'", name, t, strings.Trim(preview, `"`))}
}

func (s *Server) template(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		v, err := fastjson.ParseBytes(body)
		if err != nil || len(v.GetArray("index_patterns")) == 0 {
			writeError(w, 400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;")
			return
		}
		if m := v.Get("template", "mappings", "properties"); m != nil {
			var bad string
			m.GetObject().Visit(func(k []byte, f *fastjson.Value) {
				switch t := string(f.GetStringBytes("type")); t {
				case "", "date", "keyword", "text", "long", "integer", "float", "double", "boolean", "object", "flat_object", "ip", "match_only_text", "wildcard":
					if t == "flat_object" && versionBelow(s.Version, 2, 7) {
						bad = fmt.Sprintf("No handler for type [flat_object] declared on field [%s]", k)
					}
				default:
					bad = fmt.Sprintf("No handler for type [%s] declared on field [%s]", t, k)
				}
			})
			if bad != "" {
				writeError(w, 400, "mapper_parsing_exception", "Failed to parse mapping [_doc]: "+bad)
				return
			}
		}
		s.templates[name] = append(json.RawMessage(nil), body...)
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	case http.MethodGet:
		t, ok := s.templates[name]
		if !ok {
			writeError(w, 404, "resource_not_found_exception", fmt.Sprintf("index template matching [%s] not found", name))
			return
		}
		fmt.Fprintf(w, `{"index_templates":[{"name":%q,"index_template":%s}]}`, name, t)
	case http.MethodDelete:
		delete(s.templates, name)
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	default:
		methodNotAllowed(w, r)
	}
}

// versionBelow reports whether version v is below major.minor.
func versionBelow(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(parts[1])
	return ma < major || (ma == major && mi < minor)
}

func (s *Server) policy(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		_, exists := s.policies[id]
		q := r.URL.Query()
		if exists && q.Get("if_seq_no") == "" {
			writeError(w, 409, "version_conflict_engine_exception",
				fmt.Sprintf("[%s]: version conflict, document already exists (current version [1])", id))
			return
		}
		v, err := fastjson.ParseBytes(body)
		if err != nil || v.Get("policy") == nil {
			writeError(w, 400, "illegal_argument_exception", "Required [policy]")
			return
		}
		s.policies[id] = json.RawMessage(v.Get("policy").String())
		status := 201
		if exists {
			status = 200
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"_id":%q,"_version":1,"_primary_term":1,"_seq_no":%d,"policy":{"policy":%s}}`, id, len(s.policies), s.policies[id])
	case http.MethodGet:
		p, ok := s.policies[id]
		if !ok {
			writeError(w, 404, "status_exception", "Policy not found")
			return
		}
		fmt.Fprintf(w, `{"_id":%q,"_version":1,"_seq_no":1,"_primary_term":1,"policy":%s}`, id, p)
	default:
		methodNotAllowed(w, r)
	}
}

func (s *Server) indexAPI(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodHead, http.MethodGet:
		if s.indices[name] == nil {
			writeError(w, 404, "index_not_found_exception", "no such index ["+name+"]")
			return
		}
		writeJSON(w, 200, map[string]any{name: map[string]any{}})
	case http.MethodPut:
		if err := validIndexName(name); err != nil {
			writeError(w, 400, "invalid_index_name_exception", err.Error())
			return
		}
		if s.indices[name] != nil {
			writeError(w, 400, "resource_already_exists_exception", fmt.Sprintf("index [%s/x] already exists", name))
			return
		}
		ix := s.indexFor(name)
		if len(body) > 0 {
			v, err := fastjson.ParseBytes(body)
			if err != nil {
				writeError(w, 400, "parse_exception", err.Error())
				return
			}
			if m := v.Get("mappings"); m != nil {
				ix.mappingJSON = json.RawMessage(m.String())
				ix.addProperties(m.Get("properties"), "")
			}
		}
		writeJSON(w, 200, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
	case http.MethodDelete:
		if s.indices[name] == nil {
			writeError(w, 404, "index_not_found_exception", "no such index ["+name+"]")
			return
		}
		delete(s.indices, name)
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	default:
		methodNotAllowed(w, r)
	}
}

func (s *Server) mapping(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		writeError(w, 404, "index_not_found_exception", "no such index ["+name+"]")
		return
	}
	props := map[string]any{}
	for k, t := range ix.fields {
		props[k] = map[string]any{"type": string(t)}
	}
	writeJSON(w, 200, map[string]any{name: map[string]any{"mappings": map[string]any{"properties": props}}})
}

func (s *Server) getDoc(w http.ResponseWriter, name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		writeError(w, 404, "index_not_found_exception", "no such index ["+name+"]")
		return
	}
	doc, ok := ix.docs[id]
	if !ok {
		writeJSON(w, 404, map[string]any{"_index": name, "_id": id, "found": false})
		return
	}
	fmt.Fprintf(w, `{"_index":%q,"_id":%q,"_version":1,"found":true,"_source":%s}`, name, id, doc)
}

// search supports what tests and the demo need: match_all, a term (or
// match) query on one top-level field, and size.
func (s *Server) search(w http.ResponseWriter, r *http.Request, pattern string, count bool, body []byte) {
	size := 10
	var field, value string
	if len(bytes.TrimSpace(body)) > 0 {
		v, err := fastjson.ParseBytes(body)
		if err != nil {
			writeError(w, 400, "parsing_exception", err.Error())
			return
		}
		if sz := v.Get("size"); sz != nil {
			size = sz.GetInt()
		}
		for _, kind := range []string{"term", "match"} {
			if q := v.Get("query", kind); q != nil {
				q.GetObject().Visit(func(k []byte, fv *fastjson.Value) {
					field = string(k)
					if fv.Type() == fastjson.TypeObject {
						for _, key := range []string{"value", "query"} {
							if x := fv.Get(key); x != nil {
								fv = x
							}
						}
					}
					if fv.Type() == fastjson.TypeString {
						value = string(fv.GetStringBytes())
					} else {
						value = fv.String()
					}
				})
			}
		}
	}
	if q := r.URL.Query().Get("size"); q != "" {
		size, _ = strconv.Atoi(q)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.indices {
		if ok, _ := path.Match(pattern, n); ok || n == pattern {
			names = append(names, n)
		}
	}
	if len(names) == 0 && !strings.ContainsAny(pattern, "*") && pattern != "_all" {
		writeError(w, 404, "index_not_found_exception", "no such index ["+pattern+"]")
		return
	}
	sort.Strings(names)
	type hit struct {
		Index  string          `json:"_index"`
		ID     string          `json:"_id"`
		Source json.RawMessage `json:"_source"`
	}
	var hits []hit
	total := 0
	for _, n := range names {
		ix := s.indices[n]
		for _, id := range ix.order {
			doc, ok := ix.docs[id]
			if !ok {
				continue
			}
			if field != "" {
				v, err := fastjson.ParseBytes(doc)
				if err != nil {
					continue
				}
				fv := v.Get(strings.Split(field, ".")...)
				if fv == nil {
					continue
				}
				got := fv.String()
				if fv.Type() == fastjson.TypeString {
					got = string(fv.GetStringBytes())
				}
				if got != value && !(strings.Contains(strings.ToLower(got), strings.ToLower(value)) && ix.fields[field] == tText) {
					continue
				}
			}
			total++
			if len(hits) < size {
				hits = append(hits, hit{n, id, doc})
			}
		}
	}
	if count {
		writeJSON(w, 200, map[string]any{"count": total})
		return
	}
	writeJSON(w, 200, map[string]any{"took": 1, "timed_out": false,
		"hits": map[string]any{"total": map[string]any{"value": total, "relation": "eq"}, "hits": hits}})
}

// IndexerEnv starts a fake for the test and returns the environment that
// points the indexer bootstrap at it (no dead-letter bucket): what a test
// running the built function against sample events needs, e.g.
//
//	env := append(moto.Env("us-east-1"), bulktest.IndexerEnv(t)...)
func IndexerEnv(t testing.TB) []string {
	t.Helper()
	s := Start()
	t.Cleanup(s.Close)
	return []string{"OPENSEARCH_ENDPOINT=" + s.URL, "OPENSEARCH_AUTH=none", "SETUP_INDEX_TEMPLATE=true"}
}
