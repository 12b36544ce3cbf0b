package transform

import (
	"bytes"
	"fmt"

	"github.com/tributary-logs/tributary/shared/cwlogs"
)

// split cuts the record just processed into pieces that each transform to
// at most ChunkOutputBytes and stay under ChunkInputBytes before
// compression. A CloudWatch payload becomes smaller gzip'd payloads with the
// same metadata; plain lines become smaller groups of lines. Every event
// lands in exactly one piece.
func (h *Handler) split(r *Record) ([][]byte, error) {
	if h.curEnv != nil {
		return h.splitEnvelope(h.curEnv)
	}
	return h.splitLines(h.raw), nil
}

func (h *Handler) splitEnvelope(env *cwlogs.Envelope) ([][]byte, error) {
	var pieces [][]byte
	var evJSON []byte
	head := cwlogs.AppendJSON(nil, env, nil)
	headLen := len(head)
	start, inBytes, outBytes := 0, headLen, 0
	flush := func(end int) error {
		if end == start {
			return nil
		}
		p, err := cwlogs.Encode(env, env.LogEvents[start:end])
		if err != nil {
			return fmt.Errorf("re-encode events %d..%d: %w", start, end, err)
		}
		pieces = append(pieces, p)
		start, inBytes, outBytes = end, headLen, 0
		return nil
	}
	for i := range env.LogEvents {
		e := &env.LogEvents[i]
		evJSON = cwlogs.AppendEventJSON(evJSON[:0], e)
		in := len(evJSON) + 1
		out := estimateOutput(env, e)
		if i > start && (inBytes+in > h.limits.ChunkInputBytes || outBytes+out > h.limits.ChunkOutputBytes) {
			if err := flush(i); err != nil {
				return nil, err
			}
		}
		inBytes += in
		outBytes += out
	}
	if err := flush(len(env.LogEvents)); err != nil {
		return nil, err
	}
	return pieces, nil
}

// estimateOutput bounds one event's NDJSON line: its metadata, the escaped
// message, and fields no larger than twice the message.
func estimateOutput(env *cwlogs.Envelope, e *cwlogs.LogEvent) int {
	const fixed = 256
	return fixed + len(env.Owner) + len(env.LogGroup) + len(env.LogStream) + len(e.ID) + 3*len(e.Message)
}

func (h *Handler) splitLines(raw []byte) [][]byte {
	var pieces [][]byte
	var cur bytes.Buffer
	outBytes := 0
	forEachLine(raw, func(line []byte) {
		out := 256 + 3*len(line)
		if cur.Len() > 0 && (cur.Len()+len(line)+1 > h.limits.ChunkInputBytes || outBytes+out > h.limits.ChunkOutputBytes) {
			pieces = append(pieces, bytes.Clone(cur.Bytes()))
			cur.Reset()
			outBytes = 0
		}
		cur.Write(line)
		cur.WriteByte('\n')
		outBytes += out
	})
	if cur.Len() > 0 {
		pieces = append(pieces, bytes.Clone(cur.Bytes()))
	}
	return pieces
}
