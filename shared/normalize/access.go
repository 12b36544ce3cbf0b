package normalize

import (
	"math/bits"
	"strings"

	"github.com/tributary-logs/tributary/shared/record"
)

// indexSpace is strings.IndexByte(s, ' ') for the short tokens of access
// logs and flow logs: a token that ends within eight bytes is found in one
// word, without the call and set-up of the vectorized search, which cost
// more than the search itself at these lengths.
func indexSpace(s string) int {
	if len(s) >= 8 {
		x := load64(s, 0) ^ ones*' '
		// The lowest mark is a true space; a false one only sits above it.
		if m := (x - ones) &^ x & highs; m != 0 {
			return bits.TrailingZeros64(m) >> 3
		}
		if i := strings.IndexByte(s[8:], ' '); i >= 0 {
			return 8 + i
		}
		return -1
	}
	return strings.IndexByte(s, ' ')
}

// nextToken splits the space-separated token at the start of s. A token in
// double quotes may hold spaces and backslash-escaped quotes; quoted reports
// it and tok is then the text inside the quotes (escapes kept). ok is false
// when a quote is not closed or is not followed by a space or the end.
func nextToken(s string) (tok string, quoted bool, rest string, ok bool) {
	if len(s) == 0 {
		return "", false, "", false
	}
	if s[0] != '"' {
		if i := indexSpace(s); i >= 0 {
			return s[:i], false, s[i+1:], true
		}
		return s, false, "", true
	}
	for i := 1; ; {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return "", false, "", false
		}
		i += j
		// a quote preceded by an odd number of backslashes is escaped
		bs := 0
		for k := i - 1; k > 0 && s[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 1 {
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] != ' ' {
			return "", false, "", false
		}
		rest = ""
		if i+1 < len(s) {
			rest = s[i+2:]
		}
		return s[1:i], true, rest, true
	}
}

// unescapeLog undoes the escapes Apache (\" \\) and nginx (\xHH) write in
// quoted access log fields. \xHH is decoded only for printable ASCII (nginx
// writes a quote as \x22); other bytes stay escaped, so binary junk such as
// a TLS handshake sent to an HTTP port stays readable. The result lives in
// n.unq until the next call.
func (n *Normalizer) unescapeLog(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	b := append(n.unq[:0], s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		switch e := s[i+1]; {
		case e == 'x' && i+3 < len(s) && isHex(s[i+2]) && isHex(s[i+3]) &&
			unhex(s[i+2])<<4|unhex(s[i+3]) >= 0x20 && unhex(s[i+2])<<4|unhex(s[i+3]) < 0x7f:
			b = append(b, unhex(s[i+2])<<4|unhex(s[i+3]))
			i += 3
		case e == '"' || e == '\\':
			b = append(b, e)
			i++
		case e == 'n':
			b = append(b, '\n')
			i++
		case e == 't':
			b = append(b, '\t')
			i++
		default:
			b = append(b, c)
		}
	}
	n.unq = b
	return b2s(b)
}

