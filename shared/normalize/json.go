package normalize

import (
	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/record"
)

// parseJSON: a JSON object; every top-level key goes into fields (bounded).
func parseJSON(n *Normalizer, rec *record.Record, msg string) bool {
	o := n.messageObject(msg)
	if o == nil {
		return false
	}
	n.jsonFields(rec, o)
	return true
}

// jsonFields writes every member of o into the fields and takes the level
// and trace id from the keys that carry them.
func (n *Normalizer) jsonFields(rec *record.Record, o *fastjson.Object) {
	w := &n.w
	var clef uint8 // Serilog CLEF: @t and @m/@mt without @l means Information
	o.Visit(func(k []byte, v *fastjson.Value) {
		ks := b2s(k)
		if len(ks) == 2 && ks[0] == '@' {
			switch ks[1] {
			case 't':
				clef |= 1
			case 'm':
				clef |= 2
			}
		} else if len(ks) == 3 && ks == "@mt" {
			clef |= 2
		}
		n.inspect(rec, ks, v)
		if w.key(ks, 0) {
			w.value(v, 1)
		}
	})
	if rec.Level == "" && clef == 3 {
		rec.Level = LevelInfo
	}
}

// inspect looks at one top-level member for a level or a trace id.
func (n *Normalizer) inspect(rec *record.Record, k string, v *fastjson.Value) {
	role := classifyKey(k)
	switch {
	case role == roleLevel:
		if rec.Level == "" {
			rec.Level = jsonLevel(v)
		}
	case role.isTrace():
		n.jsonTrace(rec, role, v)
	case role == roleNone && v.Type() == fastjson.TypeObject && nestedParent(k):
		o, _ := v.Object()
		o.Visit(func(ck []byte, cv *fastjson.Value) {
			switch r := classifyNested(k, b2s(ck)); {
			case r == roleLevel:
				if rec.Level == "" {
					rec.Level = jsonLevel(cv)
				}
			case r.isTrace():
				n.jsonTrace(rec, r, cv)
			}
		})
	}
}

// jsonLevel reads a level from a string or a pino/bunyan number.
func jsonLevel(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeString:
		return levelWord(b2s(v.GetStringBytes()))
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil {
			return ""
		}
		return levelNumber(f)
	}
	return ""
}

// jsonTrace offers a string or numeric (Datadog) id as the trace id.
func (n *Normalizer) jsonTrace(rec *record.Record, role keyRole, v *fastjson.Value) {
	if role.traceRank() >= n.traceRank {
		return
	}
	var s string
	switch v.Type() {
	case fastjson.TypeString:
		s = b2s(v.GetStringBytes())
	case fastjson.TypeNumber:
		n.scratch = v.MarshalTo(n.scratch[:0])
		s = b2s(n.scratch)
	default:
		return
	}
	r := role.traceRank()
	if id := traceValue(role, s); id != "" {
		rec.TraceID = n.stable(id)
		n.traceRank = r
	}
}

// parseJSONPrefixed: "<short plain prefix> {json}". The level comes from the
// JSON, else from the prefix; the trace id likewise.
func parseJSONPrefixed(n *Normalizer, rec *record.Record, msg string) bool {
	i := prefixedObjectStart(msg)
	if i < 0 {
		return false
	}
	if !n.streamFields(rec, msg[i:], false) {
		o := n.parseObject(msg[i:])
		if o == nil {
			return false
		}
		n.jsonFields(rec, o)
	}
	prefix := msg[:i]
	if rec.Level == "" {
		rec.Level = textLevel(prefix)
	}
	if rec.TraceID == "" {
		n.textTrace(rec, prefix)
	}
	return true
}

// maxJSONPrefix bounds the plain prefix before a JSON object.
const maxJSONPrefix = 96

// prefixedObjectStart returns where a JSON object starts after a short plain
// prefix that ends in a space or tab, or -1. The message must end with '}'
// and the prefix may not hold quotes or braces; this rejects most text
// cheaply before any JSON parsing.
func prefixedObjectStart(msg string) int {
	t := trimRightSpace(msg)
	if len(t) < 3 || t[len(t)-1] != '}' {
		return -1
	}
	end := min(len(t), maxJSONPrefix+1)
	for i := 1; i < end; i++ {
		switch c := t[i]; c {
		case '{':
			if p := t[i-1]; p != ' ' && p != '\t' {
				return -1
			}
			if trimSpace(t[:i]) == "" {
				return -1 // plain JSON with leading spaces: the json parser's
			}
			return i
		case '"', '}', '\n':
			return -1
		}
	}
	return -1
}