func isHex(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// writeRequestLine writes method, a path or URL under urlKey, and protocol
// from an HTTP request line ("GET /x HTTP/1.1"); a line of another shape
// (a TLS handshake on an HTTP port, "-") is kept whole under "request".
func (n *Normalizer) writeRequestLine(line, urlKey string) {
	w := &n.w
	if line == "" || line == "-" {
		return
	}
	sp1 := -1
	for i := 0; i < len(line) && i < 16; i++ {
		if line[i] == ' ' {
			sp1 = i
			break
		}
	}
	sp2 := -1
	for i := len(line) - 1; i > sp1; i-- {
		if line[i] == ' ' {
			sp2 = i
			break
		}
	}
	if sp1 <= 0 || sp2 <= sp1+1 || !isMethod(line[:sp1]) {
		w.fixedStr("request", line)
		return
	}
	w.fixedStr("method", line[:sp1])
	w.fixedStr(urlKey, line[sp1+1:sp2])
	if p := line[sp2+1:]; p != "" && p != "-" {
		w.fixedStr("protocol", p)
	}
}

// isMethod accepts an HTTP method token: upper-case letters, 3 to 12 of them
// (GET, PROPFIND, ...).
func isMethod(s string) bool {
	if len(s) < 3 || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// isStatus accepts a 3-digit HTTP status from 100 to 599.
func isStatus(s string) bool {
	return len(s) == 3 && s[0] >= '1' && s[0] <= '5' && isDigit(s[1]) && isDigit(s[2])
}

// parseAccessLog: nginx/Apache common and combined formats. Level from the
// status: 5xx ERROR, 4xx WARN, else INFO.
func parseAccessLog(n *Normalizer, rec *record.Record, msg string) bool {
	s := trimRightSpace(msg)
	var head [4]string
	nh := 0
	for nh < len(head) && len(s) > 0 && s[0] != '[' {
		tok, quoted, rest, ok := nextToken(s)
		if !ok || quoted || tok == "" {
			return false
		}
		head[nh] = tok
		nh++
		s = rest
	}
	if nh < 3 || len(s) < 28 || s[0] != '[' || s[27] != ']' || !isCLFTime(s[1:27]) {
		return false
	}
	ts := s[1:27]
	s = s[28:]
	if len(s) < 2 || s[0] != ' ' || s[1] != '"' {
		return false
	}
	req, _, s, ok := nextToken(s[1:])
	if !ok {
		return false
	}
	status, _, s, ok := nextToken(s)
	if !ok || !isStatus(status) {
		return false
	}
	size := ""
	if s != "" {
		if size, _, s, ok = nextToken(s); !ok || !(size == "-" || allDigits(size)) {
			return false
		}
	}
	w := &n.w
	host := 0
	if nh == 4 {
		w.fixedStr("vhost", head[0])
		host = 1
	}
	w.fixedStr("client_ip", head[host])
	if head[host+1] != "-" {
		w.fixedStr("ident", head[host+1])
	}
	if head[host+2] != "-" {
		w.fixedStr("user", head[host+2])
	}
	w.fixedStr("time", ts)
	n.writeRequestLine(n.unescapeLog(req), "path")
	w.fixedNum("status", status)
	if size != "" && size != "-" {
		w.fixedNum("bytes", size)
	}
	rec.Level = levelFromStatus(status)
	// combined: "referer" "user agent"; nginx's main format adds
	// "$http_x_forwarded_for"; then anything: key=value pairs (nginx
	// timings such as rt=0.123) become fields, other tokens go, in order,
	// into an "extra" array.
	tail := s
	quotedNames := [...]string{"referer", "user_agent", "forwarded_for"}
	q, extras := 0, 0
	for s != "" {
		tok, quoted, rest, ok := nextToken(s)
		if !ok {
			break // a broken tail does not undo a well-formed head
		}
		s = rest
		switch {
		case tok == "":
		case quoted && q < len(quotedNames) && extras == 0:
			if tok != "-" {
				w.strField(quotedNames[q], n.unescapeLog(tok))
			}
			q++
		case !quoted && n.accessKV(rec, tok):
		default:
			extras++
		}
	}
	if extras > 0 && w.key("extra", 0) {
		w.buf = append(w.buf, '[')
		s, q = tail, 0
		seenExtra := false
		for s != "" {
			tok, quoted, rest, ok := nextToken(s)
			if !ok {
				break
			}
			s = rest
			switch {
			case tok == "":
			case quoted && q < len(quotedNames) && !seenExtra:
				q++ // written as a named field above
			case !quoted && isKV(tok):
			default:
				seenExtra = true
				if w.element() {
					if quoted {
						tok = n.unescapeLog(tok)
					}
					w.str(tok)
				}
			}
		}
		w.buf = append(w.buf, ']')
	}
	return true
}

func isKV(tok string) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c == '=' {
			return i > 0
		}
		if !isKeyChar(c) {
			return false
		}
	}
	return false
}