// A projection names the members of an object to keep; nil keep means the
// whole value (still bounded by Limits).
type projection struct {
	key  string
	keep []projection
}

// cloudTrailFields are the CloudTrail record members kept in fields: who
// (userIdentity), what (eventSource, eventName, requestParameters), where
// (awsRegion, sourceIPAddress, recipientAccountId), and the outcome
// (errorCode, errorMessage). responseElements is left out: it is often huge
// and the full record stays in the message.
var cloudTrailFields = []projection{
	{key: "eventTime"},
	{key: "eventSource"},
	{key: "eventName"},
	{key: "eventType"},
	{key: "awsRegion"},
	{key: "sourceIPAddress"},
	{key: "userAgent"},
	{key: "userIdentity", keep: []projection{
		{key: "type"},
		{key: "principalId"},
		{key: "arn"},
		{key: "accountId"},
		{key: "accessKeyId"},
		{key: "userName"},
		{key: "invokedBy"},
		{key: "sessionContext", keep: []projection{
			{key: "attributes", keep: []projection{{key: "mfaAuthenticated"}}},
			{key: "sessionIssuer", keep: []projection{{key: "type"}, {key: "arn"}, {key: "userName"}}},
		}},
	}},
	{key: "errorCode"},
	{key: "errorMessage"},
	{key: "requestParameters"},
	{key: "additionalEventData"},
	{key: "readOnly"},
	{key: "recipientAccountId"},
	{key: "requestID"},
	{key: "eventID"},
}

// parseCloudTrail: a CloudTrail record (eventVersion, eventSource and
// eventName all present), bare or as an EventBridge event's detail. Level
// ERROR when errorCode or errorMessage is set (a failed console sign-in has
// only errorMessage "Failed authentication"), else INFO; trace id
// requestID, else eventID.
func parseCloudTrail(n *Normalizer, rec *record.Record, msg string) bool {
	o := n.messageObject(msg)
	if o == nil {
		return false
	}
	if n.shape.cloudTrail != 7 {
		if !n.shape.eventBridge {
			return false
		}
		o = getObject(o, "detail")
		if o == nil || !isCloudTrail(o) {
			return false
		}
	}
	n.project(o, cloudTrailFields, 0, 1)
	rec.Level = LevelInfo
	if jsonString(o, "errorCode") != "" || jsonString(o, "errorMessage") != "" {
		rec.Level = LevelError
	}
	for _, k := range [...]string{"requestID", "eventID"} {
		if id := cleanID(jsonString(o, k)); id != "" {
			rec.TraceID = n.stable(id)
			break
		}
	}
	return true
}

func isCloudTrail(o *fastjson.Object) bool {
	if v := o.Get("eventVersion"); v == nil || v.Type() != fastjson.TypeString {
		return false
	}
	return o.Get("eventSource") != nil && o.Get("eventName") != nil
}

// project writes the members of o named by keep, in o's order, into the
// object opened with mark, at depth.
func (n *Normalizer) project(o *fastjson.Object, keep []projection, mark, depth int) {
	w := &n.w
	o.Visit(func(k []byte, v *fastjson.Value) {
		ks := b2s(k)
		for i := range keep {
			p := &keep[i]
			if p.key != ks {
				continue
			}
			if p.keep == nil || v.Type() != fastjson.TypeObject {
				if w.key(ks, mark) {
					w.value(v, depth)
				}
				return
			}
			if depth >= w.lim.MaxDepth {
				if w.key(ks, mark) {
					w.stringify(v)
				}
				return
			}
			if !w.key(ks, mark) {
				return
			}
			co, _ := v.Object()
			m := w.openObject()
			n.project(co, p.keep, m, depth+1)
			w.closeObject(m)
			return
		}
	})
}

// getObject returns the object under key in o, or nil.
func getObject(o *fastjson.Object, key string) *fastjson.Object {
	v := o.Get(key)
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	c, _ := v.Object()
	return c
}

// jsonString returns the string under key in o, or "" (the bytes live in
// the parser's buffer).
func jsonString(o *fastjson.Object, key string) string {
	v := o.Get(key)
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	return b2s(v.GetStringBytes())
}