// accessKV writes a trailing key=value token (nginx "rt=0.123
// upstream=10.0.0.5:8080"), a number when the value is one.
func (n *Normalizer) accessKV(rec *record.Record, tok string) bool {
	if !isKV(tok) {
		return false
	}
	i := 0
	for tok[i] != '=' {
		i++
	}
	k, v := tok[:i], tok[i+1:]
	if role := classifyKey(k); role.isTrace() {
		n.setTrace(rec, role, v)
	}
	if v == "-" || v == "" {
		return true
	}
	n.w.numField(k, v) // a string when it is not a number
	return true
}

// isCLFTime accepts the common log format time: 10/Oct/2000:13:55:36 -0700.
func isCLFTime(s string) bool {
	return len(s) == 26 && isDigit(s[0]) && isDigit(s[1]) && s[2] == '/' && isLetter(s[3]) && s[6] == '/' &&
		isDigit(s[7]) && s[11] == ':' && s[14] == ':' && s[17] == ':' && s[20] == ' ' &&
		(s[21] == '+' || s[21] == '-') && isDigit(s[25])
}

// albField is one field of an ALB access log entry, in order.
type albField struct {
	name string
	kind uint8
}

const (
	albString  uint8 = iota
	albNumber        // a JSON number, "-" when absent; anything else rejects the line
	albAddr          // ip:port, written as <name>_ip and <name>_port
	albRequest       // "METHOD URL PROTOCOL"
	albTrace         // X-Amzn-Trace-Id value: Root= becomes the record's trace id
)

// albFields is the documented order of ALB access log fields.
var albFields = [...]albField{
	{"type", albString},
	{"time", albString},
	{"elb", albString},
	{"client", albAddr},
	{"target", albAddr},
	{"request_processing_time", albNumber},
	{"target_processing_time", albNumber},
	{"response_processing_time", albNumber},
	{"elb_status_code", albNumber},
	{"target_status_code", albNumber},
	{"received_bytes", albNumber},
	{"sent_bytes", albNumber},
	{"request", albRequest},
	{"user_agent", albString},
	{"ssl_cipher", albString},
	{"ssl_protocol", albString},
	{"target_group_arn", albString},
	{"trace_id", albTrace},
	{"domain_name", albString},
	{"chosen_cert_arn", albString},
	{"matched_rule_priority", albNumber},
	{"request_creation_time", albString},
	{"actions_executed", albString},
	{"redirect_url", albString},
	{"error_reason", albString},
	{"target_port_list", albString},
	{"target_status_code_list", albString},
	{"classification", albString},
	{"classification_reason", albString},
	{"conn_trace_id", albString},
	{"transformed_host", albString},
	{"transformed_uri", albString},
	{"request_transform_status", albString},
}

// albMinFields is how many fields an entry needs (through the request line).
const albMinFields = 13

// parseALB: Application Load Balancer access log entries. Level from
// elb_status_code (5xx ERROR, 4xx WARN, else INFO); trace id the Root of
// the X-Amzn-Trace-Id field.
func parseALB(n *Normalizer, rec *record.Record, msg string) bool {
	s := trimRightSpace(msg)
	sp := indexByteWithin(s, ' ', 6)
	if sp < 0 {
		return false
	}
	switch s[:sp] {
	case "http", "https", "h2", "grpcs", "ws", "wss":
	default:
		return false
	}
	// Validate the fixed-shape head before writing anything.
	var toks [len(albFields)]string
	var quoted [len(albFields)]bool
	nt := 0
	for nt < len(toks) && s != "" {
		tok, q, rest, ok := nextToken(s)
		if !ok {
			return false
		}
		toks[nt], quoted[nt] = tok, q
		nt++
		s = rest
	}
	if nt < albMinFields || !isISOTime(toks[1]) {
		return false
	}
	for i := 0; i < nt; i++ {
		if albFields[i].kind == albNumber && toks[i] != "-" && !validNumber(toks[i]) {
			return false
		}
	}
	if !quoted[12] {
		return false
	}
	w := &n.w
	status := ""
	for i := 0; i < nt; i++ {
		f, v := &albFields[i], toks[i]
		if v == "-" || v == "" {
			continue
		}
		switch f.kind {
		case albString:
			if quoted[i] {
				v = n.unescapeLog(v)
			}
			w.fixedStr(f.name, v)
		case albNumber:
			w.fixedNum(f.name, v)
			if i == 8 {
				status = v
			}
		case albAddr:
			n.writeAddr(f.name, v)
		case albRequest:
			n.writeRequestLine(n.unescapeLog(v), "url")
		case albTrace:
			w.fixedStr(f.name, v)
			n.setTrace(rec, roleXRay, v)
		}
	}
	rec.Level = levelFromStatus(status)
	return true
}

// writeAddr writes "ip:port" (IPv6 possibly in brackets) as <name>_ip and a
// numeric <name>_port.
func (n *Normalizer) writeAddr(name, v string) {
	i := len(v) - 1
	for i >= 0 && v[i] != ':' {
		i--
	}
	ip, port := v, ""
	if i > 0 && allDigits(v[i+1:]) {
		ip, port = v[:i], v[i+1:]
	}
	if len(ip) > 1 && ip[0] == '[' && ip[len(ip)-1] == ']' {
		ip = ip[1 : len(ip)-1]
	}
	n.scratch = append(append(n.scratch[:0], name...), "_ip"...)
	n.w.fixedStr(b2s(n.scratch), ip)
	if port != "" {
		n.scratch = append(append(n.scratch[:0], name...), "_port"...)
		n.w.fixedNum(b2s(n.scratch), port)
	}
}

// vpcFields are the fields of the VPC flow log version 2 default format, in
// order; numeric ones are written as numbers ("-" when there is no data).
var vpcFields = [...]struct {
	name    string
	numeric bool
}{
	{"version", true},
	{"account_id", false}, // kept as text: account ids can start with 0
	{"interface_id", false},
	{"srcaddr", false},
	{"dstaddr", false},
	{"srcport", true},
	{"dstport", true},
	{"protocol", true},
	{"packets", true},
	{"bytes", true},
	{"start", true},
	{"end", true},
	{"action", false},
	{"log_status", false},
}

// parseVPCFlow: VPC flow logs, version 2, default format. Level INFO, also
// for REJECT: rejected traffic is the security groups doing their job, and
// on internet-facing interfaces it is a steady share of all records, so
// making it WARN would drown real warnings (query fields.action instead).
// SKIPDATA (records were lost during the capture window) is WARN.
func parseVPCFlow(n *Normalizer, rec *record.Record, msg string) bool {
	s := trimRightSpace(msg)
	if len(s) < 2 || s[0] != '2' || s[1] != ' ' {
		return false
	}
	var toks [len(vpcFields)]string
	nt := 0
	for s != "" {
		if nt == len(toks) {
			return false
		}
		i := indexSpace(s)
		if i < 0 {
			toks[nt] = s
			nt++
			break
		}
		toks[nt] = s[:i]
		nt++
		s = s[i+1:]
	}
	if nt != len(toks) || !(allDigits(toks[1]) || toks[1] == "unknown") ||
		!(len(toks[2]) > 4 && toks[2][:4] == "eni-" || toks[2] == "-") {
		return false
	}
	switch toks[12] {
	case "ACCEPT", "REJECT", "-":
	default:
		return false
	}
	switch toks[13] {
	case "OK", "NODATA", "SKIPDATA":
	default:
		return false
	}
	for i, f := range vpcFields {
		if f.numeric && toks[i] != "-" && !allDigits(toks[i]) {
			return false
		}
	}
	w := &n.w
	for i, f := range vpcFields {
		v := toks[i]
		switch {
		case v == "-" || v == "":
		case f.numeric:
			w.fixedNum(f.name, v)
		default:
			w.fixedStr(f.name, v)
		}
	}
	rec.Level = LevelInfo
	if toks[13] == "SKIPDATA" {
		rec.Level = LevelWarn
	}
	return true
}
